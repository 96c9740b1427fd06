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

    struct Offer: Encodable, Sendable {
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
        /// What the recommendation compares (see `docs/suppliers.md`).
        let weightedPrice: Decimal

        enum CodingKeys: String, CodingKey {
            case supplierId, supplierName, priceListId, price, currency, packagingUnit, minQuantity, validFrom, validTo, total, minimumOrder
            case belowMinimumOrder, promisedLeadTimeDays, meanLeadTimeDays, ordersDue, score, standing, blocked, weightedPrice
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(supplierId, forKey: .supplierId)
            try container.encode(supplierName, forKey: .supplierName)
            try container.encode(priceListId, forKey: .priceListId)
            try container.encode(ExactDecimal.format(price), forKey: .price)
            try container.encode(currency, forKey: .currency)
            try container.encode(packagingUnit, forKey: .packagingUnit)
            try container.encode(minQuantity.map { ExactDecimal.format($0) }, forKey: .minQuantity)
            try container.encode(validFrom, forKey: .validFrom)
            try container.encode(validTo, forKey: .validTo)
            try container.encode(total.map { ExactDecimal.format($0) }, forKey: .total)
            try container.encode(minimumOrder.map { ExactDecimal.format($0) }, forKey: .minimumOrder)
            try container.encode(belowMinimumOrder, forKey: .belowMinimumOrder)
            try container.encode(promisedLeadTimeDays, forKey: .promisedLeadTimeDays)
            try container.encode(meanLeadTimeDays, forKey: .meanLeadTimeDays)
            try container.encode(ordersDue, forKey: .ordersDue)
            try container.encode(score, forKey: .score)
            try container.encode(standing, forKey: .standing)
            try container.encode(blocked, forKey: .blocked)
            try container.encode(ExactDecimal.format(weightedPrice), forKey: .weightedPrice)
        }
    }

    struct Offers: Encodable, Sendable {
        let sku: String
        let on: CalendarDate
        let quantity: String?
        let offers: [Offer]
        let recommended: Offer?

        enum CodingKeys: String, CodingKey { case sku, on, quantity, offers, recommended }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(sku, forKey: .sku)
            try container.encode(on, forKey: .on)
            try container.encode(quantity, forKey: .quantity)
            try container.encode(offers, forKey: .offers)
            try container.encode(recommended, forKey: .recommended)
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
        let offers = try await self.context.read { db in
            try Self.offers(db, sku: sku, on: day, quantity: quantity, currency: currency, window: window)
        }
        let recommended = Self.recommendation(offers)
        return try jsonResponse(
            Offers(sku: sku, on: day, quantity: quantity.map { ExactDecimal.format($0) }, offers: offers, recommended: recommended))
    }

    static func offers(
        _ db: Database, sku: String, on day: CalendarDate, quantity: Decimal?, currency: String?, window: ReliabilityWindow
    ) throws -> [Offer] {
        let date = day.description
        // The best line per supplier first, then what is known of those suppliers. The item's lines
        // drive the join (CROSS JOIN): SQLite would otherwise walk every current list's lines.
        var best: [String: (row: Row, price: Decimal, minimum: Decimal?)] = [:]
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT l.supplier_id, l.price, l.min_quantity, l.packaging_unit, p.price_list_id, p.currency, p.valid_from, p.valid_to
                    FROM price_line l CROSS JOIN price_publication p ON p.id = l.publication_id
                    WHERE l.sku = ?1 AND p.current = 1 AND (p.valid_from IS NULL OR p.valid_from <= ?2)
                        AND (p.valid_to IS NULL OR p.valid_to >= ?2)
                    """), arguments: [sku, date])
        while let row = try rows.next() {
            if let currency, (row[5] as String) != currency { continue }
            let price = ExactDecimal.parse(row[1] as String) ?? 0
            let minimum = (row[2] as String?).flatMap(ExactDecimal.parse)
            if let quantity, let minimum, minimum > quantity { continue }
            let supplier: String = row[0]
            if let current = best[supplier] {
                let better: Bool
                if quantity != nil {
                    better = price < current.price
                } else {
                    let (a, b) = (minimum ?? 0, current.minimum ?? 0)
                    better = a < b || (a == b && price < current.price)
                }
                if !better { continue }
            }
            best[supplier] = (row.copy(), price, minimum)
        }
        let ids = best.keys.sorted()
        let sums = try ReliabilityQueries.standardSums(db, supplierIds: ids, window: window)
        let supplier = try db.cachedStatement(
            sql: """
                SELECT c.name, c.is_supplier, c.archived, c.merged_into, t.promised_lead_time_days, t.minimum_order, t.currency,
                    s.standing, s.blocked
                FROM counterparty c LEFT JOIN supplier_terms t ON t.supplier_id = c.id LEFT JOIN supplier_standing s ON s.supplier_id = c.id
                WHERE c.id = ?
                """)
        var offers: [Offer] = []
        for id in ids {
            guard let (row, price, minimum) = best[id] else { continue }
            // Only suppliers in business: a counterparty that lost the role, was archived or merged offers nothing.
            guard let info = try Row.fetchOne(supplier, arguments: [id]), info[1] as Bool, !(info[2] as Bool), info[3] as String? == nil
            else { continue }
            let promisedLeadTimeDays: Int? = info[4]
            let termsCurrency: String? = info[6]
            let figures = (sums[id] ?? ReliabilitySums()).figures
            let offerCurrency: String = row[5]
            let total = quantity.map { $0 * price }
            let minimumOrder =
                termsCurrency == nil || termsCurrency == offerCurrency ? (info[5] as String?).flatMap(ExactDecimal.parse) : nil
            let leadDays = figures.meanLeadTimeDays ?? promisedLeadTimeDays.map { Decimal($0) }
            offers.append(
                Offer(
                    supplierId: id, supplierName: info[0], priceListId: row[4], price: price, currency: offerCurrency,
                    packagingUnit: row[3],
                    minQuantity: minimum, validFrom: row[6], validTo: row[7], total: total, minimumOrder: minimumOrder,
                    belowMinimumOrder: total.flatMap { total in minimumOrder.map { total < $0 } } ?? false,
                    promisedLeadTimeDays: promisedLeadTimeDays, meanLeadTimeDays: figures.meanLeadTimeDays,
                    ordersDue: figures.ordersDue, score: figures.score, standing: (info[7] as String?).flatMap(SupplierStandingLevel.init),
                    blocked: (info[8] as Bool?) ?? false, weightedPrice: weightedPrice(price, leadDays: leadDays, score: figures.score)))
        }
        return offers.sorted { ($0.price, $0.supplierId) < ($1.price, $1.supplierId) }
    }

    /// The price weighed by lead time and reliability: + 1 % per day of lead time (the mean actual
    /// one, else the promised one; none known counts as none) and + 0.5 % per point of score below
    /// 100 (a supplier with no order due yet counts as 50).
    static func weightedPrice(_ price: Decimal, leadDays: Decimal?, score: Decimal?) -> Decimal {
        let lead = max(leadDays ?? 0, 0)
        let unreliability = 100 - (score ?? 50)
        return rounded(price * (1 + lead / 100) * (1 + unreliability / 200))
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
