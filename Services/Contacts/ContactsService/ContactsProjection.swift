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

    public func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<CounterpartyEvent> {
        let event = try decodeCloudEvent(record) { type, data in try CounterpartyEvent.decode(type: type, data: data) }
        if let key = record.keyString, key != event.event.counterpartyId {
            throw WireFormatError("record key '\(key)' is not the counterparty id '\(event.event.counterpartyId)'")
        }
        return event
    }

    public func apply(_ event: ProjectedEvent<CounterpartyEvent>, in db: Database) throws {
        let time = Timestamp.format(event.attributes?.time ?? Date(timeIntervalSince1970: Double(event.record.timestampMs) / 1000))
        let actor = event.attributes?.actor
        switch event.event {
        case .registered(let record):
            let statement = try db.cachedStatement(sql: """
                INSERT INTO counterparty(id, kind, legal_name, tax_id, responsible_manager_id, archived, record, version,
                                         created_at, created_by, updated_at, updated_by, last_event_id,
                                         registration_event_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO NOTHING
                """)
            statement.setUncheckedArguments([
                record.id, record.kind.rawValue, record.legalName, record.taxId, record.responsibleManagerId, record.archived,
                try encoded(record), time, actor, time, actor, event.id, event.id,
            ])
            try statement.execute()
            if db.changesCount == 0 {
                throw ProjectionRejection("counterparty '\(record.id)' is already registered")
            }
        case .updated(let record):
            let statement = try db.cachedStatement(sql: """
                UPDATE counterparty SET kind = ?, legal_name = ?, tax_id = ?, responsible_manager_id = ?, archived = ?,
                    record = ?, version = version + 1, updated_at = ?, updated_by = ?, last_event_id = ?
                WHERE id = ?
                """)
            statement.setUncheckedArguments([
                record.kind.rawValue, record.legalName, record.taxId, record.responsibleManagerId, record.archived,
                try encoded(record), time, actor, event.id, record.id,
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
                UPDATE counterparty SET archived = ?, record = ?, version = version + 1, updated_at = ?, updated_by = ?,
                    last_event_id = ? WHERE id = ?
                """, arguments: [archived, try encoded(stored.record), time, actor, event.id, reference.id])
        }
    }

    private func encoded(_ record: CounterpartyRecord) throws -> String {
        String(decoding: try WireEncoder.encode(record), as: UTF8.self)
    }
}
