import EventStore
import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

// The records kept one row per id, with the columns their queries use.

extension Campaign: StoredRecord {
    public static let table = "campaign"
    public var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] {
        [("channel", channel), ("starts_on", startsOn?.description)]
    }
}

extension Inquiry: StoredRecord {
    public static let table = "inquiry"
    public var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] {
        [
            ("received_at", Timestamp.format(receivedAt)), ("channel", channel), ("campaign_id", campaignId), ("manager_id", managerId),
            ("counterparty_id", counterpartyId),
        ]
    }
}

extension Deal: StoredRecord {
    public static let table = "deal"
    public static let terminalStages = ["won", "lost"]
    public var isOpen: Bool { !Self.terminalStages.contains(stage) }
    public var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] {
        [
            ("counterparty_id", counterpartyId), ("owner_id", ownerId), ("stage", stage), ("open", isOpen), ("campaign_id", campaignId),
            ("inquiry_id", inquiryId), ("currency", currency), ("amount_minor", expectedAmount.flatMap { MinorUnits.of($0.value) } ?? 0),
            ("probability", probability ?? 0), ("expected_close_date", expectedCloseDate?.description),
        ]
    }
}

public typealias StoredCampaign = StoredEntity<Campaign>
public typealias StoredInquiry = StoredEntity<Inquiry>
public typealias StoredDeal = StoredEntity<Deal>

extension DealsProjection {
    func apply(_ change: DealEvent, stamp: EventStamp, _ db: Database) throws {
        let before = try DealContribution.fetch(db, dealId: change.key)
        try applyToDeal(change, stamp: stamp, db)
        try DealContribution.move(from: before, to: try DealContribution.fetch(db, dealId: change.key), db)
    }

    private func applyToDeal(_ change: DealEvent, stamp: EventStamp, _ db: Database) throws {
        switch change {
        case .opened(let deal):
            guard try StoredEntity.insert(deal, stamp: stamp, db) else { throw ProjectionRejection("deal '\(deal.id)' is already open") }
            try enterStage(deal.id, deal.stage, deal.probability, stamp: stamp, db)
        case .updated(let deal):
            // The stage moves only through its own events: an update naming another is refused.
            guard try StoredEntity.update(deal, stamp: stamp, matching: ["stage"], db) else {
                throw ProjectionRejection("deal '\(deal.id)' does not exist or is no longer at stage '\(deal.stage)'")
            }
        case .stageChanged(let change):
            var deal = try existing(change.id, db)
            guard deal.isOpen else { throw ProjectionRejection("deal '\(change.id)' is closed; reopen it before changing its stage") }
            deal.stage = change.stage
            deal.probability = change.probability ?? deal.probability
            _ = try StoredEntity.update(deal, stamp: stamp, db)
            try enterStage(deal.id, deal.stage, deal.probability, stamp: stamp, db)
        case .closed(let closure):
            var deal = try existing(closure.id, db)
            guard deal.isOpen else { throw ProjectionRejection("deal '\(closure.id)' is already \(deal.stage)") }
            deal.stage = closure.outcome.rawValue
            deal.probability = closure.outcome == .won ? 100 : 0
            _ = try StoredEntity.update(deal, stamp: stamp, db)
            try db.cachedStatement(
                sql: """
                    UPDATE deal SET closed_at = ?1, outcome = ?2, close_reason = ?3, closed_amount = ?4, closed_amount_minor = ?5,
                        won_order_id = ?6, cycle_seconds = unixepoch(?1) - unixepoch(created_at) WHERE id = ?7
                    """
            ).execute(arguments: [
                stamp.time, closure.outcome.rawValue, closure.reason, closure.amount?.description,
                closure.amount.flatMap { MinorUnits.of($0.value) }, closure.orderId, closure.id,
            ])
            try db.cachedStatement(sql: "DELETE FROM deal_won_by_order WHERE deal_id = ?").execute(arguments: [closure.id])
            try enterStage(deal.id, deal.stage, deal.probability, stamp: stamp, db)
        case .reopened(let change):
            var deal = try existing(change.id, db)
            guard !deal.isOpen else { throw ProjectionRejection("deal '\(change.id)' is open") }
            deal.stage = change.stage
            deal.probability = change.probability ?? deal.probability
            _ = try StoredEntity.update(deal, stamp: stamp, db)
            try db.cachedStatement(
                sql: """
                    UPDATE deal SET closed_at = NULL, outcome = NULL, close_reason = NULL, closed_amount = NULL,
                        closed_amount_minor = NULL, cycle_seconds = NULL, won_order_id = NULL WHERE id = ?
                    """
            ).execute(arguments: [change.id])
            try enterStage(deal.id, deal.stage, deal.probability, stamp: stamp, db)
        }
    }

    private func existing(_ id: String, _ db: Database) throws -> Deal {
        guard let stored = try StoredDeal.fetch(db, id: id) else { throw ProjectionRejection("deal '\(id)' was never opened") }
        return stored.record
    }

    private func enterStage(_ dealId: String, _ stage: String, _ probability: Int?, stamp: EventStamp, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO deal_stage(deal_id, event_id, stage, probability, entered_at, entered_by) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """
        ).execute(arguments: [dealId, stamp.eventId, stage, probability, stamp.time, stamp.actor])
    }

    /// One ERP order event: the order's state and amount (revenue of its latest lines), following
    /// the rules every reader of `erp.orders.v1` shares (`ERPOrderState.after`). An order that
    /// completes while naming an open deal leaves that deal to be closed as won.
    func apply(_ event: ERPOrderEvent, eventId: String, _ db: Database) throws {
        let existing = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT customer_id, state, amount, deal_id FROM erp_order WHERE id = ?"), arguments: [event.orderId])
        let previous = existing.flatMap { ERPOrderState(rawValue: $0[1]) }
        let state: ERPOrderState
        switch ERPOrderState.after(event, from: previous, customerId: existing?[0]) {
        case .success(let next): state = next
        case .failure(let contradiction): throw ProjectionRejection(contradiction.description)
        }
        let amount =
            event.lines.map { ExactDecimal.format(OrderAmounts(lines: $0).revenue) } ?? existing.map { $0[2] as String } ?? "0"
        let time = Timestamp.format(event.occurredAt)
        try db.cachedStatement(
            sql: """
                INSERT INTO erp_order(id, customer_id, deal_id, state, amount, currency, reason, placed_at, completed_at, cancelled_at,
                    last_event_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                ON CONFLICT(id) DO UPDATE SET customer_id = ?2, deal_id = COALESCE(?3, deal_id), state = ?4, amount = ?5,
                    currency = COALESCE(?6, currency), reason = COALESCE(?7, reason), placed_at = COALESCE(?8, placed_at),
                    completed_at = COALESCE(?9, completed_at), cancelled_at = COALESCE(?10, cancelled_at), last_event_id = ?11
                """
        ).execute(arguments: [
            event.orderId, event.customerId, event.dealId, state.rawValue, amount, event.currency,
            event.type == .cancelled ? event.reason : nil, event.type == .placed || previous == nil ? time : nil,
            state == .completed ? time : nil, event.type == .cancelled ? time : nil, eventId,
        ])
        guard state == .completed, let dealId = event.dealId ?? existing?[3] else { return }
        let currency: String? = try String.fetchOne(
            db.cachedStatement(sql: "SELECT currency FROM erp_order WHERE id = ?"), arguments: [event.orderId])
        try db.cachedStatement(
            sql: """
                INSERT INTO deal_won_by_order(deal_id, order_id, amount, currency)
                SELECT id, ?2, ?3, ?4 FROM deal WHERE id = ?1 AND open = 1
                ON CONFLICT(deal_id) DO NOTHING
                """
        ).execute(arguments: [dealId, event.orderId, amount, currency])
    }
}
