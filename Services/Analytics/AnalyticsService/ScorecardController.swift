import EventStore
import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// The indicators managers are compared on; each has a configurable weight in the overall rank.
public enum ScorecardIndicator: String, CaseIterable, Sendable, Hashable {
    case salesVolume, grossProfit, ordersFulfilled, retentionRate, contactsWithBuyers, completeness
}

/// `GET /managers/scorecard`: per manager, the indicators of `shared/reference/domain.md` over a
/// period, a rank per indicator (1 is best; equal values share a rank; no value ranks last) and an
/// overall rank by the weighted mean of those ranks.
struct ScorecardController {
    let context: AnalyticsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/managers/scorecard", use: scorecard)
    }

    struct Card: Encodable, Sendable {
        var managerId: String
        var name: String?
        var salesVolume: Decimal = 0
        var grossProfit: Decimal = 0
        var ordersFulfilled = 0
        var retainedClients = 0
        var cohortClients = 0
        var contactsWithBuyers = 0
        var counterparties = 0
        var completeness: Decimal?
        var ranks: [String: Int] = [:]
        var overallScore: Decimal = 0
        var overallRank = 0

        var retentionRate: Double? { percentage(Decimal(retainedClients), of: Decimal(cohortClients)) }

        func value(_ indicator: ScorecardIndicator) -> Decimal? {
            switch indicator {
            case .salesVolume: salesVolume
            case .grossProfit: grossProfit
            case .ordersFulfilled: Decimal(ordersFulfilled)
            case .retentionRate: cohortClients == 0 ? nil : Decimal(retainedClients) * 100 / Decimal(cohortClients)
            case .contactsWithBuyers: Decimal(contactsWithBuyers)
            case .completeness: completeness
            }
        }

        enum Keys: String, CodingKey {
            case managerId, name, salesVolume, grossProfit, ordersFulfilled, retentionRate, retainedClients, cohortClients
            case contactsWithBuyers, completeness, counterparties, ranks, overallScore, overallRank
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(managerId, forKey: .managerId)
            try container.encode(name, forKey: .name)
            try container.encode(Amount(salesVolume), forKey: .salesVolume)
            try container.encode(Amount(grossProfit), forKey: .grossProfit)
            try container.encode(ordersFulfilled, forKey: .ordersFulfilled)
            try container.encode(retentionRate, forKey: .retentionRate)
            try container.encode(retainedClients, forKey: .retainedClients)
            try container.encode(cohortClients, forKey: .cohortClients)
            try container.encode(contactsWithBuyers, forKey: .contactsWithBuyers)
            try container.encode(completeness.map { Classifier.double($0) }, forKey: .completeness)
            try container.encode(counterparties, forKey: .counterparties)
            try container.encode(ranks, forKey: .ranks)
            try container.encode(Classifier.rounded(Classifier.double(overallScore)), forKey: .overallScore)
            try container.encode(overallRank, forKey: .overallRank)
        }

        static let csvHeader = [
            "managerId", "name", "salesVolume", "grossProfit", "ordersFulfilled", "retentionRate", "retainedClients", "cohortClients",
            "contactsWithBuyers", "completeness", "overallRank",
        ]
        var csvFields: [String] {
            [
                managerId, name ?? "", Amount(salesVolume).description, Amount(grossProfit).description, String(ordersFulfilled),
                retentionRate.map { "\($0)" } ?? "", String(retainedClients), String(cohortClients), String(contactsWithBuyers),
                completeness.map { Amount($0).description } ?? "", String(overallRank),
            ]
        }
    }

    struct Scorecard: Encodable {
        let period: ReportPeriod
        let weights: [String: Amount]
        let items: [Card]
        let totals: Card
    }

    @Sendable func scorecard(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let period = try ReportPeriod(request)
        let query = request.uri.queryParameters
        let managerFilter = query.get("managerId")
        let supervisorId = query.get("supervisorId")
        let weights = self.context.settings.scorecardWeights
        // Retention reads the most rows (every sale of two periods): each period on a connection
        // of its own, beside the other indicators.
        let before = period.previous
        async let soldBefore = self.context.read { db in try Self.clientsSoldTo(db, from: before.firstDay, to: before.lastDay) }
        async let soldNow = self.context.read { db in try Self.clientsSoldTo(db, from: period.firstDay, to: period.lastDay) }
        let indicators = try await self.context.read { db in try Self.indicators(db, period: period) }
        let scorecard = Self.build(
            indicators, retention: Self.retention(before: try await soldBefore, now: try await soldNow), period: period,
            managerId: managerFilter, supervisorId: supervisorId,
            weights: weights)
        if request.wantsCSV {
            return try CSVFormat(request).response(
                header: Card.csvHeader, rows: scorecard.items.map(\.csvFields), filename: "scorecard.csv")
        }
        return try jsonResponse(scorecard)
    }

    /// Every indicator but retention, per manager, and who supervises whom.
    struct Indicators: Sendable {
        var cards: [String: Card]
        var names: [String: String]
        var supervisors: [String: String]
    }

    static func indicators(_ db: Database, period: ReportPeriod) throws -> Indicators {
        var names: [String: String] = [:]
        var supervisors: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name, supervisor_id FROM staff") {
            names[row[0]] = row[1]
            if let supervisor: String = row[2] { supervisors[row[0]] = supervisor }
        }
        var cards: [String: Card] = [:]
        func card(_ id: String) -> Card { cards[id] ?? Card(managerId: id, name: names[id]) }
        for id in names.keys { cards[id] = card(id) }

        // Sales in the period, from the sums per manager and day.
        let sums = try Row.fetchCursor(
            db, sql: "SELECT manager_id, revenue, gross_profit, orders FROM manager_day WHERE day BETWEEN ? AND ?",
            arguments: [period.firstDay, period.lastDay])
        while let row = try sums.next() {
            let manager: String = row[0]
            var entry = card(manager)
            entry.salesVolume += Decimals.parse(row[1])
            entry.grossProfit += Decimals.parse(row[2])
            entry.ordersFulfilled += row[3] as Int
            cards[manager] = entry
        }

        // Contacts with buyers: interactions logged by the manager with customers or prospects. Every
        // counterparty contacted has a client row, so those that are no buyers are the few in the
        // `client_not_buyer` index; counted by staff member in Swift, as retention is.
        let contacts = try RawStatement(
            db,
            sql: """
                SELECT staff_id FROM interaction
                WHERE occurred_on BETWEEN ? AND ? AND staff_id IS NOT NULL
                    AND counterparty_id NOT IN (SELECT id FROM client WHERE is_client_role = 0 AND mentioned = 0)
                """)
        contacts.bind(1, Int64(period.firstDay))
        contacts.bind(2, Int64(period.lastDay))
        var keys = TextKeys()
        var contactsBy: [TextKey: Int] = [:]
        var contactRun: (staff: TextKey, count: Int)?
        try contacts.forEachRow { row in
            guard let staffId = row.utf8(0) else { return }
            let staff = keys.key(staffId)
            if let current = contactRun, current.staff == staff {
                contactRun!.count += 1
            } else {
                if let current = contactRun { contactsBy[current.staff, default: 0] += current.count }
                contactRun = (staff, 1)
            }
        }
        if let current = contactRun { contactsBy[current.staff, default: 0] += current.count }
        for (staff, count) in contactsBy {
            var entry = card(keys.text(staff))
            entry.contactsWithBuyers = count
            cards[entry.managerId] = entry
        }

        // Completeness: the mean of the contacts service's checklist over the counterparties each
        // manager is responsible for (not merged away, not archived), as the projection keeps it.
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT responsible_manager_id, count(*), sum(completeness) FROM client
                WHERE registered = 1 AND merged_into IS NULL AND archived = 0 AND responsible_manager_id IS NOT NULL
                    AND completeness IS NOT NULL
                GROUP BY responsible_manager_id
                """)
        {
            var entry = card(row[0])
            entry.counterparties = row[1]
            entry.completeness = roundedMean(Decimal(row[2] as Int), Decimal(row[1] as Int))
            cards[row[0]] = entry
        }

        return Indicators(cards: cards, names: names, supervisors: supervisors)
    }

    static func build(
        _ indicators: Indicators, retention: [String: Retention], period: ReportPeriod, managerId: String?, supervisorId: String?,
        weights: [ScorecardIndicator: Decimal]
    ) -> Scorecard {
        var cards = indicators.cards
        let supervisors = indicators.supervisors
        for (manager, counts) in retention {
            var entry = cards[manager] ?? Card(managerId: manager, name: indicators.names[manager])
            entry.cohortClients = counts.cohortClients
            entry.retainedClients = counts.retainedClients
            cards[manager] = entry
        }

        // Whom the card covers.
        var selected = Array(cards.values)
        if let managerId { selected = selected.filter { $0.managerId == managerId } }
        if let supervisorId {
            // The whole team: everyone whose chain of supervisors reaches the supervisor.
            func reports(to boss: String, _ id: String) -> Bool {
                var current = id
                for _ in 0..<64 {
                    guard let next = supervisors[current] else { return false }
                    if next == boss { return true }
                    current = next
                }
                return false
            }
            selected = selected.filter { reports(to: supervisorId, $0.managerId) }
        }
        selected = rank(selected, weights: weights)

        var totals = Card(managerId: "total", name: nil)
        var completenessTotal = (total: Decimal(0), count: 0)
        for card in selected {
            totals.salesVolume += card.salesVolume
            totals.grossProfit += card.grossProfit
            totals.ordersFulfilled += card.ordersFulfilled
            totals.retainedClients += card.retainedClients
            totals.cohortClients += card.cohortClients
            totals.contactsWithBuyers += card.contactsWithBuyers
            totals.counterparties += card.counterparties
            if let completeness = card.completeness {
                completenessTotal.total += completeness * Decimal(card.counterparties)
                completenessTotal.count += card.counterparties
            }
        }
        totals.completeness = completenessTotal.count == 0 ? nil : roundedMean(completenessTotal.total, Decimal(completenessTotal.count))
        return Scorecard(
            period: period, weights: Dictionary(uniqueKeysWithValues: weights.map { ($0.key.rawValue, Amount($0.value)) }),
            items: selected, totals: totals)
    }

    /// Per manager, how many clients it sold to in the period before `period` (same length), and
    /// how many of them it sold to again in `period`.
    struct Retention: Sendable {
        var cohortClients = 0
        var retainedClients = 0
    }

    /// The clients each manager sold to over some days (a merged customer as its survivor), as
    /// `TextKey`s of its own `keys`.
    struct ClientsSoldTo: Sendable {
        var keys = TextKeys()
        var byManager: [String: Set<TextKey>] = [:]
    }

    /// Read from the index of sales by day alone, and gathered in Swift with `TextKey`s: SQLite's
    /// grouping of the 230,000 (manager, client) pairs of a quarter and the one before took 0.4 s,
    /// Swift's with `String`s 0.15 s, with `TextKey`s 0.1 s, and the two periods read side by side
    /// on two connections take half that.
    static func clientsSoldTo(_ db: Database, from firstDay: Int, to lastDay: Int) throws -> ClientsSoldTo {
        var sold = ClientsSoldTo()
        let survivors = try Merges(db).survivorKeys(&sold.keys)
        var managers: [TextKey: Int] = [:]
        var clients: [Set<TextKey>] = []
        let sales = try RawStatement(
            db,
            sql: """
                SELECT manager_id, customer_id FROM erp_order
                WHERE state = 'completed' AND completed_on BETWEEN ? AND ? AND manager_id IS NOT NULL
                """)
        sales.bind(1, Int64(firstDay))
        sales.bind(2, Int64(lastDay))
        // Rows come by day and manager: a manager is looked up only where the run of its sales begins.
        var run: (manager: TextKey, index: Int)?
        try sales.forEachRow { row in
            guard let managerId = row.utf8(0), let customerId = row.utf8(1) else { return }
            let manager = sold.keys.key(managerId)
            if run?.manager != manager {
                if let known = managers[manager] {
                    run = (manager, known)
                } else {
                    run = (manager, clients.count)
                    managers[manager] = clients.count
                    clients.append(Set(minimumCapacity: 1024))
                }
            }
            var customer = sold.keys.key(customerId)
            if !survivors.isEmpty, let survivor = survivors[customer] { customer = survivor }
            clients[run!.index].insert(customer)
        }
        for (manager, index) in managers { sold.byManager[sold.keys.text(manager)] = clients[index] }
        return sold
    }

    /// Retention: of the clients each manager sold to in the period before, those it sold to again.
    static func retention(before: ClientsSoldTo, now: ClientsSoldTo) -> [String: Retention] {
        var now = now
        var retention: [String: Retention] = [:]
        for (manager, cohort) in before.byManager {
            let again = now.byManager[manager] ?? []
            var counts = Retention(cohortClients: cohort.count)
            for client in cohort {
                // The same text has the same short key in both; a long one is numbered by each.
                let key = client.isNumbered ? now.keys.key(before.keys.text(client)) : client
                if again.contains(key) { counts.retainedClients += 1 }
            }
            retention[manager] = counts
        }
        return retention
    }

    /// Ranks per indicator (competition ranking: 1, 2, 2, 4; no value last) and overall by the
    /// weighted mean rank (ties by manager id).
    static func rank(_ cards: [Card], weights: [ScorecardIndicator: Decimal]) -> [Card] {
        var cards = cards.sorted { $0.managerId < $1.managerId }
        for indicator in ScorecardIndicator.allCases {
            let values = cards.map { $0.value(indicator) }
            for index in cards.indices {
                let better = values.filter { other in
                    guard let other else { return false }
                    guard let mine = values[index] else { return true }
                    return other > mine
                }.count
                cards[index].ranks[indicator.rawValue] = better + 1
            }
        }
        let totalWeight = weights.values.reduce(0, +)
        for index in cards.indices {
            let weighted = ScorecardIndicator.allCases.reduce(Decimal(0)) { sum, indicator in
                sum + (weights[indicator] ?? 0) * Decimal(cards[index].ranks[indicator.rawValue] ?? cards.count)
            }
            cards[index].overallScore = totalWeight == 0 ? 0 : weighted / totalWeight
        }
        cards.sort { ($0.overallScore, $0.managerId) < ($1.overallScore, $1.managerId) }
        for index in cards.indices { cards[index].overallRank = index + 1 }
        return cards
    }

    static func roundedMean(_ total: Decimal, _ count: Decimal) -> Decimal {
        var value = total / count
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 1, .plain)
        return rounded
    }
}
