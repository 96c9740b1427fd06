import Foundation
import WireFormat

/// Money as integers of ten-thousandths, so that SQLite sums it exactly. Amounts the service
/// accepts have at most four decimals and lie within ±10^12, so a sum over millions of them stays
/// far inside 64 bits.
enum MinorUnits {
    static let scale: Decimal = 10_000
    static let limit: Decimal = 1_000_000_000_000

    /// The amount in ten-thousandths; nil when it has more than four decimals or exceeds the limit.
    static func of(_ amount: Decimal) -> Int64? {
        guard abs(amount) <= limit else { return nil }
        let scaled = amount * scale
        var rounded = Decimal()
        var value = scaled
        NSDecimalRound(&rounded, &value, 0, .plain)
        guard rounded == scaled else { return nil }
        return Int64(ExactDecimal.format(rounded))  // exact: through text, not through Double
    }

    static func decimal(_ minor: Int64) -> Decimal { Decimal(minor) / scale }

    /// Why an amount is refused, for a 422.
    static func problem(_ amount: Decimal, field: String) -> String? {
        if abs(amount) > limit { return "\(field) must be at most 1000000000000 in magnitude" }
        if of(amount) == nil { return "\(field) must have at most four decimal places" }
        return nil
    }
}
