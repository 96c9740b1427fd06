import Foundation
import GRDB
import WireSchema

/// Likely duplicates: counterparties (not merged away) sharing a normalised tax id, e-mail or
/// phone, or whose names reduce to the same words once legal forms and punctuation are dropped.
enum Duplicates {
    struct Match: Sendable {
        let kind: ContactNormalization.IdentityKind
        let value: String
        let counterpartyId: String
    }

    /// The first counterparty other than `excludingRoot` (and those merged into it) having one of these identities.
    static func firstMatch(
        _ db: Database, identities: [(ContactNormalization.IdentityKind, String)], excludingRoot: String?
    ) throws -> Match? {
        for (kind, value) in identities {
            let owners = try String.fetchAll(
                try db.cachedStatement(sql: "SELECT counterparty_id FROM counterparty_identity WHERE kind = ? AND value = ? ORDER BY counterparty_id"),
                arguments: [kind.rawValue, value])
            for owner in owners {
                guard let root = try StoredCounterparty.resolve(db, id: owner), root != excludingRoot else { continue }
                return Match(kind: kind, value: value, counterpartyId: root)
            }
        }
        return nil
    }

    /// One group of likely duplicates in the report.
    struct Group: Encodable, Sendable {
        /// `taxId`, `email`, `phone` or `name`.
        let reason: String
        let value: String
        let counterpartyIds: [String]
    }

    /// Groups in (reason, value) order after `after`; fetches one extra to know whether more follow.
    static func report(_ db: Database, after: (reason: String, value: String)?, limit: Int) throws -> (groups: [Group], more: Bool) {
        let rows = try Row.fetchAll(db, sql: """
            SELECT reason, value, group_concat(counterparty_id, char(31)) AS ids FROM (
                SELECT i.kind AS reason, i.value AS value, c.id AS counterparty_id
                FROM counterparty_identity i JOIN counterparty c ON c.id = i.counterparty_id
                WHERE c.merged_into IS NULL
                UNION
                SELECT 'name', name_key, id FROM counterparty WHERE merged_into IS NULL AND name_key != ''
                ORDER BY 3)
            WHERE ? IS NULL OR (reason, value) > (?, ?)
            GROUP BY reason, value HAVING count(*) > 1
            ORDER BY reason, value LIMIT ?
            """, arguments: [after?.reason, after?.reason, after?.value, limit + 1])
        let groups = rows.prefix(limit).map { row -> Group in
            let ids: String = row["ids"]
            return Group(reason: row["reason"], value: row["value"], counterpartyIds: ids.split(separator: "\u{1F}").map(String.init))
        }
        return (groups, rows.count > limit)
    }
}

extension ContactNormalization.IdentityKind {
    var label: String {
        switch self {
        case .taxId: "tax id"
        case .email: "e-mail"
        case .phone: "phone"
        }
    }
}
