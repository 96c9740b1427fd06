import Foundation
import GRDB
import Kafka
import Logging
import Platform
import Synchronization
import WireFormat
import WireSchema

// Start-up: where each partition starts, and the checks that the log still holds what the store needs.
extension Projector {
    /// Works out where every partition starts, checking that the log still holds what the store needs.
    func prepare(_ consumer: KafkaConsumer) throws -> [TopicPartition: Int64]? {
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
                        // look it up, and some partitions then started fetching noticeably late.
                        starts[tp] = low
                    }
                }
                if !options.acceptTruncatedLog {
                    if !below.isEmpty { throw ProjectorError.storedOffsetBelowLogStart(store: store.path, partitions: below) }
                    if !truncated.isEmpty { throw ProjectorError.logTruncated(store: store.path, partitions: truncated) }
                    if !beyond.isEmpty { throw ProjectorError.storedOffsetBeyondLogEnd(store: store.path, partitions: beyond) }
                } else if !below.isEmpty || !truncated.isEmpty {
                    logger.warning(
                        "rebuilding from a truncated log: events before the log start are lost",
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
                logger.info(
                    "projector started",
                    metadata: [
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
}
