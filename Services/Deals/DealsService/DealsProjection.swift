import EventStore
import Foundation
import GRDB
import Kafka
import ServiceKit
import WireFormat
import WireSchema

/// An event of one of the topics the deals service reads.
public enum DealsEvent: Sendable {
    case counterparty(CounterpartyEvent)
    case staff(StaffEvent)
    case campaign(CampaignEvent)
    case inquiry(InquiryEvent)
    case deal(DealEvent)
    case order(ERPOrderEvent)
    case segment(SegmentEvent)
    case conditions(SalesConditionsEvent)
    case settings(DealSettingsEvent)
}

/// How the deals service's own topics, the counterparties and staff it checks against, the ERP's
/// orders and the analytics service's segments become its store.
///
/// Two things the topics start are finished by the service itself once it has caught up, from
/// tables the projection fills and they drain: a deal an ERP order completed is closed as won
/// (`deal_won_by_order`), and a client whose rank or override changed gets its sales conditions
/// reconsidered (`conditions_pending`).
public struct DealsProjection: Projection {
    public init() {}

    public var name: String { "deals" }
    public var topics: [String] {
        [
            Topics.counterparties, Topics.staff, Topics.campaigns, Topics.inquiries, Topics.deals, Topics.erpOrders, Topics.segments,
            Topics.salesConditions, Topics.dealSettings,
        ]
    }

    public func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<DealsEvent> {
        if record.topic == Topics.erpOrders { return try decodeERPOrder(record, DealsEvent.order) }
        return try decodeCloudEvent(record) { type, data -> DealsEvent in
            switch record.topic {
            case Topics.counterparties: .counterparty(try CounterpartyEvent.decode(type: type, data: data))
            case Topics.staff: .staff(try StaffEvent.decode(type: type, data: data))
            case Topics.campaigns: .campaign(try CampaignEvent.decode(type: type, data: data))
            case Topics.inquiries: .inquiry(try InquiryEvent.decode(type: type, data: data))
            case Topics.deals: .deal(try DealEvent.decode(type: type, data: data))
            case Topics.segments: .segment(try SegmentEvent.decode(type: type, data: data))
            case Topics.salesConditions: .conditions(try SalesConditionsEvent.decode(type: type, data: data))
            case Topics.dealSettings: .settings(try DealSettingsEvent.decode(type: type, data: data))
            default: throw WireFormatError("the deals service does not read \(record.topic)")
            }
        }
    }

    public func apply(_ event: ProjectedEvent<DealsEvent>, in db: Database) throws {
        let stamp = EventStamp(event)
        switch event.event {
        case .counterparty(let change): try apply(change, db)
        case .staff(let change):
            let member = change.member
            try db.cachedStatement(
                sql: """
                    INSERT INTO staff(id, name, supervisor_id, active) VALUES (?1, ?2, ?3, ?4)
                    ON CONFLICT(id) DO UPDATE SET name = ?2, supervisor_id = ?3, active = ?4
                    """
            ).execute(arguments: [member.id, member.name, member.supervisorId, member.active ?? true])
        case .campaign(let change): try apply(change, stamp: stamp, db)
        case .inquiry(.registered(let inquiry)):
            if try !StoredEntity.insert(inquiry, stamp: stamp, db) {
                throw ProjectionRejection("inquiry '\(inquiry.id)' is already registered")
            }
        case .inquiry(.updated(let inquiry)):
            if try !StoredEntity.update(inquiry, stamp: stamp, db) {
                throw ProjectionRejection("inquiry '\(inquiry.id)' was never registered")
            }
        case .deal(let change): try apply(change, stamp: stamp, db)
        case .order(let order): try apply(order, eventId: event.id, db)
        case .segment(.clientClassified(let classification)):
            try db.cachedStatement(
                sql: """
                    INSERT INTO client_rank(client_id, abc_class, xyz_class, status, run_id, as_of) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT(client_id) DO UPDATE SET abc_class = ?2, xyz_class = ?3, status = ?4, run_id = ?5, as_of = ?6
                    """
            ).execute(arguments: [
                classification.clientId, classification.abcClass, classification.xyzClass, classification.status.rawValue,
                classification.runId, classification.asOf.description,
            ])
            try Self.markPending(classification.clientId, db)
        case .conditions(.assigned(let conditions)):
            // Kept as published (the record's own bytes, checked by the JSON reader), with the key the
            // reconciler compares by. A rules change assigns by the hundred thousand: bound directly.
            let record = event.record.value ?? []
            let current = try RawStatement(
                db,
                sql: """
                    INSERT INTO conditions_assigned(client_id, record, conditions, source, assigned_at, event_id)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT(client_id) DO UPDATE SET record = ?2, conditions = ?3, source = ?4, assigned_at = ?5, event_id = ?6
                    """)
            current.bind(1, conditions.clientId)
            current.bind(3, EffectiveConditions.key(conditions.conditions))
            current.bind(4, (conditions.source ?? .rule).rawValue)
            current.bind(5, stamp.time)
            current.bind(6, stamp.eventId)
            try current.execute(bindingUTF8: record, at: 2)
            let history = try RawStatement(
                db,
                sql: """
                    INSERT INTO conditions_history(client_id, assigned_at, event_id, record, assigned_by) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT DO NOTHING
                    """)
            history.bind(1, conditions.clientId)
            history.bind(2, stamp.time)
            history.bind(3, stamp.eventId)
            history.bind(5, stamp.actor)
            try history.execute(bindingUTF8: record, at: 4)
        case .settings(let change): try apply(change, stamp: stamp, db)
        }
    }

    func apply(_ change: CounterpartyEvent, _ db: Database) throws {
        switch change {
        case .registered(let record), .updated(let record):
            try db.cachedStatement(
                sql: """
                    INSERT INTO counterparty(id, name, archived) VALUES (?1, ?2, ?3)
                    ON CONFLICT(id) DO UPDATE SET name = ?2, archived = ?3
                    """
            ).execute(arguments: [record.id, record.shortName ?? record.legalName, record.archived])
        case .archived(let reference), .unarchived(let reference):
            let archived = if case .archived = change { true } else { false }
            try db.cachedStatement(sql: "UPDATE counterparty SET archived = ? WHERE id = ?").execute(arguments: [archived, reference.id])
        case .merged(let merge):
            try db.cachedStatement(sql: "UPDATE counterparty SET merged_into = ? WHERE id = ?").execute(arguments: [
                merge.survivorId, merge.mergedId,
            ])
        case .mergeUndone(let merge):
            try db.cachedStatement(sql: "UPDATE counterparty SET merged_into = NULL WHERE id = ?").execute(arguments: [merge.mergedId])
        case .contactPersonAdded, .contactPersonUpdated, .contactPersonRemoved:
            break
        }
    }

    func apply(_ change: CampaignEvent, stamp: EventStamp, _ db: Database) throws {
        switch change {
        case .defined(let campaign):
            if try !StoredEntity.update(campaign, stamp: stamp, db) { _ = try StoredEntity.insert(campaign, stamp: stamp, db) }
        case .costRecorded(let cost):
            guard try StoredCampaign.fetch(db, id: cost.id) != nil else {
                throw ProjectionRejection("campaign '\(cost.id)' is not defined")
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO campaign_cost(event_id, campaign_id, amount, currency, incurred_on, note, recorded_at, recorded_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """
            ).execute(arguments: [
                stamp.eventId, cost.id, cost.amount.description, cost.currency, cost.incurredOn?.description, cost.note, stamp.time,
                stamp.actor,
            ])
        }
    }

    func apply(_ change: DealSettingsEvent, stamp: EventStamp, _ db: Database) throws {
        switch change {
        case .pipelineDefined(let pipeline):
            try Self.writeSetting(DealSettingsEvent.pipelineKey, try WireEncoder.encode(pipeline), stamp: stamp, db)
        case .rulesSet(let rules):
            // The reconciler notices the new version and compares every client's conditions.
            try Self.writeSetting(DealSettingsEvent.rulesKey, try WireEncoder.encode(rules), stamp: stamp, db)
        case .overrideSet(let override):
            try db.cachedStatement(
                sql: """
                    INSERT INTO conditions_override(client_id, conditions, until, reason, set_at, set_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT(client_id) DO UPDATE SET conditions = ?2, until = ?3, reason = ?4, set_at = ?5, set_by = ?6
                    """
            ).execute(arguments: [
                override.clientId, String(decoding: try WireEncoder.encode(override.conditions), as: UTF8.self),
                Timestamp.format(override.until), override.reason, stamp.time, stamp.actor,
            ])
            try Self.markPending(override.clientId, db)
        case .overrideRemoved(let removal):
            try db.cachedStatement(sql: "DELETE FROM conditions_override WHERE client_id = ?").execute(arguments: [removal.clientId])
            try Self.markPending(removal.clientId, db)
        }
    }

    private static func writeSetting(_ key: String, _ value: [UInt8], stamp: EventStamp, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO setting(key, value, version, updated_at, updated_by, last_event_id) VALUES (?1, ?2, 1, ?3, ?4, ?5)
                ON CONFLICT(key) DO UPDATE SET value = ?2, version = version + 1, updated_at = ?3, updated_by = ?4, last_event_id = ?5
                """
        ).execute(arguments: [key, String(decoding: value, as: UTF8.self), stamp.time, stamp.actor, stamp.eventId])
    }

    /// Notes that a client's conditions may have changed, after every earlier such note.
    static func markPending(_ clientId: String, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO conditions_touched(client_id, seq) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM conditions_touched))
                ON CONFLICT(client_id) DO UPDATE SET seq = excluded.seq
                """
        ).execute(arguments: [clientId])
    }
}
