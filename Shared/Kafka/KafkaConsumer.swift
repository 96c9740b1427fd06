import CRdKafka
import Foundation
import Logging

/// What a poll returns: records, the news that a partition is caught up, or a partition error.
public enum ConsumerEvent: Sendable {
    case record(ConsumedRecord)
    /// The consumer has read everything up to `nextOffset` (the high watermark at that moment).
    case endOfPartition(TopicPartition, nextOffset: Int64)
    case error(TopicPartition?, KafkaError)
}

/// A consumer that reads partitions it assigns itself, from offsets its caller keeps, and never
/// commits anything to Kafka. Blocking calls: use it from a dedicated thread.
public final class KafkaConsumer: @unchecked Sendable {
    // One thread polls; the lifecycle flag is only read by that thread and `close`.
    private let handle: OpaquePointer
    private let queue: OpaquePointer
    private let contextPointer: UnsafeMutableRawPointer
    private var topicNames: [OpaquePointer: String] = [:]
    private var messageBuffer: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    private let bufferCapacity = 10_000
    private var isClosed = false
    /// Time `poll` spent blocked until a first record arrived (for benchmarks and tuning).
    public private(set) var waitedForRecords: Duration = .zero
    /// How long the broker may hold a fetch that finds nothing (`fetch.wait.max.ms`).
    public let fetchWait: Duration
    public let logger: Logger

    /// Offsets live in the service's store, in the same transaction as the state they produced.
    public static let requiredProperties: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "enable.partition.eof": "true",
        // A start offset outside the log is lost data: report it, never jump silently.
        "auto.offset.reset": "error",
    ]

    public static let defaultProperties: [String: String] = [
        // Prefetch. The partitions' queues forward into the consumer queue, whose total librdkafka
        // compares with these limits, so they bound all partitions together. Once a limit is
        // reached, fetching stops until the broker thread next wakes (up to a second in 2.0.2). A
        // deeper prefetch lets a consumer that only reads go faster, but a slow projection then
        // holds that much more memory for no gain, so a fast projection asks for
        // `deepPrefetchProperties` instead; a much shallower one starves even a slow replay. The
        // measurements are in docs/benchmarks.md: read them before changing these.
        "queued.min.messages": "100000",
        "queued.max.messages.kbytes": "1048576",
        "fetch.max.bytes": "52428800",
        "max.partition.fetch.bytes": "10485760",
        // The mock broker holds a fetch for this long even when data arrives (Kafka answers at once):
        // short enough for read-your-writes to stay quick, long enough not to spin while idle.
        "fetch.wait.max.ms": "3",
        // Come back within a second of a broker returning (the default backs off up to 10 s).
        "reconnect.backoff.max.ms": "1000",
        "isolation.level": "read_committed",
    ]

    /// Prefetch for a consumer whose records are applied faster than a shallow prefetch refills
    /// (see `defaultProperties`): enough that fetching never stalls during a replay, bounded in bytes.
    public static let deepPrefetchProperties: [String: String] = [
        "queued.min.messages": "1000000",
        "queued.max.messages.kbytes": "131072",
    ]

    public init(configuration: KafkaConfiguration, name: String = "consumer", logger: Logger) throws {
        self.logger = logger
        var properties = configuration.withDefaults(Self.defaultProperties).merging(Self.requiredProperties).properties
        // A group id is required by librdkafka's consumer even though we never join the group.
        if properties["group.id"] == nil { properties["group.id"] = "crm-\(name)-\(UUID().uuidString.prefix(8))" }
        fetchWait = .milliseconds(Int(properties["fetch.wait.max.ms"] ?? "") ?? 500)
        (handle, contextPointer) = try makeClient(type: RD_KAFKA_CONSUMER, properties: properties, name: name, logger: logger)
        rd_kafka_poll_set_consumer(handle)
        queue = rd_kafka_queue_get_consumer(handle)
        messageBuffer = .allocate(capacity: bufferCapacity)
    }

    deinit {
        close()
        messageBuffer.deallocate()
    }

    /// Starts each partition at the given offset, or at the beginning of the log where it is nil.
    public func assign(_ starts: [TopicPartition: Int64?]) throws {
        let list = rd_kafka_topic_partition_list_new(Int32(starts.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in starts.sorted(by: { $0.key < $1.key }) {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)
            element?.pointee.offset = offset ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let err = rd_kafka_assign(handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "assign partitions") }
    }

    /// Stops fetching these partitions; records fetched but not yet polled are dropped, and fetching
    /// resumes after the last record polled (librdkafka keeps that position).
    public func pause(_ partitions: [TopicPartition]) throws {
        try withPartitionList(partitions) { list in
            let err = rd_kafka_pause_partitions(handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "pause partitions") }
        }
    }

    /// Fetches paused partitions again, from the record after the last one polled. librdkafka 2.0.2
    /// applies a resume on its main thread, and a broker thread with nothing to fetch notices it only
    /// when it next wakes, up to a second later; so this then asks the partitions' leaders for their
    /// end offsets, a request that wakes each of those threads (twice: sending it, and its answer).
    public func resume(_ partitions: [TopicPartition]) throws {
        try withPartitionList(partitions) { list in
            let err = rd_kafka_resume_partitions(handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "resume partitions") }
        }
        _ = try? endOffsets(partitions, timeoutMs: 1000)
    }

    /// Makes a `poll` blocked on another thread return at once (with nothing). Safe from any thread
    /// until `close`.
    public func wake() {
        rd_kafka_queue_yield(queue)
    }

    private func withPartitionList<T>(
        _ partitions: [TopicPartition], _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> T
    ) rethrows -> T {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in partitions { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
        return try body(list)
    }

    /// Waits up to `timeoutMs` for the first message, then returns what has arrived (at most `max`)
    /// without waiting further: a trickle of records is returned at once, a backlog in large batches.
    public func poll(max: Int = 10_000, timeoutMs: Int32 = 100) -> [ConsumerEvent] {
        var events: [ConsumerEvent] = []
        poll(max: max, timeoutMs: timeoutMs, records: { events.append(.record($0)) }, other: { events.append($0) })
        return events
    }

    /// `poll`, handing each record to `records` as its owner (it can be kept without a copy) and
    /// every other event to `other`, in the order they arrived. Returns the number of records.
    @discardableResult
    public func poll(
        max: Int = 10_000, timeoutMs: Int32 = 100,
        records: (consuming ConsumedRecord) -> Void, other: (ConsumerEvent) -> Void
    ) -> Int {
        // consume_batch_queue waits until the batch is full or the timeout passes, which would hold
        // a lone record back for the whole timeout; so wait for one, then take the rest without waiting.
        let waitStart = ContinuousClock.now
        let first = rd_kafka_consume_queue(queue, timeoutMs)
        waitedForRecords += ContinuousClock.now - waitStart
        guard let first else { return 0 }
        messageBuffer[0] = first
        let wanted = Swift.min(max, bufferCapacity)
        var count = 1
        if wanted > 1 {
            let more = rd_kafka_consume_batch_queue(queue, 0, messageBuffer + 1, wanted - 1)
            if more > 0 { count += more }
        }
        var received = 0
        for index in 0..<count {
            guard let message = messageBuffer[index] else { continue }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                records(record(message))
                received += 1
            } else {
                other(event(message))
            }
            rd_kafka_message_destroy(message)
        }
        return received
    }

    private func topicName(_ rkt: OpaquePointer?) -> String {
        guard let rkt else { return "" }
        if let name = topicNames[rkt] { return name }
        let name = String(cString: rd_kafka_topic_name(rkt))
        topicNames[rkt] = name
        return name
    }

    /// A message that carries an error: the end of a partition, or a partition's (or the client's) error.
    private func event(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumerEvent {
        let m = message.pointee
        let tp = TopicPartition(topicName(m.rkt), m.partition)
        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            return .endOfPartition(tp, nextOffset: m.offset)
        }
        var text = String(cString: rd_kafka_err2str(m.err))
        if let payload = m.payload, m.len > 0 {
            text += ": " + String(decoding: UnsafeRawBufferPointer(start: payload, count: m.len), as: UTF8.self)
        }
        return .error(m.rkt == nil ? nil : tp, KafkaError(code: KafkaErrorCode(m.err), message: "\(tp): \(text)"))
    }

    private func record(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedRecord {
        let m = message.pointee
        let key: [UInt8]? = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        let value: [UInt8]? = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return ConsumedRecord(
            topic: topicName(m.rkt), partition: m.partition, offset: m.offset, key: key, value: value,
            headerBlock: headers(message), timestampMs: timestamp)
    }

    /// The message's headers, copied into one buffer (`ConsumedHeaders`).
    private func headers(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedHeaders {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            return ConsumedHeaders(bytes: [], count: 0)
        }
        let count = rd_kafka_header_cnt(list)
        return withUnsafeTemporaryAllocation(
            of: (name: UnsafePointer<CChar>, nameCount: Int, value: UnsafeRawPointer?, size: Int).self, capacity: count
        ) { found in
            var total = 0
            var kept = 0
            for index in 0..<count {
                var name: UnsafePointer<CChar>?
                var pointer: UnsafeRawPointer?
                var size = 0
                guard rd_kafka_header_get_all(list, index, &name, &pointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let name else { continue }
                found[kept] = (name, strlen(name), pointer, pointer == nil ? 0 : size)
                total += ConsumedHeaders.size(nameCount: found[kept].nameCount, valueCount: pointer == nil ? nil : size)
                kept += 1
            }
            let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
                var at = buffer.baseAddress!
                for header in found[0..<kept] {
                    ConsumedHeaders.writePrefix(nameCount: header.nameCount, valueCount: header.value == nil ? nil : header.size, to: at)
                    at += ConsumedHeaders.prefixSize
                    UnsafeMutableRawPointer(at).copyMemory(from: header.name, byteCount: header.nameCount)
                    at += header.nameCount
                    if let value = header.value, header.size > 0 {
                        UnsafeMutableRawPointer(at).copyMemory(from: value, byteCount: header.size)
                        at += header.size
                    }
                }
                initialized = total
            }
            return ConsumedHeaders(bytes: bytes, count: kept)
        }
    }

    /// Low (log start) and high (next offset to be written) watermarks, asked of the leader.
    public func watermarks(_ tp: TopicPartition, timeoutMs: Int32 = 5000) throws -> (low: Int64, high: Int64) {
        try queryWatermarks(handle: handle, tp, timeoutMs: timeoutMs)
    }

    /// Low and high watermarks of many partitions in two requests per broker (ListOffsets for the
    /// earliest and the latest offset of all of them), instead of two round trips per partition.
    public func watermarks(_ partitions: [TopicPartition], timeoutMs: Int32 = 5000) throws -> [TopicPartition: (low: Int64, high: Int64)] {
        if partitions.isEmpty { return [:] }
        let low = try listOffsets(partitions, at: Int64(RD_KAFKA_OFFSET_BEGINNING), timeoutMs: timeoutMs)
        let high = try listOffsets(partitions, at: Int64(RD_KAFKA_OFFSET_END), timeoutMs: timeoutMs)
        var marks: [TopicPartition: (low: Int64, high: Int64)] = [:]
        for tp in partitions {
            guard let l = low[tp], let h = high[tp] else {
                throw KafkaError(code: .badMessage, message: "list offsets: no answer for \(tp)")
            }
            marks[tp] = (l, h)
        }
        return marks
    }

    /// The offset the next record of each partition will get, as far as this consumer can read
    /// (with `read_committed`, the last stable offset): one request per broker.
    public func endOffsets(_ partitions: [TopicPartition], timeoutMs: Int32 = 5000) throws -> [TopicPartition: Int64] {
        if partitions.isEmpty { return [:] }
        return try listOffsets(partitions, at: Int64(RD_KAFKA_OFFSET_END), timeoutMs: timeoutMs)
    }

    /// Kafka's ListOffsets for every partition: the "timestamp" -2 asks for the earliest offset, -1
    /// for the latest.
    private func listOffsets(_ partitions: [TopicPartition], at logical: Int64, timeoutMs: Int32) throws -> [TopicPartition: Int64] {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in partitions {
            rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)?.pointee.offset = logical
        }
        let err = rd_kafka_offsets_for_times(handle, list, timeoutMs)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "list offsets") }
        var result: [TopicPartition: Int64] = [:]
        for index in 0..<Int(list!.pointee.cnt) {
            let element = list!.pointee.elems[index]
            let tp = TopicPartition(String(cString: element.topic), element.partition)
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(element.err, context: "list offsets of \(tp)") }
            guard element.offset >= 0 else {
                throw KafkaError(code: .badMessage, message: "list offsets of \(tp): no offset returned")
            }
            result[tp] = element.offset
        }
        return result
    }

    /// Partition counts of the named topics, from cluster metadata. A missing topic is an error.
    public func partitionCounts(_ topics: [String], timeoutMs: Int32 = 10_000) throws -> [String: Int32] {
        try fetchPartitionCounts(handle: handle, topics: topics, timeoutMs: timeoutMs)
    }

    var handleForExtensions: OpaquePointer { handle }

    public func close() {
        if isClosed { return }
        isClosed = true
        rd_kafka_queue_destroy(queue)
        _ = rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
        releaseContext(contextPointer)
    }
}

func queryWatermarks(handle: OpaquePointer, _ tp: TopicPartition, timeoutMs: Int32) throws -> (low: Int64, high: Int64) {
    var low: Int64 = 0
    var high: Int64 = 0
    let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, timeoutMs)
    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "watermarks of \(tp)") }
    return (low, high)
}

func fetchPartitionCounts(handle: OpaquePointer, topics: [String], timeoutMs: Int32) throws -> [String: Int32] {
    var metadata: UnsafePointer<rd_kafka_metadata>?
    let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
        throw KafkaError(err, context: "cluster metadata")
    }
    defer { rd_kafka_metadata_destroy(metadata) }
    var counts: [String: Int32] = [:]
    for index in 0..<Int(metadata.pointee.topic_cnt) {
        let topic = metadata.pointee.topics[index]
        guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
        counts[String(cString: topic.topic)] = topic.partition_cnt
    }
    var result: [String: Int32] = [:]
    for name in topics {
        guard let count = counts[name] else {
            throw KafkaError(
                code: .unknownTopicOrPartition,
                message: "topic \(name) does not exist on the cluster (create it with `crmctl topics apply`)")
        }
        result[name] = count
    }
    return result
}

extension KafkaConsumer {
    /// Watermarks as last seen in fetch responses (no broker round trip); nil before the first fetch.
    public func cachedWatermarks(_ tp: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(handleForExtensions, tp.topic, tp.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (low, high)
    }
}
