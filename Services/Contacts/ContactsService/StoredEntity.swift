import Foundation
import GRDB
import WireFormat
import WireSchema

/// A record kept in a table of its own, one row per id, as `StoredEntity` reads it.
protocol StoredRecord: Codable, Sendable, Equatable {
    static var table: String { get }
}

/// A record that belongs to a counterparty (the one it was added to; after a merge, responses name
/// the survivor instead).
protocol BelongsToCounterparty {
    var counterpartyId: String { get set }
}

extension ContactPerson: StoredRecord, BelongsToCounterparty { static let table = "contact_person" }
extension Interaction: StoredRecord, BelongsToCounterparty { static let table = "interaction" }
extension StaffMember: StoredRecord { static let table = "staff" }

/// A contact person, interaction or staff member as stored: the record as last published, its
/// bookkeeping, and the id of the event that wrote it (a command compares it with its own to tell
/// whether the stored change is its own).
public struct StoredEntity<Record: Codable & Sendable & Equatable>: Sendable, Equatable {
    public var record: Record
    public var bookkeeping: Bookkeeping
    public var lastEventId: String

    static var columns: String { "record, \(Bookkeeping.columns), last_event_id" }

    init(row: Row) throws {
        record = try decodeStoredRecord(Record.self, row)
        bookkeeping = Bookkeeping(row: row)
        lastEventId = row["last_event_id"]
    }
}

extension StoredEntity where Record: StoredRecord {
    static func fetch(_ db: Database, id: String) throws -> Self? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(columns) FROM \(Record.table) WHERE id = ?"), arguments: [id])
            .map(Self.init(row:))
    }

    /// Every one, in id order (the canonical dump).
    static func all(_ db: Database) throws -> RowCursor {
        try Row.fetchCursor(db, sql: "SELECT \(columns) FROM \(Record.table) ORDER BY id")
    }
}

public typealias StoredContactPerson = StoredEntity<ContactPerson>
public typealias StoredInteraction = StoredEntity<Interaction>
public typealias StoredStaffMember = StoredEntity<StaffMember>

/// A stored record in responses: its fields with the bookkeeping beside them.
public struct EntityResource<Record: Codable & Sendable & Equatable>: Encodable, Sendable {
    let record: Record
    let bookkeeping: Bookkeeping

    init(stored: StoredEntity<Record>) {
        record = stored.record
        bookkeeping = stored.bookkeeping
    }

    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        try bookkeeping.encode(to: encoder)
    }
}

extension EntityResource where Record: BelongsToCounterparty {
    /// With `counterpartyId` as it is now: the survivor, after a merge.
    init(stored: StoredEntity<Record>, counterpartyId: String) {
        var record = stored.record
        record.counterpartyId = counterpartyId
        self.record = record
        bookkeeping = stored.bookkeeping
    }
}

public typealias ContactPersonResource = EntityResource<ContactPerson>
public typealias InteractionResource = EntityResource<Interaction>
public typealias StaffMemberResource = EntityResource<StaffMember>
