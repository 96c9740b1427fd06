import CRdKafka
import Foundation
import Logging
import Platform
import Synchronization

/// An idempotent producer (acks=all, lz4, murmur2_random) with an awaitable delivery result per record
/// and a blocking bulk path. A record whose delivery fails is reported to its caller; nothing is
/// dropped silently.
public final class KafkaProducer: @unchecked Sendable {
    // librdkafka handles are thread-safe; the class only guards its own lifecycle state.
    private let handle: OpaquePointer
    private let contextPointer: UnsafeMutableRawPointer
    private let running = RunFlag()
    private let pollThreadDone = DispatchSemaphore(value: 0)
    private let topicsLookedUp = DispatchSemaphore(value: 0)
    private let closed = Mutex(false)
    public let logger: Logger

    /// Settings an event-sourced writer needs whatever the deployment says (see docs/architecture.md).
    public static let requiredProperties: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
    ]

    public static let defaultProperties: [String: String] = [
        "compression.type": "lz4",
        "partitioner": "murmur2_random",
        "message.timeout.ms": "10000",
        // Commands wait on their delivery; under load librdkafka batches whatever queues meanwhile.
        "linger.ms": "0",
        // Come back within a second of a broker returning (the default backs off up to 10 s).
        "reconnect.backoff.max.ms": "1000",
        "batch.num.messages": "10000",
        "queue.buffering.max.messages": "1000000",
        "queue.buffering.max.kbytes": "1048576",
    ]

    /// `topics`: the topics it will write to, whose partitions it looks up at once on a thread of
    /// its own. Otherwise librdkafka learns a topic's partitions only after its first record, from
    /// a scan it runs once a second, and that record and all sent with it wait up to a second
    /// (0.7 s for a scheduler's first 10,000 reminders; `docs/benchmarks.md`).
    public init(configuration: KafkaConfiguration, name: String = "producer", topics: [String] = [], logger: Logger) throws {
        self.logger = logger
        let properties = configuration.withDefaults(Self.defaultProperties).merging(Self.requiredProperties).properties
        (handle, contextPointer) = try makeClient(type: RD_KAFKA_PRODUCER, properties: properties, name: name, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                Unmanaged<DeliveryHandler>.fromOpaque(opaque).takeRetainedValue()
                    .delivered(err: message.pointee.err, partition: message.pointee.partition, offset: message.pointee.offset)
            }
        }
        let pollHandle = SendableHandle(pointer: handle)
        startThread(name: "producer-poll") { [running, pollThreadDone] in
            // Delivery reports are served only while someone polls.
            while running.isRunning {
                rd_kafka_poll(pollHandle.pointer, 50)
            }
            pollThreadDone.signal()
        }
        startThread(name: "producer-topics") { [topicsLookedUp] in
            defer { topicsLookedUp.signal() }
            guard !topics.isEmpty else { return }
            // The whole cluster's metadata, naming no topic (a broker that creates the topics a
            // request names would otherwise create a missing one with its defaults); the answer
            // fills librdkafka's metadata cache, from which a topic handle made now takes its
            // partitions.
            var metadata: UnsafePointer<rd_kafka_metadata>?
            guard rd_kafka_metadata(pollHandle.pointer, 1, nil, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return }
            let existing = Set((0..<Int(metadata.pointee.topic_cnt)).map { String(cString: metadata.pointee.topics[$0].topic) })
            rd_kafka_metadata_destroy(metadata)
            for topic in topics where existing.contains(topic) {
                if let topicHandle = rd_kafka_topic_new(pollHandle.pointer, topic, nil) { rd_kafka_topic_destroy(topicHandle) }
            }
        }
    }

    deinit {
        close(flushTimeoutMs: 0)
    }

    /// Publishes one record and returns where it landed once the brokers acknowledged it.
    public func send(_ record: OutgoingRecord) async throws -> DeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            let delivery = PendingDelivery(topic: record.topic) { continuation.resume(with: $0) }
            do {
                try enqueue(record, handler: delivery, retryWhenFull: false)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Publishes records as fast as the client queue accepts them and blocks until every one is
    /// acknowledged. Throws the first delivery failure. Blocking: call from a thread, not a task.
    @discardableResult
    public func sendAllBlocking<S: Sequence>(_ records: S, progress: ((Int) -> Void)? = nil) throws -> Int
    where S.Element == OutgoingRecord {
        try sendAllBlocking(records, tracker: BatchTracker(), progress: progress)
    }

    /// `sendAllBlocking` for records of one topic, returning the highest offset written per
    /// partition (what a caller waits on to read its writes back).
    public func sendAllReportingBlocking(_ records: [OutgoingRecord], topic: String) throws -> [TopicPartition: Int64] {
        precondition(records.allSatisfy { $0.topic == topic }, "records of one topic")
        let tracker = BatchTracker()
        _ = try sendAllBlocking(records, tracker: tracker, progress: nil)
        return Dictionary(uniqueKeysWithValues: tracker.highestOffsets.map { (TopicPartition(topic, $0.key), $0.value) })
    }

    private func sendAllBlocking<S: Sequence>(_ records: S, tracker: BatchTracker, progress: ((Int) -> Void)?) throws -> Int
    where S.Element == OutgoingRecord {
        var count = 0
        for record in records {
            if let failure = tracker.firstFailure { throw failure }
            tracker.add()
            do {
                try enqueue(record, handler: tracker, retryWhenFull: true)
            } catch {
                tracker.abandon()
                throw error
            }
            count += 1
            if count % 100_000 == 0 { progress?(count) }
        }
        tracker.waitForAll()
        if let failure = tracker.firstFailure { throw failure }
        return count
    }

    /// Waits until everything queued is delivered or the timeout passes; returns the number still queued.
    @discardableResult
    public func flush(timeoutMs: Int32) -> Int32 {
        _ = rd_kafka_flush(handle, timeoutMs)
        return rd_kafka_outq_len(handle)
    }

    public func close(flushTimeoutMs: Int32 = 10_000) {
        let alreadyClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if alreadyClosed { return }
        if flushTimeoutMs > 0 {
            let left = flush(timeoutMs: flushTimeoutMs)
            if left > 0 { logger.error("producer closed with undelivered records", metadata: ["queued": "\(left)"]) }
        }
        running.stop()
        pollThreadDone.wait()
        // At most the lookup's timeout when the brokers are away.
        topicsLookedUp.wait()
        // Undelivered records get their failure callbacks during destroy.
        rd_kafka_destroy(handle)
        releaseContext(contextPointer)
    }

    /// Low and high watermarks of a partition, asked of its leader.
    public func watermarks(_ tp: TopicPartition, timeoutMs: Int32 = 5000) throws -> (low: Int64, high: Int64) {
        try queryWatermarks(handle: handle, tp, timeoutMs: timeoutMs)
    }

    /// Hands a record to librdkafka; `handler` is retained until its delivery report.
    private func enqueue(_ record: OutgoingRecord, handler: DeliveryHandler, retryWhenFull: Bool) throws {
        while true {
            let opaque = Unmanaged.passRetained(handler).toOpaque()
            let headers = makeHeaders(record.headers)
            let error = produce(record, headers: headers, opaque: opaque)
            guard let error else { return }
            let code = rd_kafka_error_code(error)
            let text = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            if let headers { rd_kafka_headers_destroy(headers) }
            Unmanaged<DeliveryHandler>.fromOpaque(opaque).release()
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL && retryWhenFull {
                usleep(1000)
                continue
            }
            throw KafkaError(code: KafkaErrorCode(code), message: "cannot publish to \(record.topic): \(text)")
        }
    }

    private func produce(
        _ record: OutgoingRecord, headers: OpaquePointer?, opaque: UnsafeMutableRawPointer
    ) -> OpaquePointer? {
        record.topic.withCString { topic in
            withOptionalBytes(record.key) { key, keyLength in
                withOptionalBytes(record.value) { value, valueLength in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { fields in
                        fields.initialize(repeating: rd_kafka_vu_t())
                        var n = 0
                        fields[n].vtype = RD_KAFKA_VTYPE_TOPIC
                        fields[n].u.cstr = topic
                        n += 1
                        fields[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        fields[n].u.i = RD_KAFKA_MSG_F_COPY
                        n += 1
                        fields[n].vtype = RD_KAFKA_VTYPE_VALUE
                        fields[n].u.mem.ptr = UnsafeMutableRawPointer(mutating: value)
                        fields[n].u.mem.size = valueLength
                        n += 1
                        if let key {
                            fields[n].vtype = RD_KAFKA_VTYPE_KEY
                            fields[n].u.mem.ptr = UnsafeMutableRawPointer(mutating: key)
                            fields[n].u.mem.size = keyLength
                            n += 1
                        }
                        if let partition = record.partition {
                            fields[n].vtype = RD_KAFKA_VTYPE_PARTITION
                            fields[n].u.i32 = partition
                            n += 1
                        }
                        if let timestamp = record.timestampMs {
                            fields[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP
                            fields[n].u.i64 = timestamp
                            n += 1
                        }
                        if let headers {
                            fields[n].vtype = RD_KAFKA_VTYPE_HEADERS
                            fields[n].u.headers = headers
                            n += 1
                        }
                        fields[n].vtype = RD_KAFKA_VTYPE_OPAQUE
                        fields[n].u.ptr = opaque
                        n += 1
                        return rd_kafka_produceva(handle, fields.baseAddress, n)
                    }
                }
            }
        }
    }

    private func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer? {
        if headers.isEmpty { return nil }
        let list = rd_kafka_headers_new(headers.count)
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { buffer in
                    _ = rd_kafka_header_add(list, header.name, -1, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), buffer.count)
                }
            } else {
                _ = rd_kafka_header_add(list, header.name, -1, nil, 0)
            }
        }
        return list
    }
}

/// Gives a C call a pointer and length for optional bytes; `nil` stays `nil` (null key, tombstone).
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBytes { buffer in
        // An empty array may give a nil base address; librdkafka needs non-null for an empty value.
        body(buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), buffer.count)
    }
}

/// Receives delivery reports; retained across the C boundary by each message's opaque.
class DeliveryHandler: @unchecked Sendable {
    func delivered(err: rd_kafka_resp_err_t, partition: Int32, offset: Int64) {}
}

/// One record whose caller awaits its delivery report.
final class PendingDelivery: DeliveryHandler, @unchecked Sendable {
    let topic: String
    let completion: @Sendable (Result<DeliveryReport, KafkaError>) -> Void

    init(topic: String, completion: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) {
        self.topic = topic
        self.completion = completion
    }

    override func delivered(err: rd_kafka_resp_err_t, partition: Int32, offset: Int64) {
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            completion(.success(DeliveryReport(topic: topic, partition: partition, offset: offset)))
        } else {
            completion(.failure(KafkaError(err, context: "delivery to \(topic) failed")))
        }
    }
}

/// Counts outstanding deliveries of a bulk send and remembers the first failure: one object for the
/// whole batch instead of one per record.
final class BatchTracker: DeliveryHandler, @unchecked Sendable {
    private struct State {
        var outstanding = 0
        var failure: KafkaError?
        var waiter: DispatchSemaphore?
        var highestOffsets: [Int32: Int64] = [:]
    }
    private let state = Mutex(State())

    func add() { state.withLock { $0.outstanding += 1 } }

    /// A record counted by `add` that never reached librdkafka.
    func abandon() { finish(failure: nil) }

    override func delivered(err: rd_kafka_resp_err_t, partition: Int32, offset: Int64) {
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            state.withLock { $0.highestOffsets[partition] = max($0.highestOffsets[partition] ?? -1, offset) }
        }
        finish(failure: err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(err, context: "bulk delivery failed"))
    }

    var highestOffsets: [Int32: Int64] { state.withLock { $0.highestOffsets } }

    private func finish(failure: KafkaError?) {
        let waiter: DispatchSemaphore? = state.withLock { state in
            state.outstanding -= 1
            if let failure, state.failure == nil { state.failure = failure }
            return state.outstanding == 0 ? state.waiter : nil
        }
        waiter?.signal()
    }

    var firstFailure: KafkaError? { state.withLock { $0.failure } }

    func waitForAll() {
        let semaphore = DispatchSemaphore(value: 0)
        let mustWait = state.withLock { state -> Bool in
            if state.outstanding == 0 { return false }
            state.waiter = semaphore
            return true
        }
        if mustWait { semaphore.wait() }
    }
}
