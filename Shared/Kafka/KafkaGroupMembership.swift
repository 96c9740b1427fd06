import CRdKafka
import Foundation
import Logging
import Platform
import Synchronization

/// Membership of a consumer group, used only to share work between instances of a service: the
/// group hands each live member some partitions of `topic`, and a member does the work of the keys
/// that fall in its partitions (`KafkaPartitioner`). It fetches nothing (its partitions stay
/// paused; the service reads the topic itself). When a member dies, the group hands its partitions
/// to the others after `session.timeout.ms`.
public final class KafkaGroupMembership: Sendable {
    /// The partitions this member holds, and a number that changes with every assignment.
    public struct Assignment: Sendable, Equatable {
        public var generation: Int
        public var partitions: Set<Int32>
    }

    public let topic: String
    private let handle: SendableHandle
    private let contextPointer: SendableRawPointer
    private let state: AssignmentState
    private let running = RunFlag()
    /// Whether the poll thread runs (it then closes the client itself) and whether it has finished.
    private let lifecycle = Mutex((started: false, stopped: false))
    private let finished = DispatchSemaphore(value: 0)

    public init(configuration: KafkaConfiguration, group: String, topic: String, name: String, logger: Logger) throws {
        self.topic = topic
        let state = AssignmentState()
        self.state = state
        var properties = configuration.withDefaults(["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]).properties
        properties["group.id"] = group
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        let (handle, context) = try makeClient(
            type: RD_KAFKA_CONSUMER, properties: properties, name: name, logger: logger,
            configure: { conf in
                rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
                    guard let rk, let partitions else { return }
                    if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                        _ = rd_kafka_assign(rk, partitions)
                        // Fetch nothing: the member only holds the partitions.
                        _ = rd_kafka_pause_partitions(rk, partitions)
                    } else {
                        _ = rd_kafka_assign(rk, nil)
                    }
                    let list = (0..<Int(partitions.pointee.cnt)).map { index in
                        let element = partitions.pointee.elems[index]
                        return TopicPartition(String(cString: element.topic), element.partition)
                    }
                    ClientContext.from(opaque)?.rebalance?(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, list)
                }
            },
            rebalance: { assigned, partitions in
                state.value.withLock { current in
                    let generation = (current?.generation ?? 0) + 1
                    current = Assignment(generation: generation, partitions: assigned ? Set(partitions.map(\.partition)) : [])
                }
                logger.info(
                    assigned ? "group partitions assigned" : "group partitions revoked",
                    metadata: ["group": "\(group)", "partitions": "\(partitions.map(\.partition).sorted())"])
            })
        self.handle = SendableHandle(pointer: handle)
        self.contextPointer = SendableRawPointer(pointer: context)
    }

    /// What this member holds now; nil until the group has assigned partitions the first time.
    public var assignment: Assignment? { state.value.withLock { $0 } }

    /// The topic's partition count.
    public func partitionCount(timeoutMs: Int32 = 10_000) throws -> Int32 {
        guard let count = try fetchPartitionCounts(handle: handle.pointer, topics: [topic], timeoutMs: timeoutMs)[topic] else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "topic \(topic) does not exist on the cluster")
        }
        return count
    }

    /// The high watermark of each of these partitions of the topic (blocking: call it off the pool).
    public func highWatermarks(_ partitions: Set<Int32>, timeoutMs: Int32 = 5000) throws -> [Int32: Int64] {
        var result: [Int32: Int64] = [:]
        for partition in partitions {
            result[partition] = try queryWatermarks(handle: handle.pointer, TopicPartition(topic, partition), timeoutMs: timeoutMs).high
        }
        return result
    }

    /// Joins the group and keeps the membership alive on a thread of its own until `stop`.
    public func start() throws {
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        let err = rd_kafka_subscribe(handle.pointer, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "subscribe to \(topic)") }
        guard
            lifecycle.withLock({ state in
                if state.stopped { return false }
                state.started = true
                return true
            })
        else { return }
        let (handle, context, running, finished) = (handle, contextPointer, running, finished)
        startThread(name: "group-member") {
            while running.isRunning {
                // Serves the rebalance callback; nothing is fetched.
                if let message = rd_kafka_consumer_poll(handle.pointer, 100) { rd_kafka_message_destroy(message) }
            }
            Self.close(handle, context)
            finished.signal()
        }
    }

    /// Leaves the group (its partitions go to the other members at once) and releases the client.
    public func stop() {
        let (started, first) = lifecycle.withLock { state in
            defer { state.stopped = true }
            return (state.started, !state.stopped)
        }
        guard first else { return }
        running.stop()
        if started { finished.wait() } else { Self.close(handle, contextPointer) }
    }

    private static func close(_ handle: SendableHandle, _ context: SendableRawPointer) {
        _ = rd_kafka_consumer_close(handle.pointer)
        rd_kafka_destroy(handle.pointer)
        releaseContext(context.pointer)
    }
}

final class AssignmentState: Sendable {
    let value = Mutex<KafkaGroupMembership.Assignment?>(nil)
}

struct SendableRawPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// The partition Kafka's default partitioner (Java's, and librdkafka's `murmur2_random`) puts a
/// key on: murmur2 of the key's bytes, made positive, modulo the partition count.
public enum KafkaPartitioner {
    public static func partition(of key: String, partitions: Int32) -> Int32 {
        Int32((murmur2(Array(key.utf8)) & 0x7fff_ffff) % UInt32(partitions))
    }

    static func murmur2(_ data: [UInt8]) -> UInt32 {
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h = seed ^ UInt32(truncatingIfNeeded: data.count)
        let blocks = data.count / 4
        for index in 0..<blocks {
            let i = index * 4
            var k = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch data.count & 3 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default: break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
