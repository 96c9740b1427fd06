import EventStore
import Foundation
import GRDB
import Logging
import Testing
import WireSchema
@testable import ContactsService

@Suite struct CounterpartySearchTests {
    /// Leaving a common word out of the ranking must not let rows without it match.
    @Test func aCommonWordIsRequiredButNotRanked() throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite"
        defer { try? ServiceStore.deleteFiles(at: path) }
        let store = try ContactsStore.open(path: path, logger: Logger(label: "test"))
        let projection = ContactsProjection()
        try store.database.write { db in
            for n in 0..<40 {
                // "acme" in 30 names; "north" in every fourth name; the rest without "acme".
                let name = (n < 30 ? "Acme " : "Other ") + (n % 4 == 0 ? "North Trading \(n)" : "South Trading \(n)")
                let record = CounterpartyRecord(id: String(format: "C%02d", n), kind: .organization, roles: [.customer], legalName: name)
                try projection.register(record, json: try WireEncoder.encode(record), time: "2026-01-01T00:00:00.000Z", actor: nil,
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

    /// Commands arrive one per batch, and each adds an FTS5 segment. FTS5's own merging did a
    /// whole merge inside one of those commits; the projection merges a little after every batch
    /// instead, and the segments stay few.
    @Test func searchSegmentsStayFewWhenEveryBatchHoldsOneRegistration() throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite"
        defer { try? ServiceStore.deleteFiles(at: path) }
        let store = try ContactsStore.open(path: path, logger: Logger(label: "test"))
        defer { try? store.close() }
        let projection = ContactsProjection()
        let registrations = 300
        for n in 0..<registrations {
            let record = CounterpartyRecord(id: String(format: "C%04d", n), kind: .organization, roles: [.customer],
                                            legalName: "Segment Test \(n)", phones: [String(format: "+7 900 %07d", n)])
            try store.database.write { db in
                try projection.register(record, json: try WireEncoder.encode(record), time: "2026-01-01T00:00:00.000Z", actor: nil,
                                        eventId: TimeOrderedID.make(), in: db)
                try projection.finishBatch(in: db, bulkLoading: false)
            }
        }
        try store.database.read { db in
            let automerge = try Int.fetchOne(db, sql: "SELECT v FROM counterparty_search_config WHERE k = 'automerge'")
            #expect(automerge == 0, "FTS5 does not merge inside commits")
            // FTS5 alone would merge only when a level reaches 16 segments (its crisis merge): 15 here.
            let segments = try Int.fetchOne(db, sql: "SELECT count(DISTINCT segid) FROM counterparty_search_idx") ?? 0
            #expect(segments <= 8, "\(segments) search segments after \(registrations) single-registration batches")
            let query = try #require(CounterpartySearch.Query("segment 217", normalization: .standard))
            let found = try CounterpartySearch.run(db, query: query, filter: StoredCounterparty.ListFilter(), offset: 0, limit: 5)
            #expect(found.items.map(\.record.id) == ["C0217"])
        }
    }

    /// Import batches write hundreds of search rows each; they merge in proportion.
    @Test func largeBatchesMergeInProportionToWhatTheyWrote() throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite"
        defer { try? ServiceStore.deleteFiles(at: path) }
        let store = try ContactsStore.open(path: path, logger: Logger(label: "test"))
        defer { try? store.close() }
        let projection = ContactsProjection()
        let batches = 40, perBatch = 1000
        for batch in 0..<batches {
            try store.database.write { db in
                for n in batch * perBatch..<(batch + 1) * perBatch {
                    let record = CounterpartyRecord(id: String(format: "C%06d", n), kind: .organization, roles: [.customer],
                                                    legalName: "Import Test Company \(n)", taxId: String(format: "77%08d", n))
                    try projection.register(record, json: try WireEncoder.encode(record), time: "2026-01-01T00:00:00.000Z",
                                            actor: nil, eventId: TimeOrderedID.make(), in: db)
                }
                try projection.finishBatch(in: db, bulkLoading: false)
            }
        }
        let segments = try store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(DISTINCT segid) FROM counterparty_search_idx") ?? 0
        }
        // A fixed 16 pages per batch leaves 11 here.
        #expect(segments <= 8, "\(segments) search segments after \(batches) batches of \(perBatch) registrations")
    }
}
