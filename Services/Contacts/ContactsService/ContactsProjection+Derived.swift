import EventStore
import Foundation
import GRDB
import ServiceKit
import Synchronization
import WireFormat
import WireSchema

/// What derives from a counterparty, its contact persons and the counterparties merged into it:
/// completeness and its search row. A registration writes both at once (its row is new). Any other
/// change only marks the counterparty dirty, in a TEMP table (so a refused event's mark rolls back
/// with it), and each batch refreshes every dirty one once, in rowid order: FTS5 flushes its
/// pending index data whenever a rowid repeats or goes back, so refreshing per event made a replay
/// many times slower. During a bulk load the marks are kept in `contacts_stale` and refreshed at
/// the end.
extension ContactsProjection {
    static let dirtyTable = "CREATE TEMP TABLE IF NOT EXISTS contacts_dirty (id TEXT PRIMARY KEY) WITHOUT ROWID"

    func markDirty(_ id: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO temp.contacts_dirty(id) VALUES (?) ON CONFLICT DO NOTHING").execute(arguments: [id])
    }

    /// The search row of a counterparty just inserted at `rowid` (its completeness went in with it).
    func writeDerivedOfNew(
        _ record: CounterpartyRecord, identities: [(ContactNormalization.IdentityKind, String)], rowid: Int64, _ db: Database
    ) throws {
        let document = SearchDocument(newCounterparty: record, identities: identities)
        let insert = try RawStatement(db, sql: "INSERT INTO counterparty_search(rowid, names, identifiers, persons) VALUES (?, ?, ?, '')")
        insert.bind(1, rowid)
        insert.bind(2, document.names)
        insert.bind(3, document.identifiers)
        try insert.execute()
        searchRowsWritten.add(1)
        // Replay can apply a merge into it before its registration (they are on other partitions).
        let absorbed = try Bool.fetchOne(
            try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM counterparty WHERE merged_into = ?)"), arguments: [record.id])
        if absorbed == true { try markDirty(record.id, db) }
    }

    public func finishBatch(in db: Database, bulkLoading: Bool) throws {
        if bulkLoading {
            _ = searchRowsWritten.take()  // merged once at the end
            try db.cachedStatement(
                sql: "INSERT INTO contacts_stale(id) SELECT id FROM temp.contacts_dirty WHERE true ON CONFLICT DO NOTHING"
            ).execute()
            try db.cachedStatement(sql: "DELETE FROM temp.contacts_dirty").execute()
            return
        }
        let dirty = try String.fetchAll(try db.cachedStatement(sql: "SELECT id FROM temp.contacts_dirty"))
        try db.cachedStatement(sql: "DELETE FROM temp.contacts_dirty").execute()
        try refresh(dirty, db)
        try mergeSearchSegments(pages: Self.searchMergePages(forRowsWritten: searchRowsWritten.take()), db)
    }

    public func finishBulkLoad(in db: Database) throws {
        try refresh(try String.fetchAll(db, sql: "SELECT id FROM contacts_stale"), db)
        try db.execute(sql: "DELETE FROM contacts_stale")
        // The bulk load left a segment per batch: one sorted pass makes them one.
        try db.execute(sql: "INSERT INTO counterparty_search(counterparty_search) VALUES ('optimize')")
    }

    /// How many FTS5 pages a batch merges: 16 for a batch of a few commands (little work, and none
    /// when no level holds four segments, FTS5's `usermerge`), and in proportion for a large one
    /// (an import's batches left three times as many segments with a fixed 16 as with a quarter of
    /// a page per row written; `CounterpartySearchTests`). Every batch adds a segment, so merging
    /// its share each time keeps their number, and the cost of searching them, small.
    static func searchMergePages(forRowsWritten rows: Int) -> Int { 16 + rows / 4 }

    /// Merges search index segments: automatic merging is off (migration `contacts-v3`), so that no
    /// commit pays for a whole merge at once.
    func mergeSearchSegments(pages: Int, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO counterparty_search(counterparty_search, rank) VALUES ('merge', ?)")
            .execute(arguments: [pages])
    }

    /// Rewrites the derived values of the counterparties these ids stand for; drops the search rows
    /// of those that are merged away.
    private func refresh(_ ids: [String], _ db: Database) throws {
        if ids.isEmpty { return }
        var stale = Set<Int64>()
        var roots: [String: Int64] = [:]
        for id in ids {
            guard
                let own = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT rowid, merged_into FROM counterparty WHERE id = ?"), arguments: [id])
            else { continue }
            let ownRowid: Int64 = own[0]
            stale.insert(ownRowid)
            if (own[1] as String?) != nil {
                // Merged away: never served, so a fixed value keeps every replay's store identical.
                try db.cachedStatement(sql: "UPDATE counterparty SET completeness = 0 WHERE id = ?").execute(arguments: [id])
            }
            guard let root = try StoredCounterparty.resolve(db, id: id),
                let rootRowid = try Int64.fetchOne(
                    try db.cachedStatement(sql: "SELECT rowid FROM counterparty WHERE id = ?"), arguments: [root])
            else { continue }
            roots[root] = rootRowid
            stale.insert(rootRowid)
        }
        // All deletes in rowid order, then all inserts in rowid order: at most one FTS5 flush.
        for rowid in stale.sorted() {
            try db.cachedStatement(sql: "DELETE FROM counterparty_search WHERE rowid = ?").execute(arguments: [rowid])
        }
        searchRowsWritten.add(roots.count)
        for (root, rowid) in roots.sorted(by: { $0.value < $1.value }) {
            let records = try StoredCounterparty.absorbedRecords(db, root: root)
            guard let own = records.first(where: { $0.id == root }) else { continue }
            let persons = try StoredContactPerson.fetchAll(db, counterpartyIds: records.map(\.id)).map(\.record)
            try db.cachedStatement(sql: "UPDATE counterparty SET completeness = ? WHERE id = ?")
                .execute(arguments: [Completeness.percent(own, persons: persons), root])
            let document = SearchDocument(counterparties: records, persons: persons, normalization: normalization)
            try db.cachedStatement(sql: "INSERT INTO counterparty_search(rowid, names, identifiers, persons) VALUES (?, ?, ?, ?)")
                .execute(arguments: [rowid, document.names, document.identifiers, document.persons])
        }
    }
}

/// A count the writer thread adds to while applying a batch and takes when the batch ends.
final class SearchRowCount: Sendable {
    private let count = Mutex(0)

    func add(_ rows: Int) { count.withLock { $0 += rows } }

    func take() -> Int {
        count.withLock { count in
            defer { count = 0 }
            return count
        }
    }
}
