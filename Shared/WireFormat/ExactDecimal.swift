import Foundation

/// Exact decimal text ⇄ `Decimal`. Money and quantities never pass through `Double`.
public enum ExactDecimal {
    /// Parses `-?digits(.digits)?([eE][+-]?digits)?` with at most 38 significant digits; anything
    /// else (including trailing garbage that `Decimal(string:)` would ignore) is nil.
    public static func parse(_ text: String) -> Decimal? {
        var digits = 0
        var sawDigit = false
        var state = 0  // 0 sign/int, 1 int, 2 fraction, 3 exponent sign, 4 exponent
        var sawExponentDigit = false
        var previousWasDot = false
        for (position, byte) in text.utf8.enumerated() {
            previousWasDot = false
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if position == 0 && byte == UInt8(ascii: "-") {
                    state = 1
                    continue
                }
                if state == 3 {
                    state = 4
                    continue
                }
                return nil
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if state == 3 || state == 4 {
                    state = 4
                    sawExponentDigit = true
                    continue
                }
                if sawDigit || byte != UInt8(ascii: "0") || state == 2 { digits += 1 }
                sawDigit = true
                if state == 0 { state = 1 }
            case UInt8(ascii: "."):
                if state > 1 || !sawDigit { return nil }
                state = 2
                previousWasDot = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                if state > 2 || !sawDigit { return nil }
                state = 3
            default:
                return nil
            }
        }
        if !sawDigit || previousWasDot || state == 3 || (state == 4 && !sawExponentDigit) || digits > 38 { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    /// The plain decimal text of a value (`100.5`, never `1.005e2`).
    public static func format(_ value: Decimal) -> String {
        var copy = value
        return NSDecimalString(&copy, Locale(identifier: "en_US_POSIX"))
    }
}

/// A decimal that encodes as a JSON string, so no consumer reads it into a binary float.
public struct Amount: Codable, Sendable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var value: Decimal

    public init(_ value: Decimal) { self.value = value }
    public init(integerLiteral value: Int) { self.value = Decimal(value) }

    public init?(_ text: String) {
        guard let value = ExactDecimal.parse(text) else { return nil }
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = ExactDecimal.parse(text.trimmingWhitespace()) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a decimal number")
            }
            self.value = value
        } else {
            self.value = try container.decode(Decimal.self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String { ExactDecimal.format(value) }
}
