import Foundation
import GRDB
import Kafka
import Platform
import Synchronization

/// Copies the write-ahead log into the database file from a connection and thread of its own, so
/// that no command and no replay batch waits for a checkpoint and its fsync. Left to SQLite, the
/// commit that crosses `wal_autocheckpoint` does that work itself, and every command queued behind
/// it waits too: that was the whole tail of command latency (`docs/benchmarks.md`).
/// A passive checkpoint never blocks the writer or readers; once it has copied every frame, the
/// writer's next transaction starts the log over, so the log stays small.
final class WALCheckpointer: Sendable {
    private struct State {
        var running = true
        /// False during a bulk load, whose commits are not synced either.
        var syncing = true
        var completed = 0
    }

    static let interval: DispatchTimeInterval = .milliseconds(250)

    private let connection: DatabaseQueue
    private let state = Mutex(State())
    /// Held for the whole of a checkpoint, so a change of sync mode waits for the one in progress.
    private let checkpointLock = Mutex(())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, threadName: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        startThread(name: threadName) { [self] in
            while isRunning {
                _ = wakeup.wait(timeout: .now() + Self.interval)
                if isRunning { checkpoint() }
            }
            finished.signal()
        }
    }

    var isRunning: Bool { state.withLock { $0.running } }

    /// Checkpoints that copied every frame of a non-empty log (tests wait on this).
    var completedCheckpoints: Int { state.withLock { $0.completed } }

    /// Whether checkpoints sync the database file. Returns once no checkpoint of the old mode is in progress.
    func setSyncing(_ syncing: Bool) {
        checkpointLock.withLock { _ in state.withLock { $0.syncing = syncing } }
    }

    /// Runs a checkpoint now instead of at the next interval.
    func requestCheckpoint() { wakeup.signal() }

    private func checkpoint() {
        checkpointLock.withLock { _ in
            let syncing = state.withLock { $0.syncing }
            do {
                let frames = try connection.writeWithoutTransaction { db in
                    // WAL + NORMAL: the log is synced before the copy and the database file after it.
                    try db.execute(sql: syncing ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = OFF")
                    return try db.checkpoint(.passive)
                }
                if frames.walFrameCount > 0 && frames.checkpointedFrameCount == frames.walFrameCount {
                    state.withLock { $0.completed += 1 }
                }
            } catch {
                // SQLITE_BUSY: another connection is checkpointing (the writer's backstop, or the end
                // of a bulk load); the next round catches up.
            }
        }
    }

    /// Stops the thread (after the checkpoint in progress) and closes the connection. The thread holds
    /// the checkpointer, so its owner must call this (`ServiceStore` does on close and deinit).
    func stop() {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        guard wasRunning else { return }
        wakeup.signal()
        finished.wait()
        try? connection.close()
    }
}
