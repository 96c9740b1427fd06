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
        // Read for every ERP event (a replay's hot path): with the C API, not GRDB's `Row`.
        let select = try RawStatement(
            db, sql: "SELECT customer_id, manager_id, state, completed_on, revenue, cost FROM erp_order WHERE id = ?")
        select.bind(1, id)
        var order: StoredOrder?
        try select.forEachRow { row in
            order = StoredOrder(
                customerId: row.text(0) ?? "", managerId: row.text(1), state: row.text(2).flatMap(State.init(rawValue:)) ?? .placed,
                completedOn: row.isNull(3) ? nil : Int(row.int64(3)),
                amounts: OrderAmounts(revenue: Decimals.parse(row.text(4)), cost: Decimals.parse(row.text(5))))
        }
        return order
    }
}

/// Exact decimal text as the store keeps it.
enum Decimals {
    static func parse(_ text: String?) -> Decimal { text.flatMap(ExactDecimal.parse) ?? 0 }
    static func text(_ value: Decimal) -> String { ExactDecimal.format(value) }
}

extension AnalyticsProjection {
    /// One ERP order event. What an order's own earlier events contradict (a second completion, an
    /// event after its cancellation) is refused and dead-lettered with the reason. Without
    /// `keepingSums` (a bulk load), the monthly and daily sums are left to `recomputeSums`.
    func apply(_ event: ERPOrderEvent, eventId: String, keepingSums: Bool, _ db: Database) throws {
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
            if keepingSums {
                try addSale(customer: event.customerId, manager: event.managerId ?? existing?.managerId, day: day, amounts, sign: 1, db)
            }
        case .cancelled:
            // Failed before completion: the order was never a sale; its lines say what was lost.
            try write(
                event, state: .cancelled, amounts: amounts, eventId: eventId, db, placedOn: existing == nil ? day : nil, cancelledOn: day)
        case .reversed:
            // Cancelled after completion: the sale is reversed where it was counted.
            guard let existing, let completedOn = existing.completedOn else { return }
            try write(event, state: .reversed, amounts: existing.amounts, eventId: eventId, db, cancelledOn: day)
            if keepingSums {
                try addSale(customer: existing.customerId, manager: existing.managerId, day: completedOn, existing.amounts, sign: -1, db)
            }
        }
        // The customer is a known client, and its latest order's manager is noted, in one statement.
        let client = try RawStatement(
            db,
            sql: """
                INSERT INTO client(id, mentioned, order_manager_id) VALUES (?1, 1, ?2)
                ON CONFLICT(id) DO UPDATE SET mentioned = 1, order_manager_id = COALESCE(?2, order_manager_id)
                """)
        client.bind(1, event.customerId)
        client.bind(2, event.managerId)
        try client.execute()
    }

    private func write(
        _ event: ERPOrderEvent, state: StoredOrder.State, amounts: OrderAmounts, eventId: String, _ db: Database,
        placedOn: Int? = nil, completedOn: Int? = nil, cancelledOn: Int? = nil
    ) throws {
        // Columns an event does not speak to keep what earlier events set (COALESCE with the stored value).
        let upsert = try RawStatement(
            db,
            sql: """
                INSERT INTO erp_order(id, customer_id, manager_id, deal_id, currency, state, placed_on, completed_on, cancelled_on,
                    reason, revenue, cost, last_event_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                ON CONFLICT(id) DO UPDATE SET customer_id = ?2, manager_id = COALESCE(?3, manager_id),
                    deal_id = COALESCE(?4, deal_id), currency = COALESCE(?5, currency), state = ?6,
                    placed_on = COALESCE(?7, placed_on), completed_on = COALESCE(?8, completed_on),
                    cancelled_on = COALESCE(?9, cancelled_on), reason = COALESCE(?10, reason), revenue = ?11, cost = ?12,
                    last_event_id = ?13
                """)
        upsert.bind(1, event.orderId)
        upsert.bind(2, event.customerId)
        upsert.bind(3, event.managerId)
        upsert.bind(4, event.dealId)
        upsert.bind(5, event.currency)
        upsert.bind(6, state.rawValue)
        upsert.bind(7, placedOn)
        upsert.bind(8, completedOn)
        upsert.bind(9, cancelledOn)
        upsert.bind(10, event.type == .cancelled ? event.reason : nil)
        upsert.bind(11, Decimals.text(amounts.revenue))
        upsert.bind(12, Decimals.text(amounts.cost))
        upsert.bind(13, eventId)
        try upsert.execute()
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

    /// The monthly and daily sums from the orders as they stand: what `addSale` keeps event by
    /// event, since a completed order is a sale of its customer's month and its manager's day and
    /// no other state counts (a reversal takes back exactly what the completion added). A bulk load
    /// computes them once at its end instead of reading and rewriting two rows per sale.
    static func recomputeSums(_ db: Database) throws {
        struct Sum {
            var revenue: Decimal = 0
            var grossProfit: Decimal = 0
            var count = 0
            mutating func add(_ amounts: OrderAmounts) {
                revenue += amounts.revenue
                grossProfit += amounts.grossProfit
                count += 1
            }
        }
        struct Key: Hashable, Comparable {
            var id: String
            var period: Int
            static func < (a: Key, b: Key) -> Bool { (a.id, a.period) < (b.id, b.period) }
        }
        var months: [Key: Sum] = [:]
        var days: [Key: Sum] = [:]
        let sales = try RawStatement(
            db, sql: "SELECT customer_id, manager_id, completed_on, revenue, cost FROM erp_order WHERE state = 'completed'")
        try sales.forEachRow { row in
            guard let customer = row.text(0), !row.isNull(2) else { return }
            let day = Int(row.int64(2))
            let amounts = OrderAmounts(revenue: Decimals.parse(row.text(3)), cost: Decimals.parse(row.text(4)))
            months[Key(id: customer, period: PeriodKind.month.index(ofDay: day)), default: Sum()].add(amounts)
            if let manager = row.text(1) { days[Key(id: manager, period: day), default: Sum()].add(amounts) }
        }
        for (table, keyColumn, periodColumn, countColumn, sums) in [
            ("client_month", "client_id", "month", "sales", months), ("manager_day", "manager_id", "day", "orders", days),
        ] {
            try db.execute(sql: "DELETE FROM \(table)")
            let insert = try RawStatement(
                db, sql: "INSERT INTO \(table)(\(keyColumn), \(periodColumn), revenue, gross_profit, \(countColumn)) VALUES (?, ?, ?, ?, ?)"
            )
            for (key, sum) in sums.sorted(by: { $0.key < $1.key }) {
                insert.bind(1, key.id)
                insert.bind(2, Int64(key.period))
                insert.bind(3, Decimals.text(sum.revenue))
                insert.bind(4, Decimals.text(sum.grossProfit))
                insert.bind(5, Int64(sum.count))
                try insert.execute()
            }
        }
    }
}
