import EventStore
import Foundation
import GRDB
import WireFormat
import WireSchema

/// An order's revenue and cost as the store keeps them: exact decimal text. Made when an event is
/// decoded, so that a replay's writer thread neither sums lines nor formats decimals.
public struct StoredAmounts: Sendable, Equatable {
    var revenue: String
    var cost: String

    init(_ amounts: OrderAmounts) {
        revenue = Decimals.text(amounts.revenue)
        cost = Decimals.text(amounts.cost)
    }

    init(revenue: String, cost: String) {
        self.revenue = revenue
        self.cost = cost
    }

    static let zero = StoredAmounts(OrderAmounts())
    var exact: OrderAmounts { OrderAmounts(revenue: Decimals.parse(revenue), cost: Decimals.parse(cost)) }
}

/// An order as the store keeps it: one row of `erp_order`.
struct StoredOrder {
    typealias State = ERPOrderState
    var customerId: String
    var managerId: String?
    var dealId: String?
    var currency: String?
    var state: State
    var placedOn: Int?
    var completedOn: Int?
    var cancelledOn: Int?
    var reason: String?
    var amounts: StoredAmounts
    var lastEventId: String
    /// The latest event by the ERP's time (the later of equal times) that named a manager, among
    /// the order's events since it was last placed for another customer: its customer's order
    /// manager is that of the latest such note among its orders.
    var managerNote: BatchWrites.ManagerNote?

    /// The order as `event` leaves it, in `state` with `amounts`: what the event does not speak to
    /// keeps what earlier events set.
    init(
        _ event: ERPOrderEvent, after existing: StoredOrder?, state: State, amounts: StoredAmounts, eventId: String,
        placedOn: Int? = nil, completedOn: Int? = nil, cancelledOn: Int? = nil
    ) {
        customerId = event.customerId
        managerId = event.managerId ?? existing?.managerId
        dealId = event.dealId ?? existing?.dealId
        currency = event.currency ?? existing?.currency
        self.state = state
        self.placedOn = placedOn ?? existing?.placedOn
        self.completedOn = completedOn ?? existing?.completedOn
        self.cancelledOn = cancelledOn ?? existing?.cancelledOn
        reason = (event.type == .cancelled ? event.reason : nil) ?? existing?.reason
        self.amounts = amounts
        lastEventId = eventId
        let earlier = existing?.customerId == event.customerId ? existing?.managerNote : nil
        if let note = BatchWrites.ManagerNote(naming: event), earlier.map({ note.isAtLeastAsLate(as: $0) }) ?? true {
            managerNote = note
        } else {
            managerNote = earlier
        }
    }

    private init(_ row: RawRow, id: String) {
        func day(_ column: Int32) -> Int? { row.isNull(column) ? nil : Int(row.int64(column)) }
        customerId = row.text(0) ?? ""
        managerId = row.text(1)
        dealId = row.text(2)
        currency = row.text(3)
        state = row.text(4).flatMap(State.init(rawValue:)) ?? .placed
        placedOn = day(5)
        completedOn = day(6)
        cancelledOn = day(7)
        reason = row.text(8)
        amounts = StoredAmounts(revenue: row.text(9) ?? "0", cost: row.text(10) ?? "0")
        lastEventId = row.text(11) ?? ""
        managerNote = row.text(12).map {
            BatchWrites.ManagerNote(managerId: $0, atMilliseconds: Int(row.int64(13)), orderId: id)
        }
    }

    static func fetch(_ db: Database, id: String) throws -> StoredOrder? {
        // Read for every ERP event whose order this batch has not written (a replay's hot path):
        // with the C API, not GRDB's `Row`.
        let select = try RawStatement(
            db,
            sql: """
                SELECT customer_id, manager_id, deal_id, currency, state, placed_on, completed_on, cancelled_on, reason,
                    revenue, cost, last_event_id, noted_manager_id, noted_manager_at
                FROM erp_order WHERE id = ?
                """)
        select.bind(1, id)
        var order: StoredOrder?
        try select.forEachRow { row in order = StoredOrder(row, id: id) }
        return order
    }

    static let upsertSQL = """
        INSERT INTO erp_order(id, customer_id, manager_id, deal_id, currency, state, placed_on, completed_on, cancelled_on,
            reason, revenue, cost, last_event_id, noted_manager_id, noted_manager_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
        ON CONFLICT(id) DO UPDATE SET customer_id = ?2, manager_id = ?3, deal_id = ?4, currency = ?5, state = ?6,
            placed_on = ?7, completed_on = ?8, cancelled_on = ?9, reason = ?10, revenue = ?11, cost = ?12, last_event_id = ?13,
            noted_manager_id = ?14, noted_manager_at = ?15
        """

    /// Writes the whole row with `upsertSQL`.
    func write(id: String, _ upsert: RawStatement) throws {
        upsert.bind(1, id)
        upsert.bind(2, customerId)
        upsert.bind(3, managerId)
        upsert.bind(4, dealId)
        upsert.bind(5, currency)
        upsert.bind(6, state.rawValue)
        upsert.bind(7, placedOn)
        upsert.bind(8, completedOn)
        upsert.bind(9, cancelledOn)
        upsert.bind(10, reason)
        upsert.bind(11, amounts.revenue)
        upsert.bind(12, amounts.cost)
        upsert.bind(13, lastEventId)
        upsert.bind(14, managerNote?.managerId)
        upsert.bind(15, managerNote?.atMilliseconds)
        try upsert.execute()
    }
}

/// Exact decimal text as the store keeps it.
enum Decimals {
    static func parse(_ text: String?) -> Decimal { text.flatMap(ExactDecimal.parse) ?? 0 }
    static func text(_ value: Decimal) -> String { ExactDecimal.format(value) }
}

extension AnalyticsProjection {
    /// One ERP order event, with its lines' amounts if it has lines. What an order's own earlier
    /// events contradict (a second completion, an event after its cancellation) is refused and
    /// dead-lettered with the reason. A bulk load leaves the monthly and daily sums and the clients
    /// the orders name to its end (`computeSums`, `writeOrderClients`).
    func apply(_ event: ERPOrderEvent, amounts eventAmounts: StoredAmounts?, eventId: String, bulkLoading: Bool, _ db: Database) throws {
        let day = CalendarDate(utc: event.occurredAt).dayNumber
        let existing = try batchWrites.order(event.orderId) ?? StoredOrder.fetch(db, id: event.orderId)
        let amounts = eventAmounts ?? existing?.amounts ?? .zero
        let state: ERPOrderState
        switch ERPOrderState.after(event, from: existing?.state, customerId: existing?.customerId) {
        case .success(let next): state = next
        case .failure(let contradiction): throw ProjectionRejection(contradiction.description)
        }
        let order: StoredOrder
        switch state {
        case .placed:
            order = StoredOrder(event, after: existing, state: .placed, amounts: amounts, eventId: eventId, placedOn: day)
        case .completed:
            order = StoredOrder(
                event, after: existing, state: .completed, amounts: amounts, eventId: eventId, placedOn: existing == nil ? day : nil,
                completedOn: day)
            if !bulkLoading { try addSale(customer: event.customerId, manager: order.managerId, day: day, amounts.exact, sign: 1, db) }
        case .cancelled:
            // Failed before completion: the order was never a sale; its lines say what was lost.
            order = StoredOrder(
                event, after: existing, state: .cancelled, amounts: amounts, eventId: eventId, placedOn: existing == nil ? day : nil,
                cancelledOn: day)
        case .reversed:
            // Cancelled after completion: the sale is reversed where it was counted.
            guard let existing, let completedOn = existing.completedOn else { return }
            order = StoredOrder(event, after: existing, state: .reversed, amounts: existing.amounts, eventId: eventId, cancelledOn: day)
            if !bulkLoading {
                try addSale(
                    customer: existing.customerId, manager: existing.managerId, day: completedOn, existing.amounts.exact, sign: -1, db)
            }
        }
        // Last, once every write of the event has succeeded: the order is written at the batch's end,
        // and the customer is a known client, with the event's manager a candidate for its order
        // manager, written once per batch (`BatchWrites.writeClients`). A bulk load leaves that to
        // its end, from the orders' notes (`writeOrderClients`), except for a customer an order
        // was placed for before it was placed for another: its note goes now.
        if !bulkLoading {
            batchWrites.named(event.customerId, BatchWrites.ManagerNote(naming: event))
        } else if let existing, existing.customerId != event.customerId {
            batchWrites.named(existing.customerId, existing.managerNote)
        }
        batchWrites.wrote(order, id: event.orderId)
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
    /// computes them once at its end, on a connection of its own while the writer builds the
    /// deferred indexes (so without them), instead of reading and rewriting two rows per sale.
    static func computeSums(_ db: Database) throws -> SalesSums {
        // Summed in integers (`ExactSum`): `Decimal` arithmetic was most of this pass.
        struct Sum {
            var revenue = ExactSum()
            var cost = ExactSum()
            var count = 0
            mutating func add(_ row: RawRow, revenue revenueColumn: Int32, cost costColumn: Int32) {
                if let text = row.utf8(revenueColumn) { revenue.add(text) }
                if let text = row.utf8(costColumn) { cost.add(text) }
                count += 1
            }
            func row(key: String, period: Int) -> SalesSums.Row {
                SalesSums.Row(key: key, period: period, revenue: revenue.text, grossProfit: revenue.minus(cost).text, count: count)
            }
        }
        var sums = SalesSums()
        // Sales sorted by customer and day, so each customer's month is complete when the next starts.
        var month: (customer: String, index: Int, sum: Sum)?
        var days: [TextKey: [Int: Sum]] = [:]
        var managers = TextKeys()
        let sales = try RawStatement(
            db,
            sql: """
                SELECT customer_id, completed_on, manager_id, revenue, cost FROM erp_order
                WHERE state = 'completed' AND completed_on IS NOT NULL ORDER BY customer_id, completed_on
                """)
        try sales.forEachRow { row in
            guard let customer = row.utf8(0) else { return }
            let day = Int(row.int64(1))
            let index = PeriodKind.month.index(ofDay: day)
            if let current = month, current.index == index, current.customer.utf8.elementsEqual(customer) {
                month!.sum.add(row, revenue: 3, cost: 4)
            } else {
                if let current = month { sums.clientMonths.append(current.sum.row(key: current.customer, period: current.index)) }
                var sum = Sum()
                sum.add(row, revenue: 3, cost: 4)
                month = (String(decoding: customer, as: UTF8.self), index, sum)
            }
            if let manager = row.utf8(2) { days[managers.key(manager), default: [:]][day, default: Sum()].add(row, revenue: 3, cost: 4) }
        }
        if let current = month { sums.clientMonths.append(current.sum.row(key: current.customer, period: current.index)) }
        for (manager, managerSums) in days {
            let id = managers.text(manager)
            for (day, sum) in managerSums { sums.managerDays.append(sum.row(key: id, period: day)) }
        }
        // In key order, so that the writer appends to each table's primary key.
        sums.managerDays.sort { ($0.key, $0.period) < ($1.key, $1.period) }
        return sums
    }
}

extension AnalyticsProjection {
    /// The clients the orders name, each with the latest manager note among its orders: what
    /// `BatchWrites.writeClients` keeps batch by batch, worked out once at the end of a bulk load.
    /// Run by the writer before the deferred indexes are rebuilt, so that no index of `client` is
    /// kept up to date row by row (0.2 s for 50,000 clients, against 0.05 s).
    static func writeOrderClients(_ db: Database) throws {
        // Ids as `TextKey`s while scanning: a `String` per order was most of this pass.
        struct Note {
            var manager: TextKey
            var at: Int
            var order: TextKey
        }
        var customers = TextKeys()
        var ids = TextKeys()
        var notes: [TextKey: Note?] = [:]
        // In id order, so that of equal times the later order's note wins, as `isAtLeastAsLate` says.
        let orders = try RawStatement(
            db, sql: "SELECT customer_id, id, noted_manager_id, noted_manager_at FROM erp_order ORDER BY id")
        try orders.forEachRow { row in
            guard let customer = row.utf8(0), let order = row.utf8(1) else { return }
            let key = customers.key(customer)
            guard let manager = row.utf8(2) else {
                if notes[key] == nil { notes[key] = .some(nil) }
                return
            }
            let at = Int(row.int64(3))
            if let seen = notes[key], let current = seen, at < current.at { return }
            notes[key] = Note(manager: ids.key(manager), at: at, order: ids.key(order))
        }
        let clients = notes.map { customer, note in
            BatchWrites.NamedClient(
                id: customers.text(customer),
                note: note.map {
                    BatchWrites.ManagerNote(managerId: ids.text($0.manager), atMilliseconds: $0.at, orderId: ids.text($0.order))
                })
        }
        try BatchWrites.write(clients.sorted { $0.id < $1.id }, db)
    }
}

/// Sales summed per customer and month and per manager and day, with their amounts as the store
/// writes them: worked out off the writer (`computeSums`), written by it.
public struct SalesSums: Sendable {
    struct Row: Sendable {
        var key: String
        var period: Int
        var revenue: String
        var grossProfit: String
        var count: Int
    }
    var clientMonths: [Row] = []
    var managerDays: [Row] = []

    /// Replaces the sums in the store.
    func write(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM client_month; DELETE FROM manager_day")
        try Self.insert(
            clientMonths, sql: "INSERT INTO client_month(client_id, month, revenue, gross_profit, sales) VALUES (?, ?, ?, ?, ?)", db)
        try Self.insert(
            managerDays, sql: "INSERT INTO manager_day(manager_id, day, revenue, gross_profit, orders) VALUES (?, ?, ?, ?, ?)", db)
    }

    private static func insert(_ rows: [Row], sql: String, _ db: Database) throws {
        let insert = try RawStatement(db, sql: sql)
        for row in rows {
            insert.bind(1, row.key)
            insert.bind(2, Int64(row.period))
            insert.bind(3, row.revenue)
            insert.bind(4, row.grossProfit)
            insert.bind(5, Int64(row.count))
            try insert.execute()
        }
    }
}
