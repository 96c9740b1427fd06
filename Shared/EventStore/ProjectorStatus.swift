import Foundation
import Kafka
import Synchronization

/// What the projector has applied so far, shared with HTTP handlers: readiness, per-partition
/// progress, and waiters for read-your-writes.
public final class ProjectorStatus: Sendable {
    private struct Waiter {
        let id: UInt64
        let condition: Condition
        let continuation: CheckedContinuation<Bool, Never>
    }

    /// What a waiter waits for.
    private enum Condition {
        /// The record at `offset` of `partition` applied (read-your-writes).
        case applied(TopicPartition, offset: Int64)
        /// A batch committed after the `count`-th.
        case committed(after: Int64)

        /// A read-your-writes wait: a command's caller waits for it. A failed projector applies
        /// nothing more, so such a wait ends at once, while a wait for commits runs to its timeout
        /// (work waiting in a loop must not spin).
        var isReadYourWrites: Bool {
            if case .applied = self { return true }
            return false
        }

        func holds(in state: State) -> Bool { holds(nextOffsets: state.nextOffsets, commits: state.commits) }

        func holds(nextOffsets: [TopicPartition: Int64], commits: Int64) -> Bool {
            switch self {
            case .applied(let partition, let offset): (nextOffsets[partition] ?? 0) > offset
            case .committed(let count): commits > count
            }
        }
    }

    private struct State {
        var nextOffsets: [TopicPartition: Int64] = [:]
        var startHighWatermarks: [TopicPartition: Int64]?
        var highWatermarks: [TopicPartition: Int64] = [:]
        var caughtUp = false
        var bulkLoading = false
        var failure: String?
        var waiters: [Waiter] = []
        var nextWaiterId: UInt64 = 0
        var expiredBeforeWaiting: Set<UInt64> = []
        var fetchPaused = false
        var applied: Int64 = 0
        var deadLettered: Int64 = 0
        var commits: Int64 = 0
        var timings = ProjectorTimings()
    }

    private let state = Mutex(State())
    /// Called when a read-your-writes wait begins (see `onReadYourWritesWait`).
    private let readYourWritesHook = Mutex<(@Sendable () -> Void)?>(nil)

    public init() {}

    /// Ready = caught up with the high watermarks seen at start, any bulk load finished, and not failed.
    public var isReady: Bool { state.withLock { $0.caughtUp && !$0.bulkLoading && $0.failure == nil } }
    var isCaughtUp: Bool { state.withLock { $0.caughtUp } }
    public var isBulkLoading: Bool { state.withLock { $0.bulkLoading } }
    public var failure: String? { state.withLock { $0.failure } }
    public var appliedCount: Int64 { state.withLock { $0.applied } }
    public var deadLetterCount: Int64 { state.withLock { $0.deadLettered } }
    /// How many batches the projector has committed: what `waitForCommit(after:timeout:)` counts.
    public var commitCount: Int64 { state.withLock { $0.commits } }
    public var nextOffsets: [TopicPartition: Int64] { state.withLock { $0.nextOffsets } }
    public var timings: ProjectorTimings { state.withLock { $0.timings } }
    /// Whether the consumer has stopped fetching because nothing arrived for a while (it still
    /// looks for new records now and then, and at once when a command waits for its event).
    public var isFetchPaused: Bool { state.withLock { $0.fetchPaused } }

    func setFetchPaused(_ paused: Bool) {
        state.withLock { $0.fetchPaused = paused }
    }

    /// Whether a read-your-writes wait is waiting for a record not applied yet.
    var awaitsReadYourWrites: Bool {
        state.withLock { state in state.waiters.contains { $0.condition.isReadYourWrites } }
    }

    /// `hook` runs each time a read-your-writes wait begins that does not hold yet, on the waiting
    /// task's thread; nil removes it (after which it is never called again).
    func onReadYourWritesWait(_ hook: (@Sendable () -> Void)?) {
        readYourWritesHook.withLock { $0 = hook }
    }

    func addTimings(
        poll: Duration = .zero, pollWaiting: Duration = .zero, decode: Duration = .zero, write: Duration = .zero,
        writerWaiting: Duration = .zero, bulkLoadFinish: Duration = .zero, bulkLoadSync: Duration = .zero
    ) {
        state.withLock { state in
            state.timings.poll += poll
            state.timings.pollWaiting += pollWaiting
            state.timings.decode += decode
            state.timings.write += write
            if write > .zero { state.timings.transactions += 1 }
            state.timings.writerWaiting += writerWaiting
            state.timings.bulkLoadFinish += bulkLoadFinish
            state.timings.bulkLoadSync += bulkLoadSync
        }
    }

    /// Lag per partition: last known high watermark minus next offset to apply.
    public var lag: [TopicPartition: Int64] {
        state.withLock { state in
            var lag: [TopicPartition: Int64] = [:]
            for (tp, high) in state.highWatermarks {
                lag[tp] = max(0, high - (state.nextOffsets[tp] ?? 0))
            }
            return lag
        }
    }

    func started(nextOffsets: [TopicPartition: Int64], highWatermarks: [TopicPartition: Int64]) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.nextOffsets = nextOffsets
            state.startHighWatermarks = highWatermarks
            state.highWatermarks = highWatermarks
            return Self.refresh(&state)
        }
        for waiter in ready { waiter.resume(returning: true) }
    }

    func committed(nextOffsets: [TopicPartition: Int64], applied: Int, deadLettered: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            for (tp, offset) in nextOffsets { state.nextOffsets[tp] = max(state.nextOffsets[tp] ?? 0, offset) }
            state.applied += Int64(applied)
            state.deadLettered += Int64(deadLettered)
            state.commits += 1
            return Self.refresh(&state)
        }
        for waiter in ready { waiter.resume(returning: true) }
    }

    func setBulkLoading(_ loading: Bool) {
        state.withLock { $0.bulkLoading = loading }
    }

    func observedHighWatermark(_ tp: TopicPartition, _ high: Int64) {
        state.withLock { state in
            state.highWatermarks[tp] = max(state.highWatermarks[tp] ?? 0, high)
        }
    }

    func reachedEnd(_ tp: TopicPartition, nextOffset: Int64) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.highWatermarks[tp] = max(state.highWatermarks[tp] ?? 0, nextOffset)
            return Self.refresh(&state)
        }
        for waiter in ready { waiter.resume(returning: true) }
    }

    func failed(_ reason: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.failure = reason
            defer { state.waiters = [] }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(returning: false) }
    }

    private static func refresh(_ state: inout State) -> [CheckedContinuation<Bool, Never>] {
        if !state.caughtUp, let start = state.startHighWatermarks {
            state.caughtUp = start.allSatisfy { tp, high in (state.nextOffsets[tp] ?? 0) >= high }
        }
        var done: [CheckedContinuation<Bool, Never>] = []
        let (offsets, commits) = (state.nextOffsets, state.commits)
        state.waiters.removeAll { waiter in
            guard waiter.condition.holds(nextOffsets: offsets, commits: commits) else { return false }
            done.append(waiter.continuation)
            return true
        }
        return done
    }

    /// Waits until the record at `offset` of `partition` has been applied (read-your-writes).
    /// Returns false on timeout or if the projector failed.
    public func waitUntilApplied(_ partition: TopicPartition, offset: Int64, timeout: Duration) async -> Bool {
        await wait(for: .applied(partition, offset: offset), timeout: timeout)
    }

    /// Waits until the projector commits a batch after the `count`-th, or `timeout` passes, or the
    /// task is cancelled; returns the count then. Work that reacts to what the projector applies
    /// waits here instead of waking on a timer (`timeout` bounds it for work that also follows the
    /// clock); with `pause`, not before that much time has passed, so that a stream of commits
    /// does not run the work after each one.
    public func waitForCommit(after count: Int64, pause: Duration = .zero, timeout: Duration) async -> Int64 {
        if pause > .zero { try? await Task.sleep(for: pause) }
        _ = await wait(for: .committed(after: count), timeout: timeout)
        return commitCount
    }

    /// Whether `condition` came to hold: false on timeout, cancellation or a failed projector.
    private func wait(for condition: Condition, timeout: Duration) async -> Bool {
        let id: UInt64? = state.withLock { state in
            if condition.holds(in: state) { return nil }
            state.nextWaiterId += 1
            return state.nextWaiterId
        }
        guard let id else { return true }
        // Ends the wait unless it ended already (the timer, or cancellation, racing the registration below).
        let expire: @Sendable () -> Void = { [self] in
            let expired = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    state.expiredBeforeWaiting.insert(id)
                    return nil
                }
                return state.waiters.remove(at: index).continuation
            }
            expired?.resume(returning: false)
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { expire() }
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: Bool? = state.withLock { state in
                    if state.failure != nil && condition.isReadYourWrites { return false }
                    if condition.holds(in: state) { return true }
                    if state.expiredBeforeWaiting.remove(id) != nil { return false }
                    state.waiters.append(Waiter(id: id, condition: condition, continuation: continuation))
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                } else if condition.isReadYourWrites {
                    readYourWritesHook.withLock { $0?() }
                }
            }
        } onCancel: {
            expire()
        }
    }

    /// Waits until the projector is caught up (or failed); used by the `rebuild` command and tests.
    public func waitUntilReady(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isReady { return true }
            if failure != nil { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isReady
    }
}

/// Where the projector's threads spent their time (for benchmarks and tuning).
public struct ProjectorTimings: Sendable, CustomStringConvertible {
    /// Consumer thread: in librdkafka's poll, waiting for records and copying them out.
    public var poll: Duration = .zero
    /// Of `poll`, waiting for a first record: the fetchers were behind, or the log was read to its end.
    public var pollWaiting: Duration = .zero
    /// Turning records into events, on whichever of the two threads decoded them.
    public var decode: Duration = .zero
    /// Writer thread: SQLite transactions.
    public var write: Duration = .zero
    /// How many transactions `write` was spent in.
    public var transactions = 0
    /// Writer thread: waiting for events to write (the consumer thread was behind, or all was written).
    public var writerWaiting: Duration = .zero
    /// Writer thread, after a bulk load was complete and the projector ready: filling the redelivery
    /// guard's table and syncing the store.
    public var bulkLoadSync: Duration = .zero
    /// Writer thread, once a bulk load caught up (part of the replay): the deferred indexes and the
    /// projection's derived data.
    public var bulkLoadFinish: Duration = .zero

    public var description: String {
        func s(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        return String(
            format: "consumer thread: poll %.2f s (waiting for records %.2f s); decode %.2f s (both threads); "
                + "writer thread: SQLite %.2f s in %ld transactions, waiting for events %.2f s; "
                + "end of bulk load %.2f s (indexes and derived data), then guard table and sync %.2f s",
            s(poll), s(pollWaiting), s(decode), s(write), transactions, s(writerWaiting), s(bulkLoadFinish), s(bulkLoadSync))
    }
}
