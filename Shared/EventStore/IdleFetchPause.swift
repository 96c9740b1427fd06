import Kafka
import Logging

/// Stops an idle consumer from fetching when its fetches are cheap to answer and therefore many.
///
/// The dev broker holds a fetch that finds nothing for `fetch.wait.max.ms` (3 ms by default, so that
/// a command's own event comes back quickly), so an idle consumer would fetch from every broker
/// hundreds of times a second. Once no record has arrived for `idleAfter`, the consumer pauses its
/// partitions instead and peeks every `peekInterval`: one ListOffsets request per broker for the
/// partitions' end offsets. It fetches again as soon as a peek finds records it has not read, or
/// a command waits for its own event (`ProjectorStatus` wakes the poll). A consumer whose fetch wait
/// is at least `peekInterval` never pauses: Apache Kafka answers a fetch as soon as records arrive,
/// so deployments wait 500 ms per fetch, and their idle fetches already cost less than peeks would.
struct IdleFetchPause {
    let partitions: [TopicPartition]
    let enabled: Bool
    let idleAfter: Duration
    let peekInterval: Duration
    private(set) var isPaused = false
    private var lastRecord = ContinuousClock.now
    private var lastPeek = ContinuousClock.now
    /// Where each partition's end was when the consumer last reached it (end-of-partition events):
    /// past records a poll never returns, such as transaction markers.
    private var endsReached: [TopicPartition: Int64] = [:]

    init(partitions: [TopicPartition], fetchWait: Duration, options: ProjectorOptions) {
        self.partitions = partitions
        idleAfter = options.idleAfter
        peekInterval = options.idlePeekInterval
        enabled = fetchWait < options.idlePeekInterval && !partitions.isEmpty
    }

    /// How long the next poll may wait: while paused, until the next peek.
    func pollTimeoutMs(default timeoutMs: Int32) -> Int32 {
        guard isPaused else { return timeoutMs }
        let left = peekInterval - (ContinuousClock.now - lastPeek)
        return Int32(clamping: max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
    }

    mutating func polled(records: Int) {
        if records > 0 { lastRecord = .now }
    }

    mutating func reachedEnd(_ tp: TopicPartition, nextOffset: Int64) {
        endsReached[tp] = max(endsReached[tp] ?? 0, nextOffset)
    }

    /// Pauses, peeks or resumes, as the time since the last record and the last peek say.
    mutating func update(_ consumer: KafkaConsumer, _ status: ProjectorStatus, _ logger: Logger) throws {
        let now = ContinuousClock.now
        if isPaused {
            if status.awaitsReadYourWrites {
                try resume(consumer, status)
            } else if now - lastPeek >= peekInterval {
                lastPeek = now
                if peekFindsRecords(consumer, status, logger) { try resume(consumer, status) }
            }
        } else if enabled && now - lastRecord >= idleAfter && !status.awaitsReadYourWrites {
            try consumer.pause(partitions)
            isPaused = true
            lastPeek = now
            status.setFetchPaused(true)
        }
    }

    private mutating func resume(_ consumer: KafkaConsumer, _ status: ProjectorStatus) throws {
        try consumer.resume(partitions)
        isPaused = false
        lastRecord = .now
        status.setFetchPaused(false)
    }

    /// Whether some partition holds records past what this consumer has applied or read past. A peek
    /// that fails (a broker away) counts as finding records: fetching reports what is wrong.
    private func peekFindsRecords(_ consumer: KafkaConsumer, _ status: ProjectorStatus, _ logger: Logger) -> Bool {
        let ends: [TopicPartition: Int64]
        do {
            ends = try consumer.endOffsets(partitions, timeoutMs: 2000)
        } catch {
            logger.debug("peek for new records failed; fetching again", metadata: ["error": "\(error)"])
            return true
        }
        let applied = status.nextOffsets
        var found = false
        for (tp, end) in ends {
            status.observedHighWatermark(tp, end)
            if end > max(applied[tp] ?? 0, endsReached[tp] ?? 0) { found = true }
        }
        return found
    }
}
