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
    /// How long start-up keeps retrying while the brokers or topics are not there yet.
    public var startupRetryInterval: Duration = .seconds(2)
    /// Lets librdkafka fetch far ahead (`KafkaConsumer.deepPrefetchProperties`, unless the operator
    /// set those properties). For a projection that applies faster than ~100k events/s: with the
    /// shallow default, fetching stalls whenever the prefetch fills and such a replay waited up to
    /// 0.9 s per 500,000 events for records. A slower one would only hold more memory.
    public var deepPrefetch = false

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
        case let .storedOffsetBelowLogStart(store, partitions):
            let list = partitions.map { "\($0.0): stored next offset \($0.stored) < log start \($0.logStart)" }.joined(separator: "; ")
            return "the log no longer holds events this store has not applied yet (\(list)); those events are gone "
                + "from Kafka, so the store cannot be brought up to date. Run the service's `rebuild` command to rebuild "
                + "\(store) from what the log still holds."
        case let .logTruncated(store, partitions):
            let list = partitions.map { "\($0.0): log starts at \($0.logStart)" }.joined(separator: "; ")
            return "the log has lost its beginning (\(list)); replaying it would build an incomplete store. "
                + "Run the service's `rebuild` command to build \(store) from what the log still holds anyway."
        case let .storedOffsetBeyondLogEnd(store, partitions):
            let list = partitions.map { "\($0.0): stored next offset \($0.stored) > log end \($0.logEnd)" }.joined(separator: "; ")
            return "the store has applied events the log does not hold (\(list)): the topic was recreated or this is "
                + "another cluster. Run the service's `rebuild` command to rebuild \(store) from this log."
        case let .offsetOutOfRange(text): return "consumer offset out of range: \(text)"
        case let .storeFailed(text): return "the store failed: \(text)"
        }
    }
}

/// Applies a service's topics to its store: batches in one transaction each, offsets stored in the
/// same transaction, redelivered event ids refused, bad records dead-lettered through an outbox.
public final class Projector<P: Projection>: Sendable {
    public let status = ProjectorStatus()
    private let projection: P
    private let store: ServiceStore
    private let consumerConfiguration: KafkaConfiguration
    private let deadLetters: KafkaProducer?
    private let logger: Logger
    private let options: ProjectorOptions
    private let running = Mutex(true)
    private let outboxSignal = DispatchSemaphore(value: 0)

    private enum Item: Sendable {
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

    private var isRunning: Bool { running.withLock { $0 } }

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
        // (eight polls held ~130 MB more during a contacts rebuild, no faster).
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
        do {
            try consumeLoop(consumer, queue, spent)
        } catch {
            consumeError = error
        }
        stop()
        queue.close()
        writerDone.wait()
        outboxDone.wait()
        if let error = writerError.withLock({ $0 }) ?? consumeError { throw error }
    }

    /// Works out where every partition starts, checking that the log still holds what the store needs.
    private func prepare(_ consumer: KafkaConsumer) throws -> [TopicPartition: Int64]? {
        while isRunning {
            do {
                let counts = try consumer.partitionCounts(projection.topics)
                let stored = try store.storedOffsets()
                var starts: [TopicPartition: Int64] = [:]
                var highs: [TopicPartition: Int64] = [:]
                var below: [(TopicPartition, stored: Int64, logStart: Int64)] = []
                var truncated: [(TopicPartition, logStart: Int64)] = []
                var beyond: [(TopicPartition, stored: Int64, logEnd: Int64)] = []
                let partitions = counts.sorted(by: { $0.key < $1.key }).flatMap { topic, count in
                    (0..<count).map { TopicPartition(topic, $0) }
                }
                let marks = try consumer.watermarks(partitions)
                for tp in partitions {
                    guard let (low, high) = marks[tp] else {
                        throw KafkaError(message: "no watermarks for \(tp)")
                    }
                    highs[tp] = high
                    if let next = stored[tp] {
                        if next < low { below.append((tp, next, low)) }
                        if next > high { beyond.append((tp, next, high)) }
                        starts[tp] = options.acceptTruncatedLog ? max(next, low) : next
                    } else {
                        if low > 0 { truncated.append((tp, low)) }
                        // The log start itself rather than "the beginning": librdkafka would first
                        // look it up, and some partitions then started fetching ~0.5 s late.
                        starts[tp] = low
                    }
                }
                if !options.acceptTruncatedLog {
                    if !below.isEmpty { throw ProjectorError.storedOffsetBelowLogStart(store: store.path, partitions: below) }
                    if !truncated.isEmpty { throw ProjectorError.logTruncated(store: store.path, partitions: truncated) }
                    if !beyond.isEmpty { throw ProjectorError.storedOffsetBeyondLogEnd(store: store.path, partitions: beyond) }
                } else if !below.isEmpty || !truncated.isEmpty {
                    logger.warning("rebuilding from a truncated log: events before the log start are lost",
                                   metadata: ["partitions": "\(below.map { $0.0 } + truncated.map { $0.0 })"])
                }
                if options.acceptTruncatedLog {
                    // Remember the accepted starting points, so the next normal start does not refuse them.
                    try store.saveOffsets(starts.filter { $0.value > 0 })
                }
                let toCatchUp = highs.reduce(Int64(0)) { $0 + max(0, $1.value - (starts[$1.key] ?? 0)) }
                let bulk = try store.isBulkLoading || (stored.isEmpty && toCatchUp >= options.bulkLoadThreshold)
                if bulk {
                    try store.beginBulkLoad(deferring: projection.bulkLoadDeferredIndexes)
                    status.setBulkLoading(true)
                }
                status.started(nextOffsets: starts, highWatermarks: highs)
                logger.info("projector started", metadata: [
                    "partitions": "\(starts.count)", "records_to_catch_up": "\(toCatchUp)", "bulk_load": "\(bulk)",
                ])
                return starts
            } catch let error as ProjectorError {
                throw error
            } catch let error as KafkaError {
                logger.warning("waiting for Kafka before starting the projector", metadata: ["error": "\(error)"])
                let deadline = ContinuousClock.now + options.startupRetryInterval
                while isRunning && ContinuousClock.now < deadline { usleep(50_000) }
            }
        }
        return nil
    }

    private func consumeLoop(_ consumer: KafkaConsumer, _ queue: BlockingQueue<DecodingSlice>, _ spent: BlockingQueue<[[Item]]>) throws {
        var lastWatermarkCheck = ContinuousClock.now
        let pollOrder = PollOrder(capacity: Self.pollSize)
        while isRunning {
            while let written = spent.take(timeout: .now()) { _ = consume written }
            let pollStart = ContinuousClock.now
            let waitedBefore = consumer.waitedForRecords
            var slices = SliceBuilder()
            var failure: ProjectorError?
            consumer.poll(max: Self.pollSize, timeoutMs: 100, records: { pollOrder.append($0) }, other: { event in
                switch event {
                case .record:
                    break  // records come through `records`
                case .endOfPartition(let tp, let next):
                    status.reachedEnd(tp, nextOffset: next)
                case .error(let tp, let error):
                    if error.code == .autoOffsetReset || error.code == .offsetOutOfRange {
                        failure = failure ?? ProjectorError.offsetOutOfRange("\(tp.map(\.description) ?? "?"): \(error)")
                    }
                    logger.warning("consumer error", metadata: ["error": "\(error)"])
                }
            })
            if let failure { throw failure }
            pollOrder.drain { slices.append($0) }
            status.addTimings(poll: ContinuousClock.now - pollStart, pollWaiting: consumer.waitedForRecords - waitedBefore)
            let ready = slices.finish()
            if !ready.isEmpty && !handOver(ready, to: queue) { return }
            if ContinuousClock.now - lastWatermarkCheck > .seconds(1) {
                lastWatermarkCheck = ContinuousClock.now
                for tp in status.nextOffsets.keys {
                    if let marks = consumer.cachedWatermarks(tp) { status.observedHighWatermark(tp, marks.high) }
                }
            }
        }
    }

    /// Records cut into slices as they arrive (moved in, not copied).
    private struct SliceBuilder {
        private var slices: [[ConsumedRecord]] = []
        private var current: [ConsumedRecord] = []

        mutating func append(_ record: consuming ConsumedRecord) {
            if current.isEmpty { current.reserveCapacity(Projector.sliceSize) }
            current.append(record)
            if current.count == Projector.sliceSize {
                slices.append(current)
                current = []
            }
        }

        consuming func finish() -> [[ConsumedRecord]] {
            if !current.isEmpty { slices.append(current) }
            return slices
        }
    }

    /// Queues a poll's slices, then decodes whichever of them the writer has not taken yet,
    /// starting from the last: the writer takes slices from the front, so the two meet in the
    /// middle instead of the writer always waiting on the slice the consumer has just started.
    /// Decodes rather than blocks while the queue is full. False once the queue is closed.
    private func handOver(_ ready: [[ConsumedRecord]], to queue: BlockingQueue<DecodingSlice>) -> Bool {
        var slices: [DecodingSlice] = []
        var decoded = 0
        for records in ready {
            let slice = DecodingSlice(records)
            while !queue.offer(slice) {
                if decoded < slices.count {
                    slices[decoded].decodeUnlessClaimed(decode)
                    decoded += 1
                } else if queue.put(slice) {
                    break
                } else {
                    return false
                }
            }
            slices.append(slice)
        }
        for slice in slices[decoded...].reversed() { slice.decodeUnlessClaimed(decode) }
        return true
    }

    /// Records of one slice as events, or as dead letters where they cannot be decoded.
    private func decode(_ records: [ConsumedRecord]) -> [Item] {
        let start = ContinuousClock.now
        var items: [Item] = []
        items.reserveCapacity(records.count)
        for record in records {
            do {
                items.append(.event(try projection.decode(record)))
            } catch {
                items.append(.deadLetter(record, reason: WireFormatError.describing(error).description))
            }
        }
        status.addTimings(decode: ContinuousClock.now - start)
        return items
    }

    /// Records per poll at most.
    private static var pollSize: Int { 10_000 }

    /// Records per slice: small enough that the two threads share a poll's decoding evenly.
    private static var sliceSize: Int { 1_000 }

    /// Records on their way to the writer, decoded by whichever thread reaches them first: the
    /// consumer thread right after its poll, or the writer when it finds them still undecoded.
    /// Where decoding costs about as much as writing (the platform's replay path), the consumer
    /// thread decoding alone was the bottleneck while the writer sat ~35% idle.
    private final class DecodingSlice: Sendable {
        private enum State {
            case waiting([ConsumedRecord])
            case decoding
            case decoded([Item])
            case handedOut
        }
        private let state: Mutex<State>
        private let finished = DispatchSemaphore(value: 0)

        init(_ records: [ConsumedRecord]) {
            state = Mutex(.waiting(records))
        }

        /// Takes the records for decoding unless another thread has taken them.
        private func claim() -> [ConsumedRecord]? {
            state.withLock { state in
                guard case .waiting(let records) = state else { return nil }
                state = .decoding
                return records
            }
        }

        var isDecoded: Bool {
            state.withLock { state in
                if case .decoded = state { return true }
                return false
            }
        }

        func decodeUnlessClaimed(_ decode: ([ConsumedRecord]) -> [Item]) {
            guard let records = claim() else { return }
            let items = decode(records)
            state.withLock { $0 = .decoded(items) }
            finished.signal()
        }

        /// The decoded items: decoded here if no thread has started on them, else waited for
        /// (the wait added to `waited`).
        func items(_ decode: ([ConsumedRecord]) -> [Item], waited: inout Duration, decodedHere: inout Bool) -> [Item] {
            if let records = claim() {
                state.withLock { $0 = .handedOut }
                decodedHere = true
                return decode(records)
            }
            let start = ContinuousClock.now
            finished.wait()
            waited += ContinuousClock.now - start
            return state.withLock { state in
                guard case .decoded(let items) = state else { preconditionFailure("a slice is handed out once") }
                state = .handedOut
                return items
            }
        }
    }

    private func writeLoop(_ queue: BlockingQueue<DecodingSlice>, _ spent: BlockingQueue<[[Item]]>) throws {
        var catchingUp = true
        while true {
            // Checked before waiting too: a resumed bulk load may have nothing left to apply.
            if catchingUp && status.isCaughtUp {
                catchingUp = false
                try finishCatchingUp()
            }
            let waitStart = ContinuousClock.now
            let taken = queue.take(timeout: .now() + .milliseconds(100))
            var waited = ContinuousClock.now - waitStart
            defer { status.addTimings(writerWaiting: waited) }
            guard let first = taken else {
                if !isRunning { return }
                continue
            }
            // Slices as they came (not concatenated: that would copy every item). After the first,
            // only decoded ones: a writer that is behind must leave the decoding to the consumer.
            var decodedHere = false
            var batches = [first.items(decode, waited: &waited, decodedHere: &decodedHere)]
            var count = batches[0].count
            while count < options.maxBatchRecords, let next = queue.takeFirst(if: { $0.isDecoded }) {
                batches.append(next.items(decode, waited: &waited, decodedHere: &decodedHere))
                count += batches[batches.count - 1].count
            }
            try write(batches)
            // Freed where they were allocated: the first slice here if this thread decoded it.
            if decodedHere { batches.removeFirst() }
            _ = spent.offer(batches)
        }
    }

    private func finishCatchingUp() throws {
        if status.isBulkLoading {
            let start = ContinuousClock.now
            do {
                try store.completeBulkLoad { db in try projection.finishBulkLoad(in: db) }
            } catch {
                throw ProjectorError.storeFailed("finishing the bulk load: \(error)")
            }
            // Ready before the sync: the store is complete, and until the mark is cleared a machine
            // restart rebuilds it from the topics, which hold every event applied since.
            status.setBulkLoading(false)
            let completed = ContinuousClock.now
            do {
                try store.makeBulkLoadDurable()
            } catch {
                throw ProjectorError.storeFailed("syncing the bulk load: \(error)")
            }
            let synced = ContinuousClock.now
            status.addTimings(bulkLoadSync: synced - completed)
            logger.info("bulk load finished", metadata: [
                "seconds": "\(completed - start)", "sync_seconds": "\(synced - completed)",
            ])
        }
        Memory.releaseFreeHeap()
    }

    private struct BatchOutcome {
        var applied = 0
        var deadLettered = 0
        var duplicates = 0
        private var offsets: [TopicPartition: Int64] = [:]
        // Records come in runs from one partition: hash the partition once per run, not per record.
        private var run: (partition: TopicPartition, next: Int64)?

        mutating func recordApplied(_ partition: TopicPartition, offset: Int64) {
            if let current = run, current.partition != partition { offsets[current.partition] = current.next }
            run = (partition, offset + 1)
        }

        var nextOffsets: [TopicPartition: Int64] {
            var all = offsets
            if let run { all[run.partition] = run.next }
            return all
        }
    }

    /// Needs record-by-record savepoints because some record of the batch was refused.
    private struct RetryCarefully: Error {}

    private func write(_ batches: [[Item]]) throws {
        let start = ContinuousClock.now
        defer { status.addTimings(write: ContinuousClock.now - start) }
        var outcome: BatchOutcome
        do {
            outcome = try writeTransaction(batches, careful: false)
        } catch is RetryCarefully {
            outcome = try writeTransaction(batches, careful: true)
        }
        status.committed(nextOffsets: outcome.nextOffsets, applied: outcome.applied, deadLettered: outcome.deadLettered)
        if outcome.deadLettered > 0 { outboxSignal.signal() }
        if outcome.duplicates > 0 {
            logger.info("skipped redelivered events", metadata: ["count": "\(outcome.duplicates)"])
        }
    }

    private func writeTransaction(_ batches: [[Item]], careful: Bool) throws -> BatchOutcome {
        let bulkLoading = status.isBulkLoading
        do {
            return try store.database.writeWithoutTransaction { db in
                var outcome = BatchOutcome()
                try db.inTransaction(.immediate) {
                    let applied = try AppliedEventGuard(db)
                    for items in batches {
                        for item in items {
                            try write(item, careful: careful, applied: applied, db, &outcome)
                        }
                    }
                    try projection.finishBatch(in: db, bulkLoading: bulkLoading)
                    let saveOffset = try db.cachedStatement(sql: """
                        INSERT INTO crm_partition_offsets(topic, partition, next_offset) VALUES (?, ?, ?)
                        ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                        """)
                    for (tp, next) in outcome.nextOffsets {
                        saveOffset.setUncheckedArguments([tp.topic, tp.partition, next])
                        try saveOffset.execute()
                    }
                    return .commit
                }
                return outcome
            }
        } catch is RetryCarefully {
            throw RetryCarefully()
        } catch {
            throw ProjectorError.storeFailed("\(error)")
        }
    }

    /// Applies one item inside the batch transaction. Careful mode gives each event a savepoint, so
    /// a refused one is dead-lettered alone; otherwise a refusal restarts the batch in careful mode.
    private func write(_ item: Item, careful: Bool, applied: AppliedEventGuard, _ db: Database, _ outcome: inout BatchOutcome) throws {
        switch item {
        case .event(let event):
            if careful {
                do {
                    try db.inSavepoint {
                        if try applied.markNew(event.appliedKey) {
                            try projection.apply(event, in: db)
                            outcome.applied += 1
                        } else {
                            outcome.duplicates += 1
                        }
                        return .commit
                    }
                } catch let error where Self.isRejection(error) {
                    try enqueueDeadLetter(event.record, reason: Self.reason(error), db)
                    outcome.deadLettered += 1
                }
            } else if try applied.markNew(event.appliedKey) {
                do {
                    try projection.apply(event, in: db)
                } catch let error where Self.isRejection(error) {
                    throw RetryCarefully()
                }
                outcome.applied += 1
            } else {
                outcome.duplicates += 1
            }
        case .deadLetter(let record, let reason):
            try enqueueDeadLetter(record, reason: reason, db)
            outcome.deadLettered += 1
        }
        outcome.recordApplied(item.partition, offset: item.offset)
    }

    static func isRejection(_ error: any Error) -> Bool {
        if error is ProjectionRejection || error is DecodingError || error is WireFormatError { return true }
        if let error = error as? DatabaseError {
            return error.resultCode == .SQLITE_CONSTRAINT
        }
        return false
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? ProjectionRejection { return error.description }
        return WireFormatError.describing(error).description
    }

    private func enqueueDeadLetter(_ record: ConsumedRecord, reason: String, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO crm_outbox(topic, record_key, record_value, headers) VALUES (?, ?, ?, ?)",
            arguments: [
                Topics.deadLetter, record.key.map { Data($0) }, record.value.map { Data($0) },
                Self.deadLetterHeaders(
                    topic: record.topic, partition: record.partition, offset: record.offset, reason: reason,
                    consumer: projection.name, eventType: record.header(CloudEventAttributes.Header.type)?.stringValue),
            ])
        logger.warning("dead-lettered a record", metadata: [
            "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)", "reason": "\(reason)",
        ])
    }

    static func deadLetterHeaders(
        topic: String, partition: Int32, offset: Int64, reason: String, consumer: String, eventType: String?
    ) -> String {
        var headers: [String: String] = [
            DeadLetterHeader.sourceTopic: topic,
            DeadLetterHeader.sourcePartition: String(partition),
            DeadLetterHeader.sourceOffset: String(offset),
            DeadLetterHeader.error: reason,
            DeadLetterHeader.consumer: consumer,
        ]
        if let eventType { headers[CloudEventAttributes.Header.type] = eventType }
        let data = try? JSONSerialization.data(withJSONObject: headers, options: [.sortedKeys])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Publishes dead letters written by committed batches, deleting each once Kafka has it.
    private func outboxLoop() {
        guard let producer = deadLetters else { return }
        while true {
            _ = outboxSignal.wait(timeout: .now() + .seconds(1))
            let stopping = !isRunning
            do {
                try drainOutbox(producer)
            } catch {
                logger.warning("dead letters not published yet; will retry", metadata: ["error": "\(error)"])
            }
            if stopping { return }
        }
    }

    private func drainOutbox(_ producer: KafkaProducer) throws {
        while true {
            let rows = try store.database.read { db in
                try Row.fetchAll(db, sql: "SELECT id, topic, record_key, record_value, headers FROM crm_outbox ORDER BY id LIMIT 1000")
            }
            if rows.isEmpty { return }
            var records: [OutgoingRecord] = []
            for row in rows {
                let headerText: String = row[4]
                let map = (try? JSONSerialization.jsonObject(with: Data(headerText.utf8))) as? [String: String] ?? [:]
                let key: Data? = row[2]
                let value: Data? = row[3]
                records.append(OutgoingRecord(
                    topic: row[1], key: key.map { Array($0) }, value: value.map { Array($0) },
                    headers: map.sorted { $0.key < $1.key }.map { KafkaHeader($0.key, $0.value) }))
            }
            try producer.sendAllBlocking(records)
            let lastId: Int64 = rows.last![0]
            try store.database.write { db in
                try db.execute(sql: "DELETE FROM crm_outbox WHERE id <= ?", arguments: [lastId])
            }
        }
    }
}
