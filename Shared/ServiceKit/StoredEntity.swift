import EventStore
import Foundation
import GRDB
import WireFormat

/// A record kept in a table of its own, one row per id: `id`, the columns queries need (its
/// `queryColumns`), `record` (the JSON as last published), the bookkeeping columns and
/// `last_event_id`. `StoredEntity` reads and writes such rows.
public protocol StoredRecord: Codable, Sendable, Equatable {
    static var table: String { get }
    var id: String { get }
    /// The table's columns besides the record that queries filter or sort by, with this record's
    /// values (e.g. `counterparty_id`, `occurred_at`).
    var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] { get }
}

/// A stored record: the record as last published, its bookkeeping, and the id of the event that
/// wrote it (a command compares that with its own to tell whether the stored change is its own).
public struct StoredEntity<Record: Codable & Sendable & Equatable>: Sendable, Equatable {
    public var record: Record
    public var bookkeeping: Bookkeeping
    public var lastEventId: String

    public static var columns: String { "record, \(Bookkeeping.columns), last_event_id" }

    public init(row: Row) throws {
        record = try decodeStoredRecord(Record.self, row)
        bookkeeping = Bookkeeping(row: row)
        lastEventId = row["last_event_id"]
    }
}

extension StoredEntity where Record: StoredRecord {
    public static func fetch(_ db: Database, id: String) throws -> Self? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(columns) FROM \(Record.table) WHERE id = ?"), arguments: [id])
            .map(Self.init(row:))
    }

    /// Every one, in id order (the canonical dump).
    public static func all(_ db: Database) throws -> RowCursor {
        try Row.fetchCursor(db, sql: "SELECT \(columns) FROM \(Record.table) ORDER BY id")
    }

    /// Stores a new record at version 1, created and last updated by the event; false (nothing
    /// written) when its id is taken.
    public static func insert(_ record: Record, stamp: EventStamp, _ db: Database) throws -> Bool {
        let queried = record.queryColumns
        let names =
            ["id"] + queried.map(\.name) + ["record", "version", "created_at", "created_by", "updated_at", "updated_by", "last_event_id"]
        let values: [(any DatabaseValueConvertible)?] =
            [record.id] + queried.map(\.value) + [
                try encodedRecord(record), 1, stamp.time, stamp.actor, stamp.time, stamp.actor, stamp.eventId,
            ]
        try db.cachedStatement(
            sql: """
                INSERT INTO \(Record.table)(\(names.joined(separator: ", "))) VALUES (\(names.map { _ in "?" }.joined(separator: ", ")))
                ON CONFLICT(id) DO NOTHING
                """
        ).execute(arguments: StatementArguments(values))
        return db.changesCount > 0
    }

    /// Replaces a stored record with the event's (the next version); false (nothing written) when
    /// no row has its id and, for each of `matching`, its value of that query column.
    public static func update(_ record: Record, stamp: EventStamp, matching: [String] = [], _ db: Database) throws -> Bool {
        let queried = record.queryColumns
        let assignments =
            queried.map { "\($0.name) = ?" }
            + ["record = ?", "version = version + 1", "updated_at = ?", "updated_by = ?", "last_event_id = ?"]
        var values: [(any DatabaseValueConvertible)?] =
            queried.map(\.value) + [try encodedRecord(record), stamp.time, stamp.actor, stamp.eventId, record.id]
        var conditions = ["id = ?"]
        for name in matching {
            guard let column = queried.first(where: { $0.name == name }) else {
                preconditionFailure("\(name) is not a query column of \(Record.table)")
            }
            conditions.append("\(name) = ?")
            values.append(column.value)
        }
        try db.cachedStatement(
            sql: """
                UPDATE \(Record.table) SET \(assignments.joined(separator: ", ")) WHERE \(conditions.joined(separator: " AND "))
                """
        ).execute(arguments: StatementArguments(values))
        return db.changesCount > 0
    }
}

/// A stored record in responses: its fields with the bookkeeping beside them.
public struct EntityResource<Record: Codable & Sendable & Equatable>: Encodable, Sendable {
    public let record: Record
    public let bookkeeping: Bookkeeping

    public init(record: Record, bookkeeping: Bookkeeping) {
        self.record = record
        self.bookkeeping = bookkeeping
    }

    public init(stored: StoredEntity<Record>) {
        self.init(record: stored.record, bookkeeping: stored.bookkeeping)
    }

    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        try bookkeeping.encode(to: encoder)
    }
}

extension EventStamp {
    /// The stamp of an applied event: its CloudEvents time (the record's timestamp for a record
    /// without one), actor and id.
    public init<Event>(_ event: ProjectedEvent<Event>) {
        let time = event.attributes?.time ?? Date(timeIntervalSince1970: Double(event.record.timestampMs) / 1000)
        self.init(time: Timestamp.format(time), actor: event.attributes?.actor, eventId: event.id)
    }
}
