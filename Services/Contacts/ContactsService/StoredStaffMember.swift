import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

extension StoredEntity where Record == StaffMember {
    /// A page in id order after `afterId`, optionally only the direct reports of a supervisor.
    public static func list(_ db: Database, supervisorId: String?, afterId: String?, limit: Int) throws -> (items: [Self], more: Bool) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let supervisorId {
            conditions.append("supervisor_id = ?")
            arguments += [supervisorId]
        }
        if let afterId {
            conditions.append("id > ?")
            arguments += [afterId]
        }
        arguments += [limit + 1]
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try Row.fetchAll(
            try db.cachedStatement(sql: "SELECT \(columns) FROM staff \(whereClause) ORDER BY id LIMIT ?"), arguments: arguments)
        return (try rows.prefix(limit).map(Self.init(row:)), rows.count > limit)
    }

    /// The chain of supervisors above `id`, nearest first (stops at a repeat, so a cycle that
    /// concurrent updates slipped in cannot loop).
    public static func supervisorChain(_ db: Database, of id: String) throws -> [String] {
        var chain: [String] = []
        var current = id
        while let next = try String.fetchOne(
            try db.cachedStatement(sql: "SELECT supervisor_id FROM staff WHERE id = ?"), arguments: [current]),
            !chain.contains(next), next != id
        {
            chain.append(next)
            current = next
        }
        return chain
    }

    /// Everyone below `id`, directly or through others.
    public static func subordinateIds(_ db: Database, of id: String) throws -> [String] {
        try String.fetchAll(
            try db.cachedStatement(
                sql: """
                    WITH RECURSIVE below(id) AS (
                        SELECT id FROM staff WHERE supervisor_id = ? UNION SELECT s.id FROM staff s JOIN below b ON s.supervisor_id = b.id)
                    SELECT id FROM below WHERE id != ? ORDER BY id
                    """), arguments: [id, id])
    }
}
