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
/// writer's next transaction starts the log over from its beginning.
///
/// The log file itself is not shrunk by commits (`journal_size_limit` is off): a commit that cut a
/// grown log back stalled every command behind it for 30–50 ms (ext4 freeing the blocks) every few
/// seconds at 200 commands a second. This thread truncates it instead, once it has grown past
/// `idleTruncateBytes` and the store has been idle for a round.
final class WALCheckpointer: Sendable {
    private struct State {
        var running = true
        /// False during a bulk load, whose commits are not synced either.
        var syncing = true
        var completed = 0
        /// The log's frame count after the last round: unchanged for a round means idle.
        var lastFrames = -1
    }

    static let interval: DispatchTimeInterval = .milliseconds(250)
    /// A log file larger than this is truncated when the store is idle.
    static let idleTruncateBytes = 64 * 1024 * 1024

    private let walPath: String
    private let connection: DatabaseQueue
    private let state = Mutex(State())
    /// Held for the whole of a checkpoint, so a change of sync mode waits for the one in progress.
    private let checkpointLock = Mutex(())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, threadName: String) throws {
        walPath = path + "-wal"
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
                let copiedAll = frames.checkpointedFrameCount == frames.walFrameCount
                let idle = state.withLock { state in
                    defer { state.lastFrames = frames.walFrameCount }
                    if frames.walFrameCount > 0 && copiedAll { state.completed += 1 }
                    return state.lastFrames == frames.walFrameCount
                }
                if idle && copiedAll && walFileSize > Self.idleTruncateBytes {
                    // Blocks a writer only for the truncation, and only when none has come for a round.
                    _ = try connection.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
                }
            } catch {
                // SQLITE_BUSY: another connection is checkpointing (the writer's backstop, or the end
                // of a bulk load); the next round catches up.
            }
        }
    }

    private var walFileSize: Int {
        ((try? FileManager.default.attributesOfItem(atPath: walPath))?[.size] as? NSNumber)?.intValue ?? 0
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
