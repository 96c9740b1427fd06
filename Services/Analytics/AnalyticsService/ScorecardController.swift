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

    struct Card: Encodable {
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
        let scorecard = try await self.context.read { db in
            try Self.build(db, period: period, managerId: managerFilter, supervisorId: supervisorId, weights: weights)
        }
        if request.wantsCSV {
            return try CSVFormat(request).response(
                header: Card.csvHeader, rows: scorecard.items.map(\.csvFields), filename: "scorecard.csv")
        }
        return try jsonResponse(scorecard)
    }

    static func build(
        _ db: Database, period: ReportPeriod, managerId: String?, supervisorId: String?, weights: [ScorecardIndicator: Decimal]
    ) throws -> Scorecard {
        var names: [String: String] = [:]
        var supervisors: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name, supervisor_id FROM staff") {
            names[row[0]] = row[1]
            if let supervisor: String = row[2] { supervisors[row[0]] = supervisor }
        }
        let merges = try Merges(db)
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

        // Retention: of the clients each manager sold to in the period before (same length), those
        // sold to again in this one. Counted in SQL over the index of sales by day; a merged
        // customer counts as its survivor.
        let clientOf = !merges.isEmpty ? "COALESCE((SELECT merged_into FROM client WHERE id = customer_id), customer_id)" : "customer_id"
        let before = period.previous
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT manager_id, count(*), sum(sold_now) FROM (
                    SELECT manager_id, \(clientOf) AS client, max(completed_on >= ?3) AS sold_now, min(completed_on) <= ?2 AS sold_before
                    FROM erp_order WHERE state = 'completed' AND completed_on BETWEEN ?1 AND ?4 AND manager_id IS NOT NULL
                    GROUP BY manager_id, client)
                WHERE sold_before GROUP BY manager_id
                """, arguments: [before.firstDay, before.lastDay, period.firstDay, period.lastDay])
        {
            var entry = card(row[0])
            entry.cohortClients = row[1]
            entry.retainedClients = row[2]
            cards[row[0]] = entry
        }

        // Contacts with buyers: interactions logged by the manager with customers or prospects.
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT i.staff_id, count(*) FROM interaction i JOIN client c ON c.id = i.counterparty_id
                WHERE i.occurred_on BETWEEN ? AND ? AND i.staff_id IS NOT NULL AND (c.is_client_role = 1 OR c.mentioned = 1)
                GROUP BY i.staff_id
                """, arguments: [period.firstDay, period.lastDay])
        {
            var entry = card(row[0])
            entry.contactsWithBuyers = row[1]
            cards[row[0]] = entry
        }

        // Completeness: the contacts service's checklist, over the counterparties each manager is
        // responsible for (not merged away, not archived), contact persons of merged ones included.
        var persons: [String: [ContactPerson]] = [:]
        for record in try String.fetchAll(db, sql: "SELECT record FROM contact_person") {
            let person = try WireDecoder.decode(ContactPerson.self, from: Array(record.utf8))
            persons[merges.resolve(person.counterpartyId), default: []].append(person)
        }
        var completenessSums: [String: (total: Int, count: Int)] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT responsible_manager_id, id, record FROM client
                WHERE registered = 1 AND merged_into IS NULL AND archived = 0 AND responsible_manager_id IS NOT NULL
                """)
        {
            let record = try CounterpartyRecord.read(Array((row[2] as String).utf8))
            completenessSums[row[0], default: (0, 0)].total += Completeness.percent(record, persons: persons[row[1]] ?? [])
            completenessSums[row[0], default: (0, 0)].count += 1
        }
        for (manager, sum) in completenessSums {
            var entry = card(manager)
            entry.counterparties = sum.count
            entry.completeness = roundedMean(Decimal(sum.total), Decimal(sum.count))
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
