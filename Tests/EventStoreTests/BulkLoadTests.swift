import Foundation
import GRDB
import Kafka
import Testing
import WireFormat
import WireSchema

@testable import EventStore

@Suite(.serialized) struct BulkLoadTests {
    func indexDefinition(_ store: ServiceStore) throws -> String? {
        try store.database.read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'counts_by_n'")
        }
    }

    @Test func anEmptyStoreCatchesUpInBulkAndEndsWithItsIndexesAndDurable() async throws {
        let fixture = try Fixture()
        try fixture.send((0..<2000).map { fixture.event("k\($0 % 300)") })
        let store = try CountingProjection.openStore(fixture.storePath)
        let definition = try #require(try indexDefinition(store))
        var options = ProjectorOptions()
        options.bulkLoadThreshold = 1000
        let projector = try await fixture.runUntilCaughtUp(store: store, options: options)

        #expect(projector.status.appliedCount == 2000)
        #expect(try fixture.counts(store).values.reduce(0, +) == 2000)
        #expect(try indexDefinition(store) == definition, "the deferred index is back, as it was defined")
        #expect(try !store.isBulkLoading)
        let leftovers = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM crm_deferred_indexes") }
        #expect(leftovers == 0)
        let synchronous = try await store.database.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1, "back to NORMAL once caught up")
        // The index answers queries (INDEXED BY fails when it cannot be used).
        let viaIndex = try await store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM counts INDEXED BY counts_by_n WHERE n > 1")
        }
        #expect(viaIndex == (try fixture.counts(store).values.filter { $0 > 1 }.count))
    }

    @Test func aStoreWithLittleToCatchUpDoesNotBulkLoad() async throws {
        let fixture = try Fixture()
        try fixture.send((0..<10).map { fixture.event("k\($0)") })
        let store = try CountingProjection.openStore(fixture.storePath)
        let projector = fixture.projector(store: store)
        let task = Task { try await projector.run() }
        #expect(await projector.status.waitUntilReady(timeout: .seconds(30)))
        #expect(!projector.status.isBulkLoading)
        projector.stop()
        try await task.value
    }

    @Test func anInterruptedBulkLoadResumesOnTheSameBootAndRebuildsAfterAReboot() async throws {
        let fixture = try Fixture()
        let store = try CountingProjection.openStore(fixture.storePath)
        try await store.database.write { db in try db.execute(sql: "INSERT INTO counts(key, n) VALUES ('kept', 1)") }
        try store.beginBulkLoad(deferring: ["counts_by_n"])
        #expect(try indexDefinition(store) == nil, "set aside while loading")
        try store.beginBulkLoad(deferring: ["counts_by_n"])  // resuming calls it again
        try store.close()

        // Same boot (the process was killed): the store and its progress are kept.
        let resumed = try CountingProjection.openStore(fixture.storePath)
        #expect(try resumed.isBulkLoading)
        #expect(try fixture.counts(resumed) == ["kept": 1])
        try resumed.finishBulkLoad()
        #expect(try indexDefinition(resumed) != nil)
        #expect(try !resumed.isBulkLoading)

        // Marked as loading during another boot: unsynced writes may be lost, so it starts over.
        try resumed.beginBulkLoad(deferring: ["counts_by_n"])
        try await resumed.database.write { db in
            try db.execute(sql: "UPDATE crm_store_meta SET value = 'an-earlier-boot' WHERE key = ?", arguments: [BulkLoad.metaKey])
        }
        try resumed.close()
        let rebuilt = try CountingProjection.openStore(fixture.storePath)
        #expect(try fixture.counts(rebuilt).isEmpty)
        #expect(try !rebuilt.isBulkLoading)
        #expect(try indexDefinition(rebuilt) != nil)
    }

    /// A store that caught up with `keys` events (one per key) in a bulk load.
    func storeLoadedInBulk(_ fixture: Fixture, keys: [String]) async throws -> ServiceStore {
        try fixture.send(keys.map { fixture.event($0) })
        let store = try CountingProjection.openStore(fixture.storePath)
        var options = ProjectorOptions()
        options.bulkLoadThreshold = 1
        try await fixture.runUntilCaughtUp(store: store, options: options)
        return store
    }

    @Test func aBulkLoadCutShortAfterItsLastBatchFinishesOnTheNextStart() async throws {
        let fixture = try Fixture()
        let store = try await storeLoadedInBulk(fixture, keys: (0..<20).map { "k\($0)" })
        // As if killed between the last batch and the end of the bulk load.
        try store.beginBulkLoad(deferring: ["counts_by_n"])
        try store.close()

        let reopened = try CountingProjection.openStore(fixture.storePath)
        let projector = try await fixture.runUntilCaughtUp(store: reopened)
        #expect(projector.status.appliedCount == 0)
        #expect(try !reopened.isBulkLoading)
        #expect(try indexDefinition(reopened) != nil)
        #expect(try fixture.counts(reopened).count == 20)
    }

    @Test func aCompletedBulkLoadAnswersQueriesBeforeItsSyncAndFinishesOnTheNextStartIfKilledThere() async throws {
        let fixture = try Fixture()
        let store = try await storeLoadedInBulk(fixture, keys: (0..<20).map { "k\($0 % 7)" })
        let expected = try fixture.counts(store)

        // What the projector does once caught up, in its two halves, killed between them.
        try store.beginBulkLoad(deferring: ["counts_by_n"])
        try store.completeBulkLoad()
        #expect(try indexDefinition(store) != nil, "the deferred index is back before the sync")
        let viaIndex = try await store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM counts INDEXED BY counts_by_n WHERE n > 1")
        }
        #expect(viaIndex == expected.values.filter { $0 > 1 }.count)
        #expect(try store.isBulkLoading, "still marked: a machine restart now would rebuild it")
        let unsynced = try await store.database.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(unsynced == 0, "commits still unsynced until the sync")
        try store.close()

        let reopened = try CountingProjection.openStore(fixture.storePath)
        #expect(try reopened.isBulkLoading)
        let projector = try await fixture.runUntilCaughtUp(store: reopened)
        #expect(projector.status.appliedCount == 0)
        #expect(projector.status.timings.bulkLoadSync > .zero, "the projector did the sync (timed apart from the replay)")
        #expect(projector.status.timings.bulkLoadFinish > .zero, "and rebuilt the deferred indexes")
        #expect(try !reopened.isBulkLoading)
        #expect(try fixture.counts(reopened) == expected)
        let synchronous = try await reopened.database.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1)
    }

    @Test func deferringAnIndexTheStoreDoesNotHaveIsAnError() throws {
        let fixture = try Fixture()
        let store = try CountingProjection.openStore(fixture.storePath)
        #expect(throws: DatabaseError.self) { try store.beginBulkLoad(deferring: ["no_such_index"]) }
        #expect(try !store.isBulkLoading)
    }

    @Test func eventIdsKeepTheirExactIdentityInTheGuard() async throws {
        let fixture = try Fixture(partitions: 1)
        let uuid = "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6"
        try fixture.send([
            fixture.event("a", id: uuid), fixture.event("a", id: uuid),  // a redelivery: skipped
            fixture.event("a", id: uuid.uppercased()),  // another text: another event
            fixture.event("a", id: "erp-42"), fixture.event("a", id: "erp-42"),
        ])
        let store = try CountingProjection.openStore(fixture.storePath)
        try await fixture.runUntilCaughtUp(store: store)
        #expect(try fixture.counts(store)["a"] == 3)
    }

    /// Event ids of every kind the guard keeps apart: UUIDs, short and long texts, and texts that
    /// a JSON array would have to escape.
    static let mixedIds = [
        "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6", "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a7", "erp-42", "ORD-000000001-p",
        "an event id longer than fifteen bytes", #"quoted "id" with \ backslash"#, "tab\there", "",
    ]

    @Test func aBulkLoadRefusesRedeliveriesAcrossBatchesAndLeavesEveryIdInTheGuard() async throws {
        let fixture = try Fixture(partitions: 1)
        // Each id three times: the second in the same batch as a rule, the third several batches later.
        let ids = Self.mixedIds + (0..<200).map { "id-\($0)" }
        try fixture.send(ids.flatMap { [fixture.event("a", id: $0), fixture.event("a", id: $0)] } + ids.map { fixture.event("b", id: $0) })
        let store = try CountingProjection.openStore(fixture.storePath)
        var options = ProjectorOptions()
        options.bulkLoadThreshold = 1
        options.maxBatchRecords = 7
        let projector = try await fixture.runUntilCaughtUp(store: store, options: options)
        #expect(projector.status.appliedCount == Int64(ids.count))
        #expect(try fixture.counts(store) == ["a": ids.count])
        let (guarded, appended) = try await store.database.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM crm_applied_events") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM crm_bulk_load_event_ids") ?? -1
            )
        }
        #expect(guarded == ids.count, "every id applied is in the guard's table")
        #expect(appended == 0, "and no longer in the bulk load's rows")
        #expect(!store.bulkLoadEventIds.isHolding)

        // After the load, the table refuses them.
        try fixture.send(Self.mixedIds.map { fixture.event("c", id: $0) } + [fixture.event("c", id: "new")])
        try await fixture.runUntilCaughtUp(store: store)
        #expect(try fixture.counts(store) == ["a": ids.count, "c": 1])
    }

    @Test func aBulkLoadHoldingMoreIdsThanItsLimitMovesThemToTheGuardsTableAndGoesOn() async throws {
        let fixture = try Fixture(partitions: 1)
        let ids = (0..<100).map { "id-\($0)" }
        // Every id again 40 events later: some redeliveries come before the move, some after.
        var records = [OutgoingRecord]()
        for (index, id) in ids.enumerated() {
            records.append(fixture.event("a", id: id))
            if index >= 40 { records.append(fixture.event("b", id: ids[index - 40])) }
        }
        try fixture.send(records)
        let store = try CountingProjection.openStore(fixture.storePath)
        var options = ProjectorOptions()
        options.bulkLoadThreshold = 1
        options.maxBatchRecords = 9
        options.bulkLoadIdsInMemory = 30
        try await fixture.runUntilCaughtUp(store: store, options: options)
        #expect(try fixture.counts(store) == ["a": 100])
        let guarded = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM crm_applied_events") }
        #expect(guarded == 100)
    }

    @Test func anInterruptedBulkLoadHoldsTheIdsItsCommittedBatchesAppliedAndForgetsTheRest() async throws {
        let fixture = try Fixture()
        let store = try CountingProjection.openStore(fixture.storePath)
        try store.beginBulkLoad(deferring: [])
        let ids = store.bulkLoadEventIds
        func batch(_ keys: [String], commit: Bool) throws -> [Bool] {
            try store.database.writeWithoutTransaction { db in
                var marked: [Bool] = []
                try db.inTransaction {
                    let guarded = try AppliedEventGuard.forBatch(db, bulkLoad: ids)
                    marked = try keys.map { try guarded.markNew(AppliedEventKey($0)) }
                    try guarded.finishBatch(db)
                    return commit ? .commit : .rollback
                }
                if commit { ids.commitBatch() }
                return marked
            }
        }
        #expect(
            try batch(Self.mixedIds + Self.mixedIds, commit: true) == Self.mixedIds.map { _ in true } + Self.mixedIds.map { _ in false })
        #expect(try batch(["rolled-back", "erp-42"], commit: false) == [true, false])
        #expect(try batch(["rolled-back"], commit: true) == [true], "a rolled-back batch's ids are forgotten")
        try await store.database.writeWithoutTransaction { db in
            let guarded = try AppliedEventGuard.forBatch(db, bulkLoad: ids)
            #expect(try guarded.markNew(AppliedEventKey("refused")))
            guarded.rolledBack(AppliedEventKey("refused"))
            #expect(try guarded.markNew(AppliedEventKey("refused")), "an event whose savepoint rolled back was not applied")
        }
        try store.close()

        // Killed: the next start resumes the load with the ids the committed batches applied.
        let resumed = try CountingProjection.openStore(fixture.storePath)
        try resumed.beginBulkLoad(deferring: [])
        #expect(resumed.bulkLoadEventIds.heldCount == Self.mixedIds.count + 1)
        for id in Self.mixedIds + ["rolled-back"] { #expect(!resumed.bulkLoadEventIds.markNew(AppliedEventKey(id)), "\(id)") }
        resumed.bulkLoadEventIds.beginBatch()
        try resumed.completeBulkLoad()
        #expect(resumed.bulkLoadEventIds.isHolding, "held until the second half")
        try resumed.makeBulkLoadDurable()
        #expect(!resumed.bulkLoadEventIds.isHolding)
        try await resumed.database.write { db in
            let guarded = try AppliedEventGuard.forBatch(db, bulkLoad: resumed.bulkLoadEventIds)
            for id in Self.mixedIds + ["rolled-back"] { #expect(try !guarded.markNew(AppliedEventKey(id)), "\(id) is in the table") }
            #expect(try guarded.markNew(AppliedEventKey("refused")))
        }
        try await resumed.database.write { db in try db.execute(sql: "DELETE FROM crm_applied_events") }
        try resumed.beginBulkLoad(deferring: [])
        #expect(resumed.bulkLoadEventIds.heldCount == 0, "nothing left to hold once moved")
    }

    @Test func aBulkLoadDeadLettersWhatItRefusesAsAnyBatchDoes() async throws {
        func run(bulk: Bool) async throws -> (counts: [String: Int], deadLetters: Int64) {
            let fixture = try Fixture(partitions: 1)
            try fixture.send([
                fixture.event("a", id: "1"), fixture.event("r", id: "2", reject: true), fixture.event("b", id: "3"),
                fixture.event("r", id: "2", reject: true), fixture.event("a", id: "1"), fixture.event("b", id: "4"),
            ])
            let store = try CountingProjection.openStore(fixture.storePath)
            var options = ProjectorOptions()
            options.bulkLoadThreshold = bulk ? 1 : 1_000
            let projector = try await fixture.runUntilCaughtUp(store: store, options: options)
            return (try fixture.counts(store), projector.status.deadLetterCount)
        }
        let bulk = try await run(bulk: true)
        #expect(bulk.counts == ["a": 1, "b": 2])
        #expect(bulk.deadLetters == 2, "a refused event is not applied, so its redelivery is refused again")
        let normal = try await run(bulk: false)
        #expect(bulk.counts == normal.counts && bulk.deadLetters == normal.deadLetters)
    }

    @Test func canonicalUUIDsBecomeSixteenBytes() {
        func key(_ text: String) -> AppliedEventKey { AppliedEventKey(text) }
        guard case .uuid(let high, let low) = key("0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6") else {
            Issue.record("a canonical UUID should parse")
            return
        }
        #expect(high == 0x0192_f3a4_5b6c_7d8e && low == 0x9fa0_b1c2_d3e4_f5a6)
        for other in [
            "0192F3A4-5B6C-7D8E-9FA0-B1C2D3E4F5A6", "0192f3a45b6c7d8e9fa0b1c2d3e4f5a6", "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a", "x",
        ] {
            guard case .text(let text) = key(other) else {
                Issue.record("\(other) is not canonical and stays text")
                continue
            }
            #expect(text == other)
        }
    }
}

@Suite struct BlockingQueueTests {
    final class Batch: Sendable {}

    @Test func aTakenItemIsNoLongerHeld() {
        let queue = BlockingQueue<Batch>(capacity: 4)
        weak var taken: Batch?
        do {
            let batch = Batch()
            taken = batch
            queue.put(batch)
            #expect(queue.take(timeout: .now()) === batch)
        }
        #expect(taken == nil, "the queue released it")
        #expect(queue.offer(Batch()) && queue.offer(Batch()) && queue.offer(Batch()) && queue.offer(Batch()))
        #expect(!queue.offer(Batch()), "full: offer does not block")
    }
}
