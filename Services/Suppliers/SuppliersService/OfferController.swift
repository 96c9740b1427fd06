import EventStore
import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// Every supplier's offer for an item, with a recommendation, and a supplier's price history of one.
struct OfferController {
    let context: SuppliersContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/items/{sku}/offers", use: offers)
        group.get("/suppliers/{id}/items/{sku}/price-history", use: priceHistory)
    }

    /// One supplier's offer. Written by hand (`JSONWriter`): a list of a thousand offers through
    /// `JSONEncoder` cost more than finding them.
    struct Offer: JSONWritable, Sendable {
        let supplierId: String
        let supplierName: String
        let priceListId: String
        let price: Decimal
        let currency: String
        let packagingUnit: String?
        let minQuantity: Decimal?
        let validFrom: String?
        let validTo: String?
        /// price × quantity, when a quantity was asked for.
        let total: Decimal?
        let minimumOrder: Decimal?
        /// The total is below the supplier's minimum order (same currency).
        let belowMinimumOrder: Bool
        let promisedLeadTimeDays: Int?
        let meanLeadTimeDays: Decimal?
        let ordersDue: Int
        let score: Decimal?
        let standing: SupplierStandingLevel?
        let blocked: Bool
        /// What the recommendation compares (see `docs/suppliers.md`): a ranking figure, not an amount.
        let weightedPrice: Double

        func write(to writer: inout JSONWriter) {
            writer.object { json in
                json.field("belowMinimumOrder", belowMinimumOrder)
                json.field("blocked", blocked)
                json.field("currency", currency)
                json.field("meanLeadTimeDays", number: meanLeadTimeDays)
                json.field("minQuantity", nullable: minQuantity.map { ExactDecimal.format($0) })
                json.field("minimumOrder", nullable: minimumOrder.map { ExactDecimal.format($0) })
                json.field("ordersDue", ordersDue)
                json.field("packagingUnit", nullable: packagingUnit)
                json.field("price", ExactDecimal.format(price))
                json.field("priceListId", priceListId)
                json.field("promisedLeadTimeDays", nullable: promisedLeadTimeDays)
                json.field("score", number: score)
                json.field("standing", nullable: standing?.rawValue)
                json.field("supplierId", supplierId)
                json.field("supplierName", supplierName)
                json.field("total", nullable: total.map { ExactDecimal.format($0) })
                json.field("validFrom", nullable: validFrom)
                json.field("validTo", nullable: validTo)
                json.field("weightedPrice", number: hundredths(weightedPrice))
            }
        }
    }

    /// Each supplier's valid price for the item on `on` (default today): with `quantity`, the lowest
    /// price of a line whose minimum quantity it reaches; without, the price of the smallest minimum.
    @Sendable func offers(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let sku = try context.parameters.require("sku")
        let query = request.uri.queryParameters
        let today = self.context.today
        let day = try QueryValue.date(query.get("on"), "on") ?? today
        let quantity = try query.get("quantity").map { text -> Decimal in
            guard let value = ExactDecimal.parse(text), value > 0 else {
                throw Problem.badRequest("quantity must be a positive decimal, got '\(text)'")
            }
            return value
        }
        let currency = query.get("currency").map { $0.uppercased() }
        let window = ReliabilityWindow.standard(today: today)
        let windowSums = self.context.projection.windowSums
        let offers = try await self.context.read { db in
            try Self.offers(db, sku: sku, on: day, quantity: quantity, currency: currency, window: window, windowSums: windowSums)
        }
        let recommended = Self.recommendation(offers)
        var writer = JSONWriter(capacity: 512 + 400 * offers.count)
        writer.object { json in
            json.field(
                "offers",
                array: { list in
                    for offer in offers { offer.write(to: &list) }
                })
            json.field("on", day.description)
            json.field("quantity", nullable: quantity.map { ExactDecimal.format($0) })
            json.key("recommended")
            if let recommended { recommended.write(to: &json) } else { json.value(.null) }
            json.field("sku", sku)
        }
        return jsonResponse(bytes: writer.bytes)
    }

    /// A supplier's best line for the item, with its list, terms and standing, as `offers` reads it.
    struct BestLine {
        let supplierId: String
        let price: Decimal
        let minimum: Decimal?
        let packagingUnit: String?
        let priceListId: String
        let currency: String
        let validFrom: String?
        let validTo: String?
        let supplierName: String
        let promisedLeadTimeDays: Int?
        let minimumOrder: Decimal?
        let termsCurrency: String?
        let standing: SupplierStandingLevel?
        let blocked: Bool

        init(_ row: RawRow, price: Decimal, minimum: Decimal?) {
            supplierId = row.text(0) ?? ""
            self.price = price
            self.minimum = minimum
            packagingUnit = row.text(3)
            priceListId = row.text(4) ?? ""
            currency = row.text(5) ?? ""
            validFrom = row.text(6)
            validTo = row.text(7)
            supplierName = row.text(8) ?? ""
            promisedLeadTimeDays = row.isNull(9) ? nil : Int(row.int64(9))
            minimumOrder = row.text(10).flatMap(ExactDecimal.parse)
            termsCurrency = row.text(11)
            standing = row.text(12).flatMap(SupplierStandingLevel.init)
            blocked = !row.isNull(13) && row.int64(13) != 0
        }
    }

    static func offers(
        _ db: Database, sku: String, on day: CalendarDate, quantity: Decimal?, currency: String?, window: ReliabilityWindow,
        windowSums: WindowSums
    ) throws -> [Offer] {
        let date = day.description
        // The best line of each supplier in business (a counterparty that lost the role, was archived
        // or merged offers nothing), with what is known of it. The item's lines drive the joins
        // (CROSS JOIN): SQLite would otherwise walk every current list's lines. They come from
        // `price_line_offer` in supplier order, so each supplier's lines are adjacent.
        let rows = try RawStatement(
            db,
            sql: """
                SELECT l.supplier_id, l.price, l.min_quantity, l.packaging_unit, p.price_list_id, p.currency, p.valid_from, p.valid_to,
                    c.name, t.promised_lead_time_days, t.minimum_order, t.currency, s.standing, s.blocked
                FROM price_line l CROSS JOIN price_publication p ON p.id = l.publication_id
                    CROSS JOIN counterparty c ON c.id = l.supplier_id
                    LEFT JOIN supplier_terms t ON t.supplier_id = l.supplier_id
                    LEFT JOIN supplier_standing s ON s.supplier_id = l.supplier_id
                WHERE l.sku = ?1 AND p.current = 1 AND (p.valid_from IS NULL OR p.valid_from <= ?2)
                    AND (p.valid_to IS NULL OR p.valid_to >= ?2)
                    AND c.is_supplier = 1 AND c.archived = 0 AND c.merged_into IS NULL
                ORDER BY l.supplier_id
                """)
        rows.bind(1, sku)
        rows.bind(2, date)
        var best: [BestLine] = []
        try rows.forEachRow { row in
            guard let supplier = row.utf8(0) else { return }
            if let currency, row.text(5) != currency { return }
            let price = row.text(1).flatMap(ExactDecimal.parse) ?? 0
            let minimum = row.text(2).flatMap(ExactDecimal.parse)
            if let quantity, let minimum, minimum > quantity { return }
            if let current = best.last, current.supplierId.utf8.elementsEqual(supplier) {
                let better: Bool
                if quantity != nil {
                    better = price < current.price
                } else {
                    let (a, b) = (minimum ?? 0, current.minimum ?? 0)
                    better = a < b || (a == b && price < current.price)
                }
                if better { best[best.count - 1] = BestLine(row, price: price, minimum: minimum) }
            } else {
                best.append(BestLine(row, price: price, minimum: minimum))
            }
        }
        let ids = best.map(\.supplierId)
        var sums = windowSums.sums(window: window, ids: ids) ?? []
        if sums.count != ids.count {
            let found = try ReliabilityQueries.standardSums(db, supplierIds: ids, window: window)
            sums = ids.map { found[$0] ?? ReliabilitySums() }
        }
        var offers: [Offer] = []
        offers.reserveCapacity(ids.count)
        for (line, sums) in zip(best, sums) {
            let id = line.supplierId
            let (meanLeadTimeDays, score) = sums.leadTimeAndScore
            let total = quantity.map { ExactDecimal.product($0, line.price) }
            let minimumOrder = line.termsCurrency == nil || line.termsCurrency == line.currency ? line.minimumOrder : nil
            let leadDays = meanLeadTimeDays ?? line.promisedLeadTimeDays.map { Decimal($0) }
            offers.append(
                Offer(
                    supplierId: id, supplierName: line.supplierName, priceListId: line.priceListId, price: line.price,
                    currency: line.currency, packagingUnit: line.packagingUnit, minQuantity: line.minimum, validFrom: line.validFrom,
                    validTo: line.validTo, total: total, minimumOrder: minimumOrder,
                    belowMinimumOrder: total.flatMap { total in minimumOrder.map { total < $0 } } ?? false,
                    promisedLeadTimeDays: line.promisedLeadTimeDays, meanLeadTimeDays: meanLeadTimeDays, ordersDue: sums.ordersDue,
                    score: score, standing: line.standing, blocked: line.blocked,
                    weightedPrice: weightedPrice(line.price, leadDays: leadDays, score: score)))
        }
        // Sorted through indices and prices as doubles (Foundation's Decimal comparisons and moving the
        // offers themselves cost a list of a thousand a third of its time); equal doubles compare exactly.
        let keys = offers.map { NSDecimalNumber(decimal: $0.price).doubleValue }
        let order = offers.indices.sorted { a, b in
            if keys[a] != keys[b] { return keys[a] < keys[b] }
            if offers[a].price != offers[b].price { return offers[a].price < offers[b].price }
            return offers[a].supplierId < offers[b].supplierId
        }
        return order.map { offers[$0] }
    }

    /// The price weighed by lead time and reliability: + 1 % per day of lead time (the mean actual
    /// one, else the promised one; none known counts as none) and + 0.5 % per point of score below
    /// 100 (a supplier with no order due yet counts as 50). A figure to rank offers by, not an
    /// amount anyone pays: worked out in binary floating point.
    static func weightedPrice(_ price: Decimal, leadDays: Decimal?, score: Decimal?) -> Double {
        func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }
        let lead = max(leadDays.map(double) ?? 0, 0)
        return double(price) * (1 + lead / 100) * (1 + (100 - (score.map(double) ?? 50)) / 200)
    }

    /// The offer with the lowest weighted price from a supplier that is not blocked, among offers in
    /// the cheapest offer's currency (prices in other currencies are not converted).
    static func recommendation(_ offers: [Offer]) -> Offer? {
        guard let currency = offers.first(where: { !$0.blocked })?.currency else { return nil }
        return offers.filter { !$0.blocked && $0.currency == currency }
            .min { ($0.weightedPrice, $0.price, $0.supplierId) < ($1.weightedPrice, $1.price, $1.supplierId) }
    }

    struct PricePoint: Encodable, Sendable {
        let priceListId: String
        let publicationId: String
        let publishedAt: String
        let validFrom: String?
        let validTo: String?
        let current: Bool
        let price: String
        let currency: String
        let packagingUnit: String?
        let minQuantity: String?
    }

    struct PurchasePrice: Encodable, Sendable {
        let purchaseOrderId: String
        let orderDate: String?
        let quantity: String
        let price: String
    }

    struct History: Encodable, Sendable {
        let supplierId: String
        let sku: String
        let prices: [PricePoint]
        let purchases: [PurchasePrice]
    }

    /// Every published price of the item (superseded publications included), oldest first, and
    /// the prices paid on the supplier's purchase orders.
    @Sendable func priceHistory(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let sku = try context.parameters.require("sku")
        let history = try await self.context.read { db in
            _ = try SupplierName.require(db, id)
            let prices = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.price_list_id, p.id, p.published_at, p.valid_from, p.valid_to, p.current, l.price, p.currency, l.packaging_unit,
                        l.min_quantity
                    FROM price_line l CROSS JOIN price_publication p ON p.id = l.publication_id
                    WHERE l.sku = ? AND l.supplier_id = ? AND p.complete = 1
                    ORDER BY COALESCE(p.valid_from, ''), p.published_at, p.id, l.line
                    """, arguments: [sku, id]
            ).map { row in
                PricePoint(
                    priceListId: row[0], publicationId: row[1], publishedAt: row[2], validFrom: row[3], validTo: row[4], current: row[5],
                    price: row[6], currency: row[7], packagingUnit: row[8], minQuantity: row[9])
            }
            let purchases = try Row.fetchAll(
                db,
                sql: """
                    SELECT o.id, o.order_date, l.ordered, l.price FROM purchase_order o JOIN purchase_line l ON l.order_id = o.id
                    WHERE o.supplier_id = ? AND l.sku = ? AND l.price IS NOT NULL AND o.placed = 1 ORDER BY o.order_date, o.id
                    """, arguments: [id, sku]
            ).map { row in PurchasePrice(purchaseOrderId: row[0], orderDate: row[1], quantity: row[2], price: row[3]) }
            return History(supplierId: id, sku: sku, prices: prices, purchases: purchases)
        }
        return try jsonResponse(history)
    }
}
