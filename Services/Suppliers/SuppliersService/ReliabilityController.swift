import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// Reliability (`domain.md`, Suppliers) over the purchase orders due in a window, per supplier,
/// per item and as a ranking of every supplier; and the purchase orders themselves.
struct ReliabilityController {
    let context: SuppliersContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/suppliers/reliability", use: ranking)
        group.get("/suppliers/{id}/reliability", use: supplier)
        group.get("/suppliers/{id}/purchase-orders", use: purchaseOrders)
    }

    /// Figures over a window, for a supplier or one of its items.
    struct Report: Encodable, Sendable {
        let supplierId: String?
        let sku: String?
        let from: CalendarDate
        let to: CalendarDate
        let figures: ReliabilityFigures

        init(supplierId: String?, sku: String? = nil, window: ReliabilityWindow, sums: ReliabilitySums?) {
            self.supplierId = supplierId
            self.sku = sku
            from = window.from
            to = window.to
            figures = (sums ?? ReliabilitySums()).figures
        }

        enum CodingKeys: String, CodingKey { case supplierId, sku, from, to }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(supplierId, forKey: .supplierId)
            try container.encodeIfPresent(sku, forKey: .sku)
            try container.encode(from, forKey: .from)
            try container.encode(to, forKey: .to)
            try figures.encode(to: encoder)
        }
    }

    /// `from`/`to` (dates, both inclusive), by default the 12 complete months before today.
    private func window(_ request: Request) throws -> ReliabilityWindow {
        let query = request.uri.queryParameters
        let standard = ReliabilityWindow.standard(today: context.today)
        let window = ReliabilityWindow(
            from: try QueryValue.date(query.get("from"), "from") ?? standard.from,
            to: try QueryValue.date(query.get("to"), "to") ?? standard.to)
        if window.to < window.from { throw Problem.badRequest("to (\(window.to)) is before from (\(window.from))") }
        return window
    }

    struct ItemReports: Encodable, Sendable {
        let supplierId: String
        let from: CalendarDate
        let to: CalendarDate
        let items: [Report]
    }

    @Sendable func supplier(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let window = try window(request)
        switch request.uri.queryParameters.get("by") {
        case nil:
            let sums = try await self.context.read { db in
                _ = try SupplierName.require(db, id)
                return try ReliabilityQueries.bySupplier(db, window: window, supplierId: id)[id]
            }
            return try jsonResponse(Report(supplierId: id, window: window, sums: sums))
        case "sku":
            let sums = try await self.context.read { db in
                _ = try SupplierName.require(db, id)
                return try ReliabilityQueries.byItem(db, supplierId: id, window: window)
            }
            let items = sums.keys.sorted().map { Report(supplierId: nil, sku: $0, window: window, sums: sums[$0]) }
            if request.wantsCSV {
                return try CSVFormat(request).response(
                    header: ["sku"] + Self.figureColumns, rows: items.map { [$0.sku ?? ""] + Self.fields($0.figures) },
                    filename: "reliability-\(id)-by-sku.csv")
            }
            return try jsonResponse(ItemReports(supplierId: id, from: window.from, to: window.to, items: items))
        case let other?:
            throw Problem.badRequest("by must be sku (got '\(other)')")
        }
    }

    struct Ranked: Encodable, Sendable {
        let rank: Int
        let supplierId: String
        let name: String
        let figures: ReliabilityFigures

        enum CodingKeys: String, CodingKey { case rank, supplierId, name }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(rank, forKey: .rank)
            try container.encode(supplierId, forKey: .supplierId)
            try container.encode(name, forKey: .name)
            try figures.encode(to: encoder)
        }
    }

    struct Ranking: Encodable, Sendable {
        let from: CalendarDate
        let to: CalendarDate
        let items: [Ranked]
    }

    /// Every supplier, best score first (then more orders due, then id); suppliers with no order
    /// due in the window come last, without a score.
    @Sendable func ranking(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let window = try window(request)
        let (sums, names) = try await self.context.read { db in
            let sums = try ReliabilityQueries.bySupplier(db, window: window)
            var names: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name FROM counterparty WHERE is_supplier = 1 AND merged_into IS NULL") {
                names[row[0]] = row[1]
            }
            return (sums, names)
        }
        let ids = Set(names.keys).union(sums.keys)
        let figures = ids.map { ($0, (sums[$0] ?? ReliabilitySums()).figures) }.sorted { a, b in
            switch (a.1.score, b.1.score) {
            case (let x?, let y?) where x != y: return x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.1.ordersDue != b.1.ordersDue ? a.1.ordersDue > b.1.ordersDue : a.0 < b.0
            }
        }
        let ranked = figures.enumerated().map { index, entry in
            Ranked(rank: index + 1, supplierId: entry.0, name: names[entry.0] ?? entry.0, figures: entry.1)
        }
        if request.wantsCSV {
            return try CSVFormat(request).response(
                header: ["rank", "supplierId", "name"] + Self.figureColumns,
                rows: ranked.map { ["\($0.rank)", $0.supplierId, $0.name] + Self.fields($0.figures) },
                filename: "supplier-reliability-\(window.from)-\(window.to).csv")
        }
        return try jsonResponse(Ranking(from: window.from, to: window.to, items: ranked))
    }

    static let figureColumns = [
        "ordersDue", "onTimeRate", "inFullRate", "otifRate", "meanLeadTimeDays", "leadTimeStdDevDays", "meanLatenessDays", "score",
        "standing", "blocked",
    ]

    static func fields(_ figures: ReliabilityFigures) -> [String] {
        func text(_ value: Decimal?) -> String { value.map { ExactDecimal.format($0) } ?? "" }
        return [
            "\(figures.ordersDue)", text(figures.onTimeRate), text(figures.inFullRate), text(figures.otifRate),
            text(figures.meanLeadTimeDays), text(figures.leadTimeStdDevDays), text(figures.meanLatenessDays), text(figures.score),
            figures.standing?.rawValue ?? "", figures.blocked ? "true" : "false",
        ]
    }

    struct OrderLine: Encodable, Sendable {
        let sku: String
        let ordered: String
        let price: String?
        let received: String
        let rejected: String
        let accepted: String
        let deliveryDate: String?
        let inFull: Bool
    }

    struct PurchaseOrder: Encodable, Sendable {
        let id: String
        let supplierId: String
        let state: String
        let late: Bool
        let orderDate: String?
        let promisedDate: String?
        let deliveryDate: String?
        let lastReceiptDate: String?
        let receipts: Int
        let inFull: Bool
        let onTime: Bool?
        let placedAt: String?
        let cancelledAt: String?
        let cancelReason: String?
        let lines: [OrderLine]
    }

    /// The supplier's purchase orders, newest promised date first; `state=late` is the open ones past
    /// their promised date today.
    @Sendable func purchaseOrders(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let query = request.uri.queryParameters
        let limit = try pageLimit(request, default: 100, maximum: 1000)
        let today = self.context.today.description
        var conditions = ["supplier_id = ?"]
        var arguments: StatementArguments = [id]
        switch query.get("state") {
        case nil: break
        case "open", "delivered", "cancelled":
            conditions.append("state = ?")
            arguments += [query.get("state")]
        case "late":
            conditions.append("state = 'open' AND placed = 1 AND promised_date < ?")
            arguments += [today]
        case let other?: throw Problem.badRequest("state must be open, late, delivered or cancelled (got '\(other)')")
        }
        if let cursor = query.get("cursor") {
            let key = try Cursor.decode(cursor).split(separator: "\u{1F}", omittingEmptySubsequences: false)
            guard key.count == 2 else { throw Problem.badRequest("invalid cursor") }
            conditions.append("(COALESCE(promised_date, ''), id) < (?, ?)")
            arguments += [String(key[0]), String(key[1])]
        }
        arguments += [limit + 1]
        let filter = conditions.joined(separator: " AND ")
        let statementArguments = arguments
        let orders = try await self.context.read { db in
            _ = try SupplierName.require(db, id)
            let orders = try Row.fetchAll(
                db,
                sql:
                    "SELECT \(StoredOrder.columns) FROM purchase_order WHERE \(filter) ORDER BY COALESCE(promised_date, '') DESC, id DESC LIMIT ?",
                arguments: statementArguments
            ).map(StoredOrder.init(row:))
            let lines = try db.cachedStatement(
                sql:
                    "SELECT sku, ordered, price, received, rejected, accepted, delivery_date, in_full FROM purchase_line WHERE order_id = ? ORDER BY sku"
            )
            return try orders.map { order in
                let orderLines = try Row.fetchAll(lines, arguments: [order.id]).map { row in
                    OrderLine(
                        sku: row[0], ordered: row[1], price: row[2], received: row[3], rejected: row[4], accepted: row[5],
                        deliveryDate: row[6], inFull: row[7])
                }
                return PurchaseOrder(
                    id: order.id, supplierId: order.supplierId, state: order.state,
                    late: order.state == "open" && order.placed && (order.promisedDate?.description ?? today) < today,
                    orderDate: order.orderDate?.description, promisedDate: order.promisedDate?.description,
                    deliveryDate: order.deliveryDate?.description, lastReceiptDate: order.lastReceiptDate?.description,
                    receipts: order.receipts, inFull: order.inFull, onTime: order.contribution?.onTime, placedAt: order.placedAt,
                    cancelledAt: order.cancelledAt, cancelReason: order.cancelReason, lines: orderLines)
            }
        }
        let items = Array(orders.prefix(limit))
        let next = orders.count > limit ? items.last.map { Cursor.encode("\($0.promisedDate ?? "")\u{1F}\($0.id)") } : nil
        return try jsonResponse(Page(items: items, nextCursor: next))
    }
}
