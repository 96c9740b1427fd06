import Foundation

/// A running exact sum of amounts as the store keeps them (decimal text), for sums over hundreds of
/// thousands of rows: whole units of the finest scale seen so far in `Int128`, and `Decimal` from
/// the first amount that would overflow it (or that `Int128.units` cannot read). Its text is what
/// `Decimals.text` writes for the same value.
struct ExactSum {
    private var units: Int128 = 0
    private var scale = 0
    private var overflowed: Decimal?

    mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
        if overflowed == nil {
            do throws(ArithmeticOverflow) {
                // Worked on copies, so that an overflow halfway leaves the sum as it was.
                var rescaled = units
                var newScale = scale
                let amount = try Int128.read(text, scale: &newScale) { (factor: Int128) throws(ArithmeticOverflow) in
                    rescaled = try Int128.product(rescaled, factor)
                }
                units = try Int128.sum(rescaled, amount)
                scale = newScale
                return
            } catch {
                overflowed = units.decimal(scale: scale)
            }
        }
        overflowed! += Decimals.parse(String(decoding: text, as: UTF8.self))
    }

    var value: Decimal { overflowed ?? units.decimal(scale: scale) }

    /// `self - other`, exactly.
    func minus(_ other: ExactSum) -> ExactSum {
        if overflowed == nil && other.overflowed == nil {
            let common = max(scale, other.scale)
            if let a = try? Int128.product(units, Int128.power(of: 10, common - scale)),
                let b = try? Int128.product(other.units, Int128.power(of: 10, common - other.scale)),
                case (let difference, false) = a.subtractingReportingOverflow(b)
            {
                var result = ExactSum()
                result.units = difference
                result.scale = common
                return result
            }
        }
        var result = ExactSum()
        result.overflowed = value - other.value
        return result
    }

    /// The canonical text (`ExactDecimal.format`): no exponent, no trailing zeros after the point.
    var text: String {
        if let overflowed { return Decimals.text(overflowed) }
        guard units != 0 else { return "0" }
        var magnitude = units.magnitude
        var scale = scale
        while scale > 0 && magnitude % 10 == 0 {
            magnitude /= 10
            scale -= 1
        }
        // Through `UInt64` where it fits: the generic conversion costs far more.
        var digits = UInt64(exactly: magnitude).map { String($0) } ?? String(magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return units < 0 ? "-" + digits : digits
    }
}
