import EventStore
import Foundation
import GRDB
import Kafka
import ServiceKit
import WireFormat
import WireSchema

/// An event of one of the contacts topics.
public enum ContactsEvent: Sendable {
    case counterparty(CounterpartyEvent)
    case interaction(InteractionEvent)
    case staff(StaffEvent)
    case activity(ActivityEvent)
}

/// How the contacts topics become the contacts store.
///
/// Records of different partitions arrive in no fixed order on replay (an interaction may come
/// before the counterparty it is about), so a reference to another key is stored as it is and
/// resolved when read; only what one key's own events contradict is refused. Derived values
/// (completeness, search, identities) are recomputed from the rows, never patched, so any
/// interleaving ends in the same store.
public struct ContactsProjection: Projection {
    public typealias Event = ContactsEvent

    let normalization: ContactNormalization
    /// Search rows written since the last batch ended: how much merging the batch owes.
    let searchRowsWritten = SearchRowCount()

    public init(normalization: ContactNormalization = .standard) {
        self.normalization = normalization
    }

    public var name: String { "contacts" }
    public var topics: [String] { [Topics.counterparties, Topics.interactions, Topics.staff, Topics.activities] }
    public var bulkLoadDeferredIndexes: [String] {
        ["counterparty_manager", "counterparty_tax_id", "counterparty_name_key", "counterparty_identity_value", "interaction_staff"]
    }

    public func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<ContactsEvent> {
        let projected = try decodeCloudEvent(record) { type, data -> ContactsEvent in
            switch record.topic {
            case Topics.counterparties: .counterparty(try CounterpartyEvent.decode(type: type, data: data))
            case Topics.interactions: .interaction(try InteractionEvent.decode(type: type, data: data))
            case Topics.staff: .staff(try StaffEvent.decode(type: type, data: data))
            case Topics.activities: .activity(try ActivityEvent.decode(type: type, data: data))
            default: throw WireFormatError("the contacts service does not read \(record.topic)")
            }
        }
        let expectedKey: String
        switch projected.event {
        case .counterparty(let event): expectedKey = event.counterpartyId
        case .interaction(let event): expectedKey = event.interaction.id
        case .staff(let event): expectedKey = event.member.id
        case .activity(let event): expectedKey = event.key
        }
        // Compared as bytes: making a String of every key costs an allocation per record on replay.
        if let key = record.key, !key.elementsEqual(expectedKey.utf8) {
            throw WireFormatError("record key '\(record.keyString ?? "")' is not the id the event is about ('\(expectedKey)')")
        }
        return projected
    }

    public func apply(_ event: ProjectedEvent<ContactsEvent>, in db: Database) throws {
        let stamp = EventStamp(event)
        switch event.event {
        case .counterparty(let change): try apply(change, json: event.record.value, stamp, db)
        case .interaction(let change): try apply(change, stamp, db)
        case .staff(let change): try apply(change, stamp, db)
        case .activity(let change): try apply(change, stamp, db)
        }
    }
}
