import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat

/// `/orders/failures` and `/orders/volume`: why orders fail, beside the volume of closed orders.
struct OrdersController {
    let context: AnalyticsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/orders/failures", use: failures)
        group.get("/orders/volume", use: volume)
    }

    struct Reason: Encodable {
        let reason: String
        let count: Int
        @NullEncoded var share: Double?
        let lostRevenue: Amount
    }

    struct Closed: Encodable {
        let count: Int
        let revenue: Amount
        let grossProfit: Amount
    }

    struct Failures: Encodable {
        let period: ReportPeriod
        let reasons: [Reason]
        let failedOrders: Int
        let lostRevenue: Amount
        let closedOrders: Closed
        /// Sales reversed by a cancellation after completion, by the day of the cancellation.
        let reversedOrders: Int
        @NullEncoded var completionRate: Double?
    }

    @Sendable func failures(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let period = try ReportPeriod(request)
        let report = try await self.context.read { db -> Failures in
            var reasons: [String: (count: Int, lost: Decimal)] = [:]
            var failed = 0
            var lost: Decimal = 0
            let rows = try Row.fetchCursor(
                db, sql: "SELECT reason, revenue FROM erp_order WHERE state = 'cancelled' AND cancelled_on BETWEEN ? AND ?",
                arguments: [period.firstDay, period.lastDay])
            while let row = try rows.next() {
                let reason = (row[0] as String?).flatMap { $0.isEmpty ? nil : $0 } ?? "(no reason given)"
                let revenue = Decimals.parse(row[1])
                reasons[reason, default: (0, 0)].count += 1
                reasons[reason, default: (0, 0)].lost += revenue
                failed += 1
                lost += revenue
            }
            let closed = try OrderTotals.sales(db, firstDay: period.firstDay, lastDay: period.lastDay)
            let reversed =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM erp_order WHERE state = 'reversed' AND cancelled_on BETWEEN ? AND ?",
                    arguments: [period.firstDay, period.lastDay]) ?? 0
            let items = reasons.map { reason, value in
                Reason(
                    reason: reason, count: value.count, share: percentage(Decimal(value.count), of: Decimal(failed)),
                    lostRevenue: Amount(value.lost))
            }.sorted { ($0.count, $1.reason) > ($1.count, $0.reason) }
            return Failures(
                period: period, reasons: items, failedOrders: failed, lostRevenue: Amount(lost),
                closedOrders: Closed(count: closed.count, revenue: Amount(closed.revenue), grossProfit: Amount(closed.grossProfit)),
                reversedOrders: reversed,
                completionRate: percentage(Decimal(closed.count), of: Decimal(closed.count + failed)))
        }
        return try jsonResponse(report)
    }

    struct VolumeRow: Encodable {
        let period: String
        let from: CalendarDate
        let to: CalendarDate
        let completedOrders: Int
        let revenue: Amount
        let grossProfit: Amount
        let failedOrders: Int
    }

    @Sendable func volume(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let period = try ReportPeriod(request)
        let kindText = request.uri.queryParameters.get("periodKind") ?? "month"
        guard let kind = PeriodKind(rawValue: kindText) else { throw Problem.badRequest("periodKind must be month, quarter or week") }
        let first = kind.index(ofDay: period.firstDay)
        let last = kind.index(ofDay: period.lastDay)
        guard last - first < 5000 else { throw Problem.badRequest("too many periods; choose a longer periodKind or a shorter span") }
        let rows = try await self.context.read { db -> [VolumeRow] in
            var sales = [Int: (count: Int, revenue: Decimal, grossProfit: Decimal)]()
            var failed = [Int: Int]()
            let completed = try Row.fetchCursor(
                db, sql: "SELECT completed_on, revenue, cost FROM erp_order WHERE state = 'completed' AND completed_on BETWEEN ? AND ?",
                arguments: [period.firstDay, period.lastDay])
            while let row = try completed.next() {
                let index = kind.index(ofDay: row[0])
                let revenue = Decimals.parse(row[1])
                sales[index, default: (0, 0, 0)].count += 1
                sales[index, default: (0, 0, 0)].revenue += revenue
                sales[index, default: (0, 0, 0)].grossProfit += revenue - Decimals.parse(row[2])
            }
            let cancelled = try Row.fetchCursor(
                db, sql: "SELECT cancelled_on FROM erp_order WHERE state = 'cancelled' AND cancelled_on BETWEEN ? AND ?",
                arguments: [period.firstDay, period.lastDay])
            while let row = try cancelled.next() { failed[kind.index(ofDay: row[0]), default: 0] += 1 }
            return (first...last).map { index in
                let totals = sales[index] ?? (0, 0, 0)
                // The first and last periods are cut to the requested dates.
                return VolumeRow(
                    period: kind.label(ofPeriod: index),
                    from: CalendarDate(dayNumber: max(kind.firstDay(ofPeriod: index), period.firstDay)),
                    to: CalendarDate(dayNumber: min(kind.firstDay(ofPeriod: index + 1) - 1, period.lastDay)),
                    completedOrders: totals.count, revenue: Amount(totals.revenue), grossProfit: Amount(totals.grossProfit),
                    failedOrders: failed[index] ?? 0)
            }
        }
        struct Volume: Encodable {
            let period: ReportPeriod
            let periodKind: String
            let items: [VolumeRow]
        }
        return try jsonResponse(Volume(period: period, periodKind: kind.rawValue, items: rows))
    }
}

/// Sums over sales (orders completed and not reversed).
enum OrderTotals {
    static func sales(_ db: Database, firstDay: Int, lastDay: Int) throws -> (count: Int, revenue: Decimal, grossProfit: Decimal) {
        var count = 0
        var revenue: Decimal = 0
        var cost: Decimal = 0
        let rows = try Row.fetchCursor(
            db, sql: "SELECT revenue, cost FROM erp_order WHERE state = 'completed' AND completed_on BETWEEN ? AND ?",
            arguments: [firstDay, lastDay])
        while let row = try rows.next() {
            count += 1
            revenue += Decimals.parse(row[0])
            cost += Decimals.parse(row[1])
        }
        return (count, revenue, revenue - cost)
    }
}
