import Foundation
import GRDB
import ServiceKit
import WireFormat
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
                try db.cachedStatement(
                    sql: "SELECT counterparty_id FROM counterparty_identity WHERE kind = ? AND value = ? ORDER BY counterparty_id"),
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

    /// The report's reasons in the order the cursor compares them (byte order, as SQLite does).
    static let reasons = ["email", "name", "phone", "taxId"]

    /// Groups in (reason, value) order after `after`; finds one extra to know whether more follow.
    /// Candidates come from the indexes alone (values held by two or more rows, in index order), so
    /// a page reads only as far as it needs; only candidates are checked for merged members (not
    /// the whole identity table sorted on every call).
    static func report(_ db: Database, after: (reason: String, value: String)?, limit: Int) throws -> (groups: [Group], more: Bool) {
        var groups: [Group] = []
        for reason in reasons where after.map({ reason >= $0.reason }) ?? true {
            var from = after?.reason == reason ? after?.value : nil
            while true {
                let candidates = try candidateValues(db, reason: reason, after: from, limit: 500)
                for value in candidates {
                    let members = try unmergedMembers(db, reason: reason, value: value)
                    if members.count > 1 { groups.append(Group(reason: reason, value: value, counterpartyIds: members)) }
                    if groups.count > limit { return (Array(groups.prefix(limit)), true) }
                }
                guard candidates.count == 500, let last = candidates.last else { break }
                from = last
            }
        }
        return (groups, false)
    }

    private static func candidateValues(_ db: Database, reason: String, after: String?, limit: Int) throws -> [String] {
        if reason == "name" {
            return try String.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT name_key FROM counterparty WHERE name_key > ? GROUP BY name_key HAVING count(*) > 1 ORDER BY name_key LIMIT ?
                        """), arguments: [after ?? "", limit])
        }
        return try String.fetchAll(
            try db.cachedStatement(
                sql: """
                    SELECT value FROM counterparty_identity WHERE kind = ? AND value > ? GROUP BY value HAVING count(*) > 1 ORDER BY value LIMIT ?
                    """), arguments: [reason, after ?? "", limit])
    }

    private static func unmergedMembers(_ db: Database, reason: String, value: String) throws -> [String] {
        if reason == "name" {
            return try String.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT id FROM counterparty WHERE name_key = ? AND merged_into IS NULL ORDER BY id
                        """), arguments: [value])
        }
        return try String.fetchAll(
            try db.cachedStatement(
                sql: """
                    SELECT c.id FROM counterparty_identity i JOIN counterparty c ON c.id = i.counterparty_id
                    WHERE i.kind = ? AND i.value = ? AND c.merged_into IS NULL ORDER BY c.id
                    """), arguments: [reason, value])
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
