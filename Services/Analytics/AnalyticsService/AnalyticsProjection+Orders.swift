import EventStore
import Foundation
import GRDB
import WireFormat
import WireSchema

/// An order as the store keeps it.
struct StoredOrder {
    typealias State = ERPOrderState
    var customerId: String
    var managerId: String?
    var state: State
    var completedOn: Int?
    var amounts: OrderAmounts

    static func fetch(_ db: Database, id: String) throws -> StoredOrder? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT customer_id, manager_id, state, completed_on, revenue, cost FROM erp_order WHERE id = ?"),
                arguments: [id])
        else { return nil }
        return StoredOrder(
            customerId: row[0], managerId: row[1], state: State(rawValue: row[2]) ?? .placed, completedOn: row[3],
            amounts: OrderAmounts(revenue: Decimals.parse(row[4]), cost: Decimals.parse(row[5])))
    }
}

/// Exact decimal text as the store keeps it.
enum Decimals {
    static func parse(_ text: String?) -> Decimal { text.flatMap(ExactDecimal.parse) ?? 0 }
    static func text(_ value: Decimal) -> String { ExactDecimal.format(value) }
}

extension AnalyticsProjection {
    /// One ERP order event. What an order's own earlier events contradict (a second completion, an
    /// event after its cancellation) is refused and dead-lettered with the reason.
    func apply(_ event: ERPOrderEvent, eventId: String, _ db: Database) throws {
        let day = CalendarDate(utc: event.occurredAt).dayNumber
        let existing = try StoredOrder.fetch(db, id: event.orderId)
        let amounts = event.lines.map(OrderAmounts.init(lines:)) ?? existing?.amounts ?? OrderAmounts()
        let state: ERPOrderState
        switch ERPOrderState.after(event, from: existing?.state, customerId: existing?.customerId) {
        case .success(let next): state = next
        case .failure(let contradiction): throw ProjectionRejection(contradiction.description)
        }
        switch state {
        case .placed:
            try write(event, state: .placed, amounts: amounts, eventId: eventId, db, placedOn: day)
        case .completed:
            try write(
                event, state: .completed, amounts: amounts, eventId: eventId, db, placedOn: existing == nil ? day : nil, completedOn: day)
            try addSale(customer: event.customerId, manager: event.managerId ?? existing?.managerId, day: day, amounts, sign: 1, db)
        case .cancelled:
            // Failed before completion: the order was never a sale; its lines say what was lost.
            try write(
                event, state: .cancelled, amounts: amounts, eventId: eventId, db, placedOn: existing == nil ? day : nil, cancelledOn: day)
        case .reversed:
            // Cancelled after completion: the sale is reversed where it was counted.
            guard let existing, let completedOn = existing.completedOn else { return }
            try write(event, state: .reversed, amounts: existing.amounts, eventId: eventId, db, cancelledOn: day)
            try addSale(customer: existing.customerId, manager: existing.managerId, day: completedOn, existing.amounts, sign: -1, db)
        }
        // The customer is a known client, and its latest order's manager is noted, in one statement.
        try db.cachedStatement(
            sql: """
                INSERT INTO client(id, mentioned, order_manager_id) VALUES (?1, 1, ?2)
                ON CONFLICT(id) DO UPDATE SET mentioned = 1, order_manager_id = COALESCE(?2, order_manager_id)
                """
        ).execute(arguments: [event.customerId, event.managerId])
    }

    private func write(
        _ event: ERPOrderEvent, state: StoredOrder.State, amounts: OrderAmounts, eventId: String, _ db: Database,
        placedOn: Int? = nil, completedOn: Int? = nil, cancelledOn: Int? = nil
    ) throws {
        // Columns an event does not speak to keep what earlier events set (COALESCE with the stored value).
        try db.cachedStatement(
            sql: """
                INSERT INTO erp_order(id, customer_id, manager_id, deal_id, currency, state, placed_on, completed_on, cancelled_on,
                    reason, revenue, cost, last_event_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                ON CONFLICT(id) DO UPDATE SET customer_id = ?2, manager_id = COALESCE(?3, manager_id),
                    deal_id = COALESCE(?4, deal_id), currency = COALESCE(?5, currency), state = ?6,
                    placed_on = COALESCE(?7, placed_on), completed_on = COALESCE(?8, completed_on),
                    cancelled_on = COALESCE(?9, cancelled_on), reason = COALESCE(?10, reason), revenue = ?11, cost = ?12,
                    last_event_id = ?13
                """
        ).execute(arguments: [
            event.orderId, event.customerId, event.managerId, event.dealId, event.currency, state.rawValue, placedOn, completedOn,
            cancelledOn, event.type == .cancelled ? event.reason : nil, Decimals.text(amounts.revenue), Decimals.text(amounts.cost),
            eventId,
        ])
    }

    /// Adds a sale to (sign 1) or takes it from (sign -1) its customer's month and its manager's day.
    private func addSale(customer: String, manager: String?, day: Int, _ amounts: OrderAmounts, sign: Int, _ db: Database) throws {
        try addSum(
            table: "client_month", keyColumn: "client_id", periodColumn: "month", countColumn: "sales", key: customer,
            period: PeriodKind.month.index(ofDay: day), amounts, sign: sign, db)
        if let manager {
            try addSum(
                table: "manager_day", keyColumn: "manager_id", periodColumn: "day", countColumn: "orders", key: manager,
                period: day, amounts, sign: sign, db)
        }
    }

    /// Adds to (or takes from) one row of exact sums (revenue, gross profit, count); a row whose count
    /// reaches zero is removed.
    private func addSum(
        table: String, keyColumn: String, periodColumn: String, countColumn: String, key: String, period: Int,
        _ amounts: OrderAmounts, sign: Int, _ db: Database
    ) throws {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT revenue, gross_profit, \(countColumn) FROM \(table) WHERE \(keyColumn) = ? AND \(periodColumn) = ?"),
            arguments: [key, period])
        let factor = Decimal(sign)
        let revenue = Decimals.parse(row?[0]) + factor * amounts.revenue
        let grossProfit = Decimals.parse(row?[1]) + factor * amounts.grossProfit
        let count = (row?[2] as Int? ?? 0) + sign
        if count <= 0 {
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(keyColumn) = ? AND \(periodColumn) = ?").execute(arguments: [
                key, period,
            ])
        } else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO \(table)(\(keyColumn), \(periodColumn), revenue, gross_profit, \(countColumn)) VALUES (?1, ?2, ?3, ?4, ?5)
                    ON CONFLICT(\(keyColumn), \(periodColumn)) DO UPDATE SET revenue = ?3, gross_profit = ?4, \(countColumn) = ?5
                    """
            ).execute(arguments: [key, period, Decimals.text(revenue), Decimals.text(grossProfit), count])
        }
    }
}
