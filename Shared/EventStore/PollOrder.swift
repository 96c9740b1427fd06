import Kafka

/// The records of one poll, reordered by timestamp across partitions while each partition keeps its
/// own order: an order librdkafka could have delivered them in (Kafka orders nothing across
/// partitions). A replay receives whole message sets of one partition after another, far apart in
/// event time, so indexes keyed by time-ordered ids (the redelivery guard's, most projections'
/// primary keys) would grow at many places at once; a poll's records in time order reach each
/// index page once, in ascending order. Records are moved, never copied.
final class PollOrder {
    private let storage: UnsafeMutablePointer<ConsumedRecord>
    private let capacity: Int
    private var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    func append(_ record: consuming ConsumedRecord) {
        precondition(count < capacity, "more records than a poll returns")
        (storage + count).initialize(to: record)
        count += 1
    }

    /// Hands every record on, oldest first, and leaves the buffer empty.
    func drain(_ receive: (consuming ConsumedRecord) -> Void) {
        for index in order() { receive((storage + Int(index)).move()) }
        count = 0
    }

    /// Consecutive records of one partition.
    private struct Run {
        let start: Int32
        let end: Int32
    }

    /// Positions in merged order: each partition's runs queued in arrival order, the partitions
    /// merged on their heads' timestamps (ties to the partition seen first).
    private func order() -> [Int32] {
        var laneOf: [TopicPartition: Int] = [:]
        var lanes: [[Run]] = []
        var start = 0
        while start < count {
            let partition = storage[start].partition
            let topic = storage[start].topic
            var end = start + 1
            while end < count && storage[end].partition == partition && storage[end].topic == topic { end += 1 }
            let run = Run(start: Int32(start), end: Int32(end))
            let key = TopicPartition(topic, partition)
            if let lane = laneOf[key] {
                lanes[lane].append(run)
            } else {
                laneOf[key] = lanes.count
                lanes.append([run])
            }
            start = end
        }
        if lanes.count <= 1 { return Array(0..<Int32(count)) }

        var merged: [Int32] = []
        merged.reserveCapacity(count)
        var runIndex = [Int](repeating: 0, count: lanes.count)
        var cursor = lanes.map { $0[0].start }
        var heap = (0..<lanes.count).map { (time: storage[Int(cursor[$0])].timestampMs, lane: $0) }
        func less(_ a: (time: Int64, lane: Int), _ b: (time: Int64, lane: Int)) -> Bool {
            a.time < b.time || (a.time == b.time && a.lane < b.lane)
        }
        func siftDown(_ from: Int) {
            var parent = from
            while true {
                let left = 2 * parent + 1
                if left >= heap.count { return }
                var child = left
                if left + 1 < heap.count && less(heap[left + 1], heap[left]) { child = left + 1 }
                guard less(heap[child], heap[parent]) else { return }
                heap.swapAt(child, parent)
                parent = child
            }
        }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        while let top = heap.first {
            let lane = top.lane
            merged.append(cursor[lane])
            cursor[lane] += 1
            if cursor[lane] == lanes[lane][runIndex[lane]].end {
                runIndex[lane] += 1
                if runIndex[lane] == lanes[lane].count {
                    heap[0] = heap[heap.count - 1]
                    heap.removeLast()
                    if !heap.isEmpty { siftDown(0) }
                    continue
                }
                cursor[lane] = lanes[lane][runIndex[lane]].start
            }
            heap[0].time = storage[Int(cursor[lane])].timestampMs
            siftDown(0)
        }
        return merged
    }
}
