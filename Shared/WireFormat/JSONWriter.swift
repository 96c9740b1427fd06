import Foundation

/// Writes compact JSON straight into bytes, for the types published in bulk (an import publishes
/// one registration per row, and Foundation's `JSONEncoder` cost more than the rest of the row).
/// The output matches `WireEncoder`'s for the same value: writers emit keys in sorted order and
/// leave out nil optionals, as the encoder does with `.sortedKeys` and synthesised `Encodable`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    /// Nothing at all for nil, as synthesised `Encodable` does.
    public mutating func field(_ name: StaticString, _ value: String?) {
        if let value { field(name, value) }
    }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        separate()
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        needsComma = true
    }

    /// `null` for nil: for a field whose absence a consumer must be able to tell from "unknown".
    public mutating func field(_ name: StaticString, nullable value: String?) {
        if let value {
            field(name, value)
        } else {
            key(name)
            literal("null")
        }
    }

    /// A decimal as a JSON number, `null` for nil: figures a client computes with (rates, days),
    /// not amounts (those are strings).
    public mutating func field(_ name: StaticString, number value: Decimal?) {
        key(name)
        literal(value.map { ExactDecimal.format($0) } ?? "null")
    }

    /// `null` for nil.
    public mutating func field(_ name: StaticString, nullable value: Int?) {
        key(name)
        literal(value.map { String($0) } ?? "null")
    }

    public mutating func field(_ name: StaticString, _ value: Int?) {
        if let value {
            key(name)
            literal(String(value))
        }
    }

    /// A finite binary float as `JSONEncoder` writes it: its shortest round-trip text, without a
    /// trailing `.0`. Nothing for nil. For figures shown for reading (shares, coefficients).
    public mutating func field(_ name: StaticString, _ value: Double?) {
        guard let value, value.isFinite else { return }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        key(name)
        literal(text)
    }

    public mutating func field(_ name: StaticString, _ value: Bool?) {
        if let value { field(name, value) }
    }

    public mutating func field(_ name: StaticString, _ value: (some JSONWritable)?) {
        if let value { field(name, value) }
    }

    public mutating func field(_ name: StaticString, _ values: [String]) {
        key(name)
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for value in values { string(value) }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An array whose elements `body` writes (objects, strings, values).
    public mutating func array(_ body: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func field(_ name: StaticString, array body: (inout JSONWriter) -> Void) {
        key(name)
        array(body)
    }

    public mutating func field(_ name: StaticString, _ value: some JSONWritable) {
        key(name)
        value.write(to: &self)
    }

    /// Any parsed value, compactly (numbers keep their source text). With `sortingKeys`, object
    /// members are written in the order `WireEncoder` gives them (by their names' UTF-8 bytes).
    public mutating func value(_ value: JSONValue, sortingKeys: Bool = false) {
        switch value {
        case .null: literal("null")
        case .bool(let flag): literal(flag ? "true" : "false")
        case .number(let text): literal(text)
        case .string(let text): string(text)
        case .array(let elements):
            separate()
            bytes.append(UInt8(ascii: "["))
            needsComma = false
            for element in elements { self.value(element, sortingKeys: sortingKeys) }
            bytes.append(UInt8(ascii: "]"))
            needsComma = true
        case .object(let members):
            let ordered = sortingKeys ? members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : members
            object { json in
                for (name, member) in ordered {
                    json.string(name)
                    json.bytes.append(UInt8(ascii: ":"))
                    json.needsComma = false
                    json.value(member, sortingKeys: sortingKeys)
                }
            }
        }
    }

    private mutating func literal(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
        needsComma = true
    }

    /// A string `body` writes straight into the bytes: only characters JSON needs no escape for
    /// (digits, letters, ASCII punctuation other than `"` and `\`), as in times and dates.
    public mutating func plainString(_ body: (inout [UInt8]) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        body(&bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var clean = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<index]))
                appendEscaped(byte)
                clean = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean...]))
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }
}

/// A type that writes itself with `JSONWriter`; `WireEncoder` then skips `JSONEncoder` for it.
public protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension Amount: JSONWritable {
    /// As `Amount` encodes itself: the exact decimal as a string.
    public func write(to writer: inout JSONWriter) { writer.string(description) }
}

extension Date: JSONWritable {
    /// As `WireEncoder` writes times: RFC 3339, UTC, milliseconds.
    public func write(to writer: inout JSONWriter) { writer.plainString { Timestamp.append(self, to: &$0) } }
}
