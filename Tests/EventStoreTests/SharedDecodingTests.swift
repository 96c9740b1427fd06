import Foundation
import GRDB
import Kafka
import Synchronization
import TestSupport
import Testing
import WireFormat
import WireSchema

@testable import EventStore

/// Decodes slowly and notes which threads did the decoding; applies in a table that keeps the
/// order of application.
struct SlowDecodingProjection: Projection {
    struct Event: Sendable, Codable {
        var key: String
    }

    final class DecodingThreads: Sendable {
        let names = Mutex<[String: Int]>([:])
    }

    let topic: String
    let threads = DecodingThreads()
    var name: String { "slow" }
    var topics: [String] { [topic] }

    func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<Event> {
        // Decoding far slower than writing: the consumer thread alone could not keep the writer busy.
        usleep(100)
        let thread = Thread.current.name ?? "?"
        threads.names.withLock { $0[thread, default: 0] += 1 }
        return try decodeCloudEvent(record) { type, data in
            guard type == "Count" else { throw WireFormatError("unknown event type '\(type)'") }
            return try WireDecoder.decode(Event.self, from: data)
        }
    }

    func apply(_ event: ProjectedEvent<Event>, in db: Database) throws {
        try db.execute(sql: "INSERT INTO applied(key) VALUES (?)", arguments: [event.event.key])
    }

    static func openStore(_ path: String) throws -> ServiceStore {
        try ServiceStore(path: path, projectionVersion: 1, logger: quietLogger) { migrator in
            migrator.registerMigration("applied") { db in
                try db.execute(sql: "CREATE TABLE applied (sequence INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL)")
            }
        }
    }
}

@Suite struct SharedDecodingTests {
    @Test func bothThreadsDecodeAndEverythingIsAppliedOnceInLogOrder() async throws {
        let fixture = try Fixture(partitions: 1)
        let keys = (0..<12_000).map { String(format: "k%05d", $0) }
        var records = keys.map { fixture.event($0, partition: 0) }
        // Undecodable records among them: dead-lettered in place, whichever thread decodes them.
        for position in [10, 4_321, 11_999] {
            records.insert(fixture.event("bad-\(position)", type: "Unknown", partition: 0), at: position)
        }
        try fixture.send(records)

        let store = try SlowDecodingProjection.openStore(fixture.storePath)
        let projection = SlowDecodingProjection(topic: fixture.topic)
        let projector = Projector(
            projection: projection, store: store, consumerConfiguration: fixture.config,
            deadLetterProducer: fixture.producer, logger: quietLogger)
        let task = Task { try await projector.run() }
        #expect(await projector.status.waitUntilReady(timeout: .seconds(60)))
        projector.stop()
        try await task.value

        let applied = try await store.database.read { db in try String.fetchAll(db, sql: "SELECT key FROM applied ORDER BY sequence") }
        #expect(applied == keys, "every event applied once, in the order of the log")
        #expect(projector.status.deadLetterCount == 3)
        let decodedBy = projection.threads.names.withLock { $0 }
        #expect(decodedBy.values.reduce(0, +) == records.count, "each record decoded once")
        #expect((decodedBy["slow-consumer"] ?? 0) > 0, "decoded by: \(decodedBy)")
        #expect((decodedBy["slow-writer"] ?? 0) > 0, "the idle writer took slices to decode: \(decodedBy)")
    }
}

@Suite struct BlockingQueueTakeFirstTests {
    final class Slice: Sendable {
        let ready: Bool
        init(ready: Bool) { self.ready = ready }
    }

    @Test func takesTheFirstItemOnlyWhenAccepted() {
        let queue = BlockingQueue<Slice>(capacity: 2)
        let first = Slice(ready: false)
        let second = Slice(ready: true)
        #expect(queue.offer(first) && queue.offer(second))
        #expect(queue.takeFirst(if: \.ready) == nil, "the first is not ready; the second is not looked at")
        #expect(!queue.offer(Slice(ready: true)), "a refused item still takes its place")
        #expect(queue.take(timeout: .now()) === first)
        #expect(queue.takeFirst(if: \.ready) === second)
        #expect(queue.takeFirst(if: \.ready) == nil, "empty")
        #expect(queue.offer(Slice(ready: true)) && queue.offer(Slice(ready: true)), "both places free again")
    }
}
