import EventStore
import Foundation
import GRDB
import Logging
import TestSupport
import Testing
import WireFormat
import WireSchema

@testable import ContactsService

@Suite struct CounterpartySearchTests {
    /// Leaving a common word out of the ranking must not let rows without it match.
    @Test func aCommonWordIsRequiredButNotRanked() throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite"
        defer { try? ServiceStore.deleteFiles(at: path) }
        let store = try ContactsStore.open(path: path, logger: quietLogger)
        let projection = ContactsProjection()
        try store.database.write { db in
            for n in 0..<40 {
                // "acme" in 30 names; "north" in every fourth name; the rest without "acme".
                let name = (n < 30 ? "Acme " : "Other ") + (n % 4 == 0 ? "North Trading \(n)" : "South Trading \(n)")
                let record = CounterpartyRecord(id: String(format: "C%02d", n), kind: .organization, roles: [.customer], legalName: name)
                try projection.register(
                    record, json: try WireEncoder.encode(record), time: "2026-01-01T00:00:00.000Z", actor: nil,
                    eventId: TimeOrderedID.make(), in: db)
            }
            try projection.finishBatch(in: db, bulkLoading: false)
        }
        let query = try #require(CounterpartySearch.Query("acme north", normalization: .standard))
        #expect(query.alternatives.first == ["\"acme\"", "\"north\"*"])
        try store.database.read { db in
            // The rarer words drive the FTS5 scan; the rows matching every word are a list checked per
            // row. Offered to FTS5 as rowid lookups (`=` in its plan), the match ran once per listed
            // row, expanding a prefix each time: 51 s for `company no 15` on 200,000 rows.
            let sql = CounterpartySearch.rankedOnRarerWordsSQL(
                columns: "c.id", matching: CounterpartySearch.matchingClause(["c.merged_into IS NULL"]))
            let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["\"north\"*", "\"acme\" AND \"north\"*", 10, 0])
                .map { $0["detail"] as String }
            let scans = plan.filter { $0.contains("counterparty_search VIRTUAL TABLE") }
            #expect(scans.count == 2 && scans.allSatisfy { !$0.contains(":=") }, "\(plan)")
            #expect(try CounterpartySearch.rankedTerms(db, ["\"acme\"", "\"north\"*"], commonWordRows: 20) == ["\"north\"*"])
            #expect(try CounterpartySearch.rankedTerms(db, ["\"acme\"", "\"north\"*"], commonWordRows: 100) == ["\"acme\"", "\"north\"*"])
            let filter = StoredCounterparty.ListFilter()
            let split = try CounterpartySearch.run(db, query: query, filter: filter, offset: 0, limit: 50, commonWordRows: 20)
            let whole = try CounterpartySearch.run(db, query: query, filter: filter, offset: 0, limit: 50, commonWordRows: 100)
            let expected = (0..<30).filter { $0 % 4 == 0 }.map { String(format: "C%02d", $0) }
            #expect(split.items.map(\.record.id).sorted() == expected)
            #expect(whole.items.map(\.record.id).sorted() == expected)
            // Pages of the split query cover the same rows.
            let first = try CounterpartySearch.run(db, query: query, filter: filter, offset: 0, limit: 5, commonWordRows: 20)
            let second = try CounterpartySearch.run(db, query: query, filter: filter, offset: 5, limit: 5, commonWordRows: 20)
            #expect(first.more && !second.more)
            #expect((first.items + second.items).map(\.record.id).sorted() == expected)
        }
        try store.close()
    }

    /// Registers `batches × perBatch` counterparties named "NAME n", each batch in one transaction
    /// ending like a projector's batch, and returns the store and its number of search segments.
    func registerInBatches(_ batches: Int, of perBatch: Int, named name: String) throws -> (ServiceStore, segments: Int) {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite"
        let store = try ContactsStore.open(path: path, logger: quietLogger)
        let projection = ContactsProjection()
        for batch in 0..<batches {
            try store.database.write { db in
                for n in batch * perBatch..<(batch + 1) * perBatch {
                    let record = CounterpartyRecord(
                        id: String(format: "C%06d", n), kind: .organization, roles: [.customer],
                        legalName: "\(name) \(n)", taxId: String(format: "77%08d", n))
                    try projection.register(
                        record, json: try WireEncoder.encode(record), time: "2026-01-01T00:00:00.000Z",
                        actor: nil, eventId: TimeOrderedID.make(), in: db)
                }
                try projection.finishBatch(in: db, bulkLoading: false)
            }
        }
        let segments = try store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(DISTINCT segid) FROM counterparty_search_idx") ?? 0
        }
        return (store, segments)
    }

    func remove(_ store: ServiceStore) {
        try? store.close()
        try? ServiceStore.deleteFiles(at: store.path)
    }

    /// Commands arrive one per batch, and each adds an FTS5 segment. FTS5's own merging did a
    /// whole merge inside one of those commits; the projection merges a little after every batch
    /// instead, and the segments stay few.
    @Test func searchSegmentsStayFewWhenEveryBatchHoldsOneRegistration() throws {
        let (store, segments) = try registerInBatches(300, of: 1, named: "Segment Test")
        defer { remove(store) }
        // FTS5 alone would merge only when a level reaches 16 segments (its crisis merge): 15 here.
        #expect(segments <= 8, "\(segments) search segments after 300 single-registration batches")
        try store.database.read { db in
            let automerge = try Int.fetchOne(db, sql: "SELECT v FROM counterparty_search_config WHERE k = 'automerge'")
            #expect(automerge == 0, "FTS5 does not merge inside commits")
            let query = try #require(CounterpartySearch.Query("segment 217", normalization: .standard))
            let found = try CounterpartySearch.run(db, query: query, filter: StoredCounterparty.ListFilter(), offset: 0, limit: 5)
            #expect(found.items.map(\.record.id) == ["C000217"])
        }
    }

    /// Import batches write hundreds of search rows each; they merge in proportion.
    @Test func largeBatchesMergeInProportionToWhatTheyWrote() throws {
        let (store, segments) = try registerInBatches(40, of: 1000, named: "Import Test Company")
        defer { remove(store) }
        // A fixed 16 pages per batch leaves 11 here.
        #expect(segments <= 8, "\(segments) search segments after 40 batches of 1,000 registrations")
    }
}
