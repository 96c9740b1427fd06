extension StringProtocol where UTF8View: BidirectionalCollection {
    /// The text without leading and trailing whitespace (Unicode's, line breaks included). Runs on
    /// every field of every imported row, where Foundation's `trimmingCharacters(in:)` (a round
    /// trip through NSString) cost more than the rest of the row's validation; text that starts and
    /// ends with a visible ASCII character is returned as it is.
    public func trimmingWhitespace() -> String {
        let utf8 = self.utf8
        guard let first = utf8.first, let last = utf8.last else { return "" }
        if first > 0x20 && first < 0x7F && last > 0x20 && last < 0x7F { return String(self) }
        guard let start = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let end = lastIndex(where: { !$0.isWhitespace })!
        return String(self[start...end])
    }
}
