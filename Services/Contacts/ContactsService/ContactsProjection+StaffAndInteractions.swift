import EventStore
import Foundation
import GRDB
import WireFormat
import WireSchema

extension ContactsProjection {
    func apply(_ event: StaffEvent, _ stamp: EventStamp, _ db: Database) throws {
        let member = event.member
        switch event {
        case .registered:
            try db.cachedStatement(sql: """
                INSERT INTO staff(id, supervisor_id, record, version, created_at, created_by, updated_at, updated_by, last_event_id)
                VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
                """).execute(arguments: [member.id, member.supervisorId, try encodedRecord(member), stamp.time, stamp.actor, stamp.time,
                                 stamp.actor, stamp.eventId])
            if db.changesCount == 0 { throw ProjectionRejection("staff member '\(member.id)' is already registered") }
        case .updated:
            try db.cachedStatement(sql: """
                UPDATE staff SET supervisor_id = ?, record = ?, version = version + 1, updated_at = ?, updated_by = ?, last_event_id = ?
                WHERE id = ?
                """).execute(arguments: [member.supervisorId, try encodedRecord(member), stamp.time, stamp.actor, stamp.eventId, member.id])
            if db.changesCount == 0 { throw ProjectionRejection("staff member '\(member.id)' does not exist") }
        }
    }

    func apply(_ event: InteractionEvent, _ stamp: EventStamp, _ db: Database) throws {
        let interaction = event.interaction
        let occurredAt = Timestamp.format(interaction.occurredAt)
        switch event {
        case .logged:
            try db.cachedStatement(sql: """
                INSERT INTO interaction(id, counterparty_id, kind, occurred_at, staff_id, record, version,
                                        created_at, created_by, updated_at, updated_by, last_event_id)
                VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
                """).execute(arguments: [interaction.id, interaction.counterpartyId, interaction.kind.rawValue, occurredAt,
                                 interaction.staffId, try encodedRecord(interaction), stamp.time, stamp.actor, stamp.time,
                                 stamp.actor, stamp.eventId])
            if db.changesCount == 0 { throw ProjectionRejection("interaction '\(interaction.id)' is already logged") }
        case .corrected:
            try db.cachedStatement(sql: """
                UPDATE interaction SET counterparty_id = ?, kind = ?, occurred_at = ?, staff_id = ?, record = ?,
                    version = version + 1, updated_at = ?, updated_by = ?, last_event_id = ?
                WHERE id = ?
                """).execute(arguments: [interaction.counterpartyId, interaction.kind.rawValue, occurredAt, interaction.staffId,
                                 try encodedRecord(interaction), stamp.time, stamp.actor, stamp.eventId, interaction.id])
            if db.changesCount == 0 { throw ProjectionRejection("interaction '\(interaction.id)' does not exist") }
        }
    }
}
