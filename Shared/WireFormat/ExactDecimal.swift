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
        // The value as it is read, for the fast path: significant digits while they fit 19, the
        // digits after the point, and the exponent.
        var negative = false
        var significand: UInt64 = 0
        var fractionDigits = 0
        var exponent = 0
        var exponentNegative = false
        for (position, byte) in text.utf8.enumerated() {
            previousWasDot = false
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if position == 0 && byte == UInt8(ascii: "-") {
                    state = 1
                    negative = true
                    continue
                }
                if state == 3 {
                    state = 4
                    exponentNegative = byte == UInt8(ascii: "-")
                    continue
                }
                return nil
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if state == 3 || state == 4 {
                    state = 4
                    sawExponentDigit = true
                    if exponent < 10_000 { exponent = exponent * 10 + Int(byte - UInt8(ascii: "0")) }
                    continue
                }
                if sawDigit || byte != UInt8(ascii: "0") || state == 2 { digits += 1 }
                sawDigit = true
                if state == 0 { state = 1 }
                if digits <= 19 { significand = significand &* 10 &+ UInt64(byte - UInt8(ascii: "0")) }
                if state == 2 { fractionDigits += 1 }
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
        let scale = (exponentNegative ? -exponent : exponent) - fractionDigits
        if digits <= 19 && (-100...100).contains(scale) {
            // Built from its parts: `Decimal(string:)` consults the locale on every call.
            if significand == 0 { return Decimal(0) }
            return Decimal(sign: negative ? .minus : .plus, exponent: scale, significand: Decimal(significand))
        }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    /// The plain decimal text of a value (`100.5`, never `1.005e2`; no trailing zeros after the point).
    public static func format(_ value: Decimal) -> String {
        if let text = formatSmall(value) { return text }
        var copy = value
        return NSDecimalString(&copy, Locale(identifier: "en_US_POSIX"))
    }

    /// The text of a value whose significand fits 64 bits, written directly (what `NSDecimalString`
    /// writes, without its locale lookups and intermediate strings); nil for any other.
    static func formatSmall(_ value: Decimal) -> String? {
        guard !value.isNaN, MemoryLayout<Decimal>.size == 20 else { return nil }
        // Decimal's storage (NSDecimal's bit fields, as laid out here): the exponent (Int8), the
        // length in 16-bit words (the high 4 bits of the next byte, the flags below them), two
        // reserved bytes, then the significand in eight
        // little-endian 16-bit words. Its accessors are not public on Linux; the sign is read
        // through the public API. `decimalTextAgreesWithFoundation` checks this against Foundation.
        let (exponentByte, flags, words) = withUnsafeBytes(of: value) { raw -> (Int8, UInt8, [UInt64]) in
            var words: [UInt64] = []
            for index in 0..<4 {
                let low = UInt64(raw[4 + 2 * index])
                let high = UInt64(raw[5 + 2 * index])
                words.append(low | high << 8)
            }
            return (Int8(bitPattern: raw[0]), raw[1], words)
        }
        let length = Int(flags >> 4)
        guard length <= 4 else { return nil }
        var significand: UInt64 = 0
        for word in (0..<length).reversed() { significand = significand << 16 | words[word] }
        if length == 0 || significand == 0 { return "0" }
        var exponent = Int(exponentByte)
        while exponent < 0 && significand % 10 == 0 {
            significand /= 10
            exponent += 1
        }
        var digits = Array(String(significand).utf8)
        if exponent > 0 {
            guard exponent <= 64 else { return nil }
            digits += [UInt8](repeating: UInt8(ascii: "0"), count: exponent)
        } else if exponent < 0 {
            let point = digits.count + exponent
            if point <= 0 {
                let zeros = [UInt8](repeating: UInt8(ascii: "0"), count: -point)
                digits = [UInt8(ascii: "0"), UInt8(ascii: ".")] + zeros + digits
            } else {
                digits.insert(UInt8(ascii: "."), at: point)
            }
        }
        if value.sign == .minus { digits.insert(UInt8(ascii: "-"), at: 0) }
        return String(decoding: digits, as: UTF8.self)
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
