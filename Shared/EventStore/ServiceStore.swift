import Foundation
import GRDB
import Kafka
import Logging

/// One service's SQLite store: the service's own tables plus what the projector needs to resume
/// exactly where it stopped (next offset per partition, ids of applied events, the dead-letter outbox).
public final class ServiceStore: Sendable {
    public let database: DatabasePool
    public let path: String
    public let projectionVersion: Int
    let checkpointer: WALCheckpointer
    /// The redelivery guard's ids while a bulk load holds them in memory.
    let bulkLoadEventIds = BulkLoadEventIds()

    /// How the platform tables encode what they hold (2: event ids of the redelivery guard as
    /// 16-byte UUIDs). A store written in another format is rebuilt, like a projection-version bump.
    static let platformFormat = 2

    /// Opens (or creates) the store. When the stored projection version (or platform format) differs,
    /// or a bulk load was cut short by a machine restart, the store is deleted and rebuilt from the topics.
    /// `prepareConnection` runs on every new connection (e.g. to create TEMP tables a projection uses).
    public init(
        path: String, projectionVersion: Int, logger: Logger,
        prepareConnection: (@Sendable (Database) throws -> Void)? = nil,
        migrations: @Sendable (inout DatabaseMigrator) -> Void
    ) throws {
        self.path = path
        self.projectionVersion = projectionVersion
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if let meta = try Self.storedMeta(at: path) {
            let storedVersion = meta["projection_version"].flatMap { Int($0) }
            let storedFormat = meta["platform_format"].flatMap { Int($0) } ?? 1
            var reason: String?
            if storedVersion != projectionVersion {
                reason = "projection version changed (stored \(storedVersion.map(String.init) ?? "none"), current \(projectionVersion))"
            } else if storedFormat != Self.platformFormat {
                reason = "platform store format changed (stored \(storedFormat), current \(Self.platformFormat))"
            } else if let bulk = meta[BulkLoad.metaKey], bulk != BulkLoad.currentBootId {
                reason = "a bulk load was interrupted by a machine restart, so its unsynced writes may be incomplete"
            }
            if let reason {
                logger.warning("rebuilding the store from the topics", metadata: ["store": "\(path)", "reason": "\(reason)"])
                try Self.deleteFiles(at: path)
            }
        }
        database = try DatabasePool(path: path, configuration: Self.configuration(prepareConnection: prepareConnection))
        var migrator = DatabaseMigrator()
        Self.registerPlatformMigrations(&migrator)
        migrations(&migrator)
        try migrator.migrate(database)
        checkpointer = try WALCheckpointer(path: path, threadName: "wal-checkpoint")
        try setMeta("projection_version", String(projectionVersion))
        try setMeta("platform_format", String(Self.platformFormat))
    }

    deinit { checkpointer.stop() }

    static func configuration(prepareConnection: (@Sendable (Database) throws -> Void)? = nil) -> Configuration {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Larger pages: a replay writes hundreds of MiB, and each page is a write system call.
            // (Takes effect only when the file is created; existing stores keep their page size.)
            try db.execute(sql: "PRAGMA page_size = 16384")
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
            // WAL + NORMAL: a killed process loses no committed transaction; only power loss could.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA cache_size = -65536")
            // Checkpoints run on a thread of their own (`WALCheckpointer`); this one, in whichever commit
            // crosses 10,000 pages of log, is only the backstop for when that thread falls behind.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            // Never shrink the log in a commit: `WALCheckpointer` truncates it while the store is idle.
            try db.execute(sql: "PRAGMA journal_size_limit = -1")
            try prepareConnection?(db)
        }
        configuration.busyMode = .timeout(10)
        return configuration
    }

    /// Deletes the database and its WAL files (used by `rebuild` and projection-version bumps).
    public static func deleteFiles(at path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
    }

    /// Puts the closed store at `source` in place of the one at `path` (its WAL included, so nothing
    /// committed is left behind); the old store's files are removed first.
    public static func replaceFiles(at path: String, with source: String) throws {
        try deleteFiles(at: path)
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: source + suffix) {
            try FileManager.default.moveItem(atPath: source + suffix, toPath: path + suffix)
        }
        if FileManager.default.fileExists(atPath: source + "-shm") { try FileManager.default.removeItem(atPath: source + "-shm") }
    }

    /// The meta table of an existing store file, or nil when there is none.
    static func storedMeta(at path: String) throws -> [String: String]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        // Waits out another process's lock (an operator's sqlite3, a backup) instead of failing start-up.
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db -> [String: String]? in
            guard try db.tableExists("crm_store_meta") else { return nil }
            let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM crm_store_meta")
            return Dictionary(rows.map { ($0[0], $0[1]) }, uniquingKeysWith: { $1 })
        }
    }

    private static func registerPlatformMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("platform-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE crm_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                    CREATE TABLE crm_partition_offsets (
                        topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                        PRIMARY KEY (topic, partition)) WITHOUT ROWID;
                    CREATE TABLE crm_applied_events (event_id TEXT PRIMARY KEY) WITHOUT ROWID;
                    CREATE TABLE crm_outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, record_key BLOB,
                        record_value BLOB, headers TEXT NOT NULL);
                    """)
        }
        migrator.registerMigration("platform-v2") { db in
            // Event ids: 16-byte blobs for canonical UUIDs, text otherwise (no column affinity, so the
            // two never compare equal); secondary indexes set aside during a bulk load.
            try db.execute(
                sql: """
                    DROP TABLE crm_applied_events;
                    CREATE TABLE crm_applied_events (event_id PRIMARY KEY) WITHOUT ROWID;
                    CREATE TABLE crm_deferred_indexes (name TEXT PRIMARY KEY, sql TEXT NOT NULL) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("platform-v3") { db in
            // The event ids a bulk load applied, one row per batch (`BulkLoadEventIds`).
            try db.execute(sql: "CREATE TABLE crm_bulk_load_event_ids (batch INTEGER PRIMARY KEY, ids BLOB NOT NULL)")
        }
    }

    /// The next offset to read per partition, as of the last committed batch.
    public func storedOffsets() throws -> [TopicPartition: Int64] {
        try database.read { db in
            var offsets: [TopicPartition: Int64] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT topic, partition, next_offset FROM crm_partition_offsets")
            while let row = try rows.next() {
                offsets[TopicPartition(row[0], row[1])] = row[2]
            }
            return offsets
        }
    }

    func saveOffsets(_ offsets: [TopicPartition: Int64]) throws {
        try database.write { db in
            for (tp, next) in offsets {
                try db.execute(
                    sql: """
                        INSERT INTO crm_partition_offsets(topic, partition, next_offset) VALUES (?, ?, ?)
                        ON CONFLICT(topic, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)
                        """, arguments: [tp.topic, tp.partition, next])
            }
        }
    }

    func meta(_ key: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM crm_store_meta WHERE key = ?", arguments: [key]) }
    }

    func setMeta(_ key: String, _ value: String) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO crm_store_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, value])
        }
    }

    public func close() throws {
        checkpointer.stop()
        try database.close()
    }
}
