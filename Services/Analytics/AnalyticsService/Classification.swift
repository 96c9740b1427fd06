import Foundation
import WireFormat
import WireSchema

/// What classification measures: revenue (default) or gross profit.
public enum Measure: String, Codable, Sendable, CaseIterable {
    case revenue, grossProfit
}

/// The parameters of one classification run; every one has a configured default and can be
/// overridden per run. A run records the parameters it used.
public struct ClassificationParameters: Sendable, Equatable {
    public var measure: Measure = .revenue
    public var periodKind: PeriodKind = .month
    public var periods = 12
    /// "One-time" is 1 to `oneTimeMax` sales in the window.
    public var oneTimeMax = 1
    /// Percent bounds of cumulative share: A below the first, B below the second, else C.
    public var abcCuts: [Decimal] = [80, 95]
    /// Percent bounds of the coefficient of variation: X up to the first, Y up to the second, else Z.
    public var xyzCuts: [Decimal] = [10, 25]

    public init() {}

    /// The parameters as a run records and publishes them.
    public var json: JSONValue {
        .object([
            ("measure", .string(measure.rawValue)), ("periodKind", .string(periodKind.rawValue)),
            ("periods", .number(String(periods))), ("oneTimeMax", .number(String(oneTimeMax))),
            ("abcCuts", .array(abcCuts.map { .number(ExactDecimal.format($0)) })),
            ("xyzCuts", .array(xyzCuts.map { .number(ExactDecimal.format($0)) })),
        ])
    }
}

/// One client's sales over a run's window, as classification sees them: amounts exact, as
/// `Decimal` or as `Int128` units at the run's scale (`ClassificationNumber`).
struct ClientSales<Number: ClassificationNumber>: Sendable {
    var clientId: String
    var managerId: String?
    /// The measure in each period of the window (0 where there was no sale).
    var values: [Number]
    /// Sales in the window.
    var sales: Int
    /// Whether the client had a sale before the window.
    var hadSalesBefore: Bool

    init(clientId: String, managerId: String?, periods: Int) {
        self.clientId = clientId
        self.managerId = managerId
        values = Array(repeating: .zero, count: periods)
        sales = 0
        hadSalesBefore = false
    }

    func measure() throws(ArithmeticOverflow) -> Number {
        var total = Number.zero
        for value in values { total = try Number.sum(total, value) }
        return total
    }
}

/// The clients of a run with their sales, and the scale their amounts are counted at (0 for `Decimal`).
struct SalesBook<Number: ClassificationNumber>: Sendable {
    var clients: [ClientSales<Number>] = []
    var scale = 0
}

/// A client's classification before a run: what `crm.segments.v1` holds for it.
public struct PriorClassification: Sendable, Equatable {
    public var abcClass: String?
    public var xyzClass: String?
    public var status: String

    public init(abcClass: String?, xyzClass: String?, status: String) {
        self.abcClass = abcClass
        self.xyzClass = xyzClass
        self.status = status
    }
}

/// The integrated ABC/XYZ classification and statuses of `shared/reference/domain.md`, computed
/// exactly: class boundaries are compared in `Decimal` arithmetic, never through a rounded share
/// or a square root, so a client at exactly 80 % or a CV of exactly 10 % lands where the
/// definition says. Shares and CVs are reported as numbers for reading only.
public enum Classifier {
    static func classify<Number: ClassificationNumber>(
        _ book: SalesBook<Number>, parameters: ClassificationParameters, prior: [String: PriorClassification]
    ) throws(ArithmeticOverflow) -> [ClientRunResult] {
        let clients = book.clients
        var measures: [Number] = []
        measures.reserveCapacity(clients.count)
        for client in clients { measures.append(try client.measure()) }
        // ABC: clients with a positive measure, largest first, ties by client id.
        let ranked = clients.indices.filter { measures[$0] > .zero }.sorted { a, b in
            measures[a] != measures[b]
                ? measures[a] > measures[b] : clients[a].clientId.utf8.lexicographicallyPrecedes(clients[b].clientId.utf8)
        }
        var total = Number.zero
        for index in ranked { total = try Number.sum(total, measures[index]) }
        var abc: [(abcClass: String, share: Double, before: Double)?] = Array(repeating: nil, count: clients.count)
        var before = Number.zero
        // before / total × 100 < p / q  ⇔  before × 100 × q < p × total (total > 0).
        let (a, b) = (try Number.ratio(parameters.abcCuts[0]), try Number.ratio(parameters.abcCuts[1]))
        let (aBound, bBound) = (try Number.product(a.p, total), try Number.product(b.p, total))
        let (hundredA, hundredB) = (try Number.product(Number(100), a.q), try Number.product(Number(100), b.q))
        let totalDouble = total.double
        for index in ranked {
            let abcClass =
                try Number.product(before, hundredA) < aBound ? "A" : try Number.product(before, hundredB) < bBound ? "B" : "C"
            abc[index] = (abcClass, percent(measures[index].double, of: totalDouble), percent(before.double, of: totalDouble))
            before = try Number.sum(before, measures[index])
        }
        let xyzCuts = (try Number.ratio(parameters.xyzCuts[0]), try Number.ratio(parameters.xyzCuts[1]))
        var results: [ClientRunResult] = []
        results.reserveCapacity(clients.count)
        for index in clients.indices {
            let client = clients[index]
            let status: ClientClassification.Status =
                client.sales == 0
                ? (client.hadSalesBefore ? .lost : .potential) : client.sales <= parameters.oneTimeMax ? .oneTime : .regular
            let xyz = status == .regular ? try xyzClass(client.values, sum: measures[index], cuts: xyzCuts) : nil
            let previous = prior[client.clientId]
            results.append(
                ClientRunResult(
                    clientId: client.clientId, managerId: client.managerId, abcClass: abc[index]?.abcClass, xyzClass: xyz?.xyzClass,
                    status: status, measure: Amount(measures[index].decimal(scale: book.scale)), share: abc[index]?.share,
                    cumulativeShareBefore: abc[index]?.before, cv: xyz?.cv, sales: client.sales, previousAbcClass: previous?.abcClass,
                    previousXyzClass: previous?.xyzClass, previousStatus: previous?.status))
        }
        return results
    }

    /// X, Y or Z by the coefficient of variation (population standard deviation / mean × 100) of
    /// the per-period values; nil when the mean is not positive. With S = Σv, Q = Σv² over N
    /// periods, CV² = (N·Q − S²) / S², so CV ≤ p/q ⇔ (N·Q − S²) × 100² × q² ≤ p² × S²; both
    /// sides are of the second degree in the amounts, so their scale does not matter.
    static func xyzClass<Number: ClassificationNumber>(
        _ values: [Number], sum: Number, cuts: ((p: Number, q: Number), (p: Number, q: Number))
    ) throws(ArithmeticOverflow) -> (xyzClass: String, cv: Double)? {
        guard sum > .zero, !values.isEmpty else { return nil }
        var squares = Number.zero
        for value in values { squares = try Number.sum(squares, try Number.product(value, value)) }
        let sumSquared = try Number.product(sum, sum)
        let spread = try Number.sum(try Number.product(Number(values.count), squares), try Number.product(Number(-1), sumSquared))
        func within(_ cut: (p: Number, q: Number)) throws(ArithmeticOverflow) -> Bool {
            let left = try Number.product(spread, try Number.product(Number(10_000), try Number.product(cut.q, cut.q)))
            return left <= (try Number.product(try Number.product(cut.p, cut.p), sumSquared))
        }
        let xyzClass = try within(cuts.0) ? "X" : try within(cuts.1) ? "Y" : "Z"
        let cv = (max(0, spread.double)).squareRoot() / sum.double * 100
        return (xyzClass, rounded(cv))
    }

    /// A share for reading (the class was decided exactly): binary floating point is enough.
    static func percent(_ part: Decimal, of total: Decimal) -> Double {
        percent(double(part), of: double(total))
    }

    static func percent(_ part: Double, of total: Double) -> Double {
        rounded(part / total * 100)
    }

    static func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }

    /// Six decimals: enough to read, and the same text on every replay.
    static func rounded(_ value: Double) -> Double { (value * 1_000_000).rounded() / 1_000_000 }
}
