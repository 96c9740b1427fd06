import Foundation
import GRDB
import Kafka
import Logging
import Platform
import Synchronization
import WireFormat
import WireSchema

// The consumer thread: polls, puts each poll's records in timestamp order, cuts them into slices and
// decodes them (the writer decodes a slice itself when it finds one still waiting).
extension Projector {
    func consumeLoop(
        _ consumer: KafkaConsumer, _ queue: BlockingQueue<DecodingSlice>, _ spent: BlockingQueue<[[Item]]>, partitions: [TopicPartition]
    ) throws {
        var pause = IdleFetchPause(partitions: partitions, fetchWait: consumer.fetchWait, options: options)
        var lastWatermarkCheck = ContinuousClock.now
        let pollOrder = PollOrder(capacity: Self.pollSize)
        while isRunning {
            while let written = spent.take(timeout: .now()) { _ = consume written }
            let pollStart = ContinuousClock.now
            let waitedBefore = consumer.waitedForRecords
            var slices = SliceBuilder()
            var failure: ProjectorError?
            let received = consumer.poll(
                max: Self.pollSize, timeoutMs: pause.pollTimeoutMs(default: 100), records: { pollOrder.append($0) },
                other: { event in
                    switch event {
                    case .record:
                        break  // records come through `records`
                    case .endOfPartition(let tp, let next):
                        status.reachedEnd(tp, nextOffset: next)
                        pause.reachedEnd(tp, nextOffset: next)
                    case .error(let tp, let error):
                        if error.code == .autoOffsetReset || error.code == .offsetOutOfRange {
                            failure = failure ?? ProjectorError.offsetOutOfRange("\(tp.map(\.description) ?? "?"): \(error)")
                        }
                        logger.warning("consumer error", metadata: ["error": "\(error)"])
                    }
                })
            if let failure { throw failure }
            pause.polled(records: received)
            pollOrder.drain { slices.append($0) }
            status.addTimings(poll: ContinuousClock.now - pollStart, pollWaiting: consumer.waitedForRecords - waitedBefore)
            let ready = slices.finish()
            if !ready.isEmpty && !handOver(ready, to: queue) { return }
            try pause.update(consumer, status, logger)
            if !pause.isPaused && ContinuousClock.now - lastWatermarkCheck > .seconds(1) {
                lastWatermarkCheck = ContinuousClock.now
                for tp in status.nextOffsets.keys {
                    if let marks = consumer.cachedWatermarks(tp) { status.observedHighWatermark(tp, marks.high) }
                }
            }
        }
    }

    /// Records cut into slices as they arrive (moved in, not copied).
    struct SliceBuilder {
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
    func handOver(_ ready: [[ConsumedRecord]], to queue: BlockingQueue<DecodingSlice>) -> Bool {
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
    func decode(_ records: [ConsumedRecord]) -> [Item] {
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
    static var pollSize: Int { 10_000 }

    /// Records per slice: small enough that the two threads share a poll's decoding evenly.
    static var sliceSize: Int { 1_000 }

    /// Records on their way to the writer, decoded by whichever thread reaches them first: the
    /// consumer thread right after its poll, or the writer when it finds them still undecoded.
    /// Where decoding costs about as much as writing (the platform's replay path), the consumer
    /// thread decoding alone was the bottleneck while the writer sat idle a third of the time.
    final class DecodingSlice: Sendable {
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
        func claim() -> [ConsumedRecord]? {
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
}
