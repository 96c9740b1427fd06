import Foundation
import GRDB
import Kafka
import Logging
import Platform
import Synchronization
import WireFormat
import WireSchema

public struct ProjectorOptions: Sendable {
    /// Set only by an explicit rebuild: start from whatever the log still holds.
    public var acceptTruncatedLog = false
    /// Upper bound of records per SQLite transaction.
    public var maxBatchRecords = 20_000
    /// An empty store with at least this many records to catch up loads in bulk (see `ServiceStore`'s
    /// bulk load); so does a store whose bulk load was interrupted.
    public var bulkLoadThreshold: Int64 = 50_000
    /// How many applied event ids a bulk load holds in memory (`BulkLoadEventIds`; 17 bytes per slot
    /// of a table at most 70 % full, so 2,000,000 ids of up to 15 bytes take about 70 MB; longer
    /// ids take more) before they move to the guard's table.
    public var bulkLoadIdsInMemory = 2_000_000
    /// How long start-up keeps retrying while the brokers or topics are not there yet.
    public var startupRetryInterval: Duration = .seconds(2)
    /// Lets librdkafka fetch far ahead (`KafkaConsumer.deepPrefetchProperties`, unless the operator
    /// set those properties). For a projection that applies faster than the shallow default
    /// prefetch keeps up with: fetching stalls whenever the prefetch fills, and such a replay
    /// waits for records. A slower one would only hold more memory.
    public var deepPrefetch = false
    /// A consumer whose fetch wait is shorter than `idlePeekInterval` stops fetching once no
    /// record has arrived for `idleAfter`, and looks for new records every `idlePeekInterval`
    /// (and at once for a command's own event): see `IdleFetchPause`.
    public var idleAfter: Duration = .seconds(1)
    public var idlePeekInterval: Duration = .milliseconds(250)

    public init() {}
}

public enum ProjectorError: Error, CustomStringConvertible, Sendable {
    case storedOffsetBelowLogStart(store: String, partitions: [(TopicPartition, stored: Int64, logStart: Int64)])
    case logTruncated(store: String, partitions: [(TopicPartition, logStart: Int64)])
    case storedOffsetBeyondLogEnd(store: String, partitions: [(TopicPartition, stored: Int64, logEnd: Int64)])
    case offsetOutOfRange(String)
    case storeFailed(String)

    public var description: String {
        switch self {
        case .storedOffsetBelowLogStart(let store, let partitions):
            let list = partitions.map { "\($0.0): stored next offset \($0.stored) < log start \($0.logStart)" }.joined(separator: "; ")
            return "the log no longer holds events this store has not applied yet (\(list)); those events are gone "
                + "from Kafka, so the store cannot be brought up to date. Run the service's `rebuild` command to rebuild "
                + "\(store) from what the log still holds."
        case .logTruncated(let store, let partitions):
            let list = partitions.map { "\($0.0): log starts at \($0.logStart)" }.joined(separator: "; ")
            return "the log has lost its beginning (\(list)); replaying it would build an incomplete store. "
                + "Run the service's `rebuild` command to build \(store) from what the log still holds anyway."
        case .storedOffsetBeyondLogEnd(let store, let partitions):
            let list = partitions.map { "\($0.0): stored next offset \($0.stored) > log end \($0.logEnd)" }.joined(separator: "; ")
            return "the store has applied events the log does not hold (\(list)): the topic was recreated or this is "
                + "another cluster. Run the service's `rebuild` command to rebuild \(store) from this log."
        case .offsetOutOfRange(let text): return "consumer offset out of range: \(text)"
        case .storeFailed(let text): return "the store failed: \(text)"
        }
    }
}

/// Applies a service's topics to its store: batches in one transaction each, offsets stored in the
/// same transaction, redelivered event ids refused, bad records dead-lettered through an outbox.
public final class Projector<P: Projection>: Sendable {
    public let status = ProjectorStatus()
    let projection: P
    let store: ServiceStore
    private let consumerConfiguration: KafkaConfiguration
    let deadLetters: KafkaProducer?
    let logger: Logger
    let options: ProjectorOptions
    private let running = Mutex(true)
    let outboxSignal = DispatchSemaphore(value: 0)

    enum Item: Sendable {
        case event(ProjectedEvent<P.Event>)
        case deadLetter(ConsumedRecord, reason: String)

        var partition: TopicPartition {
            switch self {
            case .event(let e): TopicPartition(e.topic, e.partition)
            case .deadLetter(let r, _): TopicPartition(r.topic, r.partition)
            }
        }

        var offset: Int64 {
            switch self {
            case .event(let e): e.offset
            case .deadLetter(let r, _): r.offset
            }
        }
    }

    public init(
        projection: P, store: ServiceStore, consumerConfiguration: KafkaConfiguration,
        deadLetterProducer: KafkaProducer?, logger: Logger, options: ProjectorOptions = ProjectorOptions()
    ) {
        self.projection = projection
        self.store = store
        self.consumerConfiguration = consumerConfiguration
        self.deadLetters = deadLetterProducer
        self.logger = logger
        self.options = options
    }

    var isRunning: Bool { running.withLock { $0 } }

    public func stop() {
        running.withLock { $0 = false }
        outboxSignal.signal()
    }

    /// Runs until `stop()` on threads of its own (see `runBlocking`).
    public func run() async throws {
        try await runOnThread(name: "\(projection.name)-consumer") { try self.runBlocking() }
    }

    /// Runs until `stop()`; blocking, so call it from a thread of its own. Throws `ProjectorError`
    /// when the store cannot be kept correct (the service must not serve stale state silently).
    public func runBlocking() throws {
        do {
            try runLoops()
        } catch {
            // Every way out by error marks the status failed, so nobody waits on a dead projector.
            status.failed("\(error)")
            throw error
        }
    }

    /// The consumer's configuration: the service's, with the deep prefetch where asked for.
    static func consumerConfiguration(_ configuration: KafkaConfiguration, options: ProjectorOptions) -> KafkaConfiguration {
        options.deepPrefetch ? configuration.withDefaults(KafkaConsumer.deepPrefetchProperties) : configuration
    }

    private func runLoops() throws {
        let consumer = try KafkaConsumer(
            configuration: Self.consumerConfiguration(consumerConfiguration, options: options), name: projection.name, logger: logger)
        defer { consumer.close() }
        guard let starts = try prepare(consumer) else { return }
        // Batches of records are allocated and freed in waves while catching up: keep the memory.
        Memory.keepFreedHeap()
        try consumer.assign(starts.mapValues { Optional($0) })

        // Twenty slices (two polls) waiting are enough to keep the writer busy; more only hold memory
        // (eight polls made a contacts rebuild no faster).
        let queue = BlockingQueue<DecodingSlice>(capacity: 20)
        // Written batches go back to the consumer thread to be freed there: allocators free memory far
        // faster on the thread that allocated it (its caches). Slices the writer decoded it frees itself.
        let spent = BlockingQueue<[[Item]]>(capacity: 16)
        let writerError = Mutex<(any Error)?>(nil)
        let writerDone = DispatchSemaphore(value: 0)
        startThread(name: "\(projection.name)-writer") { [self] in
            do {
                try writeLoop(queue, spent)
            } catch {
                writerError.withLock { $0 = error }
                stop()
            }
            writerDone.signal()
        }

        let outboxDone = DispatchSemaphore(value: 0)
        startThread(name: "\(projection.name)-outbox") { [self] in
            outboxLoop()
            outboxDone.signal()
        }

        var consumeError: (any Error)?
        // A command waiting for its own event wakes a consumer that has stopped fetching.
        status.onReadYourWritesWait { consumer.wake() }
        do {
            try consumeLoop(consumer, queue, spent, partitions: Array(starts.keys))
        } catch {
            consumeError = error
        }
        status.onReadYourWritesWait(nil)
        stop()
        queue.close()
        writerDone.wait()
        outboxDone.wait()
        if let error = writerError.withLock({ $0 }) ?? consumeError { throw error }
    }
}
