import Kafka
import Testing

@testable import EventStore

@Suite struct PollOrderTests {
    private func record(_ topic: String, _ partition: Int32, _ offset: Int64, time: Int64) -> ConsumedRecord {
        ConsumedRecord(
            topic: topic, partition: partition, offset: offset, key: nil, value: [UInt8(offset % 256)], headers: [], timestampMs: time)
    }

    private func drained(_ records: [ConsumedRecord]) -> [String] {
        let order = PollOrder(capacity: 100)
        for record in records { order.append(record) }
        var out: [String] = []
        order.drain { out.append("\($0.topic)[\($0.partition)]@\($0.offset)") }
        return out
    }

    /// Partitions are interleaved by timestamp; each partition's records keep their order even when
    /// their timestamps go backwards; two topics' partitions of the same number stay apart.
    @Test func mergesPartitionsByTimeKeepingEachPartitionsOrder() {
        let records = [
            // Partition 0 delivered as two runs, with a timestamp that goes backwards inside it.
            record("a", 0, 0, time: 10), record("a", 0, 1, time: 30), record("a", 0, 2, time: 20),
            record("a", 1, 0, time: 5), record("a", 1, 1, time: 25),
            record("b", 0, 0, time: 15),
            record("a", 0, 3, time: 40),
        ]
        #expect(
            drained(records) == [
                "a[1]@0", "a[0]@0", "b[0]@0", "a[1]@1", "a[0]@1", "a[0]@2", "a[0]@3",
            ])
    }

    @Test func onePartitionAndEqualTimesKeepArrivalOrder() {
        #expect(drained([record("a", 3, 7, time: 9), record("a", 3, 8, time: 1)]) == ["a[3]@7", "a[3]@8"])
        // Equal timestamps: the partition seen first goes first.
        #expect(drained([record("a", 2, 0, time: 5), record("a", 1, 0, time: 5)]) == ["a[2]@0", "a[1]@0"])
        #expect(drained([]).isEmpty)
    }

    /// Every record comes out exactly once, and the buffer can be used again.
    @Test func drainsEverythingOnceAndIsReusable() {
        let order = PollOrder(capacity: 1_000)
        for round in 0..<3 {
            var expected: [String] = []
            for index in 0..<1_000 {
                let partition = Int32(index % 13)
                order.append(record("t", partition, Int64(index), time: Int64((index * 7919) % 1_000)))
                expected.append("t[\(partition)]@\(index)")
            }
            var seen: [String] = []
            var lastOffset: [Int32: Int64] = [:]
            order.drain { record in
                #expect((lastOffset[record.partition] ?? -1) < record.offset, "round \(round)")
                lastOffset[record.partition] = record.offset
                seen.append("t[\(record.partition)]@\(record.offset)")
            }
            #expect(seen.sorted() == expected.sorted())
        }
    }
}
