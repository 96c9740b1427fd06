import Foundation

/// Reads the members of a parsed JSON object by name, with errors that name the field. Event types
/// on the replay hot path decode through this instead of `Decodable`, whose machinery costs more
/// than the parse itself.
public struct JSONObjectReader {
    private let members: [(String, JSONValue)]
    private let path: String

    public init(_ value: JSONValue, path: String = "") throws {
        guard case .object(let members) = value else {
            throw WireFormatError("\(path.isEmpty ? "value" : "'\(path)'"): expected an object, found \(value.kindName)")
        }
        self.members = members
        self.path = path
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func mismatch(_ key: String, _ expected: String, _ found: JSONValue) -> WireFormatError {
        WireFormatError("'\(name(key))': expected \(expected), found \(found.kindName)")
    }

    /// The member's value; nil when absent or null. The last of duplicated names wins.
    public func value(_ key: String) -> JSONValue? {
        var index = members.count - 1
        while index >= 0 {
            if members[index].0 == key {
                if case .null = members[index].1 { return nil }
                return members[index].1
            }
            index -= 1
        }
        return nil
    }

    public func string(_ key: String) throws -> String {
        guard let value = value(key) else { throw WireFormatError("missing field '\(name(key))'") }
        guard case .string(let text) = value else { throw mismatch(key, "a string", value) }
        return text
    }

    public func optionalString(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw mismatch(key, "a string", value) }
        return text
    }

    /// A list of strings; absent or null is empty.
    public func strings(_ key: String) throws -> [String] {
        guard let value = value(key) else { return [] }
        guard case .array(let elements) = value else { throw mismatch(key, "an array of strings", value) }
        return try elements.enumerated().map { index, element in
            guard case .string(let text) = element else { throw mismatch("\(key)[\(index)]", "a string", element) }
            return text
        }
    }

    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let value = value(key) else { return defaultValue }
        guard case .bool(let flag) = value else { throw mismatch(key, "a boolean", value) }
        return flag
    }

    public func enumeration<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> T where T.RawValue == String {
        let text = try string(key)
        guard let parsed = T(rawValue: text) else { throw invalidCase(key, text, type) }
        return parsed
    }

    public func enumerations<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> [T] where T.RawValue == String {
        try strings(key).map { text in
            guard let parsed = T(rawValue: text) else { throw invalidCase(key, text, type) }
            return parsed
        }
    }

    private func invalidCase<T: RawRepresentable & CaseIterable>(_ key: String, _ text: String, _ type: T.Type) -> WireFormatError
    where T.RawValue == String {
        WireFormatError("'\(name(key))': '\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    /// A nested object; nil when absent or null.
    public func object(_ key: String) throws -> JSONObjectReader? {
        guard let value = value(key) else { return nil }
        return try JSONObjectReader(value, path: name(key))
    }
}

/// Types that read themselves from a parsed JSON value (see `JSONObjectReader`).
public protocol JSONReadable {
    init(json: JSONValue) throws
}

extension JSONReadable {
    public static func read(_ bytes: [UInt8]) throws -> Self {
        do {
            return try Self(json: try JSONParser.parse(bytes))
        } catch {
            throw WireFormatError.describing(error)
        }
    }

    /// For `init(from:)`: our decoder hands over its parsed value; any other decoder (Foundation's)
    /// goes through `JSONValue`'s generic decoding.
    public static func decodeThroughJSON(_ decoder: any Decoder) throws -> Self {
        if let tree = decoder as? TreeDecoder { return try Self(json: tree.value) }
        return try Self(json: try JSONValue(from: decoder))
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
