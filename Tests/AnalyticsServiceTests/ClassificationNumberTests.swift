import Foundation
import Testing
import WireSchema

@testable import AnalyticsService

// The classifier counts in Int128 units at one scale for the whole run, and in Decimal when an
// amount does not fit: both must classify alike, and amounts of different precision must meet at
// one scale.
struct ClassificationNumberTests {
    /// Each client's monthly amounts as the store's text.
    static func book<Number: ClassificationNumber>(_ amounts: [(String, [String])], as: Number.Type) throws -> SalesBook<Number> {
        var book = SalesBook<Number>()
        var scale = 0
        for (id, texts) in amounts {
            book.clients.append(ClientSales(clientId: id, managerId: nil, periods: texts.count))
            for (period, text) in texts.enumerated() {
                var text = text
                let value = try text.withUTF8 { utf8 in
                    try Number.read(utf8, scale: &scale) { factor throws(ArithmeticOverflow) in
                        for index in book.clients.indices {
                            for slot in book.clients[index].values.indices {
                                book.clients[index].values[slot] = try Number.product(book.clients[index].values[slot], factor)
                            }
                        }
                    }
                }
                book.clients[book.clients.count - 1].values[period] = value
                if value != .zero { book.clients[book.clients.count - 1].sales += 1 }
            }
        }
        book.scale = scale
        return book
    }

    @Test func int128AndDecimalClassifyAlikeAcrossScales() throws {
        // Whole units first, then tenths and thousandths: the first clients' amounts are rescaled.
        let amounts = [
            ("a", ["100", "100", "100", "100"]), ("b", ["90", "110", "100", "100"]), ("c", ["10.5", "0", "0.25", "31"]),
            ("d", ["0.125", "0.125", "0.125", "0.126"]), ("e", ["0", "0", "0", "0"]), ("f", ["-5", "7.5", "0", "0"]),
        ]
        var parameters = ClassificationParameters()
        parameters.abcCuts = [Decimal(string: "62.5")!, 95]
        parameters.xyzCuts = [Decimal(string: "7.07")!, 25]
        let fast = try Self.book(amounts, as: Int128.self)
        #expect(fast.scale == 3)
        #expect(fast.clients[0].values == [100_000, 100_000, 100_000, 100_000])
        let exact = try Self.book(amounts, as: Decimal.self)
        let results = try Classifier.classify(fast, parameters: parameters, prior: [:])
        #expect(results == (try Classifier.classify(exact, parameters: parameters, prior: [:])))
        // By hand: total 400 + 400 + 41.75 + 0.501 + 2.5 = 844.751; a is 0 % before (A), b 47.35 %
        // (A), c 94.70 % (B), f 99.64 % (C), d (C). b's CV is √50 = 7.0711 %: over 7.07, so Y.
        #expect(results.map(\.abcClass) == ["A", "A", "B", "C", nil, "C"])
        #expect(results.map(\.xyzClass) == ["X", "Y", "Z", "X", nil, "Z"])
        #expect(results.map(\.measure.description) == ["400", "400", "41.75", "0.501", "0", "2.5"])
    }

    @Test func amountsTooLargeForInt128FallBackToDecimal() throws {
        let huge = "12345678901234567890123.45"
        let amounts = [("a", [huge, huge]), ("b", ["1", "3"])]
        #expect(throws: ArithmeticOverflow.self) {
            try Classifier.classify(try Self.book(amounts, as: Int128.self), parameters: ClassificationParameters(), prior: [:])
        }
        let results = try Classifier.classify(try Self.book(amounts, as: Decimal.self), parameters: ClassificationParameters(), prior: [:])
        #expect(results.map(\.abcClass) == ["A", "C"] && results.map(\.xyzClass) == ["X", "Z"])
        #expect(results[0].measure.description == "24691357802469135780246.9")
    }
}
