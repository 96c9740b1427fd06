import EventStore
import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

extension ContactsProjection {
    func apply(_ event: CounterpartyEvent, json: [UInt8]?, _ stamp: EventStamp, _ db: Database) throws {
        switch event {
        case .registered(let record):
            try register(record, json: try json ?? WireEncoder.encode(record), stamp, db)
        case .updated(let record):
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE counterparty SET tax_id = ?, responsible_manager_id = ?, archived = ?, name_key = ?,
                        record = ?, version = version + 1, updated_at = ?, updated_by = ?
                    WHERE id = ?
                    """)
            statement.setUncheckedArguments([
                record.taxId, record.responsibleManagerId, record.archived, normalization.nameKey(record.legalName),
                String(decoding: try json ?? WireEncoder.encode(record), as: UTF8.self), stamp.time, stamp.actor, record.id,
            ])
            try statement.execute()
            if db.changesCount == 0 { throw ProjectionRejection("counterparty '\(record.id)' does not exist") }
            try saveIdentities(of: record.id, normalization.identities(of: record), replacing: true, db)
            try markDirty(record.id, db)
        case .archived(let reference), .unarchived(let reference):
            let archived: Bool
            if case .archived = event { archived = true } else { archived = false }
            guard var stored = try StoredCounterparty.fetchRow(db, id: reference.id) else {
                throw ProjectionRejection("counterparty '\(reference.id)' does not exist")
            }
            stored.record.archived = archived
            try db.cachedStatement(
                sql: """
                    UPDATE counterparty SET archived = ?, record = ?, version = version + 1, updated_at = ?, updated_by = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [archived, try encodedRecord(stored.record), stamp.time, stamp.actor, reference.id])
        case .contactPersonAdded(let person):
            guard try counterpartyExists(person.counterpartyId, db) else {
                throw ProjectionRejection("contact person '\(person.id)': counterparty '\(person.counterpartyId)' does not exist")
            }
            guard try StoredContactPerson.insert(person, stamp: stamp, db) else {
                throw ProjectionRejection("contact person '\(person.id)' already exists")
            }
            try markDirty(person.counterpartyId, db)
        case .contactPersonUpdated(let person):
            guard try StoredContactPerson.update(person, stamp: stamp, matching: ["counterparty_id"], db) else {
                throw ProjectionRejection("counterparty '\(person.counterpartyId)' has no contact person '\(person.id)'")
            }
            try markDirty(person.counterpartyId, db)
        case .contactPersonRemoved(let reference):
            try db.cachedStatement(sql: "DELETE FROM contact_person WHERE id = ? AND counterparty_id = ?").execute(
                arguments: [reference.id, reference.counterpartyId])
            if db.changesCount == 0 {
                throw ProjectionRejection("counterparty '\(reference.counterpartyId)' has no contact person '\(reference.id)'")
            }
            try markDirty(reference.counterpartyId, db)
        case .merged(let merge):
            if merge.mergedId == merge.survivorId { throw ProjectionRejection("a counterparty cannot be merged into itself") }
            if try StoredCounterparty.resolve(db, id: merge.survivorId) == merge.mergedId {
                throw ProjectionRejection("merging '\(merge.mergedId)' into '\(merge.survivorId)' would make a cycle")
            }
            try db.cachedStatement(
                sql: """
                    UPDATE counterparty SET merged_into = ?, version = version + 1, updated_at = ?, updated_by = ?
                    WHERE id = ? AND merged_into IS NULL
                    """
            ).execute(arguments: [merge.survivorId, stamp.time, stamp.actor, merge.mergedId])
            if db.changesCount == 0 {
                throw ProjectionRejection("counterparty '\(merge.mergedId)' does not exist or is already merged")
            }
            try markDirty(merge.mergedId, db)
            try markDirty(merge.survivorId, db)
        case .mergeUndone(let merge):
            try db.cachedStatement(
                sql: """
                    UPDATE counterparty SET merged_into = NULL, version = version + 1, updated_at = ?, updated_by = ?
                    WHERE id = ? AND merged_into = ?
                    """
            ).execute(arguments: [stamp.time, stamp.actor, merge.mergedId, merge.survivorId])
            if db.changesCount == 0 {
                throw ProjectionRejection("counterparty '\(merge.mergedId)' is not merged into '\(merge.survivorId)'")
            }
            try markDirty(merge.mergedId, db)
            try markDirty(merge.survivorId, db)
        }
    }

    /// Registers a counterparty with everything derived from it; refuses an id that exists (the
    /// event is dead-lettered). Public so the benchmark's raw-SQLite reference writes exactly
    /// what a replay writes.
    public func register(_ record: CounterpartyRecord, json: [UInt8], time: String, actor: String?, eventId: String, in db: Database) throws
    {
        try register(record, json: json, EventStamp(time: time, actor: actor, eventId: eventId), db)
    }

    func register(_ record: CounterpartyRecord, json: [UInt8], _ stamp: EventStamp, _ db: Database) throws {
        let statement = try RawStatement(
            db,
            sql: """
                INSERT INTO counterparty(id, tax_id, responsible_manager_id, archived, name_key, completeness, record, version,
                                         created_at, created_by, updated_at, updated_by, registration_event_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO NOTHING
                """)
        statement.bind(1, record.id)
        statement.bind(2, record.taxId)
        statement.bind(3, record.responsibleManagerId)
        statement.bind(4, record.archived)
        statement.bind(5, normalization.nameKey(record.legalName))
        statement.bind(6, Int64(Completeness.percent(record, persons: [])))
        // 7, the record's JSON, is bound as the statement runs (not copied).
        statement.bind(8, stamp.time)
        statement.bind(9, stamp.actor)
        statement.bind(10, stamp.time)
        statement.bind(11, stamp.actor)
        statement.bind(12, stamp.eventId)
        if try statement.execute(bindingUTF8: json, at: 7) == 0 {
            throw ProjectionRejection("counterparty '\(record.id)' is already registered")
        }
        let rowid = db.lastInsertedRowID
        let identities = normalization.identities(of: record)
        try saveIdentities(of: record.id, identities, replacing: false, db)
        try writeDerivedOfNew(record, identities: identities, rowid: rowid, db)
    }

    private func counterpartyExists(_ id: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM counterparty WHERE id = ?)"), arguments: [id]) ?? false
    }

    /// The normalised tax id, e-mails and phones duplicate checks look up.
    private func saveIdentities(
        of id: String, _ identities: [(ContactNormalization.IdentityKind, String)], replacing: Bool, _ db: Database
    ) throws {
        if replacing {
            try db.cachedStatement(sql: "DELETE FROM counterparty_identity WHERE counterparty_id = ?").execute(arguments: [id])
        }
        let insert = try RawStatement(
            db,
            sql: """
                INSERT INTO counterparty_identity(kind, value, counterparty_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING
                """)
        for (kind, value) in identities {
            insert.bind(1, kind.rawValue)
            insert.bind(2, value)
            insert.bind(3, id)
            try insert.execute()
        }
    }
}
