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
}
