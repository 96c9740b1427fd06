import GRDB
import WireFormat
import WireSchema

/// Each registered client's completeness (the contacts service's checklist over its record and the
/// contact persons of it and of every counterparty merged into it), kept in `client.completeness`
/// so that a scorecard sums a column instead of decoding every record. A change marks the
/// counterparty in a TEMP table (a refused event's mark rolls back with it); each batch recomputes
/// the clients its marks stand for, and a bulk load keeps them in `client_completeness_stale` for
/// its end.
extension AnalyticsProjection {
    static let completenessDirtyTable = "CREATE TEMP TABLE IF NOT EXISTS completeness_dirty (id TEXT PRIMARY KEY) WITHOUT ROWID"

    func markCompletenessDirty(_ id: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO temp.completeness_dirty(id) VALUES (?) ON CONFLICT DO NOTHING").execute(arguments: [id])
    }

    public func finishBatch(in db: Database, bulkLoading: Bool) throws {
        if bulkLoading {
            try db.cachedStatement(
                sql: "INSERT INTO client_completeness_stale(id) SELECT id FROM temp.completeness_dirty WHERE true ON CONFLICT DO NOTHING"
            ).execute()
        } else {
            try refreshCompleteness(String.fetchAll(db.cachedStatement(sql: "SELECT id FROM temp.completeness_dirty")), db)
        }
        try db.cachedStatement(sql: "DELETE FROM temp.completeness_dirty").execute()
    }

    public func finishBulkLoad(in db: Database) throws {
        try refreshCompleteness(String.fetchAll(db, sql: "SELECT id FROM client_completeness_stale"), db)
        try db.execute(sql: "DELETE FROM client_completeness_stale")
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
