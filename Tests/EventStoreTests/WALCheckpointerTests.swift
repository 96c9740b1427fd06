import Foundation
import GRDB
import Logging
import TestSupport
import Testing

@testable import EventStore

@Suite struct WALCheckpointerTests {
    /// Waits for two checkpoints to complete: the checkpointer runs them one after another, so the
    /// second began after this call and covers everything committed before it.
    func waitForACheckpointOfAllCommitted(_ checkpointer: WALCheckpointer) async throws {
        for _ in 0..<2 {
            let before = checkpointer.completedCheckpoints
            checkpointer.requestCheckpoint()
            let deadline = ContinuousClock.now + .seconds(60)
            while checkpointer.completedCheckpoints == before {
                try #require(ContinuousClock.now < deadline, "no checkpoint completed")
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// A store of one table of blobs in a directory of its own, removed afterwards; `body` gets the
    /// store and the path of its write-ahead log.
    func withBlobStore(_ body: (ServiceStore, String) async throws -> Void) async throws {
        let path = NSTemporaryDirectory() + "checkpointer-\(UUID().uuidString)/store.sqlite"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let store = try ServiceStore(path: path, projectionVersion: 1, logger: quietLogger) { migrator in
            migrator.registerMigration("blobs") { db in try db.execute(sql: "CREATE TABLE blob_row (data BLOB NOT NULL)") }
        }
        defer { try? store.close() }
        try await body(store, path + "-wal")
    }

    @Test func commitsLeaveCheckpointingToTheBackgroundAndTheLogStaysSmall() async throws {
        try await withBlobStore { store, logPath in
            let rounds = 12
            for _ in 0..<rounds {
                // ~1 MiB per round: far below the writer's own automatic checkpoint (10,000 pages).
                try await store.database.write { db in
                    for _ in 0..<64 { try db.execute(sql: "INSERT INTO blob_row(data) VALUES (randomblob(16000))") }
                }
                try await waitForACheckpointOfAllCommitted(store.checkpointer)
            }

            // Each round's commit found the log fully copied and started it over, so the log file holds
            // about one round; without the background checkpoints it would hold all twelve.
            let logSize = try #require(try FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int)
            #expect(logSize < 3 * 1_048_576, "write-ahead log of \(logSize) bytes after \(rounds) MiB written")
            let rows = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blob_row") }
            #expect(rows == rounds * 64)
        }
    }

    /// Commits never shrink the log file (that stalled commands); the checkpointer truncates it
    /// once it has grown past its limit and no commit came for a round.
    @Test func aLogGrownPastItsLimitIsTruncatedOnceTheStoreIsIdle() async throws {
        try await withBlobStore { store, logPath in
            func logSize() throws -> Int { try FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int ?? 0 }

            // One commit of ~70 MiB: the log grows past the limit (and below the writer's own checkpoint).
            let rows = (WALCheckpointer.idleTruncateBytes / 16_000) + 400
            try await store.database.write { db in
                for _ in 0..<rows { try db.execute(sql: "INSERT INTO blob_row(data) VALUES (randomblob(16000))") }
            }
            // Past the limit, unless the checkpointer was quicker than this check (a loaded machine).
            let grown = try logSize()
            #expect(grown > WALCheckpointer.idleTruncateBytes || grown == 0, "a log of \(grown) bytes")
            let deadline = ContinuousClock.now + .seconds(60)
            while case let size = try logSize(), size > 0 {
                try #require(ContinuousClock.now < deadline, "the log was not truncated: \(size) bytes")
                try await Task.sleep(for: .milliseconds(50))
            }
            let count = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blob_row") }
            #expect(count == rows)
        }
    }

    @Test func closingTheStoreEndsTheCheckpointThread() throws {
        let path = NSTemporaryDirectory() + "checkpointer-\(UUID().uuidString)/store.sqlite"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let store = try ServiceStore(path: path, projectionVersion: 1, logger: quietLogger) { _ in }
        #expect(store.checkpointer.isRunning)
        try store.close()  // returns once the thread has finished its loop
        #expect(!store.checkpointer.isRunning)
        store.checkpointer.stop()  // again: nothing left to stop
    }
}
