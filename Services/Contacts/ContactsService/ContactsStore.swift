import EventStore
import Foundation
import GRDB
import Logging
import WireSchema

/// The contacts service's tables on top of the platform store.
public enum ContactsStore {
    /// Bump when the projection's tables or the way events fill them change: the store rebuilds itself.
    public static let projectionVersion = 1

    public static func open(path: String, logger: Logger) throws -> ServiceStore {
        try ServiceStore(path: path, projectionVersion: projectionVersion, logger: logger) { migrator in
            migrator.registerMigration("contacts-v1") { db in
                try db.execute(sql: """
                    -- A rowid table: rows carry ~0.5 KiB of JSON, too large for WITHOUT ROWID to pay off.
                    CREATE TABLE counterparty (
                        id TEXT NOT NULL UNIQUE,
                        tax_id TEXT,
                        responsible_manager_id TEXT,
                        archived INTEGER NOT NULL DEFAULT 0,
                        record TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        created_at TEXT NOT NULL,
                        created_by TEXT,
                        updated_at TEXT NOT NULL,
                        updated_by TEXT,
                        registration_event_id TEXT NOT NULL
                    );
                    CREATE INDEX counterparty_manager ON counterparty(responsible_manager_id, id);
                    CREATE INDEX counterparty_tax_id ON counterparty(tax_id) WHERE tax_id IS NOT NULL;
                    """)
            }
        }
    }
}

/// A counterparty as stored and served: the wire record plus bookkeeping from its events.
public struct StoredCounterparty: Sendable, Equatable {
    public var record: CounterpartyRecord
    public var version: Int
    public var createdAt: Date
    public var createdBy: String?
    public var updatedAt: Date
    public var updatedBy: String?
    /// The event that registered it: tells a create request whether its own event won.
    public var registrationEventId: String

    static let columns = "record, version, created_at, created_by, updated_at, updated_by, registration_event_id"

    init(row: Row) throws {
        let text: String = row["record"]
        record = try WireDecoder.decode(CounterpartyRecord.self, from: Array(text.utf8))
        version = row["version"]
        createdAt = Timestamp.parse(row["created_at"]) ?? Date(timeIntervalSince1970: 0)
        createdBy = row["created_by"]
        updatedAt = Timestamp.parse(row["updated_at"]) ?? Date(timeIntervalSince1970: 0)
        updatedBy = row["updated_by"]
        registrationEventId = row["registration_event_id"]
    }

    public static func fetch(_ db: Database, id: String) throws -> StoredCounterparty? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM counterparty WHERE id = ?", arguments: [id]).map(StoredCounterparty.init(row:))
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

    /// A page in id order after `afterId`; fetches one extra row to know whether more follow.
    public static func list(_ db: Database, filter: ListFilter, afterId: String?, limit: Int) throws -> (items: [StoredCounterparty], more: Bool) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let afterId { conditions.append("id > ?"); arguments += [afterId] }
        if let archived = filter.archived { conditions.append("archived = ?"); arguments += [archived] }
        if let manager = filter.responsibleManagerId { conditions.append("responsible_manager_id = ?"); arguments += [manager] }
        if let role = filter.role {
            conditions.append("EXISTS (SELECT 1 FROM json_each(record, '$.roles') WHERE value = ?)")
            arguments += [role.rawValue]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit + 1]
        let rows = try Row.fetchAll(db, sql: "SELECT \(columns) FROM counterparty \(whereClause) ORDER BY id LIMIT ?", arguments: arguments)
        let items = try rows.prefix(limit).map(StoredCounterparty.init(row:))
        return (items, rows.count > limit)
    }

    /// Every counterparty in id order as canonical JSON lines: equal stores give equal dumps.
    public static func canonicalDump(_ db: Database, into output: (String) -> Void) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM counterparty ORDER BY id")
        while let row = try rows.next() {
            let stored = try StoredCounterparty(row: row)
            let bytes = try WireEncoder.encode(CounterpartyResource(stored))
            output(String(decoding: bytes, as: UTF8.self))
        }
    }
}
