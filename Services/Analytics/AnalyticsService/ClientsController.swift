import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/clients/{id}/classification` (a client's classification over runs) and `/clients/at-risk`
/// (the churn early warning).
struct ClientsController {
    let context: AnalyticsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/clients/at-risk", use: atRisk)
        group.get("/clients/{clientId}/classification", use: classification)
    }

    struct HistoryEntry: Encodable {
        let runId: String
        let asOf: String
        let published: Bool
        let result: ClientResultItem
    }

    struct Published: Encodable {
        let runId: String
        let asOf: String
        @NullEncoded var abcClass: String?
        @NullEncoded var xyzClass: String?
        let status: String
    }

    struct Classification: Encodable {
        let clientId: String
        /// What `crm.segments.v1` holds for the client (the latest published classification).
        @NullEncoded var published: Published?
        /// The client's row in the newest run that classified it.
        @NullEncoded var latest: HistoryEntry?
        /// Newest first.
        let history: [HistoryEntry]
    }

    @Sendable func classification(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let clientId = try context.parameters.require("clientId")
        let limit = try pageLimit(request, default: 100, maximum: 1000)
        let answer = try await self.context.read { db -> Classification? in
            let published = try Row.fetchOne(
                db, sql: "SELECT run_id, as_of, abc_class, xyz_class, status FROM segment WHERE client_id = ?", arguments: [clientId]
            ).map { Published(runId: $0[0], asOf: $0[1], abcClass: $0[2], xyzClass: $0[3], status: $0[4]) }
            let history = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.run_id, run.as_of, run.published, r.record FROM classification_result r
                    JOIN classification_run run ON run.id = r.run_id
                    WHERE r.client_id = ? ORDER BY r.run_id DESC LIMIT ?
                    """, arguments: [clientId, limit]
            ).map { row in
                HistoryEntry(
                    runId: row[0], asOf: row[1], published: row[2],
                    result: ClientResultItem(try WireDecoder.decode(ClientRunResult.self, from: Array((row[3] as String).utf8))))
            }
            if published == nil && history.isEmpty { return nil }
            return Classification(clientId: clientId, published: published, latest: history.first, history: history)
        }
        guard let answer else { throw Problem.notFound("no classification of client '\(clientId)' yet") }
        return try jsonResponse(answer)
    }

    struct AtRiskClient: Encodable {
        let clientId: String
        @NullEncoded var managerId: String?
        let lastSaleOn: CalendarDate
        let daysSinceLastSale: Int
        let medianGapDays: Double
        let salesInWindow: Int
        /// The client's revenue over the window: what the relationship brought in and stands to lose.
        let revenueAtRisk: Amount
    }

    struct AtRisk: Encodable {
        let asOf: CalendarDate
        let factor: Amount
        let windowStart: CalendarDate
        let windowEnd: CalendarDate
        let items: [AtRiskClient]
        let revenueAtRisk: Amount
    }

    /// Regular clients (per the configured classification parameters) whose days since their last
    /// sale exceed `factor` × the median gap between their sales in the window, largest revenue first.
    @Sendable func atRisk(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let today = CalendarDate(utc: Date())
        var asOf = today
        if let text = query.get("asOf") {
            guard let date = CalendarDate(text) else { throw Problem.badRequest("asOf must be a date, YYYY-MM-DD (got '\(text)')") }
            asOf = date
        }
        var factor = self.context.settings.atRiskFactor
        if let text = query.get("factor") {
            do {
                factor = try ParameterParsing.factor(text)
            } catch {
                throw Problem.badRequest(error.detail)
            }
        }
        let parameters = self.context.settings.classification
        let (asOfDate, minimumFactor) = (asOf, factor)
        let window = AnalysisWindow(asOf: asOf, kind: parameters.periodKind, count: parameters.periods)
        let items = try await self.context.read { db -> [AtRiskClient] in
            let clients = try KnownClients(db)
            var sales: [String: [(day: Int, revenue: Decimal)]] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT customer_id, completed_on, revenue FROM erp_order WHERE state = 'completed' AND completed_on BETWEEN ? AND ?",
                arguments: [window.firstDay, asOfDate.dayNumber])
            while let row = try rows.next() {
                sales[clients.resolve(row[0]), default: []].append((row[1], Decimals.parse(row[2])))
            }
            var flagged: [AtRiskClient] = []
            for (clientId, clientSales) in sales {
                let inWindow = clientSales.filter { $0.day <= window.lastDay }.map(\.day).sorted()
                guard inWindow.count > parameters.oneTimeMax, inWindow.count >= 2 else { continue }
                let gaps = zip(inWindow.dropFirst(), inWindow).map { $0 - $1 }.sorted()
                let medianGap = max(1, median(gaps) ?? 1)
                let lastSale = clientSales.map(\.day).max()!
                let daysSince = asOfDate.dayNumber - lastSale
                guard Decimal(daysSince) > minimumFactor * Decimal(medianGap) else { continue }
                let revenue = clientSales.filter { $0.day <= window.lastDay }.reduce(Decimal(0)) { $0 + $1.revenue }
                flagged.append(
                    AtRiskClient(
                        clientId: clientId, managerId: clients.manager[clientId] ?? nil, lastSaleOn: CalendarDate(dayNumber: lastSale),
                        daysSinceLastSale: daysSince, medianGapDays: medianGap, salesInWindow: inWindow.count,
                        revenueAtRisk: Amount(revenue)))
            }
            return flagged.sorted {
                $0.revenueAtRisk.value != $1.revenueAtRisk.value
                    ? $0.revenueAtRisk.value > $1.revenueAtRisk.value : $0.clientId < $1.clientId
            }
        }
        return try jsonResponse(
            AtRisk(
                asOf: asOf, factor: Amount(factor), windowStart: window.start, windowEnd: window.end, items: items,
                revenueAtRisk: Amount(items.reduce(Decimal(0)) { $0 + $1.revenueAtRisk.value })))
    }
}
