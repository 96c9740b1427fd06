/// How an event id is stored in the redelivery guard: a canonical (lowercase, hyphenated) UUID as its
/// 16 bytes, which keeps the guard's index small and its comparisons short; any other id as its text.
/// The two never collide: the column has no affinity, and SQLite never finds a blob equal to a text.
enum AppliedEventKey {
    static func bind(_ id: String, to statement: RawStatement, at index: Int32) {
        var id = id
        let uuid: (UInt64, UInt64)? = id.withUTF8 { parseCanonicalUUID($0) }
        if let uuid {
            withUnsafeBytes(of: (uuid.0.bigEndian, uuid.1.bigEndian)) { statement.bind(index, blob: $0) }
        } else {
            statement.bind(index, id)
        }
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lowercase hex, as two big-endian halves; nil otherwise.
    static func parseCanonicalUUID(_ text: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard text.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for (position, byte) in text.enumerated() {
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            if digits < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
            digits += 1
        }
        return (high, low)
    }
}
