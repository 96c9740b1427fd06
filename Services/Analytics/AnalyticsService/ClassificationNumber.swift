import Foundation
import WireFormat

/// The exact arithmetic classification needs: sums, products and comparisons of amounts. A run
/// first counts in `Int128`, every amount a whole number of 10^-scale units at one scale for the
/// whole run (ten times faster than `Decimal` over 100,000 clients), and reports overflow; on
/// overflow it starts again in `Decimal`, which never overflows at these sizes. Either way the
/// classes are decided without rounding.
protocol ClassificationNumber: Comparable, Sendable {
    static var zero: Self { get }
    init(_ integer: Int)
    static func sum(_ a: Self, _ b: Self) throws(ArithmeticOverflow) -> Self
    static func product(_ a: Self, _ b: Self) throws(ArithmeticOverflow) -> Self
    /// The amount stored as `text` (exact decimal text, as the store keeps it), at `scale`; when the
    /// text needs a finer scale, `rescale` is called first with the factor that brings every amount
    /// read so far to it.
    static func read(_ text: UnsafeBufferPointer<UInt8>, scale: inout Int, rescale: (Self) throws(ArithmeticOverflow) -> Void)
        throws(ArithmeticOverflow) -> Self
    /// A cut (a percentage) as numerator and denominator: cut = p / q.
    static func ratio(_ cut: Decimal) throws(ArithmeticOverflow) -> (p: Self, q: Self)
    /// The value of an amount at `scale`.
    func decimal(scale: Int) -> Decimal
    /// For shares and coefficients shown for reading (classes are decided exactly).
    var double: Double { get }
}

/// A sum, product or amount too large for the arithmetic at hand.
struct ArithmeticOverflow: Error {}

extension Int128: ClassificationNumber {
    static func sum(_ a: Int128, _ b: Int128) throws(ArithmeticOverflow) -> Int128 {
        let (result, overflow) = a.addingReportingOverflow(b)
        if overflow { throw ArithmeticOverflow() }
        return result
    }

    static func product(_ a: Int128, _ b: Int128) throws(ArithmeticOverflow) -> Int128 {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw ArithmeticOverflow() }
        return result
    }

    static func read(_ text: UnsafeBufferPointer<UInt8>, scale: inout Int, rescale: (Int128) throws(ArithmeticOverflow) -> Void)
        throws(ArithmeticOverflow) -> Int128
    {
        guard let (units, digits) = units(text) else { throw ArithmeticOverflow() }
        if digits > scale {
            try rescale(try power(of: 10, digits - scale))
            scale = digits
        }
        return try product(units, try power(of: 10, scale - digits))
    }

    /// `-?digits(.digits)?` as whole units of its last fraction digit, and how many fraction digits
    /// it has; nil for any other text (an exponent) or more digits than fit.
    static func units(_ text: UnsafeBufferPointer<UInt8>) -> (Int128, Int)? {
        // Digits gather in 64 bits while they fit (18 digits): Int128 arithmetic costs more.
        var units: Int128 = 0
        var pending: UInt64 = 0
        var pendingDigits = 0
        var digits = 0
        var fractionDigits: Int?
        var negative = false
        for (position, byte) in text.enumerated() {
            switch byte {
            case UInt8(ascii: "-") where position == 0: negative = true
            case UInt8(ascii: "."):
                guard fractionDigits == nil, digits > 0 else { return nil }
                fractionDigits = 0
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                guard digits <= 37 else { return nil }
                pending = pending * 10 + UInt64(byte - UInt8(ascii: "0"))
                pendingDigits += 1
                if pendingDigits == 18 {
                    units = units * powersOfTen[18] + Int128(pending)
                    (pending, pendingDigits) = (0, 0)
                }
                if let fraction = fractionDigits { fractionDigits = fraction + 1 }
            default: return nil
            }
        }
        guard digits > 0 else { return nil }
        units = units * powersOfTen[pendingDigits] + Int128(pending)
        return (negative ? -units : units, fractionDigits ?? 0)
    }

    /// 10^0 … 10^38, all that Int128 holds.
    private static let powersOfTen: [Int128] = (0...38).reduce(into: []) { powers, n in powers.append(n == 0 ? 1 : powers[n - 1] * 10) }

    static func power(of base: Int128, _ exponent: Int) throws(ArithmeticOverflow) -> Int128 {
        if base == 10 {
            guard exponent < powersOfTen.count else { throw ArithmeticOverflow() }
            return powersOfTen[exponent]
        }
        var result: Int128 = 1
        for _ in 0..<exponent { result = try product(result, base) }
        return result
    }

    static func ratio(_ cut: Decimal) throws(ArithmeticOverflow) -> (p: Int128, q: Int128) {
        var text = ExactDecimal.format(cut)
        guard let (units, digits) = text.withUTF8({ Self.units($0) }) else { throw ArithmeticOverflow() }
        return (units, try power(of: 10, digits))
    }

    func decimal(scale: Int) -> Decimal {
        let magnitude = self.magnitude
        if magnitude <= UInt64.max {
            return Decimal(sign: self < 0 ? .minus : .plus, exponent: -scale, significand: Decimal(UInt64(magnitude)))
        }
        return Decimal(sign: self < 0 ? .minus : .plus, exponent: -scale, significand: ExactDecimal.parse(String(magnitude))!)
    }

    /// Through `Int64` where it fits: the generic conversion from `Int128` costs ten times more.
    var double: Double {
        if let small = Int64(exactly: self) { return Double(small) }
        return Double(self)
    }
}

extension Decimal: ClassificationNumber {
    static var zero: Decimal { 0 }

    static func sum(_ a: Decimal, _ b: Decimal) -> Decimal { a + b }
    static func product(_ a: Decimal, _ b: Decimal) -> Decimal { a * b }

    static func read(_ text: UnsafeBufferPointer<UInt8>, scale: inout Int, rescale: (Decimal) throws(ArithmeticOverflow) -> Void)
        -> Decimal
    {
        Decimals.parse(String(decoding: text, as: UTF8.self))
    }

    static func ratio(_ cut: Decimal) -> (p: Decimal, q: Decimal) { (cut, 1) }

    func decimal(scale: Int) -> Decimal { self }

    var double: Double { NSDecimalNumber(decimal: self).doubleValue }
}
