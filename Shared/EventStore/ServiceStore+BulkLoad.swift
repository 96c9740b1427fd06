import Foundation
import GRDB
import Platform
import Synchronization

/// Bulk loading: how a store catches up with a long log from empty several times faster. While it
/// lasts, the projection's secondary indexes are set aside (rebuilt in one sorted pass at the end),
/// the redelivery guard's ids are held in memory (`BulkLoadEventIds`) and commits are not synced.
/// A killed process loses nothing (the kernel still holds every write), so a restart on the same
/// boot resumes; a machine restart may lose unsynced writes, so a store still marked as bulk
/// loading after a reboot is deleted and rebuilt from the topics.
enum BulkLoad {
    static let metaKey = "bulk_load_boot_id"

    /// This boot of the machine (Linux); elsewhere a per-process id, so any restart rebuilds.
    static let currentBootId: String = {
        if let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        return "process-\(UUID().uuidString)"
    }()
}

extension ServiceStore {
    /// True while a bulk load has not finished (including one interrupted on this boot).
    public var isBulkLoading: Bool {
        get throws { try meta(BulkLoad.metaKey) != nil }
    }

    /// Marks the store as bulk loading (durably, before anything unsynced is written), sets the named
    /// indexes aside and stops syncing commits. Idempotent: resuming an interrupted bulk load calls it again.
    public func beginBulkLoad(deferring indexes: [String]) throws {
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.inTransaction {
                for name in indexes {
                    let definition = try String.fetchOne(
                        db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name])
                    if let definition {
                        try db.execute(
                            sql: "INSERT INTO crm_deferred_indexes(name, sql) VALUES (?, ?) ON CONFLICT DO NOTHING",
                            arguments: [name, definition])
                        try db.execute(sql: "DROP INDEX \(name.quotedDatabaseIdentifier)")
                    } else if try
                        !(Bool.fetchOne(
                            db, sql: "SELECT EXISTS (SELECT 1 FROM crm_deferred_indexes WHERE name = ?)", arguments: [name]) ?? false)
                    {
                        throw DatabaseError(message: "cannot defer index \(name): the store has no such index")
                    }
                }
                try db.execute(
                    sql: "INSERT INTO crm_store_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    arguments: [BulkLoad.metaKey, BulkLoad.currentBootId])
                try bulkLoadEventIds.begin(db)
                return .commit
            }
            try db.execute(sql: "PRAGMA synchronous = OFF")
        }
        checkpointer.setSyncing(false)
    }

    /// Rebuilds the indexes set aside, lets the projection rebuild what it derives (`rebuildDerived`,
    /// in the same transaction), fills the redelivery guard's table, makes everything written so far
    /// durable, then clears the mark.
    public func finishBulkLoad(rebuildDerived: (Database) throws -> Void = { _ in }) throws {
        try completeBulkLoad(rebuildDerived: rebuildDerived)
        try makeBulkLoadDurable()
    }

    /// The first half of `finishBulkLoad`: rebuilds the indexes set aside and lets the projection
    /// rebuild what it derives, in one transaction. The store then answers every query as it will
    /// once finished, but it is still marked as bulk loading and its commits are still not synced.
    public func completeBulkLoad(rebuildDerived: (Database) throws -> Void = { _ in }) throws {
        try completeBulkLoad(prepare: { _ in () }, beforeIndexes: { _ in }, rebuildDerived: { db, _ in try rebuildDerived(db) })
    }

    /// `completeBulkLoad`, with `prepare` run on a read-only connection of its own (another core)
    /// while this one runs `beforeIndexes`, then rebuilds the indexes; `rebuildDerived` then gets
    /// what `prepare` returned.
    public func completeBulkLoad<Prepared: Sendable>(
        prepare: @escaping @Sendable (Database) throws -> Prepared, beforeIndexes: (Database) throws -> Void,
        rebuildDerived: (Database, Prepared) throws -> Void
    ) throws {
        let prepared = Mutex<Result<Prepared, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        startThread(name: "bulk-load-prep") { [database] in
            let result = Result { try database.read(prepare) }
            prepared.withLock { $0 = result }
            done.signal()
        }
        var joined = false
        defer { if !joined { done.wait() } }
        try database.writeWithoutTransaction { db in
            try db.inTransaction {
                try beforeIndexes(db)
                for row in try Row.fetchAll(db, sql: "SELECT name, sql FROM crm_deferred_indexes") {
                    let name: String = row[0]
                    let exists = try Bool.fetchOne(
                        db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)", arguments: [name])
                    if exists != true {
                        try db.execute(sql: row[1])
                    }
                }
                try db.execute(sql: "DELETE FROM crm_deferred_indexes")
                done.wait()
                joined = true
                try rebuildDerived(db, prepared.withLock { $0! }.get())
                return .commit
            }
        }
    }

    /// Moves the ids a bulk load holds in memory into the guard's table (its own transaction); the
    /// table is the guard for the rest of the load.
    func moveBulkLoadEventIdsToTable() throws {
        try database.write { db in try BulkLoadEventIds.moveToTable(db) }
        bulkLoadEventIds.stopHolding()
    }

    /// The second half of `finishBulkLoad`: moves the event ids the load held in memory into the
    /// guard's table (queries do not need them, the next event does), syncs everything written so far
    /// (the kernel may still hold hundreds of MB of it), then clears the mark and syncs commits again
    /// from then on.
    public func makeBulkLoadDurable() throws {
        try moveBulkLoadEventIdsToTable()
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // From here on background checkpoints sync again; the unsynced ones are finished.
            checkpointer.setSyncing(true)
            // Earlier checkpoints copied unsynced pages into the database file: sync both files
            // (fsync covers every dirty page of a file, whichever descriptor wrote it).
            _ = try? db.checkpoint(.passive)
            for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
                guard let handle = FileHandle(forUpdatingAtPath: file) else {
                    throw DatabaseError(message: "cannot open \(file) to sync it")
                }
                defer { try? handle.close() }
                try handle.synchronize()
            }
            try db.inTransaction {
                try db.execute(sql: "DELETE FROM crm_store_meta WHERE key = ?", arguments: [BulkLoad.metaKey])
                return .commit
            }
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
    }
}
