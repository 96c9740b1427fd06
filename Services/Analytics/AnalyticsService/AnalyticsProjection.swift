import EventStore
import Foundation
import GRDB
import Kafka
import ServiceKit
import WireFormat
import WireSchema

/// An event of one of the topics the analytics service reads.
public enum AnalyticsEvent: Sendable {
    /// With its lines' amounts worked out as it is decoded (off the writer thread); nil without lines.
    case order(ERPOrderEvent, StoredAmounts?)
    case counterparty(CounterpartyEvent)
    case staff(StaffEvent)
    case interaction(InteractionEvent)
    case activity(ActivityEvent)
    case inquiry(InquiryEvent)
    case campaign(CampaignEvent)
    case deal(DealEvent)
    case segment(SegmentEvent)
    case run(ClassificationRunEvent)
}

/// How the ERP's orders, the contacts and deals topics, and the service's own segments and runs
/// become the analytics store.
///
/// Orders are the source of sales: one order's events arrive in order (one key, one partition)
/// but orders interleave, and the ERP redelivers (the projector applies an `eventId` once). Each
/// order keeps its state and its amounts from its latest lines; the monthly sums per customer
/// (`client_month`) change exactly when an order becomes a sale or stops being one.
public struct AnalyticsProjection: Projection {
    /// The orders and clients the current batch changed, written at its end (the writer thread's alone).
    let batchWrites = BatchWrites()

    public init() {}

    public var name: String { "analytics" }
    public var topics: [String] {
        [
            Topics.erpOrders, Topics.counterparties, Topics.staff, Topics.interactions, Topics.activities, Topics.inquiries,
            Topics.campaigns,
            Topics.deals, Topics.segments, Topics.classificationRuns,
        ]
    }

    /// Indexes only queries use: a bulk load builds them once at the end.
    public var bulkLoadDeferredIndexes: [String] {
        [
            "erp_order_sales", "erp_order_sale_day", "erp_order_cancelled_on", "client_scorecard", "client_not_buyer", "client_merged_into",
            "interaction_day",
            "inquiry_received", "campaign_cost_campaign", "contact_person_owner", "classification_result_client",
        ]
    }

    /// A bulk load fills an empty store (or resumes filling it): what batches keep row by row, the
    /// sales sums, the clients orders name and each client's completeness, is computed once at its
    /// end. The clients are written before the deferred indexes are rebuilt; the sums are worked
    /// out while the writer builds them.
    public func finishBulkLoadRows(in db: Database) throws {
        try Self.writeOrderClients(db)
    }

    public func prepareBulkLoadFinish(reading db: Database) throws -> SalesSums {
        try Self.computeSums(db)
    }

    public func finishBulkLoad(in db: Database, prepared sums: SalesSums) throws {
        try sums.write(db)
        try recomputeCompleteness(db)
    }

    public func beginBatch(in db: Database, bulkLoading: Bool) throws {
        batchWrites.forget()
    }

    public func finishBatch(in db: Database, bulkLoading: Bool) throws {
        try batchWrites.writeOrders(db)
        try batchWrites.writeClients(db)
        batchWrites.forget()
        try refreshMarkedCompleteness(db, bulkLoading: bulkLoading)
    }

    public func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<AnalyticsEvent> {
        if record.topic == Topics.erpOrders {
            return try decodeERPOrder(record) { order in .order(order, order.lines.map { StoredAmounts(OrderAmounts(lines: $0)) }) }
        }
        return try decodeCloudEvent(record) { type, data -> AnalyticsEvent in
            switch record.topic {
            case Topics.counterparties: .counterparty(try CounterpartyEvent.decode(type: type, data: data))
            case Topics.staff: .staff(try StaffEvent.decode(type: type, data: data))
            case Topics.interactions: .interaction(try InteractionEvent.decode(type: type, data: data))
            case Topics.activities: .activity(try ActivityEvent.decode(type: type, data: data))
            case Topics.inquiries: .inquiry(try InquiryEvent.decode(type: type, data: data))
            case Topics.campaigns: .campaign(try CampaignEvent.decode(type: type, data: data))
            case Topics.deals: .deal(try DealEvent.decode(type: type, data: data))
            case Topics.segments: .segment(try SegmentEvent.decode(type: type, data: data))
            case Topics.classificationRuns: .run(try ClassificationRunEvent.decode(type: type, data: data))
            default: throw WireFormatError("the analytics service does not read \(record.topic)")
            }
        }
    }

    public func apply(_ event: ProjectedEvent<AnalyticsEvent>, in db: Database) throws {
        try apply(event, in: db, bulkLoading: false)
    }

    public func apply(_ event: ProjectedEvent<AnalyticsEvent>, in db: Database, bulkLoading: Bool) throws {
        switch event.event {
        case .order(let order, let amounts): try apply(order, amounts: amounts, eventId: event.id, bulkLoading: bulkLoading, db)
        case .counterparty(let change): try apply(change, db)
        case .staff(let change):
            let member = change.member
            try db.execute(
                sql: """
                    INSERT INTO staff(id, name, supervisor_id, active) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, supervisor_id = excluded.supervisor_id, active = excluded.active
                    """, arguments: [member.id, member.name, member.supervisorId, member.active ?? true])
        case .interaction(let change): try record(change.interaction, db)
        case .activity(.completed(let completion)):
            // A completed call or meeting in the scheduler is a contact like a logged one.
            if let interaction = Interaction(completing: completion) { try record(interaction, db) }
        case .activity: break
        case .inquiry(let change): try apply(change, db)
        case .campaign(let change): try apply(change, eventId: event.id, db)
        case .deal(let change): try apply(change, db)
        case .segment(.clientClassified(let segment)):
            // A first published run sends one per client: the statement is prepared once.
            try db.cachedStatement(
                sql: """
                    INSERT INTO segment(client_id, run_id, as_of, abc_class, xyz_class, status) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(client_id) DO UPDATE SET run_id = excluded.run_id, as_of = excluded.as_of,
                        abc_class = excluded.abc_class, xyz_class = excluded.xyz_class, status = excluded.status
                    """
            ).execute(
                arguments: [
                    segment.clientId, segment.runId, segment.asOf.description, segment.abcClass, segment.xyzClass,
                    segment.status.rawValue,
                ])
        case .run(let change): try apply(change, db)
        }
    }

    /// A contact with a counterparty, as the scorecards count it (by its staff member and day).
    private func record(_ interaction: Interaction, _ db: Database) throws {
        // Every counterparty contacted has a client row, a bare one until its record arrives, so that
        // the scorecard finds who is no buyer in a small index.
        try db.cachedStatement(sql: "INSERT INTO client(id) VALUES (?) ON CONFLICT(id) DO NOTHING").execute(arguments: [
            interaction.counterpartyId
        ])
        try db.execute(
            sql: """
                INSERT INTO interaction(id, counterparty_id, staff_id, occurred_on) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET counterparty_id = excluded.counterparty_id, staff_id = excluded.staff_id,
                    occurred_on = excluded.occurred_on
                """,
            arguments: [
                interaction.id, interaction.counterpartyId, interaction.staffId, CalendarDate(utc: interaction.occurredAt).dayNumber,
            ])
    }

    /// Marks an id as someone an order, inquiry or deal names: a known client from then on.
    static func mention(_ clientId: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO client(id, mentioned) VALUES (?, 1) ON CONFLICT(id) DO UPDATE SET mentioned = 1")
            .execute(arguments: [clientId])
    }
}
