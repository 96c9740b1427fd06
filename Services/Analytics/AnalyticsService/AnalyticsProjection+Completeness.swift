import EventStore
import GRDB
import WireFormat
import WireSchema

/// Each registered client's completeness (the contacts service's checklist over its record and the
/// contact persons of it and of every counterparty merged into it), kept in `client.completeness`
/// so that a scorecard sums a column instead of decoding every record. A change marks the
/// counterparty in a TEMP table (a refused event's mark rolls back with it); each batch recomputes
/// the clients its marks stand for, and a bulk load recomputes every client at its end.
extension AnalyticsProjection {
    static let completenessDirtyTable = "CREATE TEMP TABLE IF NOT EXISTS completeness_dirty (id TEXT PRIMARY KEY) WITHOUT ROWID"

    func markCompletenessDirty(_ id: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO temp.completeness_dirty(id) VALUES (?) ON CONFLICT DO NOTHING").execute(arguments: [id])
    }

    /// At the end of a batch: recomputes the marked clients (a bulk load leaves them all to its end).
    func refreshMarkedCompleteness(_ db: Database, bulkLoading: Bool) throws {
        if !bulkLoading {
            try refreshCompleteness(String.fetchAll(db.cachedStatement(sql: "SELECT id FROM temp.completeness_dirty")), db)
        }
        try db.cachedStatement(sql: "DELETE FROM temp.completeness_dirty").execute()
    }

    /// At the end of a bulk load nearly every client is stale: one pass over them all (2.2 s for
    /// 100,000 counterparties, 8.8 s client by client; `crm-bench analytics-seed`).
    public func recomputeCompleteness(_ db: Database) throws {
        var mergedInto: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, merged_into FROM client WHERE merged_into IS NOT NULL") {
            mergedInto[row[0]] = row[1]
        }
        let merges = Merges(mergedInto: mergedInto)
        var persons: [String: [ContactPerson]] = [:]
        let personRows = try RawStatement(db, sql: "SELECT counterparty_id, record FROM contact_person")
        try personRows.forEachRow { row in
            guard let owner = row.text(0), let record = row.utf8(1) else { return }
            persons[merges.resolve(owner), default: []].append(try WireDecoder.decode(ContactPerson.self, from: Array(record)))
        }
        var computed: [(id: String, completeness: Int?)] = []
        let clients = try RawStatement(db, sql: "SELECT id, record, merged_into IS NOT NULL FROM client WHERE record IS NOT NULL")
        try clients.forEachRow { row in
            guard let id = row.text(0), let record = row.utf8(1) else { return }
            // Merged away: no completeness of its own (its persons count under its survivor).
            let completeness =
                row.int64(2) != 0 ? nil : Completeness.percent(try CounterpartyRecord.read(Array(record)), persons: persons[id] ?? [])
            computed.append((id, completeness))
        }
        let update = try RawStatement(db, sql: "UPDATE client SET completeness = ? WHERE id = ?")
        for (id, completeness) in computed {
            if let completeness { update.bind(1, Int64(completeness)) }
            update.bind(2, id)
            try update.execute()
        }
    }

    /// Recomputes the completeness of each marked counterparty and of the survivor it is merged
    /// into: a merge, an unmerge or a change to a merged one's persons changes the survivor's.
    private func refreshCompleteness(_ ids: [String], _ db: Database) throws {
        var roots = Set<String>()
        for id in ids {
            roots.insert(id)
            roots.insert(try Self.survivor(of: id, db))
        }
        for root in roots.sorted() {
            try db.cachedStatement(sql: "UPDATE client SET completeness = ? WHERE id = ?")
                .execute(arguments: [try Self.completeness(of: root, db), root])
        }
    }

    /// The counterparty a merged one's sales and persons count under (itself when not merged).
    private static func survivor(of id: String, _ db: Database) throws -> String {
        var current = id
        for _ in 0..<32 {
            guard
                let next = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT merged_into FROM client WHERE id = ?"), arguments: [current])
            else { return current }
            current = next
        }
        return current
    }

    /// Nil for a counterparty merged away or never registered (no record to check).
    private static func completeness(of id: String, _ db: Database) throws -> Int? {
        guard
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT record, merged_into FROM client WHERE id = ?"), arguments: [id]),
            let text: String = row[0], (row[1] as String?) == nil
        else { return nil }
        let record = try CounterpartyRecord.read(Array(text.utf8))
        let persons = try String.fetchAll(
            db.cachedStatement(
                sql: """
                    WITH RECURSIVE absorbed(id) AS (SELECT ?1 UNION SELECT c.id FROM client c JOIN absorbed a ON c.merged_into = a.id)
                    SELECT record FROM contact_person WHERE counterparty_id IN absorbed ORDER BY id
                    """), arguments: [id]
        )
        .map { try WireDecoder.decode(ContactPerson.self, from: Array($0.utf8)) }
        return Completeness.percent(record, persons: persons)
    }
}
