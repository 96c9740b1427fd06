import Foundation
import GRDB
import Synchronization
import WireFormat
import WireSchema

/// What a purchase order's receipts made of it (`domain.md`, Suppliers): receipts are taken in the
/// order they happened; an order (or line) is complete once the accepted quantity (received −
/// rejected) reached the ordered one; its delivery date is the date of the receipt that completed
/// it, or, never completed, of its last receipt; without receipts it has none.
struct OrderOutcome: Equatable {
    struct Line: Equatable {
        var sku: String
        var ordered: Decimal
        var received: Decimal = 0
        var rejected: Decimal = 0
        var deliveryDate: CalendarDate?
        var accepted: Decimal { received - rejected }
        var inFull: Bool { accepted >= ordered }
    }

    struct Receipt {
        var date: CalendarDate
        /// (sku, received, rejected)
        var lines: [(String, Decimal, Decimal)]
    }

    var lines: [Line]
    var deliveryDate: CalendarDate?
    var lastReceiptDate: CalendarDate?
    var inFull: Bool { !lines.isEmpty && lines.allSatisfy(\.inFull) }

    /// `ordered`: each SKU once (the ordered quantities of repeated SKUs added up), in order.
    init(ordered: [(String, Decimal)], receipts: [Receipt]) {
        lines = ordered.map { Line(sku: $0.0, ordered: $0.1) }
        let index = Dictionary(lines.indices.map { (lines[$0].sku, $0) }, uniquingKeysWith: { first, _ in first })
        var completedOn: CalendarDate?
        for receipt in receipts {
            for (sku, received, rejected) in receipt.lines {
                guard let at = index[sku] else { continue }  // goods not on the order count for nothing
                let wasInFull = lines[at].inFull
                lines[at].received += received
                lines[at].rejected += rejected
                // A complete line keeps the date it was completed on (unless a rejection undoes it).
                if !wasInFull || !lines[at].inFull { lines[at].deliveryDate = receipt.date }
            }
            lastReceiptDate = receipt.date
            if !inFull {
                completedOn = nil
            } else if completedOn == nil {
                completedOn = receipt.date
            }
        }
        deliveryDate = completedOn ?? lastReceiptDate
    }
}

/// An order's part in a supplier's figures: whether it is due and how it went.
struct OrderContribution: Equatable {
    var month: String
    var onTime: Bool
    var inFull: Bool
    /// Days from order to delivery, and from the promised date to delivery (nil: nothing delivered).
    var leadDays: Int?
    var latenessDays: Int?

    /// Due: placed, not cancelled, with a promised date.
    init?(orderDate: CalendarDate?, promisedDate: CalendarDate?, deliveryDate: CalendarDate?, inFull: Bool, dueCounts: Bool) {
        guard dueCounts, let orderDate, let promisedDate else { return nil }
        month = String(promisedDate.description.prefix(7))
        onTime = deliveryDate.map { $0 <= promisedDate } ?? false
        self.inFull = inFull
        leadDays = deliveryDate.map { $0.dayNumber - orderDate.dayNumber }
        latenessDays = deliveryDate.map { $0.dayNumber - promisedDate.dayNumber }
    }
}

/// The sums a supplier's reliability is worked out from: exact integers, so figures over any set of
/// orders add up exactly (a window of months is the sum of its months).
struct ReliabilitySums: Equatable, Sendable {
    var ordersDue = 0
    var onTime = 0
    var inFull = 0
    var otif = 0
    var delivered = 0
    var leadSum = 0
    var leadSquareSum = 0
    var latenessSum = 0

    mutating func add(_ order: OrderContribution, sign: Int = 1) {
        ordersDue += sign
        if order.onTime { onTime += sign }
        if order.inFull { inFull += sign }
        if order.onTime && order.inFull { otif += sign }
        if let lead = order.leadDays, let lateness = order.latenessDays {
            delivered += sign
            leadSum += sign * lead
            leadSquareSum += sign * lead * lead
            latenessSum += sign * lateness
        }
    }

    /// Score points × orders due: 50 % OTIF + 25 % on time + 25 % in full, kept whole so the
    /// standing's thresholds compare exactly.
    private var scoreTimesOrders: Int { 50 * otif + 25 * onTime + 25 * inFull }

    var standing: SupplierStandingLevel? {
        guard ordersDue > 0 else { return nil }
        let points = scoreTimesOrders
        return points < 30 * ordersDue ? .veryPoor : points < 50 * ordersDue ? .poor : points < 80 * ordersDue ? .average : .excellent
    }

    var figures: ReliabilityFigures {
        func percent(_ count: Int) -> Decimal? { ordersDue == 0 ? nil : hundredths(100 * count, ordersDue) }
        func mean(_ sum: Int) -> Decimal? { delivered == 0 ? nil : hundredths(sum, delivered) }
        var deviation: Decimal?
        if delivered > 0 {
            // Population variance (n·Σx² − (Σx)²) / n², exact in integers; only the root is not.
            let n = Double(delivered)
            let variance = max(0, (n * Double(leadSquareSum) - Double(leadSum) * Double(leadSum)) / (n * n))
            deviation = hundredths(variance.squareRoot())
        }
        let standing = self.standing
        return ReliabilityFigures(
            ordersDue: ordersDue, ordersOnTime: onTime, ordersInFull: inFull, ordersOTIF: otif, ordersDelivered: delivered,
            onTimeRate: percent(onTime), inFullRate: percent(inFull), otifRate: percent(otif), meanLeadTimeDays: mean(leadSum),
            leadTimeStdDevDays: deviation, meanLatenessDays: mean(latenessSum),
            score: ordersDue == 0 ? nil : hundredths(scoreTimesOrders, ordersDue), standing: standing,
            blocked: standing?.blocksPurchaseOrders ?? false)
    }

    /// The mean lead time in days and the score, for a list of offers (no other figure).
    var leadTimeAndScore: (meanLeadTimeDays: Decimal?, score: Decimal?) {
        (delivered == 0 ? nil : hundredths(leadSum, delivered), ordersDue == 0 ? nil : hundredths(scoreTimesOrders, ordersDue))
    }
}

/// A figure worked out in floating point (a root, a weighted price), rounded half away from zero
/// to hundredths.
func hundredths(_ value: Double) -> Decimal {
    let magnitude = Int((abs(value) * 100).rounded())
    return Decimal(sign: value < 0 && magnitude != 0 ? .minus : .plus, exponent: -2, significand: Decimal(magnitude))
}

/// numerator / denominator rounded half away from zero to hundredths, in integers (Foundation's
/// `Decimal` division cost a list of a thousand offers a fifth of its time).
func hundredths(_ numerator: Int, _ denominator: Int) -> Decimal {
    let magnitude = (2 * 100 * abs(numerator) + abs(denominator)) / (2 * abs(denominator))
    let negative = (numerator < 0) != (denominator < 0) && magnitude != 0
    return Decimal(sign: negative ? .minus : .plus, exponent: -2, significand: Decimal(magnitude))
}

/// A supplier's (or one item's) reliability as the API answers it: rates and score in percent,
/// days as decimals, each rounded to hundredths; counts besides.
struct ReliabilityFigures: Encodable, Equatable, Sendable {
    var ordersDue: Int
    var ordersOnTime: Int
    var ordersInFull: Int
    var ordersOTIF: Int
    var ordersDelivered: Int
    var onTimeRate: Decimal?
    var inFullRate: Decimal?
    var otifRate: Decimal?
    var meanLeadTimeDays: Decimal?
    var leadTimeStdDevDays: Decimal?
    var meanLatenessDays: Decimal?
    var score: Decimal?
    var standing: SupplierStandingLevel?
    var blocked: Bool

    enum CodingKeys: String, CodingKey {
        case ordersDue, ordersOnTime, ordersInFull, ordersOTIF = "ordersOtif", ordersDelivered, onTimeRate, inFullRate, otifRate
        case meanLeadTimeDays, leadTimeStdDevDays, meanLatenessDays, score, standing, blocked
    }

    func encode(to encoder: any Encoder) throws {
        // Absent figures are null, not missing: a report has the same columns for every supplier.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ordersDue, forKey: .ordersDue)
        try container.encode(ordersOnTime, forKey: .ordersOnTime)
        try container.encode(ordersInFull, forKey: .ordersInFull)
        try container.encode(ordersOTIF, forKey: .ordersOTIF)
        try container.encode(ordersDelivered, forKey: .ordersDelivered)
        try container.encode(onTimeRate, forKey: .onTimeRate)
        try container.encode(inFullRate, forKey: .inFullRate)
        try container.encode(otifRate, forKey: .otifRate)
        try container.encode(meanLeadTimeDays, forKey: .meanLeadTimeDays)
        try container.encode(leadTimeStdDevDays, forKey: .leadTimeStdDevDays)
        try container.encode(meanLatenessDays, forKey: .meanLatenessDays)
        try container.encode(score, forKey: .score)
        try container.encode(standing, forKey: .standing)
        try container.encode(blocked, forKey: .blocked)
    }
}

/// A window of promised dates, both ends inclusive.
struct ReliabilityWindow: Sendable, Equatable {
    var from: CalendarDate
    var to: CalendarDate

    /// The 12 complete months before `today`'s month.
    static func standard(today: CalendarDate) -> ReliabilityWindow {
        let firstOfMonth = CalendarDate(uncheckedYear: today.year, month: today.month, day: 1)
        let months = today.year * 12 + (today.month - 1) - 12
        return ReliabilityWindow(
            from: CalendarDate(uncheckedYear: months / 12, month: months % 12 + 1, day: 1),
            to: CalendarDate(dayNumber: firstOfMonth.dayNumber - 1))
    }

    /// The months it covers as `YYYY-MM`, when it is whole months (the default window is).
    var months: (first: String, last: String) { (String(from.description.prefix(7)), String(to.description.prefix(7))) }
}

/// Every supplier's sums over the default window, as the standing work last worked them out (at
/// most its interval behind the store): what a list of offers reads instead of adding up twelve
/// months for each of a thousand suppliers.
public final class WindowSums: Sendable {
    private let state = Mutex<(window: ReliabilityWindow?, sums: [String: ReliabilitySums])>((nil, [:]))

    public init() {}

    /// Every supplier's sums (those absent have no order due).
    func replaceAll(window: ReliabilityWindow, _ sums: [String: ReliabilitySums]) {
        state.withLock { $0 = (window, sums) }
    }

    /// Some suppliers' sums, worked out again.
    func update(window: ReliabilityWindow, ids: [String], _ sums: [String: ReliabilitySums]) {
        state.withLock { state in
            guard state.window == window else { return }
            for id in ids { state.sums[id] = sums[id] }
        }
    }

    /// The sums of `ids` over `window`, in their order (empty for a supplier with no order due), or
    /// nil when that window's sums are not worked out yet.
    func sums(window: ReliabilityWindow, ids: [String]) -> [ReliabilitySums]? {
        state.withLock { state in
            guard state.window == window else { return nil }
            return ids.map { state.sums[$0] ?? ReliabilitySums() }
        }
    }
}

/// Reliability read from the store.
enum ReliabilityQueries {
    private static let dueOrders = "placed = 1 AND state <> 'cancelled' AND promised_date BETWEEN ? AND ?"

    /// Every supplier's sums over the window (suppliers with no order due are absent).
    static func bySupplier(_ db: Database, window: ReliabilityWindow, supplierId: String? = nil) throws -> [String: ReliabilitySums] {
        var sums: [String: ReliabilitySums] = [:]
        let filter = supplierId == nil ? "" : "supplier_id = ? AND "
        var arguments: StatementArguments = supplierId.map { [$0] } ?? []
        arguments += [window.from.description, window.to.description]
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT supplier_id, order_date, promised_date, delivery_date, in_full FROM purchase_order
                    WHERE \(filter)\(dueOrders)
                    """), arguments: arguments)
        while let row = try rows.next() {
            guard let order = contribution(row, from: 1) else { continue }
            sums[row[0], default: ReliabilitySums()].add(order)
        }
        return sums
    }

    /// One supplier's sums per item over the window: each due order's line of that item counts, with
    /// the line's own delivery date and completeness.
    static func byItem(_ db: Database, supplierId: String, window: ReliabilityWindow) throws -> [String: ReliabilitySums] {
        var sums: [String: ReliabilitySums] = [:]
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT l.sku, o.order_date, o.promised_date, l.delivery_date, l.in_full
                    FROM purchase_order o JOIN purchase_line l ON l.order_id = o.id
                    WHERE o.supplier_id = ? AND o.placed = 1 AND o.state <> 'cancelled' AND o.promised_date BETWEEN ? AND ?
                    """), arguments: [supplierId, window.from.description, window.to.description])
        while let row = try rows.next() {
            guard let line = contribution(row, from: 1) else { continue }
            sums[row[0], default: ReliabilitySums()].add(line)
        }
        return sums
    }

    /// Sums over the default window from the monthly totals (what the standing and offers use).
    static func standardSums(_ db: Database, supplierIds: [String]? = nil, window: ReliabilityWindow) throws -> [String: ReliabilitySums] {
        let (first, last) = window.months
        var sums: [String: ReliabilitySums] = [:]
        let select = """
            SELECT supplier_id, SUM(orders_due), SUM(on_time), SUM(in_full), SUM(otif), SUM(delivered), SUM(lead_sum),
                SUM(lead_square_sum), SUM(lateness_sum) FROM supplier_month
            """
        func take(_ row: Row) {
            sums[row[0]] = ReliabilitySums(
                ordersDue: row[1], onTime: row[2], inFull: row[3], otif: row[4], delivered: row[5], leadSum: row[6],
                leadSquareSum: row[7], latenessSum: row[8])
        }
        if let supplierIds {
            let statement = try db.cachedStatement(sql: select + " WHERE supplier_id = ? AND month BETWEEN ? AND ? GROUP BY supplier_id")
            for id in supplierIds {
                if let row = try Row.fetchOne(statement, arguments: [id, first, last]), (row[1] as Int?) ?? 0 > 0 { take(row) }
            }
        } else {
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: select + " WHERE month BETWEEN ? AND ? GROUP BY supplier_id HAVING SUM(orders_due) > 0"),
                arguments: [first, last])
            while let row = try rows.next() { take(row) }
        }
        return sums
    }

    /// The contribution of a row of (…, order date, promised date, delivery date, in full) starting at `from`.
    static func contribution(_ row: Row, from start: Int) -> OrderContribution? {
        OrderContribution(
            orderDate: (row[start] as String?).flatMap(CalendarDate.init),
            promisedDate: (row[start + 1] as String?).flatMap(CalendarDate.init),
            deliveryDate: (row[start + 2] as String?).flatMap(CalendarDate.init), inFull: row[start + 3], dueCounts: true)
    }
}
