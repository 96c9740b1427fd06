import EventStore
import Foundation
import GRDB
import Kafka
import WireSchema

/// How the contacts topics become the contacts store.
public struct ContactsProjection: Projection {
    public typealias Event = CounterpartyEvent

    public init() {}

    public var name: String { "contacts" }
    public var topics: [String] { [Topics.counterparties] }
    public var bulkLoadDeferredIndexes: [String] { ["counterparty_manager", "counterparty_tax_id"] }

    public func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<CounterpartyEvent> {
        let event = try decodeCloudEvent(record) { type, data in try CounterpartyEvent.decode(type: type, data: data) }
        // Compared as bytes: making a String of every key costs an allocation per record on replay.
        if let key = record.key, !key.elementsEqual(event.event.counterpartyId.utf8) {
            throw WireFormatError("record key '\(record.keyString ?? "")' is not the counterparty id '\(event.event.counterpartyId)'")
        }
        return event
    }

    public func apply(_ event: ProjectedEvent<CounterpartyEvent>, in db: Database) throws {
        let time = Timestamp.format(event.attributes?.time ?? Date(timeIntervalSince1970: Double(event.record.timestampMs) / 1000))
        let actor = event.attributes?.actor
        switch event.event {
        case .registered(let record):
            try Self.insert(record, json: try storedJSON(record, event), time: time, actor: actor, eventId: event.id, in: db)
        case .updated(let record):
            let statement = try db.cachedStatement(sql: """
                UPDATE counterparty SET tax_id = ?, responsible_manager_id = ?, archived = ?,
                    record = ?, version = version + 1, updated_at = ?, updated_by = ?
                WHERE id = ?
                """)
            statement.setUncheckedArguments([
                record.taxId, record.responsibleManagerId, record.archived,
                String(decoding: try storedJSON(record, event), as: UTF8.self), time, actor, record.id,
            ])
            try statement.execute()
            if db.changesCount == 0 { throw ProjectionRejection("counterparty '\(record.id)' does not exist") }
        case .archived(let reference), .unarchived(let reference):
            let archived: Bool
            if case .archived = event.event { archived = true } else { archived = false }
            guard var stored = try StoredCounterparty.fetch(db, id: reference.id) else {
                throw ProjectionRejection("counterparty '\(reference.id)' does not exist")
            }
            stored.record.archived = archived
            try db.execute(sql: """
                UPDATE counterparty SET archived = ?, record = ?, version = version + 1, updated_at = ?, updated_by = ?
                WHERE id = ?
                """, arguments: [archived, try encoded(stored.record), time, actor, reference.id])
        }
    }

    /// Inserts a newly registered counterparty; refuses an id that exists (the event is dead-lettered).
    /// Public so the benchmark's raw-SQLite reference inserts exactly the rows a replay writes.
    public static func insert(
        _ record: CounterpartyRecord, json: [UInt8], time: String, actor: String?, eventId: String, in db: Database
    ) throws {
        let statement = try RawStatement(db, sql: """
            INSERT INTO counterparty(id, tax_id, responsible_manager_id, archived, record, version,
                                     created_at, created_by, updated_at, updated_by, registration_event_id)
            VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO NOTHING
            """)
        statement.bind(1, record.id)
        statement.bind(2, record.taxId)
        statement.bind(3, record.responsibleManagerId)
        statement.bind(4, record.archived)
        statement.bind(5, utf8: json)
        statement.bind(6, time)
        statement.bind(7, actor)
        statement.bind(8, time)
        statement.bind(9, actor)
        statement.bind(10, eventId)
        if try statement.execute() == 0 {
            throw ProjectionRejection("counterparty '\(record.id)' is already registered")
        }
    }

    /// The event's own bytes are the record's JSON (no re-encoding on the replay path); reads decode
    /// them with the same decoder, so fields this version does not know are simply not shown.
    private func storedJSON(_ record: CounterpartyRecord, _ event: ProjectedEvent<CounterpartyEvent>) throws -> [UInt8] {
        try event.record.value ?? WireEncoder.encode(record)
    }

    private func encoded(_ record: CounterpartyRecord) throws -> String {
        String(decoding: try WireEncoder.encode(record), as: UTF8.self)
    }
}
