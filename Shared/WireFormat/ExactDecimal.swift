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

    /// `a × b`: the value Foundation's `*` gives, without its arbitrary-precision arithmetic when
    /// both significands fit 64 bits and so does their product (a price times a quantity).
    public static func product(_ a: Decimal, _ b: Decimal) -> Decimal {
        guard let x = smallParts(a), let y = smallParts(b) else { return a * b }
        let (significand, overflow) = x.significand.multipliedReportingOverflow(by: y.significand)
        let exponent = x.exponent + y.exponent
        guard !overflow, Int(Int8.min)...Int(Int8.max) ~= exponent else { return a * b }
        if significand == 0 { return 0 }
        return Decimal(sign: a.sign == b.sign ? .plus : .minus, exponent: exponent, significand: Decimal(significand))
    }

    /// A value's exponent and significand when the significand fits 64 bits; nil for any other.
    private static func smallParts(_ value: Decimal) -> (exponent: Int, significand: UInt64)? {
        guard !value.isNaN, MemoryLayout<Decimal>.size == 20 else { return nil }
        // Decimal's storage (NSDecimal's bit fields, as laid out here): the exponent (Int8), the
        // length in 16-bit words (the high 4 bits of the next byte, the flags below them), two
        // reserved bytes, then the significand in eight little-endian 16-bit words. Its accessors
        // are not public on Linux; the sign is read through the public API.
        // `decimalTextAgreesWithFoundation` checks this against Foundation.
        return withUnsafeBytes(of: value) { raw -> (exponent: Int, significand: UInt64)? in
            let length = Int(raw[1] >> 4)
            guard length <= 4 else { return nil }
            var significand: UInt64 = 0
            for word in (0..<length).reversed() {
                significand = significand << 16 | UInt64(raw[4 + 2 * word]) | UInt64(raw[5 + 2 * word]) << 8
            }
            return (Int(Int8(bitPattern: raw[0])), significand)
        }
    }

    /// The text of a value whose significand fits 64 bits, written directly (what `NSDecimalString`
    /// writes, without its locale lookups); nil for any other. Its digits go into one stack buffer,
    /// so the `String` is its only allocation (a list of a thousand offers formats six thousand).
    static func formatSmall(_ value: Decimal) -> String? {
        guard var (exponent, significand) = smallParts(value) else { return nil }
        if significand == 0 { return "0" }
        while exponent < 0 && significand % 10 == 0 {
            significand /= 10
            exponent += 1
        }
        guard exponent <= 64 else { return nil }
        // At most: a sign, 20 digits and 64 zeros, or "0." and 128 fraction digits (the exponent is an Int8).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 160) { buffer -> String in
            var length = 0
            /// `number`'s digits, left-padded with zeros to `width`.
            func append(_ number: UInt64, width: Int = 1) {
                var digits = 0
                var rest = number
                repeat {
                    digits += 1
                    rest /= 10
                } while rest > 0
                let end = length + max(digits, width)
                rest = number
                for position in stride(from: end - 1, through: length, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                length = end
            }
            if value.sign == .minus {
                buffer[0] = UInt8(ascii: "-")
                length = 1
            }
            if exponent >= 0 {
                append(significand)
                for _ in 0..<exponent {
                    buffer[length] = UInt8(ascii: "0")
                    length += 1
                }
            } else {
                // The integer part and `fractionDigits` digits after the point (20 or more: all of them).
                let fractionDigits = -exponent
                let divisor = fractionDigits < 20 ? (0..<fractionDigits).reduce(UInt64(1)) { power, _ in power * 10 } : 0
                append(divisor == 0 ? 0 : significand / divisor)
                buffer[length] = UInt8(ascii: ".")
                length += 1
                append(divisor == 0 ? significand : significand % divisor, width: fractionDigits)
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<length]), as: UTF8.self)
        }
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
