import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

/// A counterparty as stored and served: the wire record, bookkeeping from its events, and what the
/// projection derives (completeness, the survivor it was merged into).
public struct StoredCounterparty: Sendable, Equatable {
    public var record: CounterpartyRecord
    public var bookkeeping: Bookkeeping
    /// The event that registered it: tells a create request whether its own event won.
    public var registrationEventId: String
    public var mergedInto: String?
    public var completeness: Int

    static let columns = "record, \(Bookkeeping.columns), registration_event_id, merged_into, completeness"

    init(row: Row) throws {
        record = try decodeStoredRecord(CounterpartyRecord.self, row)
        bookkeeping = Bookkeeping(row: row)
        registrationEventId = row["registration_event_id"]
        mergedInto = row["merged_into"]
        completeness = row["completeness"]
    }

    public var version: Int { bookkeeping.version }

    /// The row with this id, merged or not.
    public static func fetchRow(_ db: Database, id: String) throws -> StoredCounterparty? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(columns) FROM counterparty WHERE id = ?"), arguments: [id]).map(
            StoredCounterparty.init(row:))
    }

    /// The counterparty an id stands for: itself, or for a merged one the survivor it resolves to.
    public static func fetch(_ db: Database, id: String) throws -> StoredCounterparty? {
        // One read when it is not merged (nearly always); otherwise follow the merges from it.
        guard let row = try fetchRow(db, id: id) else { return nil }
        guard let survivor = row.mergedInto else { return row }
        guard let root = try resolve(db, id: survivor) else { return nil }
        return try fetchRow(db, id: root)
    }

    /// Follows merges to the counterparty that absorbed `id` (itself when not merged); nil when unknown.
    public static func resolve(_ db: Database, id: String) throws -> String? {
        var current = id
        for _ in 0..<64 {
            guard
                let row = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT merged_into FROM counterparty WHERE id = ?"), arguments: [current])
            else {
                return nil
            }
            guard let next: String = row["merged_into"] else { return current }
            current = next
        }
        return current
    }

    static let absorbedCTE = """
        WITH RECURSIVE absorbed(id) AS (
            SELECT ? UNION SELECT c.id FROM counterparty c JOIN absorbed a ON c.merged_into = a.id)
        """

    /// `root` and every counterparty merged into it, directly or through others.
    public static func absorbedIds(_ db: Database, root: String) throws -> [String] {
        try String.fetchAll(try db.cachedStatement(sql: "\(absorbedCTE) SELECT id FROM absorbed ORDER BY id"), arguments: [root])
    }

    /// The records of `root` and of every counterparty merged into it, in id order.
    static func absorbedRecords(_ db: Database, root: String) throws -> [CounterpartyRecord] {
        try Row.fetchAll(
            try db.cachedStatement(sql: "\(absorbedCTE) SELECT record FROM counterparty WHERE id IN absorbed ORDER BY id"),
            arguments: [root]
        )
        .map { try decodeStoredRecord(CounterpartyRecord.self, $0) }
    }

    public struct ListFilter: Sendable {
        public var archived: Bool?
        public var responsibleManagerId: String?
        public var role: CounterpartyRole?
        public init(archived: Bool? = false, responsibleManagerId: String? = nil, role: CounterpartyRole? = nil) {
            self.archived = archived
            self.responsibleManagerId = responsibleManagerId
            self.role = role
        }
    }

    /// A page in id order after `afterId` (merged counterparties are not listed); fetches one extra
    /// row to know whether more follow.
    public static func list(_ db: Database, filter: ListFilter, afterId: String?, limit: Int) throws -> (
        items: [StoredCounterparty], more: Bool
    ) {
        var conditions = ["merged_into IS NULL"]
        var arguments: StatementArguments = []
        if let afterId {
            conditions.append("id > ?")
            arguments += [afterId]
        }
        if let archived = filter.archived {
            conditions.append("archived = ?")
            arguments += [archived]
        }
        if let manager = filter.responsibleManagerId {
            conditions.append("responsible_manager_id = ?")
            arguments += [manager]
        }
        if let role = filter.role {
            conditions.append("EXISTS (SELECT 1 FROM json_each(record, '$.roles') WHERE value = ?)")
            arguments += [role.rawValue]
        }
        arguments += [limit + 1]
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(columns) FROM counterparty WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT ?",
            arguments: arguments)
        let items = try rows.prefix(limit).map(StoredCounterparty.init(row:))
        return (items, rows.count > limit)
    }
}
