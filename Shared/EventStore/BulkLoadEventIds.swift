import Foundation
import GRDB
import Synchronization

/// The redelivery guard while a bulk load lasts. Inserting every event id into the guard's B-tree
/// as it was applied took a fifth to a quarter of the analytics replay's writer time; instead, the
/// ids applied are held in memory, where a redelivery is found, and each batch appends the ids it
/// applied as one row of `crm_bulk_load_event_ids` in its own transaction, so that a bulk load
/// resumed after a kill finds them again. Once the load is complete, or once more than
/// `ProjectorOptions.bulkLoadIdsInMemory` are held, the ids move into the guard's table in two
/// sorted statements, and the table is the guard from then on.
///
/// Ids are held only while the guard's table is empty (a bulk load begins on an empty store), so
/// that an id not held was never applied. Only the writer thread uses it: a batch's ids are listed
/// until its transaction commits, and taken out again if it rolls back.
final class BulkLoadEventIds: Sendable {
    private struct State {
        /// The ids applied, those of the current batch included; nil while the table is the guard.
        var held: EventIdSet?
        /// The ids the current batch applied, in order: taken out of `held` again if it rolls back.
        var batch: [AppliedEventKey] = []
    }
    private let state = Mutex(State())

    /// Whether the ids are held here rather than in the guard's table.
    var isHolding: Bool { state.withLock { $0.held != nil } }

    /// How many ids are held (nil while the table is the guard).
    var heldCount: Int? { state.withLock { $0.held?.count } }

    /// A bulk load begins or resumes: holds the ids earlier batches of it appended, unless the
    /// guard's table already holds ids (the ids moved there), in which case the table stays the guard.
    func begin(_ db: Database) throws {
        let tableHoldsIds = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM crm_applied_events)") ?? false
        var held: EventIdSet?
        if !tableHoldsIds {
            var ids = EventIdSet()
            try Self.forEachStoredId(db) { _ = ids.insert($0) }
            held = ids
        }
        state.withLock { $0 = State(held: held) }
    }

    /// The table is the guard from now on (the ids have moved there).
    func stopHolding() {
        state.withLock { $0 = State() }
    }

    /// A batch transaction begins: whatever an earlier attempt of it applied is forgotten.
    func beginBatch() {
        state.withLock { state in
            for key in state.batch { state.held?.remove(key) }
            state.batch.removeAll(keepingCapacity: true)
        }
    }

    /// Records the id as applied in this batch; false when it already was (a redelivery to skip).
    func markNew(_ key: AppliedEventKey) -> Bool {
        state.withLock { state in
            guard state.held?.insert(key) == true else { return false }
            state.batch.append(key)
            return true
        }
    }

    /// The event's savepoint was rolled back: its id was not applied after all.
    func forget(_ key: AppliedEventKey) {
        state.withLock { state in
            guard let index = state.batch.lastIndex(of: key) else { return }
            state.batch.remove(at: index)
            state.held?.remove(key)
        }
    }

    /// Appends the batch's ids to the store, inside its transaction.
    func writeBatch(_ db: Database) throws {
        let ids = state.withLock { $0.batch }
        guard !ids.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 20)
        for id in ids { Self.append(id, to: &bytes) }
        try bytes.withUnsafeBytes { blob in
            _ = try RawStatement(db, sql: "INSERT INTO crm_bulk_load_event_ids(ids) VALUES (?)").execute(bindingBlob: blob, at: 1)
        }
    }

    /// The batch's transaction committed: its ids stay held.
    func commitBatch() {
        state.withLock { $0.batch.removeAll(keepingCapacity: true) }
    }

    /// Moves the ids the bulk load appended into the guard's table, in the table's order (SQLite
    /// sorts text before blobs, each bytewise) so that every insert appends, in two statements: one
    /// over a JSON array of the texts, one over the UUIDs' bytes laid end to end. Statement by
    /// statement, 500,000 ids took the writer 0.3 s.
    static func moveToTable(_ db: Database) throws {
        var bytes: [UInt8] = []
        try RawStatement(db, sql: "SELECT ids FROM crm_bulk_load_event_ids ORDER BY rowid").forEachRow { row in
            bytes.append(contentsOf: row.blob(0))
        }
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { all in
            var texts: [Range<Int>] = []
            var uuids: [(UInt64, UInt64)] = []
            try forEachId(in: all) { id in
                switch id {
                case .uuid(let high, let low): uuids.append((high, low))
                case .text(let range): texts.append(range)
                }
            }
            texts.sort { a, b in
                let order = memcmp(all.baseAddress! + a.lowerBound, all.baseAddress! + b.lowerBound, min(a.count, b.count))
                return order != 0 ? order < 0 : a.count < b.count
            }
            uuids.sort { $0 < $1 }
            let insert = try RawStatement(db, sql: "INSERT INTO crm_applied_events(event_id) VALUES (?) ON CONFLICT DO NOTHING")
            // Texts JSON would have to escape (quotes, backslashes, control characters) go one by one.
            var json: [UInt8] = [UInt8(ascii: "[")]
            json.reserveCapacity(all.count + 3 * texts.count)
            for range in texts {
                let text = UnsafeRawBufferPointer(rebasing: all[range])
                if text.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                    try insert.execute(bindingUTF8: text, at: 1)
                    continue
                }
                if json.count > 1 { json.append(UInt8(ascii: ",")) }
                json.append(UInt8(ascii: "\""))
                json.append(contentsOf: text)
                json.append(UInt8(ascii: "\""))
            }
            json.append(UInt8(ascii: "]"))
            // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT.
            try RawStatement(
                db, sql: "INSERT INTO crm_applied_events(event_id) SELECT value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING"
            ).execute(bindingUTF8: json, at: 1)
            guard !uuids.isEmpty else { return }
            var uuidBytes: [UInt8] = []
            uuidBytes.reserveCapacity(16 * uuids.count)
            for (high, low) in uuids { withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { uuidBytes.append(contentsOf: $0) } }
            // The rows numbered by `json_each` over as many zeros: 0.12 s for 500,000, a recursive CTE 0.21 s.
            let insertUUIDs = try RawStatement(
                db,
                sql: """
                    INSERT INTO crm_applied_events(event_id) SELECT substr(?1, key * 16 + 1, 16) FROM json_each(?2)
                    WHERE true ON CONFLICT DO NOTHING
                    """)
            insertUUIDs.bind(2, "[" + String(repeating: "0,", count: uuids.count - 1) + "0]")
            try uuidBytes.withUnsafeBytes { _ = try insertUUIDs.execute(bindingBlob: $0, at: 1) }
        }
        try db.execute(sql: "DELETE FROM crm_bulk_load_event_ids")
    }

    // MARK: The stored form: per id a tag byte, then 16 bytes of a UUID (0) or a 4-byte
    // little-endian length and the UTF-8 bytes of a text (1).

    private enum StoredId {
        case uuid(UInt64, UInt64)
        case text(Range<Int>)
    }

    private static func append(_ key: AppliedEventKey, to bytes: inout [UInt8]) {
        switch key {
        case .uuid(let high, let low):
            bytes.append(0)
            withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { bytes.append(contentsOf: $0) }
        case .text(let text):
            bytes.append(1)
            withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: text.utf8)
        }
    }

    private static func forEachId(in bytes: UnsafeRawBufferPointer, _ body: (StoredId) throws -> Void) throws {
        var position = 0
        func take(_ count: Int) throws -> Range<Int> {
            guard count >= 0, bytes.count - position >= count else {
                throw DatabaseError(message: "crm_bulk_load_event_ids holds a malformed list of event ids")
            }
            defer { position += count }
            return position..<position + count
        }
        while position < bytes.count {
            let tag = bytes[try take(1).lowerBound]
            switch tag {
            case 0:
                let range = try take(16)
                let high = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt64.self))
                let low = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound + 8, as: UInt64.self))
                try body(.uuid(high, low))
            case 1:
                let length = try take(4)
                let count = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: length.lowerBound, as: UInt32.self))
                try body(.text(try take(Int(count))))
            default:
                throw DatabaseError(message: "crm_bulk_load_event_ids holds an event id of unknown kind \(tag)")
            }
        }
    }

    private static func forEachStoredId(_ db: Database, _ body: (AppliedEventKey) throws -> Void) throws {
        try RawStatement(db, sql: "SELECT ids FROM crm_bulk_load_event_ids ORDER BY rowid").forEachRow { row in
            let blob = row.blob(0)
            try forEachId(in: blob) { id in
                switch id {
                case .uuid(let high, let low): try body(.uuid(high, low))
                case .text(let range): try body(.text(String(decoding: UnsafeRawBufferPointer(rebasing: blob[range]), as: UTF8.self)))
                }
            }
        }
    }
}
