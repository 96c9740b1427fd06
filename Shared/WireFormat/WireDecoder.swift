import Foundation

/// Decodes `Decodable` types from bytes with `JSONParser`. Unknown members are ignored; `Decimal`
/// comes exactly from a JSON number or a decimal string; `Date` from an RFC 3339 string.
public enum WireDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let value = try JSONParser.parse(bytes)
        return try decode(type, from: value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try TreeDecoder(value: value, codingPath: []).decodeValue(type)
    }

    /// `decode` for event data: any failure becomes a `WireFormatError` naming the field (a dead letter).
    public static func decodeEvent<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do { return try decode(type, from: bytes) } catch { throw WireFormatError.describing(error) }
    }
}

/// Values with their own wire form decode through this instead of their `init(from:)`.
protocol WireScalar {
    static func fromWire(_ value: JSONValue, codingPath: [any CodingKey]) throws -> Self
}

extension Decimal: WireScalar {
    static func fromWire(_ value: JSONValue, codingPath: [any CodingKey]) throws -> Decimal {
        let text: String
        switch value {
        case .number(let n): text = n
        case .string(let s): text = s.trimmingWhitespace()
        default: throw typeMismatch(Decimal.self, value, codingPath)
        }
        guard let decimal = ExactDecimal.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "'\(text)' is not a decimal number"))
        }
        return decimal
    }
}

extension Date: WireScalar {
    static func fromWire(_ value: JSONValue, codingPath: [any CodingKey]) throws -> Date {
        guard case .string(let text) = value else { throw typeMismatch(Date.self, value, codingPath) }
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "'\(text)' is not an RFC 3339 time"))
        }
        return date
    }
}

func typeMismatch(_ type: Any.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) -> DecodingError {
    DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(type), found \(value.kindName)"))
}

struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(intValue: Int) {
        self.intValue = intValue
        self.stringValue = "\(intValue)"
    }
    init?(stringValue: String) { return nil }
}

struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let scalar = type as? any WireScalar.Type {
            return try scalar.fromWire(value, codingPath: codingPath) as! T
        }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw typeMismatch([String: Any].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedContainer(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw typeMismatch([Any].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValue(value: value, codingPath: codingPath) }
}

/// Shared conversions from a JSON value to Swift scalars.
struct ScalarReader {
    let codingPath: [any CodingKey]

    func bool(_ value: JSONValue) throws -> Bool {
        guard case .bool(let b) = value else { throw typeMismatch(Bool.self, value, codingPath) }
        return b
    }

    func string(_ value: JSONValue) throws -> String {
        guard case .string(let s) = value else { throw typeMismatch(String.self, value, codingPath) }
        return s
    }

    func integer<T: FixedWidthInteger>(_ value: JSONValue, _ type: T.Type) throws -> T {
        guard case .number(let text) = value else { throw typeMismatch(T.self, value, codingPath) }
        if let exact = T(text) { return exact }
        // Accept integral values written with a fraction or exponent (1.0, 1e3).
        if let double = Double(text), double.rounded() == double, let exact = T(exactly: double) { return exact }
        throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(text) does not fit \(T.self)"))
    }

    func floating<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: JSONValue, _ type: T.Type) throws -> T {
        guard case .number(let text) = value, let result = T(text) else { throw typeMismatch(T.self, value, codingPath) }
        return result
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [(String, JSONValue)]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.0) } }

    private func find(_ key: Key) -> JSONValue? {
        let name = key.stringValue
        for index in members.indices.reversed() where members[index].0 == name { return members[index].1 }
        return nil
    }

    private func require(_ key: Key) throws -> JSONValue {
        guard let value = find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing '\(key.stringValue)'"))
        }
        if case .null = value {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath + [key], debugDescription: "'\(key.stringValue)' is null"))
        }
        return value
    }

    private func reader(_ key: Key) -> ScalarReader { ScalarReader(codingPath: codingPath + [key]) }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = find(key) else { return true }
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try reader(key).bool(require(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try reader(key).string(require(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try reader(key).floating(require(key), type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try reader(key).floating(require(key), type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try reader(key).integer(require(key), type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try reader(key).integer(require(key), type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try reader(key).integer(require(key), type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try reader(key).integer(require(key), type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try reader(key).integer(require(key), type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try reader(key).integer(require(key), type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try reader(key).integer(require(key), type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try reader(key).integer(require(key), type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try reader(key).integer(require(key), type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try reader(key).integer(require(key), type) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try TreeDecoder(value: require(key), codingPath: codingPath + [key]).decodeValue(type)
    }

    // Optional fields: absent or null is nil, anything else must decode.
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = find(key), value != .null else { return nil }
        return try reader(key).string(value)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let value = find(key), value != .null else { return nil }
        return try reader(key).bool(value)
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let value = find(key), value != .null else { return nil }
        return try reader(key).integer(value, type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = find(key), value != .null else { return nil }
        return try TreeDecoder(value: value, codingPath: codingPath + [key]).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: require(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: require(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: .object(members), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: find(key) ?? .null, codingPath: codingPath + [key])
    }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "array ended"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], codingPath + [IndexKey(intValue: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = elements[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next()
        return try TreeDecoder(value: value, codingPath: path).decodeValue(type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next()
        return try TreeDecoder(value: value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next()
        return try TreeDecoder(value: value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next()
        return TreeDecoder(value: value, codingPath: path)
    }
}

struct SingleValue: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    private var reader: ScalarReader { ScalarReader(codingPath: codingPath) }

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(value) }
    func decode(_ type: String.Type) throws -> String { try reader.string(value) }
    func decode(_ type: Double.Type) throws -> Double { try reader.floating(value, type) }
    func decode(_ type: Float.Type) throws -> Float { try reader.floating(value, type) }
    func decode(_ type: Int.Type) throws -> Int { try reader.integer(value, type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(value, type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(value, type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(value, type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(value, type) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(value, type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(value, type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(value, type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(value, type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(value, type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try TreeDecoder(value: value, codingPath: codingPath).decodeValue(type) }
}
