import Foundation
import GRDB
import Kafka
import Logging
import TestSupport
import Testing
import WireFormat
import WireSchema

@testable import EventStore

/// Counts how often each key's events were applied, so a double application shows.
struct CountingProjection: Projection {
    struct Event: Sendable, Codable {
        var key: String
        var reject: Bool?
    }

    let topic: String
    var name: String { "counting" }
    var topics: [String] { [topic] }
    var bulkLoadDeferredIndexes: [String] { ["counts_by_n"] }

    func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<Event> {
        try decodeCloudEvent(record) { type, data in
            guard type == "Count" else { throw WireFormatError("unknown event type '\(type)'") }
            return try WireDecoder.decode(Event.self, from: data)
        }
    }

    func apply(_ event: ProjectedEvent<Event>, in db: Database) throws {
        if event.event.reject == true { throw ProjectionRejection("rejected \(event.event.key)") }
        try db.execute(
            sql: "INSERT INTO counts(key, n) VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET n = n + 1",
            arguments: [event.event.key])
    }

    static func openStore(_ path: String, version: Int = 1) throws -> ServiceStore {
        try ServiceStore(path: path, projectionVersion: version, logger: quietLogger) { migrator in
            migrator.registerMigration("counts") { db in
                try db.execute(sql: "CREATE TABLE counts (key TEXT PRIMARY KEY, n INTEGER NOT NULL)")
                try db.execute(sql: "CREATE INDEX counts_by_n ON counts(n) WHERE n > 1")
            }
        }
    }
}

/// A mock cluster with the projected topic and the dead-letter topic, and helpers to drive it.
final class Fixture: Sendable {
    let cluster: MockCluster
    let producer: KafkaProducer
    let directory: String
    let topic = "test.counts.v1"

    init(partitions: Int32 = 4) throws {
        cluster = try MockCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic(topic, partitions: partitions)
        try cluster.createTopic(Topics.deadLetter, partitions: 1)
        producer = try KafkaProducer(configuration: KafkaConfiguration(brokers: cluster.bootstrapServers), logger: quietLogger)
        directory = NSTemporaryDirectory() + "projector-\(UUID().uuidString)"
    }

    deinit {
        producer.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var config: KafkaConfiguration { KafkaConfiguration(brokers: cluster.bootstrapServers) }
    var storePath: String { directory + "/store.sqlite" }

    func event(_ key: String, id: String = TimeOrderedID.make(), type: String = "Count", reject: Bool = false, partition: Int32? = nil)
        -> OutgoingRecord
    {
        let attributes = CloudEventAttributes(id: id, type: type, source: "test", time: Date(), subject: key)
        var record = OutgoingRecord(
            topic: topic, key: Array(key.utf8), value: Array(#"{"key":"\#(key)"\#(reject ? #","reject":true"# : "")}"#.utf8),
            headers: attributes.headers)
        record.partition = partition
        return record
    }

    func send(_ records: [OutgoingRecord]) throws { try producer.sendAllBlocking(records) }

    func projector(store: ServiceStore, options: ProjectorOptions = ProjectorOptions()) -> Projector<CountingProjection> {
        Projector(
            projection: CountingProjection(topic: topic), store: store, consumerConfiguration: config,
            deadLetterProducer: producer, logger: quietLogger, options: options)
    }

    /// Runs a projector until it is caught up, then stops it; returns what it threw, if anything.
    @discardableResult
    func runUntilCaughtUp(
        store: ServiceStore, options: ProjectorOptions = ProjectorOptions(), extra: Duration = .zero
    ) async throws -> Projector<CountingProjection> {
        let projector = projector(store: store, options: options)
        let task = Task { try await projector.run() }
        let ready = await projector.status.waitUntilReady(timeout: .seconds(30))
        if extra > .zero { try await Task.sleep(for: extra) }
        projector.stop()
        try await task.value
        #expect(ready)
        return projector
    }

    func counts(_ store: ServiceStore) throws -> [String: Int] {
        try store.database.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, n FROM counts").map { ($0[0] as String, $0[1] as Int) })
        }
    }

    func deadLetters(count: Int) -> [ConsumedRecord] {
        guard let consumer = try? KafkaConsumer(configuration: config, logger: quietLogger) else { return [] }
        defer { consumer.close() }
        try? consumer.assign([TopicPartition(Topics.deadLetter, 0): nil])
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + .seconds(15)
        while records.count < count && ContinuousClock.now < deadline {
            for case .record(let record) in consumer.poll(max: 100, timeoutMs: 100) { records.append(record) }
        }
        return records
    }
}

@Suite(.serialized) struct ProjectorTests {
    @Test func appliesEachEventOnceAcrossRestarts() async throws {
        let fixture = try Fixture()
        try fixture.send((0..<3000).map { fixture.event("k\($0 % 50)") })
        let store = try CountingProjection.openStore(fixture.storePath)
        let first = try await fixture.runUntilCaughtUp(store: store)
        #expect(first.status.appliedCount == 3000)
        #expect(try fixture.counts(store).values.reduce(0, +) == 3000)

        try fixture.send((0..<1000).map { fixture.event("k\($0 % 50)") })
        let second = try await fixture.runUntilCaughtUp(store: store)
        #expect(second.status.appliedCount == 1000, "resumed from the stored offsets")
        let counts = try fixture.counts(store)
        #expect(counts.count == 50 && counts.values.allSatisfy { $0 == 80 })
        let offsets = try store.storedOffsets()
        var total: Int64 = 0
        for partition in 0..<4 {
            let tp = TopicPartition(fixture.topic, Int32(partition))
            #expect(offsets[tp] ?? 0 == (try fixture.cluster.watermarks(tp).high))
            total += offsets[tp] ?? 0
        }
        #expect(total == 4000)
    }

    @Test func refusesARedeliveredEventId() async throws {
        let fixture = try Fixture()
        try fixture.send([fixture.event("a", id: "same"), fixture.event("a", id: "same"), fixture.event("a", id: "other")])
        let store = try CountingProjection.openStore(fixture.storePath)
        try await fixture.runUntilCaughtUp(store: store)
        #expect(try fixture.counts(store)["a"] == 2)
    }

    @Test func deadLettersBadRecordsAndKeepsGoing() async throws {
        let fixture = try Fixture(partitions: 1)
        var malformed = fixture.event("m")
        malformed.value = Array("{not json".utf8)
        var noHeaders = fixture.event("n")
        noHeaders.headers = []
        try fixture.send([
            fixture.event("a"), malformed, fixture.event("u", type: "Teleported"), noHeaders,
            fixture.event("r", reject: true), fixture.event("b"),
        ])
        let store = try CountingProjection.openStore(fixture.storePath)
        let projector = try await fixture.runUntilCaughtUp(store: store, extra: .milliseconds(300))
        #expect(try fixture.counts(store) == ["a": 1, "b": 1])
        #expect(projector.status.deadLetterCount == 4)
        let letters = fixture.deadLetters(count: 4)
        #expect(letters.count == 4)
        let byOffset = Dictionary(uniqueKeysWithValues: letters.map { (Int($0.header(DeadLetterHeader.sourceOffset)!.stringValue!)!, $0) })
        #expect(Set(byOffset.keys) == [1, 2, 3, 4])
        #expect(byOffset[1]?.value == Array("{not json".utf8), "the original bytes are kept")
        #expect(byOffset[1]?.header(DeadLetterHeader.error)?.stringValue?.contains("invalid JSON") == true)
        #expect(byOffset[2]?.header(DeadLetterHeader.error)?.stringValue?.contains("Teleported") == true)
        #expect(byOffset[3]?.header(DeadLetterHeader.error)?.stringValue?.contains("ce_id") == true)
        #expect(byOffset[4]?.header(DeadLetterHeader.error)?.stringValue == "rejected r")
        #expect(byOffset[4]?.keyString == "r")
        for letter in letters {
            #expect(letter.header(DeadLetterHeader.sourceTopic)?.stringValue == fixture.topic)
            #expect(letter.header(DeadLetterHeader.sourcePartition)?.stringValue == "0")
            #expect(letter.header(DeadLetterHeader.consumer)?.stringValue == "counting")
        }
        let outbox = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM crm_outbox") }
        #expect(outbox == 0, "published dead letters leave the outbox")
    }

    @Test func storedOffsetBelowTheLogStartIsALoudErrorAndRebuildRecovers() async throws {
        let fixture = try Fixture(partitions: 1)
        try fixture.send([fixture.event("early")])
        let store = try CountingProjection.openStore(fixture.storePath)
        try await fixture.runUntilCaughtUp(store: store)

        // Overflow the mock's ~5 MiB per-partition cap with uncompressed records: the log start moves.
        let filler = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
        let raw = try KafkaProducer(
            configuration: fixture.config.merging(["compression.type": "none"]), logger: quietLogger)
        try raw.sendAllBlocking(
            (0..<40).map { _ in
                var record = fixture.event("filler")
                record.value = Array(#"{"key":"filler","pad":""#.utf8) + filler + Array(#""}"#.utf8)
                return record
            })
        raw.close()
        let tp = TopicPartition(fixture.topic, 0)
        let low = try fixture.cluster.watermarks(tp).low
        try #require(low > 1, "the mock should have dropped the oldest records")

        let refused = fixture.projector(store: store)
        #expect {
            try refused.runBlocking()
        } throws: { error in
            guard case ProjectorError.storedOffsetBelowLogStart(_, let partitions)? = error as? ProjectorError else { return false }
            return partitions.first?.0 == tp && partitions.first?.stored == 1 && partitions.first?.logStart == low
                && "\(error)".contains("rebuild")
        }
        #expect(try fixture.counts(store) == ["early": 1], "nothing was skipped silently")

        try store.close()
        try ServiceStore.deleteFiles(at: fixture.storePath)
        let fresh = try CountingProjection.openStore(fixture.storePath)
        #expect(throws: ProjectorError.self) { try fixture.projector(store: fresh).runBlocking() }
        var rebuild = ProjectorOptions()
        rebuild.acceptTruncatedLog = true
        try await fixture.runUntilCaughtUp(store: fresh, options: rebuild)
        let high = try fixture.cluster.watermarks(tp).high
        #expect(try fixture.counts(fresh)["filler"] == Int(high - low))
        // After the rebuild a normal start is accepted.
        try await fixture.runUntilCaughtUp(store: fresh)
    }

    @Test func projectionVersionBumpRebuildsTheStore() async throws {
        let fixture = try Fixture()
        try fixture.send((0..<10).map { fixture.event("k\($0)") })
        let store = try CountingProjection.openStore(fixture.storePath, version: 1)
        try await fixture.runUntilCaughtUp(store: store)
        try store.close()
        let same = try CountingProjection.openStore(fixture.storePath, version: 1)
        #expect(try fixture.counts(same).count == 10)
        try same.close()
        let bumped = try CountingProjection.openStore(fixture.storePath, version: 2)
        #expect(try fixture.counts(bumped).isEmpty, "a new projection version starts from an empty store")
        #expect(try bumped.storedOffsets().isEmpty)
        try await fixture.runUntilCaughtUp(store: bumped)
        #expect(try fixture.counts(bumped).values.reduce(0, +) == 10)
    }

    @Test func waitsForAnOffsetToBeApplied() async throws {
        let fixture = try Fixture(partitions: 1)
        let store = try CountingProjection.openStore(fixture.storePath)
        let projector = fixture.projector(store: store)
        let task = Task { try await projector.run() }
        #expect(await projector.status.waitUntilReady(timeout: .seconds(20)))
        let report = try await fixture.producer.send(fixture.event("w"))
        let tp = TopicPartition(report.topic, report.partition)
        #expect(await projector.status.waitUntilApplied(tp, offset: report.offset, timeout: .seconds(10)))
        #expect(try fixture.counts(store)["w"] == 1)
        #expect(await !projector.status.waitUntilApplied(tp, offset: report.offset + 5, timeout: .milliseconds(200)))
        projector.stop()
        try await task.value
    }
}

/// An idle consumer stops fetching (`IdleFetchPause`) and still sees every record.
@Suite(.serialized) struct IdleFetchPauseTests {
    /// Waits (up to a minute) until `condition` holds.
    func eventually(_ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try condition()
    }

    @Test func aCommandsOwnEventWakesAPausedConsumerAtOnce() async throws {
        let fixture = try Fixture(partitions: 2)
        let store = try CountingProjection.openStore(fixture.storePath)
        var options = ProjectorOptions()
        options.idleAfter = .milliseconds(50)
        options.idlePeekInterval = .seconds(3600)  // it never peeks: only the wait can wake it
        let projector = fixture.projector(store: store, options: options)
        let task = Task { try await projector.run() }
        #expect(await projector.status.waitUntilReady(timeout: .seconds(20)))
        for round in 0..<3 {
            #expect(await eventually { projector.status.isFetchPaused }, "round \(round): paused once idle")
            let report = try await fixture.producer.send(fixture.event("k"))
            #expect(
                await projector.status.waitUntilApplied(
                    TopicPartition(report.topic, report.partition), offset: report.offset, timeout: .seconds(60)))
            #expect(try fixture.counts(store)["k"] == round + 1)
        }
        projector.stop()
        try await task.value
    }

    @Test func aPausedConsumerFindsRecordsOthersPublishWhenItPeeks() async throws {
        let fixture = try Fixture(partitions: 3)
        let store = try CountingProjection.openStore(fixture.storePath)
        var options = ProjectorOptions()
        options.idleAfter = .milliseconds(50)
        options.idlePeekInterval = .milliseconds(50)
        let projector = fixture.projector(store: store, options: options)
        let task = Task { try await projector.run() }
        #expect(await projector.status.waitUntilReady(timeout: .seconds(20)))
        for round in 1...3 {
            #expect(await eventually { projector.status.isFetchPaused })
            try fixture.send((0..<30).map { fixture.event("key-\($0)") })
            #expect(try await eventually { try fixture.counts(store).values.reduce(0, +) == 30 * round }, "round \(round)")
        }
        #expect(await eventually { projector.status.isFetchPaused })
        #expect(try fixture.counts(store).count == 30 && fixture.counts(store).values.allSatisfy { $0 == 3 })
        projector.stop()
        try await task.value
    }

    @Test func onlyAConsumerWhoseFetchesComeBackSoonerThanItsPeeksPauses() {
        let partitions = [TopicPartition("t", 0)]
        let options = ProjectorOptions()
        #expect(IdleFetchPause(partitions: partitions, fetchWait: .milliseconds(3), options: options).enabled)
        #expect(!IdleFetchPause(partitions: partitions, fetchWait: .milliseconds(500), options: options).enabled)
        #expect(!IdleFetchPause(partitions: [], fetchWait: .milliseconds(3), options: options).enabled)
    }
}

@Suite struct ProjectorPrefetchTests {
    @Test func deepPrefetchIsAskedForAndTheOperatorStillWins() {
        let service = KafkaConfiguration(brokers: "b:9092", properties: ["queued.max.messages.kbytes": "65536"])
        var options = ProjectorOptions()
        #expect(Projector<CountingProjection>.consumerConfiguration(service, options: options).properties == service.properties)
        options.deepPrefetch = true
        let deep = Projector<CountingProjection>.consumerConfiguration(service, options: options).properties
        #expect(deep["queued.min.messages"] == KafkaConsumer.deepPrefetchProperties["queued.min.messages"])
        #expect(deep["queued.max.messages.kbytes"] == "65536")
        #expect(deep["bootstrap.servers"] == "b:9092")
    }
}
