import Foundation
import GRDB
import WireFormat
import WireSchema

/// A client's conditions as they stand: its override while that lasts, else the first rule its rank
/// matches, else the rules' default. With no rules set and no override there are none.
struct EffectiveConditions: Equatable, Sendable {
    var clientId: String
    var rank: ClientRank?
    var conditions: Conditions
    var source: ConditionsSource
    var ruleIndex: Int?
    var overrideUntil: Date?
    var overrideReason: String?

    static func of(
        clientId: String, rank: ClientRank?, override: SalesConditionsOverride?, rules: SalesConditionRules?, now: Date
    ) -> EffectiveConditions? {
        if let override, override.until > now {
            return EffectiveConditions(
                clientId: clientId, rank: rank, conditions: override.conditions, source: .override, ruleIndex: nil,
                overrideUntil: override.until, overrideReason: override.reason)
        }
        guard let rules else { return nil }
        let (conditions, index) = rules.conditions(for: rank)
        return EffectiveConditions(
            clientId: clientId, rank: rank, conditions: conditions, source: index == nil ? .default : .rule, ruleIndex: index)
    }

    var event: SalesConditions {
        SalesConditions(
            clientId: clientId, rank: rank, conditions: conditions, source: source, ruleIndex: ruleIndex, overrideUntil: overrideUntil)
    }

    /// Whether the ERP must be told: the conditions differ from those last assigned, or they come
    /// from an override now and did not then (or the other way round). A new rank or rule index
    /// with the same conditions is not a change.
    func differs(fromAssigned conditions: String?, source: String?) -> Bool {
        guard let conditions, let source else { return true }
        return Self.key(self.conditions) != conditions || (self.source == .override) != (source == ConditionsSource.override.rawValue)
    }

    /// The conditions as one string, decimals normalised (`50` and `50.0` alike): equal conditions,
    /// equal keys. Built by hand because the projection makes one per assignment it reads back.
    static func key(_ conditions: Conditions) -> String {
        [
            conditions.priceType, conditions.discountPercent?.description ?? "", conditions.prepaymentPercent?.description ?? "",
            conditions.deferralDays.map(String.init) ?? "", conditions.reservationAllowed.map { $0 ? "1" : "0" } ?? "",
            conditions.reservationDays.map(String.init) ?? "", conditions.creditLimit?.description ?? "",
        ].joined(separator: "\u{1F}")
    }
}

/// What the store holds for working out clients' conditions.
struct ConditionsInputs: Sendable {
    struct Client: Sendable {
        var id: String
        var rank: ClientRank?
        var override: SalesConditionsOverride?
        var assignedConditions: String?
        var assignedSource: String?
    }

    var rules: SalesConditionRules?
    var rulesVersion: Int
    var clients: [Client]
    /// The highest `conditions_touched` sequence when read.
    var touchedUpTo: Int

    static func rules(_ db: Database) throws -> (rules: SalesConditionRules?, version: Int) {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT value, version FROM setting WHERE key = ?", arguments: [DealSettingsEvent.rulesKey])
        else { return (nil, 0) }
        return (try WireDecoder.decode(SalesConditionRules.self, from: Array((row[0] as String).utf8)), row[1])
    }

    /// Every client that has a rank, an override or assigned conditions (`touchedAfter` nil), or
    /// those touched after a sequence, or those named.
    static func read(_ db: Database, touchedAfter: Int?, ids: [String]? = nil) throws -> ConditionsInputs {
        let (rules, version) = try rules(db)
        let touchedUpTo = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM conditions_touched") ?? 0
        let selection: String
        var arguments: StatementArguments = []
        if let ids {
            selection = "SELECT value AS client_id FROM json_each(?)"
            arguments = [String(decoding: try JSONEncoder().encode(ids), as: UTF8.self)]
        } else if let touchedAfter {
            selection = "SELECT client_id FROM conditions_touched WHERE seq > ?"
            arguments = [touchedAfter]
        } else {
            selection = """
                SELECT client_id FROM client_rank UNION SELECT client_id FROM conditions_override
                UNION SELECT client_id FROM conditions_assigned
                """
        }
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT c.client_id, r.abc_class, r.xyz_class, r.status, r.client_id IS NOT NULL, o.conditions, o.until, o.reason,
                    a.conditions, a.source
                FROM (\(selection)) c
                LEFT JOIN client_rank r ON r.client_id = c.client_id
                LEFT JOIN conditions_override o ON o.client_id = c.client_id
                LEFT JOIN conditions_assigned a ON a.client_id = c.client_id
                """, arguments: arguments)
        var clients: [Client] = []
        while let row = try rows.next() {
            let id: String = row[0]
            let rank: ClientRank? = row[4] ? ClientRank(abcClass: row[1], xyzClass: row[2], status: row[3]) : nil
            var override: SalesConditionsOverride?
            if let conditions: String = row[5], let until = Timestamp.parse(row[6]) {
                override = SalesConditionsOverride(
                    clientId: id, conditions: try WireDecoder.decode(Conditions.self, from: Array(conditions.utf8)), until: until,
                    reason: row[7])
            }
            clients.append(Client(id: id, rank: rank, override: override, assignedConditions: row[8], assignedSource: row[9]))
        }
        return ConditionsInputs(rules: rules, rulesVersion: version, clients: clients, touchedUpTo: touchedUpTo)
    }

    /// Clients whose override has run out while the conditions assigned to them are still the override's.
    static func expiredOverrides(_ db: Database, now: Date) throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                SELECT o.client_id FROM conditions_override o JOIN conditions_assigned a ON a.client_id = o.client_id
                WHERE o.until <= ? AND a.source = 'override'
                """, arguments: [Timestamp.format(now)])
    }

    /// The assignments to publish: each client whose effective conditions differ from those assigned.
    func changes(now: Date) -> [SalesConditions] {
        clients.compactMap { client in
            guard
                let effective = EffectiveConditions.of(
                    clientId: client.id, rank: client.rank, override: client.override, rules: rules, now: now),
                effective.differs(fromAssigned: client.assignedConditions, source: client.assignedSource)
            else { return nil }
            return effective.event
        }
    }
}
