import Foundation

/// Reads a JSON object member by member, straight from the bytes, with errors that name the field.
/// Event types on the replay hot path read themselves through this instead of `Decodable` or a
/// parsed `JSONValue` tree: it builds only the values the type keeps (no tree, no member names as
/// Strings), which made decoding a registration about a third faster than through the tree.
///
/// A type reads the members in a loop and switches on the name; unknown members are skipped (still
/// checked to be valid JSON), as are any it leaves unread, and a repeated name overwrites the
/// earlier value, so the last one wins as with a parsed object:
///
///     while let field = try object.nextField() {
///         switch field {
///         case "id": id = try object.optionalString(field)
///         default: try object.skip()
///         }
///     }
///     guard let id else { throw object.missing("id") }
public struct JSONObjectReader: ~Copyable {
    private var parser: JSONParser
    private let path: String
    private var state = State.beforeOpening

    private enum State { case beforeOpening, first, next, closed }

    /// Reads the object that starts at `start` (after optional whitespace).
    @usableFromInline
    init(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, path: String) {
        parser = JSONParser(bytes)
        parser.index = start
        self.path = path
    }

    // The generic entry points are inlinable: the event types' readers live in other modules, and
    // unspecialised, every record read would be returned and copied through its value witnesses.

    /// Reads one whole document: an object, and nothing after it. `path` prefixes field names in errors.
    @inlinable
    public static func read<T>(_ bytes: [UInt8], path: String = "", _ body: (inout JSONObjectReader) throws -> T) throws -> T {
        try bytes.withUnsafeBufferPointer { buffer in
            var object = JSONObjectReader(buffer, at: 0, path: path)
            let value = try body(&object)
            try object.finishDocument()
            return value
        }
    }

    /// The rest of the object skipped (still checked), then nothing but whitespace to the end.
    @usableFromInline
    mutating func finishDocument() throws {
        try finish()
        parser.skipWhitespace()
        if parser.index != parser.bytes.count { throw parser.fail("unexpected data after the document") }
    }

    /// The name of the next member, with the parser on its value; nil after the last member.
    public mutating func nextField() throws -> JSONFieldName? {
        parser.skipWhitespace()
        switch state {
        case .beforeOpening:
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "{") else {
                throw WireFormatError("\(path.isEmpty ? "value" : "'\(path)'"): expected an object, found \(foundKind)")
            }
            try parser.enter()
            parser.index += 1
            parser.skipWhitespace()
            if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "}") { return close() }
        case .first, .next:
            // A member whose value the type did not read is skipped (still checked).
            if state == .first {
                try skip()
                parser.skipWhitespace()
            }
            guard parser.index < parser.bytes.count else { throw parser.fail("unterminated object") }
            if parser.bytes[parser.index] == UInt8(ascii: "}") { return close() }
            guard parser.bytes[parser.index] == UInt8(ascii: ",") else { throw parser.fail("expected ',' or '}'") }
            parser.index += 1
            parser.skipWhitespace()
        case .closed:
            return nil
        }
        let name = try memberName()
        parser.skipWhitespace()
        guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: ":") else { throw parser.fail("expected ':'") }
        parser.index += 1
        parser.skipWhitespace()
        state = .first
        return name
    }

    private mutating func close() -> JSONFieldName? {
        parser.index += 1
        parser.leave()
        state = .closed
        return nil
    }

    /// Plain ASCII names (all of ours) are matched in place; others are unescaped and checked.
    private mutating func memberName() throws -> JSONFieldName {
        let bytes = parser.bytes
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "\"") else { throw parser.fail("expected a member name") }
        var end = parser.index + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20, bytes[end] < 0x80 {
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            defer { parser.index = end + 1 }
            return JSONFieldName(plain: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[(parser.index + 1)..<end])))
        }
        return JSONFieldName(text: try parser.parseString())
    }

    /// Skips the rest of the object (a type that returns early still leaves the document checked).
    private mutating func finish() throws {
        while try nextField() != nil { try skip() }
    }

    private mutating func valueRead() { state = .next }

    private var foundKind: String {
        guard parser.index < parser.bytes.count else { return "the end of the document" }
        switch parser.bytes[parser.index] {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        default: return "a number"
        }
    }

    private func name(_ field: JSONFieldName) -> String { path.isEmpty ? field.description : "\(path).\(field.description)" }

    private func mismatch(_ field: JSONFieldName, _ expected: String) -> WireFormatError {
        WireFormatError("'\(name(field))': expected \(expected), found \(foundKind)")
    }

    public func missing(_ field: String) -> WireFormatError {
        WireFormatError("missing field '\(path.isEmpty ? field : "\(path).\(field)")'")
    }

    /// Consumes `null`; false (nothing consumed) for any other value.
    private mutating func skipNull() -> Bool {
        let bytes = parser.bytes
        let at = parser.index
        guard at + 4 <= bytes.count, bytes[at] == UInt8(ascii: "n"), bytes[at + 1] == UInt8(ascii: "u"),
            bytes[at + 2] == UInt8(ascii: "l"), bytes[at + 3] == UInt8(ascii: "l")
        else { return false }
        parser.index += 4
        return true
    }

    /// Skips a member's value (after checking that it is valid JSON).
    public mutating func skip() throws {
        _ = try parser.parseValue()
        valueRead()
    }

    /// A string; nil for null.
    public mutating func optionalString(_ field: JSONFieldName) throws -> String? {
        defer { valueRead() }
        if skipNull() { return nil }
        guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") else {
            throw mismatch(field, "a string")
        }
        return try parser.parseString()
    }

    /// A list of strings; null is empty.
    public mutating func strings(_ field: JSONFieldName) throws -> [String] {
        defer { valueRead() }
        if skipNull() { return [] }
        guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "[") else {
            throw mismatch(field, "an array of strings")
        }
        try parser.enter()
        defer { parser.leave() }
        parser.index += 1
        parser.skipWhitespace()
        var elements: [String] = []
        if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "]") {
            parser.index += 1
            return elements
        }
        while true {
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") else {
                throw WireFormatError("'\(name(field))[\(elements.count)]': expected a string, found \(foundKind)")
            }
            elements.append(try parser.parseString())
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count else { throw parser.fail("unterminated array") }
            if parser.bytes[parser.index] == UInt8(ascii: ",") {
                parser.index += 1
                continue
            }
            if parser.bytes[parser.index] == UInt8(ascii: "]") {
                parser.index += 1
                return elements
            }
            throw parser.fail("expected ',' or ']'")
        }
    }

    /// True or false; nil for null.
    public mutating func optionalBool(_ field: JSONFieldName) throws -> Bool? {
        defer { valueRead() }
        if skipNull() { return nil }
        guard parser.index < parser.bytes.count,
            parser.bytes[parser.index] == UInt8(ascii: "t") || parser.bytes[parser.index] == UInt8(ascii: "f")
        else {
            throw mismatch(field, "a boolean")
        }
        guard case .bool(let flag) = try parser.parseValue() else { throw mismatch(field, "a boolean") }
        return flag
    }

    /// A number's text as it stands in the document; nil for null.
    public mutating func optionalNumberText(_ field: JSONFieldName) throws -> String? {
        defer { valueRead() }
        if skipNull() { return nil }
        guard case .number(let text) = try parser.parseValue() else { throw mismatch(field, "a number") }
        return text
    }

    /// A whole number; nil for null.
    public mutating func optionalInt(_ field: JSONFieldName) throws -> Int? {
        guard let text = try optionalNumberText(field) else { return nil }
        guard let value = Int(text) else { throw WireFormatError("'\(name(field))': expected a whole number, found \(text)") }
        return value
    }

    /// A binary float (figures shown for reading, never amounts); nil for null.
    public mutating func optionalDouble(_ field: JSONFieldName) throws -> Double? {
        guard let text = try optionalNumberText(field) else { return nil }
        guard let value = Double(text) else { throw WireFormatError("'\(name(field))': expected a number, found \(text)") }
        return value
    }

    /// An exact decimal, as `Amount` decodes one: a string (whitespace around it ignored) or a
    /// number; nil for null.
    public mutating func optionalAmount(_ field: JSONFieldName) throws -> Amount? {
        let text: String
        if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") {
            guard let string = try optionalString(field) else { return nil }
            text = string.trimmingWhitespace()
        } else {
            guard let number = try optionalNumberText(field) else { return nil }
            text = number
        }
        guard let amount = Amount(text) else { throw WireFormatError("'\(name(field))': '\(text)' is not a decimal number") }
        return amount
    }

    /// An RFC 3339 time, as `WireDecoder` reads times; nil for null.
    public mutating func optionalTime(_ field: JSONFieldName) throws -> Date? {
        guard let text = try optionalString(field) else { return nil }
        guard let time = Timestamp.parse(text) else { throw WireFormatError("'\(name(field))': '\(text)' is not an RFC 3339 time") }
        return time
    }

    /// Any value, parsed whole (for members whose shape the type leaves open); nil for null.
    public mutating func optionalValue(_ field: JSONFieldName) throws -> JSONValue? {
        defer { valueRead() }
        if skipNull() { return nil }
        return try parser.parseValue()
    }

    /// A list of objects, each read by `body`; null is empty.
    @inlinable
    public mutating func objects<T>(_ field: JSONFieldName, _ body: (inout JSONObjectReader) throws -> T) throws -> [T] {
        try optionalObjects(field, body) ?? []
    }

    /// A list of objects, each read by `body`; nil for null (where an empty list means something else).
    @inlinable
    public mutating func optionalObjects<T>(_ field: JSONFieldName, _ body: (inout JSONObjectReader) throws -> T) throws -> [T]? {
        var elements: [T] = []
        guard try beginArray(field) else { return nil }
        while var nested = try nextElement(field, index: elements.count) {
            elements.append(try body(&nested))
            try endElement(nested)
        }
        return elements
    }

    /// Enters the member's array; false (the value read) for null.
    @usableFromInline
    mutating func beginArray(_ field: JSONFieldName) throws -> Bool {
        if skipNull() {
            valueRead()
            return false
        }
        guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "[") else {
            throw mismatch(field, "an array")
        }
        try parser.enter()
        parser.index += 1
        return true
    }

    /// A reader of the array's next element; nil (the array left, the value read) after the last.
    @usableFromInline
    mutating func nextElement(_ field: JSONFieldName, index: Int) throws -> JSONObjectReader? {
        parser.skipWhitespace()
        guard parser.index < parser.bytes.count else { throw parser.fail("unterminated array") }
        if parser.bytes[parser.index] == UInt8(ascii: "]") {
            parser.index += 1
            parser.leave()
            valueRead()
            return nil
        }
        if index > 0 {
            guard parser.bytes[parser.index] == UInt8(ascii: ",") else { throw parser.fail("expected ',' or ']'") }
            parser.index += 1
            parser.skipWhitespace()
            // A comma must be followed by an element.
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] != UInt8(ascii: "]") else {
                throw parser.fail("expected a value after ','")
            }
        }
        return JSONObjectReader(parser.bytes, at: parser.index, path: "\(name(field))[\(index)]")
    }

    /// Continues after an array element once its reader is done with it.
    @usableFromInline
    mutating func endElement(_ nested: consuming JSONObjectReader) throws {
        try nested.finish()
        parser.index = nested.parser.index
    }

    /// One of an enumeration's raw values; nil for null.
    @inlinable
    public mutating func optionalEnumeration<T: RawRepresentable & CaseIterable>(_ field: JSONFieldName, _ type: T.Type) throws -> T?
    where T.RawValue == String {
        guard let text = try optionalString(field) else { return nil }
        return try enumerationCase(field, text, type)
    }

    /// A list of an enumeration's raw values; null is empty.
    @inlinable
    public mutating func enumerations<T: RawRepresentable & CaseIterable>(_ field: JSONFieldName, _ type: T.Type) throws -> [T]
    where T.RawValue == String {
        try strings(field).map { try enumerationCase(field, $0, type) }
    }

    @inlinable
    func enumerationCase<T: RawRepresentable & CaseIterable>(_ field: JSONFieldName, _ text: String, _ type: T.Type) throws -> T
    where T.RawValue == String {
        guard let value = T(rawValue: text) else {
            throw notOneOf(field, text, T.allCases.map(\.rawValue))
        }
        return value
    }

    @usableFromInline
    func notOneOf(_ field: JSONFieldName, _ text: String, _ cases: [String]) -> WireFormatError {
        WireFormatError("'\(name(field))': '\(text)' is not one of \(cases.joined(separator: ", "))")
    }

    /// A nested object, read by `body` from the member's value; nil for null.
    @inlinable
    public mutating func optionalObject<T>(_ field: JSONFieldName, _ body: (inout JSONObjectReader) throws -> T) throws -> T? {
        guard var nested = beginNested(field) else { return nil }
        let value = try body(&nested)
        try endNested(nested)
        return value
    }

    /// A reader of the member's object value; nil (the value read) for null.
    @usableFromInline
    mutating func beginNested(_ field: JSONFieldName) -> JSONObjectReader? {
        if skipNull() {
            valueRead()
            return nil
        }
        return JSONObjectReader(parser.bytes, at: parser.index, path: name(field))
    }

    /// Continues after a nested object once its reader is done with it.
    @usableFromInline
    mutating func endNested(_ nested: consuming JSONObjectReader) throws {
        try nested.finish()
        parser.index = nested.parser.index
        valueRead()
    }
}

/// A member name as `JSONObjectReader` found it; match it against literals in a `switch`. Only
/// valid while its reader reads (it may point into the document's bytes).
public struct JSONFieldName: CustomStringConvertible {
    @usableFromInline let plain: UnsafeRawBufferPointer?
    @usableFromInline let text: String?

    init(plain: UnsafeRawBufferPointer) {
        self.plain = plain
        self.text = nil
    }

    init(text: String) {
        self.plain = nil
        self.text = text
    }

    public var description: String { text ?? String(decoding: plain!, as: UTF8.self) }

    /// Inlinable: a reader's `switch` calls it for each literal until one matches, and inlined the
    /// literal's length is a constant, so most cases fail on the length alone.
    @inlinable
    public static func ~= (pattern: StaticString, name: JSONFieldName) -> Bool {
        let count = pattern.utf8CodeUnitCount
        if let plain = name.plain {
            return plain.count == count && memcmp(plain.baseAddress!, pattern.utf8Start, count) == 0
        }
        return name.text!.utf8.elementsEqual(UnsafeBufferPointer(start: pattern.utf8Start, count: count))
    }
}

/// Types that read themselves with `JSONObjectReader`.
public protocol JSONReadable {
    init(reading object: inout JSONObjectReader) throws
}

extension JSONReadable {
    @inlinable
    public static func read(_ bytes: [UInt8], path: String = "") throws -> Self {
        do {
            return try JSONObjectReader.read(bytes, path: path) { try Self(reading: &$0) }
        } catch {
            throw WireFormatError.describing(error)
        }
    }

    /// For `init(from:)` (these types nested in a `Decodable` one, or decoded by Foundation): the
    /// value is taken as a `JSONValue` and read back from its bytes, so there is one reading of
    /// the fields. Off the hot path, where the extra round trip does not matter.
    public static func decodeThroughJSON(_ decoder: any Decoder) throws -> Self {
        let value = if let tree = decoder as? TreeDecoder { tree.value } else { try JSONValue(from: decoder) }
        var writer = JSONWriter()
        writer.value(value)
        return try read(
            writer.bytes, path: decoder.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: "."))
    }
}

extension JSONValue: Decodable, WireScalar {
    static func fromWire(_ value: JSONValue, codingPath: [any CodingKey]) throws -> JSONValue { value }

    private struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    public init(from decoder: any Decoder) throws {
        if let tree = decoder as? TreeDecoder {
            self = tree.value
        } else if let container = try? decoder.container(keyedBy: AnyKey.self) {
            self = .object(try container.allKeys.map { ($0.stringValue, try container.decode(JSONValue.self, forKey: $0)) })
        } else if var container = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !container.isAtEnd { elements.append(try container.decode(JSONValue.self)) }
            self = .array(elements)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let flag = try? container.decode(Bool.self) {
                self = .bool(flag)
            } else if let text = try? container.decode(String.self) {
                self = .string(text)
            } else {
                self = .number(ExactDecimal.format(try container.decode(Decimal.self)))
            }
        }
    }
}
