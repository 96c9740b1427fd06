import GRDB
import ServiceKit
import WireFormat
import WireSchema

// The contacts records kept one row per id (see `StoredRecord`), with the columns their queries use.

extension ContactPerson: StoredRecord {
    public static let table = "contact_person"
    public var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] { [("counterparty_id", counterpartyId)] }
}

extension Interaction: StoredRecord {
    public static let table = "interaction"
    public var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] {
        [
            ("counterparty_id", counterpartyId), ("kind", kind.rawValue), ("occurred_at", Timestamp.format(occurredAt)),
            ("staff_id", staffId),
        ]
    }
}

extension StaffMember: StoredRecord {
    public static let table = "staff"
    public var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] { [("supervisor_id", supervisorId)] }
}

public typealias StoredContactPerson = StoredEntity<ContactPerson>
public typealias StoredInteraction = StoredEntity<Interaction>
public typealias StoredStaffMember = StoredEntity<StaffMember>

/// A record that belongs to a counterparty (the one it was added to; after a merge, responses name
/// the survivor instead).
protocol BelongsToCounterparty {
    var counterpartyId: String { get set }
}

extension ContactPerson: BelongsToCounterparty {}
extension Interaction: BelongsToCounterparty {}

public typealias ContactPersonResource = EntityResource<ContactPerson>
public typealias InteractionResource = EntityResource<Interaction>
public typealias StaffMemberResource = EntityResource<StaffMember>

extension EntityResource where Record: BelongsToCounterparty {
    /// With `counterpartyId` as it is now: the survivor, after a merge.
    init(stored: StoredEntity<Record>, counterpartyId: String) {
        var record = stored.record
        record.counterpartyId = counterpartyId
        self.init(record: record, bookkeeping: stored.bookkeeping)
    }
}
