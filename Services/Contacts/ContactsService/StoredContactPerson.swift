import Foundation
import GRDB
import WireSchema

/// A contact person as stored: the record as last published (its `counterpartyId` is the
/// counterparty it was added to) plus bookkeeping.
public struct StoredContactPerson: Sendable, Equatable {
    public var record: ContactPerson
    public var bookkeeping: Bookkeeping
    public var lastEventId: String

    static let columns = "record, \(Bookkeeping.columns), last_event_id"

    init(row: Row) throws {
        record = try decodeStoredRecord(ContactPerson.self, row)
        bookkeeping = Bookkeeping(row: row)
        lastEventId = row["last_event_id"]
    }

    public static func fetch(_ db: Database, id: String) throws -> StoredContactPerson? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(columns) FROM contact_person WHERE id = ?"), arguments: [id]).map(Self.init(row:))
    }

    /// The persons added to any of these counterparties, by name then id.
    public static func fetchAll(_ db: Database, counterpartyIds: [String]) throws -> [StoredContactPerson] {
        if counterpartyIds.count == 1 {
            return try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(columns) FROM contact_person WHERE counterparty_id = ? ORDER BY id"),
                                    arguments: [counterpartyIds[0]]).map(Self.init(row:))
        }
        return try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(columns) FROM contact_person WHERE counterparty_id IN (SELECT value FROM json_each(?)) ORDER BY id"),
            arguments: [try encodedRecord(counterpartyIds)]).map(Self.init(row:))
    }
}

/// A contact person in responses: `counterpartyId` is the counterparty it belongs to now (the
/// survivor, after a merge).
public struct ContactPersonResource: Encodable, Sendable {
    let stored: StoredContactPerson
    let counterpartyId: String

    public func encode(to encoder: any Encoder) throws {
        var record = stored.record
        record.counterpartyId = counterpartyId
        try record.encode(to: encoder)
        try stored.bookkeeping.encode(to: encoder)
    }
}
