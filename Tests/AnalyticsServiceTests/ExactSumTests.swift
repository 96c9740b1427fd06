import Foundation
import Testing
import WireFormat

@testable import AnalyticsService

// A bulk load sums a replay's sales with `ExactSum` where batches sum them in `Decimal`: both must
// write the same text for the same amounts, or a rebuilt store would differ from the one served.
struct ExactSumTests {
    static func sum(_ texts: [String]) -> ExactSum {
        var sum = ExactSum()
        for text in texts {
            var text = text
            text.withUTF8 { sum.add($0) }
        }
        return sum
    }

    static func decimalSum(_ texts: [String]) -> Decimal { texts.reduce(Decimal(0)) { $0 + ExactDecimal.parse($1)! } }

    @Test(arguments: [
        ["0"], ["1.10", "2.2"], ["0.001", "-0.001"], ["-5", "2.25"], ["0.05", "0.005", "0.0005"], ["100", "200.000"],
        ["123456789012345678.5", "987654321098765432.25", "0.125"],
        // Past what Int128 holds (39 digits): the sum goes on in Decimal from there.
        ["9999999999999999999999999999999999999", "0.5", "0.05", "7"],
        // Text `Int128.units` does not read (an exponent) goes the same way.
        ["1.5", "1e3", "2"],
    ])
    func writesWhatDecimalWrites(_ texts: [String]) {
        let sum = Self.sum(texts)
        #expect(sum.text == Decimals.text(Self.decimalSum(texts)))
        #expect(sum.value == Self.decimalSum(texts))
    }

    @Test func differencesAreExactAcrossScales() {
        let revenue = Self.sum(["10.5", "3.125"])
        let cost = Self.sum(["7", "0.0625"])
        #expect(revenue.minus(cost).text == "6.5625")
        #expect(cost.minus(revenue).text == "-6.5625")
        #expect(revenue.minus(revenue).text == "0")
    }

    @Test func randomAmountsAgreeWithDecimal() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let texts = (0..<Int.random(in: 1...20, using: &random)).map { _ in
                let units = Int64.random(in: -10_000_000...10_000_000, using: &random)
                let scale = Int.random(in: 0...6, using: &random)
                return ExactDecimal.format(
                    Decimal(sign: units < 0 ? .minus : .plus, exponent: -scale, significand: Decimal(units.magnitude)))
            }
            let revenue = Self.sum(texts)
            let cost = Self.sum(texts.reversed().dropFirst().map { $0 })
            #expect(revenue.text == Decimals.text(Self.decimalSum(texts)))
            #expect(
                revenue.minus(cost).text == Decimals.text(Self.decimalSum(texts) - Self.decimalSum(Array(texts.reversed().dropFirst()))))
        }
    }
}
