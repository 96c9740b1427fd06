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

/// One client's sales over a run's window, as classification sees them.
public struct ClientSales: Sendable {
    public var clientId: String
    public var managerId: String?
    /// The measure in each period of the window (0 where there was no sale).
    public var values: [Decimal]
    /// Sales in the window.
    public var sales: Int
    /// Whether the client had a sale before the window.
    public var hadSalesBefore: Bool

    public init(clientId: String, managerId: String?, values: [Decimal], sales: Int, hadSalesBefore: Bool) {
        self.clientId = clientId
        self.managerId = managerId
        self.values = values
        self.sales = sales
        self.hadSalesBefore = hadSalesBefore
    }

    public var measure: Decimal { values.reduce(0, +) }
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
    public static func classify(
        _ clients: [ClientSales], parameters: ClassificationParameters, prior: [String: PriorClassification]
    ) -> [ClientRunResult] {
        let measures = clients.map(\.measure)
        // ABC: clients with a positive measure, largest first, ties by client id.
        let ranked = clients.indices.filter { measures[$0] > 0 }.sorted { a, b in
            measures[a] != measures[b]
                ? measures[a] > measures[b] : clients[a].clientId.utf8.lexicographicallyPrecedes(clients[b].clientId.utf8)
        }
        let total = ranked.reduce(Decimal(0)) { $0 + measures[$1] }
        var abc: [Int: (abcClass: String, share: Double, before: Double)] = [:]
        var before: Decimal = 0
        // before / total × 100 < cut  ⇔  before × 100 < cut × total (total > 0).
        let (aBound, bBound) = (parameters.abcCuts[0] * total, parameters.abcCuts[1] * total)
        for index in ranked {
            let scaled = before * 100
            let abcClass = scaled < aBound ? "A" : scaled < bBound ? "B" : "C"
            abc[index] = (abcClass, percent(measures[index], of: total), percent(before, of: total))
            before += measures[index]
        }
        return clients.indices.map { index in
            let client = clients[index]
            let status: ClientClassification.Status =
                client.sales == 0
                ? (client.hadSalesBefore ? .lost : .potential) : client.sales <= parameters.oneTimeMax ? .oneTime : .regular
            let xyz = status == .regular ? xyzClass(client.values, cuts: parameters.xyzCuts) : nil
            let previous = prior[client.clientId]
            return ClientRunResult(
                clientId: client.clientId, managerId: client.managerId, abcClass: abc[index]?.abcClass, xyzClass: xyz?.xyzClass,
                status: status, measure: Amount(measures[index]), share: abc[index]?.share, cumulativeShareBefore: abc[index]?.before,
                cv: xyz?.cv, sales: client.sales, previousAbcClass: previous?.abcClass, previousXyzClass: previous?.xyzClass,
                previousStatus: previous?.status)
        }
    }

    /// X, Y or Z by the coefficient of variation (population standard deviation / mean × 100) of
    /// the per-period values; nil when the mean is not positive. With S = Σv, Q = Σv² over N
    /// periods, CV² = (N·Q − S²) / S², so CV ≤ c ⇔ (N·Q − S²) × 100² ≤ c² × S².
    static func xyzClass(_ values: [Decimal], cuts: [Decimal]) -> (xyzClass: String, cv: Double)? {
        let sum = values.reduce(Decimal(0), +)
        guard sum > 0, !values.isEmpty else { return nil }
        let squares = values.reduce(Decimal(0)) { $0 + $1 * $1 }
        let spread = Decimal(values.count) * squares - sum * sum
        let scaledSpread = spread * 10_000
        let sumSquared = sum * sum
        let xyzClass = scaledSpread <= cuts[0] * cuts[0] * sumSquared ? "X" : scaledSpread <= cuts[1] * cuts[1] * sumSquared ? "Y" : "Z"
        let cv = (max(0, double(spread))).squareRoot() / double(sum) * 100
        return (xyzClass, rounded(cv))
    }

    /// A share for reading (the class was decided exactly): binary floating point is enough.
    static func percent(_ part: Decimal, of total: Decimal) -> Double {
        rounded(double(part) / double(total) * 100)
    }

    static func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }

    /// Six decimals: enough to read, and the same text on every replay.
    static func rounded(_ value: Double) -> Double { (value * 1_000_000).rounded() / 1_000_000 }
}
