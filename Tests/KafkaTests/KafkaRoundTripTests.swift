import Foundation
import Kafka
import Logging
import TestSupport
import Testing

func consumeAll(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(20)) -> [ConsumedRecord] {
    var records: [ConsumedRecord] = []
    let deadline = ContinuousClock.now + timeout
    while records.count < count && ContinuousClock.now < deadline {
        for event in consumer.poll(max: 1000, timeoutMs: 100) {
            if case .record(let record) = event { records.append(record) }
        }
    }
    return records
}

@Suite(.serialized) struct KafkaRoundTripTests {
    @Test func producesAndConsumesHeadersTombstonesAndNullKeys() async throws {
        let cluster = try MockCluster(brokers: 3, logger: quietLogger)
        try cluster.createTopic("t", partitions: 4)
        let config = KafkaConfiguration(brokers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: config, logger: quietLogger)
        defer { producer.close() }
        let withHeaders = try await producer.send(
            OutgoingRecord(
                topic: "t", key: "k1", value: Array("v1".utf8), headers: [KafkaHeader("h", "x"), KafkaHeader("empty", nil)]))
        let tombstone = try await producer.send(OutgoingRecord(topic: "t", key: Array("k1".utf8), value: nil))
        let nullKey = try await producer.send(OutgoingRecord(topic: "t", partition: 2, key: nil, value: []))
        #expect(withHeaders.partition == tombstone.partition)
        #expect(tombstone.offset == withHeaders.offset + 1)
        #expect(nullKey.partition == 2)

        let consumer = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { consumer.close() }
        try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<4).map { (TopicPartition("t", $0), Int64?.none) }))
        let records = consumeAll(consumer, count: 3)
        #expect(records.count == 3)
        let first = try #require(
            records.first { $0.offset == withHeaders.offset && $0.partition == withHeaders.partition && $0.value != nil })
        #expect(first.keyString == "k1")
        #expect(first.header("h")?.stringValue == "x")
        #expect(first.header("empty") != nil && first.header("empty")?.value == nil)
        #expect(records.contains { $0.value == nil && $0.keyString == "k1" })
        #expect(records.contains { $0.key == nil && $0.partition == 2 && $0.value == [] })
    }

    /// Records whose headers differ in number, order and name come back exactly as produced (the
    /// consumer copies each record's headers into one buffer of its own).
    @Test func headerNamesSurviveChangingHeaderSets() async throws {
        let cluster = try MockCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic("headers", partitions: 1)
        let config = KafkaConfiguration(brokers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: config, logger: quietLogger)
        defer { producer.close() }
        let headerSets: [[KafkaHeader]] = [
            [KafkaHeader("ce_id", "1"), KafkaHeader("ce_type", "A")],
            [KafkaHeader("ce_id", "2"), KafkaHeader("ce_type", "B")],
            [KafkaHeader("ce_type", "C"), KafkaHeader("ce_id", "3"), KafkaHeader("traceparent", "t")],
            [],
            [KafkaHeader("ce_id", "5"), KafkaHeader("ce_idx", "longer name, same start"), KafkaHeader("ce_i", nil)],
            [KafkaHeader("ce_id", "6"), KafkaHeader("ce_type", "F"), KafkaHeader("ce_i", "short")],
            [KafkaHeader("ünïcode-name", "v"), KafkaHeader("ce_id", "7")],
        ]
        for headers in headerSets {
            _ = try await producer.send(OutgoingRecord(topic: "headers", partition: 0, key: nil, value: [1], headers: headers))
        }
        let consumer = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { consumer.close() }
        try consumer.assign([TopicPartition("headers", 0): nil])
        let records = consumeAll(consumer, count: headerSets.count).sorted { $0.offset < $1.offset }
        #expect(records.map(\.headers) == headerSets)
    }

    @Test func partitionsKeysLikeTheJavaClient() async throws {
        let cluster = try MockCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic("keys", partitions: 16)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(brokers: cluster.bootstrapServers), logger: quietLogger)
        defer { producer.close() }
        for index in 0..<40 {
            let key = "SO-\(index * 7919)"
            let report = try await producer.send(OutgoingRecord(topic: "keys", key: key, value: [1]))
            #expect(report.partition == KafkaPartitioner.partition(of: key, partitions: 16), "key \(key)")
        }
    }

    /// A producer told its topics looks them up at start, one missing among them, and still sends
    /// to the others and closes.
    @Test func aProducerLooksUpItsTopicsAtStart() async throws {
        let cluster = try MockCluster(brokers: 3, logger: quietLogger)
        try cluster.createTopic("known", partitions: 4)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(brokers: cluster.bootstrapServers), topics: ["known", "nowhere"], logger: quietLogger)
        let report = try await producer.send(OutgoingRecord(topic: "known", key: "k", value: [1]))
        #expect(report.partition == KafkaPartitioner.partition(of: "k", partitions: 4) && report.offset == 0)
        producer.close()
        #expect(try cluster.watermarks(TopicPartition("known", report.partition)).high == 1)
    }

    @Test func bulkSendDeliversEverythingInOrderPerPartition() throws {
        let cluster = try MockCluster(brokers: 3, logger: quietLogger)
        try cluster.createTopic("bulk", partitions: 8)
        let config = KafkaConfiguration(brokers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: config, logger: quietLogger)
        defer { producer.close() }
        let records = (0..<20_000).map { OutgoingRecord(topic: "bulk", key: "k\($0 % 100)", value: Array("\($0)".utf8)) }
        #expect(try producer.sendAllBlocking(records) == 20_000)
        var total: Int64 = 0
        for partition in 0..<8 { total += try cluster.watermarks(TopicPartition("bulk", Int32(partition))).high }
        #expect(total == 20_000)

        let consumer = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { consumer.close() }
        try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<8).map { (TopicPartition("bulk", $0), Int64?.none) }))
        let consumed = consumeAll(consumer, count: 20_000)
        #expect(consumed.count == 20_000)
        var lastPerKey: [String: Int] = [:]
        for record in consumed {
            let value = Int(String(decoding: record.value ?? [], as: UTF8.self))!
            let key = record.keyString!
            if let last = lastPerKey[key] { #expect(value > last, "per-key order broken for \(key)") }
            lastPerKey[key] = value
        }
    }

    /// Watermarks of many partitions at once answer what one query per partition answers, for empty
    /// partitions and partitions of several topics too; an unknown partition is an error.
    @Test func watermarksOfManyPartitionsAtOnce() throws {
        let cluster = try MockCluster(brokers: 3, logger: quietLogger)
        try cluster.createTopic("marks", partitions: 12)
        try cluster.createTopic("other", partitions: 2)
        let config = KafkaConfiguration(brokers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: config, logger: quietLogger)
        defer { producer.close() }
        let records =
            (0..<300).map { OutgoingRecord(topic: "marks", partition: Int32($0 % 7), key: nil, value: [UInt8($0 % 256)]) }
            + [OutgoingRecord(topic: "other", partition: 1, key: nil, value: [1])]
        #expect(try producer.sendAllBlocking(records) == 301)
        let consumer = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { consumer.close() }
        let partitions = (0..<12).map { TopicPartition("marks", $0) } + [TopicPartition("other", 0), TopicPartition("other", 1)]
        let together = try consumer.watermarks(partitions)
        #expect(together.count == partitions.count)
        for tp in partitions {
            let one = try consumer.watermarks(tp)
            #expect(together[tp]?.low == one.low && together[tp]?.high == one.high, "\(tp)")
        }
        #expect(together[TopicPartition("marks", 0)]?.high == 43)
        #expect(together[TopicPartition("marks", 9)]?.high == 0)
        #expect(together[TopicPartition("other", 1)]?.high == 1)
        #expect(throws: KafkaError.self) { try consumer.watermarks([TopicPartition("marks", 99)], timeoutMs: 2000) }
    }

    @Test func consumerStartsAtTheGivenOffsetAndReportsTheEnd() async throws {
        let cluster = try MockCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic("offsets", partitions: 1)
        let config = KafkaConfiguration(brokers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: config, logger: quietLogger)
        defer { producer.close() }
        for index in 0..<10 { _ = try await producer.send(OutgoingRecord(topic: "offsets", partition: 0, key: nil, value: [UInt8(index)])) }
        let consumer = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { consumer.close() }
        try consumer.assign([TopicPartition("offsets", 0): 7])
        var values: [UInt8] = []
        var end: Int64?
        let deadline = ContinuousClock.now + .seconds(10)
        while end == nil && ContinuousClock.now < deadline {
            for event in consumer.poll(max: 100, timeoutMs: 100) {
                switch event {
                case .record(let record): values.append(record.value![0])
                case .endOfPartition(_, let next): end = next
                case .error: break
                }
            }
        }
        #expect(values == [7, 8, 9])
        #expect(end == 10)
    }

    @Test func pausingDropsNothingUnpolledAndResumingFetchesAfterTheLastRecordPolled() throws {
        let cluster = try MockCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic("paused", partitions: 2)
        let config = KafkaConfiguration(brokers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: config, logger: quietLogger)
        defer { producer.close() }
        func send(_ values: Range<Int>) throws {
            let records = values.map { OutgoingRecord(topic: "paused", partition: Int32($0 % 2), key: nil, value: [UInt8($0)]) }
            #expect(try producer.sendAllBlocking(records) == values.count)
        }
        try send(0..<40)
        let consumer = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { consumer.close() }
        let partitions = [TopicPartition("paused", 0), TopicPartition("paused", 1)]
        try consumer.assign([partitions[0]: nil, partitions[1]: nil])
        // A few records polled, the rest fetched and queued when the partitions are paused.
        var polled: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while polled.isEmpty && ContinuousClock.now < deadline {
            for case .record(let record) in consumer.poll(max: 5, timeoutMs: 100) { polled.append(record) }
        }
        #expect(!polled.isEmpty && polled.count <= 5)
        try consumer.pause(partitions)
        try send(40..<60)
        #expect(try consumer.endOffsets(partitions) == [partitions[0]: 30, partitions[1]: 30])
        try consumer.resume(partitions)
        polled += consumeAll(consumer, count: 60 - polled.count)
        for tp in partitions {
            let offsets = polled.filter { $0.partition == tp.partition }.map(\.offset)
            #expect(offsets == Array(0..<30), "\(tp): each record once, in order")
        }
        #expect(consumeAll(consumer, count: 1, timeout: .milliseconds(300)).isEmpty)
    }

    @Test func wakeEndsAPollWaitingOnAnotherThread() throws {
        let cluster = try MockCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic("quiet", partitions: 1)
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(brokers: cluster.bootstrapServers), logger: quietLogger)
        defer { consumer.close() }
        try consumer.assign([TopicPartition("quiet", 0): nil])
        _ = consumer.poll(max: 10, timeoutMs: 500)  // the end of the empty partition
        let woken = DispatchSemaphore(value: 0)
        let start = ContinuousClock.now
        Thread.detachNewThread {
            _ = consumer.poll(max: 10, timeoutMs: 600_000)
            woken.signal()
        }
        Thread.sleep(forTimeInterval: 0.1)
        consumer.wake()
        #expect(woken.wait(timeout: .now() + 60) == .success, "a ten-minute poll ended by wake()")
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func aFailedDeliveryReachesTheCaller() async throws {
        let cluster = try MockCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic("down", partitions: 1)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(brokers: cluster.bootstrapServers, properties: ["message.timeout.ms": "1500"]),
            logger: quietLogger)
        defer { producer.close(flushTimeoutMs: 0) }
        _ = try await producer.send(OutgoingRecord(topic: "down", key: "a", value: [1]))
        try cluster.setBrokerDown(1)
        await #expect(throws: KafkaError.self) {
            _ = try await producer.send(OutgoingRecord(topic: "down", key: "a", value: [2]))
        }
        try cluster.setBrokerUp(1)
        let report = try await producer.send(OutgoingRecord(topic: "down", key: "a", value: [3]))
        #expect(report.offset >= 1)
    }

    @Test func rejectsUnknownProperties() {
        #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(
                configuration: KafkaConfiguration(brokers: "x:1", properties: ["no.such.property": "1"]), logger: quietLogger)
        }
    }
}

@Suite struct KafkaConfigurationTests {
    @Test func readsEnvironmentAndMasksSecrets() throws {
        let config = try KafkaConfiguration.fromEnvironment([
            "CRM_KAFKA_BROKERS": "k1:9092,k2:9092",
            "CRM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "CRM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "CRM_KAFKA_SASL_PASSWORD": "hunter2",
            "OTHER": "x",
        ])
        #expect(config.brokers == "k1:9092,k2:9092")
        #expect(config.properties["security.protocol"] == "SASL_SSL")
        #expect(config.properties["sasl.mechanism"] == "SCRAM-SHA-512")
        #expect(config.properties["sasl.password"] == "hunter2")
        #expect(config.redacted["sasl.password"] == "*****")
        #expect(!config.redacted.values.contains("hunter2"))
    }

    @Test func readsAPropertiesFile() throws {
        let path = NSTemporaryDirectory() + "kafka-\(UUID().uuidString).properties"
        try "# comment\nssl.ca.location = /etc/ca.pem\nsasl.username=crm\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try KafkaConfiguration.fromEnvironment(["CRM_KAFKA_CONFIG_FILE": path, "CRM_KAFKA_SASL_USERNAME": "env-wins"])
        #expect(config.properties["ssl.ca.location"] == "/etc/ca.pem")
        #expect(config.properties["sasl.username"] == "env-wins")
        #expect(config.brokers == "localhost:9092")
    }
}
