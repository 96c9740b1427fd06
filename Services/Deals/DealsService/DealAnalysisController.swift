import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `GET /deals/analysis`: the pipeline as it stands, read live from the store (a command's change
/// shows as soon as it has answered). Amounts are per currency: deals in different currencies are
/// never added together.
struct DealAnalysisController {
    let context: DealsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/deals/analysis", use: analysis)
    }

    @Sendable func analysis(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let asOf = try QueryValue.date(query.get("asOf"), "asOf") ?? CalendarDate(utc: Date())
        let staleDays = try QueryValue.int(query.get("staleDays"), "staleDays", range: 1...3650) ?? 14
        let ownerId = query.get("ownerId")
        let supervisorId = query.get("supervisorId")
        if ownerId != nil && supervisorId != nil { throw Problem.badRequest("give ownerId or supervisorId, not both") }
        let report = try await self.context.read { db in
            try DealAnalysis.build(db, asOf: asOf, staleDays: staleDays, ownerId: ownerId, supervisorId: supervisorId)
        }
        return try jsonResponse(report)
    }
}

/// Sums of money per currency, exact: SQLite sums ten-thousandths split in two parts (below and
/// above 10^8), so no sum can overflow 64 bits; they are added here as integers and written as
/// decimal text straight from a 128-bit total (`places`: 4 for amounts, 6 for amounts weighted by a
/// percentage), with no `Decimal` arithmetic, whose division alone cost most of an answer.
struct CurrencySums: Encodable, Sendable {
    private(set) var parts: [String: (high: Int64, low: Int64)] = [:]
    var places = 4

    /// The SQL that sums a column of ten-thousandths in two parts.
    static func sql(_ column: String) -> String { "SUM(\(column) / 100000000), SUM(\(column) % 100000000)" }

    static var weighted: CurrencySums { CurrencySums(places: 6) }

    mutating func add(_ currency: String?, high: Int64?, low: Int64?) {
        let current = parts[currency ?? ""] ?? (0, 0)
        parts[currency ?? ""] = (current.high + (high ?? 0), current.low + (low ?? 0))
    }

    mutating func add(_ other: CurrencySums) {
        for (currency, part) in other.parts { add(currency, high: part.high, low: part.low) }
    }

    /// Per currency, the exact decimal text (`1201`, `12.5`).
    var amounts: [String: String] {
        parts.mapValues { Self.text(Int128($0.high) * 100_000_000 + Int128($0.low), places: places) }
    }

    /// `units` × 10^-`places` as the shortest exact decimal.
    static func text(_ units: Int128, places: Int) -> String {
        var scale: Int128 = 1
        for _ in 0..<places { scale *= 10 }
        let magnitude = units.magnitude
        var whole = String(magnitude / UInt128(scale))
        var fraction = String(magnitude % UInt128(scale))
        fraction = String(repeating: "0", count: places - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        if !fraction.isEmpty { whole += "." + fraction }
        return units < 0 ? "-" + whole : whole
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(amounts)
    }
}

struct DealAnalysis: Encodable, Sendable {
    struct Figures: Encodable, Sendable {
        var count = 0
        var amount = CurrencySums()
        var weightedAmount = CurrencySums.weighted
    }
    struct StageFigures: Encodable, Sendable {
        let stage: String
        let name: String?
        let probability: Int?
        var figures: Figures

        enum Keys: String, CodingKey { case stage, name, probability }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(stage, forKey: .stage)
            try container.encodeIfPresent(name, forKey: .name)
            try container.encodeIfPresent(probability, forKey: .probability)
            try figures.encode(to: encoder)
        }
    }
    struct OwnerFigures: Encodable, Sendable {
        let ownerId: String
        var name: String?
        var open = Figures()
        var won = 0
        var lost = 0
        var wonAmount = CurrencySums()
        /// won / (won + lost), 0-1 to four decimals; null with nothing closed.
        var winRate: Decimal?
    }
    struct MonthFigures: Encodable, Sendable {
        let month: String
        var figures: Figures

        enum Keys: String, CodingKey { case month }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(month, forKey: .month)
            try figures.encode(to: encoder)
        }
    }
    struct DealLine: Encodable, Sendable {
        let id: String
        let title: String?
        let ownerId: String?
        let stage: String
        let expectedCloseDate: String?
        let lastChangeAt: String
        let days: Int
    }
    struct DealList: Encodable, Sendable {
        var count = 0
        var deals: [DealLine] = []
    }
    struct LostReason: Encodable, Sendable {
        let reason: String
        let count: Int
    }

    let asOf: String
    let staleDays: Int
    let ownerIds: [String]?
    var open = Figures()
    var byStage: [StageFigures] = []
    var byOwner: [OwnerFigures] = []
    /// Open deals by the month they are expected to close (earlier months: overdue).
    var forecast: [MonthFigures] = []
    /// Open deals with no change for more than `staleDays` (the oldest 100 listed).
    var stale = DealList()
    /// Open deals past their expected close date (the most overdue 100 listed).
    var overdue = DealList()
    var won = 0
    var lost = 0
    var wonAmount = CurrencySums()
    var winRate: Decimal?
    /// Mean days from opening to winning, over won deals (one decimal); null with none won.
    var averageCycleDays: Decimal?
    var lostReasons: [LostReason] = []

    static let listed = 100

    static func build(_ db: Database, asOf: CalendarDate, staleDays: Int, ownerId: String?, supervisorId: String?) throws -> DealAnalysis {
        // Whose deals: one owner, a supervisor's whole team (everyone whose chain reaches them), or all.
        var owners: [String]?
        if let ownerId { owners = [ownerId] }
        if let supervisorId {
            owners = try String.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE below(id) AS (
                        SELECT id FROM staff WHERE supervisor_id = ?1 UNION SELECT s.id FROM staff s JOIN below b ON s.supervisor_id = b.id)
                    SELECT id FROM below WHERE id != ?1 ORDER BY id
                    """, arguments: [supervisorId])
        }
        let ownerCondition = owners == nil ? nil : "owner_id IN (SELECT value FROM json_each(?))"
        let scope = ownerCondition.map { " AND \($0)" } ?? ""
        let ownerScope = ownerCondition.map { "WHERE \($0)" } ?? ""
        let scopeArguments: StatementArguments =
            try owners.map { [String(decoding: try JSONEncoder().encode($0), as: UTF8.self)] } ?? []
        var report = DealAnalysis(asOf: asOf.description, staleDays: staleDays, ownerIds: owners)
        let asOfDay = asOf.description
        let staleBefore = Timestamp.format(Date(timeIntervalSince1970: Double(asOf.dayNumber + 1 - staleDays) * 86_400))
        let endOfAsOf = Timestamp.format(Date(timeIntervalSince1970: Double(asOf.dayNumber + 1) * 86_400))

        // Open deals: the totals the projection keeps per stage, owner, currency and close month.
        var stages: [String: Figures] = [:]
        var byOwner: [String: OwnerFigures] = [:]
        var months: [String: Figures] = [:]
        let openRows = try Row.fetchCursor(
            db,
            sql: """
                SELECT stage, owner_id, currency, month, deals, amount_high, amount_low, weighted_high, weighted_low
                FROM deal_open_totals \(ownerScope)
                """, arguments: scopeArguments)
        while let row = try openRows.next() {
            let currency: String = row[2]
            var figures = Figures(count: row[4])
            figures.amount.add(currency, high: row[5], low: row[6])
            figures.weightedAmount.add(currency, high: row[7], low: row[8])
            stages[row[0], default: Figures()].add(figures)
            byOwner[row[1], default: OwnerFigures(ownerId: row[1])].open.add(figures)
            let month: String = row[3]
            months[month.isEmpty ? "none" : month, default: Figures()].add(figures)
            report.open.add(figures)
        }
        // Stale and overdue: open deals per day of last change and of expected close, before a day.
        let staleDay = CalendarDate(dayNumber: asOf.dayNumber + 1 - staleDays).description
        for (kind, before, count) in [("change", staleDay, \DealAnalysis.stale.count), ("close", asOfDay, \DealAnalysis.overdue.count)] {
            report[keyPath: count] =
                try Int.fetchOne(
                    db, sql: "SELECT COALESCE(SUM(deals), 0) FROM deal_open_days WHERE kind = ? AND day < ?\(scope)",
                    arguments: [kind, before] + scopeArguments) ?? 0
        }
        let pipeline = try Pipeline.current(db)
        report.byStage = pipeline.stages.map {
            StageFigures(stage: $0.id, name: $0.name, probability: $0.probability, figures: stages[$0.id] ?? Figures())
        }
        for (stage, figures) in stages.sorted(by: { $0.key < $1.key }) where pipeline.stage(stage) == nil {
            report.byStage.append(StageFigures(stage: stage, name: nil, probability: nil, figures: figures))
        }
        report.forecast = months.sorted { $0.key < $1.key }.map { MonthFigures(month: $0.key, figures: $0.value) }

        // Closed deals: from the kept totals when every closing is on or before asOf (the usual
        // case, asOf today), else summed over the deals closed by then. Both give the same rows.
        let lastClosed = try String.fetchOne(db, sql: "SELECT MAX(closed_at) FROM deal INDEXED BY deal_closed_at WHERE open = 0")
        let closedRows =
            lastClosed.map { $0 < endOfAsOf } ?? true
            ? try Row.fetchCursor(
                db,
                sql: """
                    SELECT outcome, owner_id, currency, reason, deals, amount_high, amount_low, cycle_seconds
                    FROM deal_closed_totals \(ownerScope)
                    """, arguments: scopeArguments)
            : try Row.fetchCursor(
                db,
                sql: """
                    SELECT outcome, COALESCE(owner_id, ''), COALESCE(currency, ''), COALESCE(close_reason, ''), COUNT(*),
                        \(CurrencySums.sql("closed_amount_minor")), SUM(cycle_seconds)
                    FROM deal WHERE open = 0 AND closed_at < ?\(scope) GROUP BY 1, 2, 3, 4
                    """, arguments: [endOfAsOf] + scopeArguments)
        var cycleSeconds: Int64 = 0
        var reasons: [String: Int] = [:]
        while let row = try closedRows.next() {
            let outcome: String = row[0]
            let owner: String = row[1]
            let count: Int = row[4]
            var entry = byOwner[owner, default: OwnerFigures(ownerId: owner)]
            if outcome == "won" {
                report.won += count
                entry.won += count
                entry.wonAmount.add(row[2], high: row[5], low: row[6])
                report.wonAmount.add(row[2], high: row[5], low: row[6])
                cycleSeconds += row[7] as Int64? ?? 0
            } else {
                report.lost += count
                entry.lost += count
                reasons[row[3], default: 0] += count
            }
            byOwner[owner] = entry
        }
        report.winRate = ratio(report.won, report.won + report.lost)
        if report.won > 0 {
            // Days to one decimal, rounded half up, in integers.
            let tenths = (cycleSeconds * 20 + 86_400 * Int64(report.won)) / (2 * 86_400 * Int64(report.won))
            report.averageCycleDays = Decimal(sign: tenths < 0 ? .minus : .plus, exponent: -1, significand: Decimal(tenths.magnitude))
        }
        let names = Dictionary(
            try Row.fetchAll(db, sql: "SELECT id, name FROM staff").map { ($0[0] as String, $0[1] as String) },
            uniquingKeysWith: { a, _ in a })
        report.byOwner = byOwner.values.sorted { $0.ownerId < $1.ownerId }.map { entry in
            var entry = entry
            entry.name = names[entry.ownerId]
            entry.winRate = ratio(entry.won, entry.won + entry.lost)
            return entry
        }
        report.lostReasons = reasons.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { LostReason(reason: $0.key, count: $0.value) }

        report.stale.deals = try lines(
            db, index: scope.isEmpty ? "deal_open_updated" : "deal_open_owner_updated", where: "updated_at < ?", order: "updated_at",
            [staleBefore], scope: scope, scopeArguments,
            asOf: asOf)
        report.overdue.deals = try lines(
            db, index: scope.isEmpty ? "deal_open_close_date" : "deal_open_owner_close_date", where: "expected_close_date < ?",
            order: "expected_close_date", [asOfDay], scope: scope,
            scopeArguments, asOf: asOf)
        return report
    }

    private static func lines(
        _ db: Database, index: String, where condition: String, order: String, _ arguments: StatementArguments, scope: String,
        _ scopeArguments: StatementArguments, asOf: CalendarDate
    ) throws -> [DealLine] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT id, json_extract(record, '$.title'), owner_id, stage, expected_close_date, updated_at FROM deal INDEXED BY \(index)
                WHERE open = 1 AND \(condition)\(scope) ORDER BY \(order) LIMIT \(listed)
                """, arguments: arguments + scopeArguments
        ).map { row in
            let lastChange: String = row[5]
            let closeDate: String? = row[4]
            let since =
                condition.hasPrefix("updated_at")
                ? Timestamp.parse(lastChange).map { CalendarDate(utc: $0).dayNumber } ?? asOf.dayNumber
                : closeDate.flatMap(CalendarDate.init)?.dayNumber ?? asOf.dayNumber
            return DealLine(
                id: row[0], title: row[1], ownerId: row[2], stage: row[3], expectedCloseDate: closeDate, lastChangeAt: lastChange,
                days: asOf.dayNumber - since)
        }
    }

    /// part / whole to four decimals, rounded half up, in integers (no `Decimal` division).
    private static func ratio(_ part: Int, _ whole: Int) -> Decimal? {
        whole == 0 ? nil : Decimal(sign: .plus, exponent: -4, significand: Decimal((part * 20_000 + whole) / (2 * whole)))
    }
}

extension DealAnalysis.Figures {
    mutating func add(_ other: DealAnalysis.Figures) {
        count += other.count
        amount.add(other.amount)
        weightedAmount.add(other.weightedAmount)
    }
}
