import Foundation
import WireFormat

/// Checks and normalises what a request asks to publish, or says exactly what is wrong (422 naming
/// the field). Services add their records' rules in extensions (`Validation.normalized(_:)`).
public enum Validation {
    /// `^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$` (the contract's `Id`), checked on bytes: a regular
    /// expression per call cost more than the rest of an imported row's validation.
    public static func isValidId(_ id: String) -> Bool {
        let bytes = id.utf8
        guard (1...64).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let alphanumeric = (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
            let punctuation =
                byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
            if !(alphanumeric || (index > 0 && punctuation)) { return false }
        }
        return true
    }

    /// The id a client chose (validated), or a new time-ordered one when it chose none.
    public static func idOrNew(_ id: String?, _ field: String = "id") throws -> String {
        guard let id else { return TimeOrderedID.make() }
        try validateId(id, field)
        return id
    }

    public static func validateId(_ id: String, _ field: String = "id") throws {
        guard isValidId(id) else {
            throw Problem.unprocessable(
                "\(field) '\(id)' is invalid: use 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
        }
    }

    /// Trimmed, not empty, at most `maxLength` characters.
    public static func required(_ value: String, _ field: String, maxLength: Int) throws -> String {
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty { throw Problem.unprocessable("\(field) must not be empty") }
        if isLonger(trimmed, than: maxLength) { throw Problem.unprocessable("\(field) is longer than \(maxLength) characters") }
        return trimmed
    }

    /// Trimmed, at most `maxLength` characters; empty or blank becomes nil.
    public static func optional(_ value: String?, _ field: String, maxLength: Int) throws -> String? {
        guard let trimmed = value?.trimmingWhitespace(), !trimmed.isEmpty else { return nil }
        if isLonger(trimmed, than: maxLength) { throw Problem.unprocessable("\(field) is longer than \(maxLength) characters") }
        return trimmed
    }

    /// Trimmed entries, blanks and repeats dropped (first kept), at most `maxCount` of at most
    /// `maxLength` characters.
    public static func list(_ values: [String], _ field: String, maxCount: Int, maxLength: Int) throws -> [String] {
        let cleaned = unique(values.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty })
        if cleaned.count > maxCount { throw Problem.unprocessable("\(field) has more than \(maxCount) entries") }
        if let long = cleaned.first(where: { isLonger($0, than: maxLength) }) {
            throw Problem.unprocessable("\(field): '\(long.prefix(40))…' is longer than \(maxLength) characters")
        }
        return cleaned
    }

    /// More characters than `limit`; counting bytes first avoids walking the characters of short text.
    public static func isLonger(_ text: String, than limit: Int) -> Bool {
        text.utf8.count > limit && text.count > limit
    }

    /// The values in their order, repeats dropped.
    public static func unique<T: Hashable>(_ values: [T]) -> [T] {
        var seen = Set<T>()
        return values.filter { seen.insert($0).inserted }
    }

    /// One `@`, a dot in the domain (not at its ends), no whitespace.
    public static func isPlausibleEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && !containsWhitespace(text)
    }

    private static func containsWhitespace(_ text: String) -> Bool {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.contains { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) } }
        return text.contains(where: \.isWhitespace)
    }
}
