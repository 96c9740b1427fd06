import EventStore
import Foundation
import GRDB
import Kafka
import ServiceKit
import WireFormat
import WireSchema

/// An event of one of the topics the suppliers service reads.
public enum SuppliersEvent: Sendable {
    case counterparty(CounterpartyEvent)
    case supplier(SupplierEvent)
    case purchase(ERPPurchaseEvent)
}

/// How the counterparties, the service's own topic and the ERP's purchases become its store.
///
/// Purchase orders: every event of an order re-evaluates it from its stored lines and receipts
/// (`OrderOutcome`), so receipts before the order, split and short deliveries and rejections all
/// come out the same whatever the order they arrive in; the supplier's monthly sums are moved from
/// the order's old contribution to its new one.
public struct SuppliersProjection: Projection {
    /// Kept beside the projection: the standing work fills it, the offers read it.
    public let windowSums = WindowSums()

    public init() {}

    public var name: String { "suppliers" }
    public var topics: [String] { [Topics.counterparties, Topics.suppliers, Topics.erpPurchases] }

    public func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<SuppliersEvent> {
        if record.topic == Topics.erpPurchases { return try decodeERPPurchase(record, SuppliersEvent.purchase) }
        return try decodeCloudEvent(record) { type, data -> SuppliersEvent in
            switch record.topic {
            case Topics.counterparties: .counterparty(try CounterpartyEvent.decode(type: type, data: data))
            case Topics.suppliers: .supplier(try SupplierEvent.decode(type: type, data: data))
            default: throw WireFormatError("the suppliers service does not read \(record.topic)")
            }
        }
    }

    public func apply(_ event: ProjectedEvent<SuppliersEvent>, in db: Database) throws {
        let stamp = EventStamp(event)
        switch event.event {
        case .counterparty(let change): try apply(change, db)
        case .supplier(.termsSet(let terms)):
            try db.cachedStatement(
                sql: """
                    INSERT INTO supplier_terms(supplier_id, record, promised_lead_time_days, minimum_order, currency, version, updated_at,
                        updated_by, last_event_id)
                    VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8)
                    ON CONFLICT(supplier_id) DO UPDATE SET record = ?2, promised_lead_time_days = ?3, minimum_order = ?4, currency = ?5,
                        version = version + 1, updated_at = ?6, updated_by = ?7, last_event_id = ?8
                    """
            ).execute(arguments: [
                terms.supplierId, try encodedRecord(terms), terms.promisedLeadTimeDays, terms.minimumOrder?.description, terms.currency,
                stamp.time, stamp.actor, stamp.eventId,
            ])
        case .supplier(.priceListPublished(let part)): try PriceListParts.apply(part, stamp: stamp, db)
        case .supplier(.standingChanged(let standing)):
            let record = try encodedRecord(standing)
            try db.cachedStatement(
                sql: """
                    INSERT INTO supplier_standing(supplier_id, standing, blocked, score, as_of, record, changed_at, event_id)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    ON CONFLICT(supplier_id) DO UPDATE SET standing = ?2, blocked = ?3, score = ?4, as_of = ?5, record = ?6,
                        changed_at = ?7, event_id = ?8
                    """
            ).execute(arguments: [
                standing.supplierId, standing.standing?.rawValue, standing.blocked, standing.score?.description,
                standing.asOf.description, record, stamp.time, stamp.eventId,
            ])
            try db.cachedStatement(
                sql:
                    "INSERT INTO supplier_standing_history(supplier_id, changed_at, event_id, record) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
            ).execute(arguments: [standing.supplierId, stamp.time, stamp.eventId, record])
        case .purchase(let purchase): try PurchaseOrders.apply(purchase, eventId: event.id, db)
        }
    }

    func apply(_ change: CounterpartyEvent, _ db: Database) throws {
        switch change {
        case .registered(let record), .updated(let record):
            try db.cachedStatement(
                sql: """
                    INSERT INTO counterparty(id, name, legal_name, is_supplier, archived) VALUES (?1, ?2, ?3, ?4, ?5)
                    ON CONFLICT(id) DO UPDATE SET name = ?2, legal_name = ?3, is_supplier = ?4, archived = ?5
                    """
            ).execute(arguments: [
                record.id, record.shortName ?? record.legalName, record.legalName, record.roles.contains(.supplier), record.archived,
            ])
        case .archived(let reference), .unarchived(let reference):
            let archived = if case .archived = change { true } else { false }
            try db.cachedStatement(sql: "UPDATE counterparty SET archived = ? WHERE id = ?").execute(arguments: [archived, reference.id])
        case .merged(let merge):
            try db.cachedStatement(sql: "UPDATE counterparty SET merged_into = ? WHERE id = ?").execute(arguments: [
                merge.survivorId, merge.mergedId,
            ])
        case .mergeUndone(let merge):
            try db.cachedStatement(sql: "UPDATE counterparty SET merged_into = NULL WHERE id = ?").execute(arguments: [merge.mergedId])
        case .contactPersonAdded, .contactPersonUpdated, .contactPersonRemoved:
            break
        }
    }
}

/// Price list parts into publications; the current publication of each price list.
enum PriceListParts {
    static func apply(_ part: PriceList, stamp: EventStamp, _ db: Database) throws {
        let publication = part.publication
        let number = part.part ?? 1
        let parts = part.parts ?? 1
        guard number <= parts else { throw ProjectionRejection("part \(number) of a price list of \(parts) parts") }
        try db.cachedStatement(sql: "INSERT INTO price_part(publication_id, part) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .execute(arguments: [publication, number])
        if db.changesCount == 0 { return }  // a part already applied (published twice)
        let publishedAt = part.publishedAt.map(Timestamp.format) ?? stamp.time
        try db.cachedStatement(
            sql: """
                INSERT INTO price_publication(id, supplier_id, price_list_id, currency, valid_from, valid_to, published_at, published_by,
                    parts, parts_received, line_count, complete, current)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, 0, 0)
                ON CONFLICT(id) DO UPDATE SET parts_received = parts_received + 1
                """
        ).execute(arguments: [
            publication, part.supplierId, part.priceListId, part.currency, part.validFrom?.description, part.validTo?.description,
            publishedAt, stamp.actor, parts, part.lineCount ?? part.items.count,
        ])
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO price_line(publication_id, line, supplier_id, sku, packaging_unit, price, min_quantity, returnable)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """)
        let firstLine = part.firstLine ?? 1
        for (index, item) in part.items.enumerated() {
            try insert.execute(arguments: [
                publication, firstLine + index, part.supplierId, item.sku, item.packagingUnit, item.price.description,
                item.minQuantity?.description, item.returnablePackaging ?? false,
            ])
        }
        let received: Int =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT parts_received FROM price_publication WHERE id = ?"), arguments: [publication]) ?? 0
        guard received == parts else { return }
        try db.cachedStatement(sql: "UPDATE price_publication SET complete = 1 WHERE id = ?").execute(arguments: [publication])
        // The latest complete publication of the list is current, whichever completed last.
        try db.cachedStatement(
            sql: """
                UPDATE price_publication SET current = (id = (
                    SELECT id FROM price_publication WHERE supplier_id = ?1 AND price_list_id = ?2 AND complete = 1
                    ORDER BY published_at DESC, id DESC LIMIT 1))
                WHERE supplier_id = ?1 AND price_list_id = ?2 AND complete = 1
                """
        ).execute(arguments: [part.supplierId, part.priceListId])
    }
}

/// Purchase orders and goods receipts into orders, lines and monthly sums.
enum PurchaseOrders {
    static func apply(_ event: ERPPurchaseEvent, eventId: String, _ db: Database) throws {
        let orderId = event.purchaseOrderId
        let before = try StoredOrder.fetch(db, id: orderId)
        if let before, before.supplierId != event.supplierId {
            throw ProjectionRejection("purchase order '\(orderId)' belongs to supplier '\(before.supplierId)', not '\(event.supplierId)'")
        }
        var order = before ?? StoredOrder(id: orderId, supplierId: event.supplierId)
        let time = Timestamp.format(event.occurredAt)
        switch event.type {
        case .placed:
            order.placed = true
            order.orderDate = CalendarDate(utc: event.occurredAt)
            order.promisedDate = event.promisedDate
            order.placedAt = time
            // A repeated placement (the ERP amended the order) replaces its lines.
            if before != nil { try db.cachedStatement(sql: "DELETE FROM purchase_line WHERE order_id = ?").execute(arguments: [orderId]) }
            var ordered: [(String, Decimal, Amount?)] = []
            for line in event.lines ?? [] {
                if let at = ordered.firstIndex(where: { $0.0 == line.sku }) {
                    ordered[at].1 += line.quantity.value
                } else {
                    ordered.append((line.sku, line.quantity.value, line.price))
                }
            }
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO purchase_line(order_id, sku, ordered, price, accepted, received, rejected, delivery_date, in_full)
                    VALUES (?, ?, ?, ?, '0', '0', '0', NULL, 0)
                    """)
            for (sku, quantity, price) in ordered {
                try insert.execute(arguments: [orderId, sku, ExactDecimal.format(quantity), price?.description])
            }
        case .goodsReceived:
            try db.cachedStatement(
                sql:
                    "INSERT INTO goods_receipt(event_id, order_id, supplier_id, received_at, lines) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
            ).execute(arguments: [eventId, orderId, event.supplierId, time, ReceiptLines.encode(event.lines ?? [])])
        case .cancelled:
            order.cancelledAt = time
            order.cancelReason = event.reason
        }
        order.lastEventId = eventId
        // Only receipts and new lines change what the receipts made of the order; an order without
        // receipts has nothing delivered (its lines were written so).
        if event.type == .goodsReceived || (event.type == .placed && order.receipts > 0) { try evaluate(&order, db) }
        try order.save(db)
        try moveSums(order.supplierId, from: before?.contribution, to: order.contribution, db)
        try db.cachedStatement(
            sql: """
                INSERT INTO supplier_touched(supplier_id, seq) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM supplier_touched))
                ON CONFLICT(supplier_id) DO UPDATE SET seq = excluded.seq
                """
        ).execute(arguments: [order.supplierId])
    }

    /// Re-derives the order's and its lines' delivery from every receipt so far.
    private static func evaluate(_ order: inout StoredOrder, _ db: Database) throws {
        let ordered = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT sku, ordered FROM purchase_line WHERE order_id = ? ORDER BY sku"), arguments: [order.id]
        ).map { row in (row[0] as String, ExactDecimal.parse(row[1] as String) ?? 0) }
        let receipts = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT received_at, lines FROM goods_receipt WHERE order_id = ? ORDER BY received_at, event_id"),
            arguments: [order.id]
        ).map { row in
            OrderOutcome.Receipt(
                date: CalendarDate(utc: Timestamp.parse(row[0] as String) ?? Date(timeIntervalSince1970: 0)),
                lines: ReceiptLines.decode(row[1]))
        }
        let outcome = OrderOutcome(ordered: ordered, receipts: receipts)
        order.receipts = receipts.count
        order.lastReceiptDate = outcome.lastReceiptDate
        order.deliveryDate = outcome.deliveryDate
        order.inFull = outcome.inFull
        let update = try db.cachedStatement(
            sql:
                "UPDATE purchase_line SET accepted = ?, received = ?, rejected = ?, delivery_date = ?, in_full = ? WHERE order_id = ? AND sku = ?"
        )
        for line in outcome.lines {
            try update.execute(arguments: [
                ExactDecimal.format(line.accepted), ExactDecimal.format(line.received), ExactDecimal.format(line.rejected),
                line.deliveryDate?.description, line.inFull, order.id, line.sku,
            ])
        }
    }

    private static func moveSums(_ supplierId: String, from old: OrderContribution?, to new: OrderContribution?, _ db: Database) throws {
        if old == new { return }
        for (contribution, sign) in [(old, -1), (new, 1)] {
            guard let contribution else { continue }
            var sums = ReliabilitySums()
            sums.add(contribution, sign: sign)
            try db.cachedStatement(
                sql: """
                    INSERT INTO supplier_month(supplier_id, month, orders_due, on_time, in_full, otif, delivered, lead_sum, lead_square_sum,
                        lateness_sum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                    ON CONFLICT(supplier_id, month) DO UPDATE SET orders_due = orders_due + ?3, on_time = on_time + ?4,
                        in_full = in_full + ?5, otif = otif + ?6, delivered = delivered + ?7, lead_sum = lead_sum + ?8,
                        lead_square_sum = lead_square_sum + ?9, lateness_sum = lateness_sum + ?10
                    """
            ).execute(arguments: [
                supplierId, contribution.month, sums.ordersDue, sums.onTime, sums.inFull, sums.otif, sums.delivered, sums.leadSum,
                sums.leadSquareSum, sums.latenessSum,
            ])
        }
        if let old {
            try db.cachedStatement(sql: "DELETE FROM supplier_month WHERE supplier_id = ? AND month = ? AND orders_due = 0")
                .execute(arguments: [supplierId, old.month])
        }
    }
}

/// A receipt's lines as `goods_receipt.lines` keeps them: `sku␟received␟rejected`, joined by `␞`
/// (ERP records with control characters in a SKU are refused), read back by every later event of
/// the order, so cheaper than JSON.
enum ReceiptLines {
    static func encode(_ lines: [PurchaseLine]) -> String {
        lines.map { "\($0.sku)\u{1F}\($0.quantity)\u{1F}\($0.rejectedQuantity ?? 0)" }.joined(separator: "\u{1E}")
    }

    static func decode(_ text: String) -> [(String, Decimal, Decimal)] {
        text.split(separator: "\u{1E}").map { line in
            let fields = line.split(separator: "\u{1F}", omittingEmptySubsequences: false)
            return (String(fields[0]), ExactDecimal.parse(String(fields[1])) ?? 0, ExactDecimal.parse(String(fields[2])) ?? 0)
        }
    }
}

/// A row of `purchase_order`.
struct StoredOrder: Sendable {
    var id: String
    var supplierId: String
    var placed = false
    var orderDate: CalendarDate?
    var promisedDate: CalendarDate?
    var placedAt: String?
    var cancelledAt: String?
    var cancelReason: String?
    var receipts = 0
    var lastReceiptDate: CalendarDate?
    var deliveryDate: CalendarDate?
    var inFull = false
    var lastEventId = ""

    init(id: String, supplierId: String) {
        self.id = id
        self.supplierId = supplierId
    }

    static let columns = """
        id, supplier_id, placed, order_date, promised_date, placed_at, cancelled_at, cancel_reason, receipts, last_receipt_date,
        delivery_date, in_full, last_event_id
        """

    init(row: Row) {
        id = row[0]
        supplierId = row[1]
        placed = row[2]
        orderDate = (row[3] as String?).flatMap(CalendarDate.init)
        promisedDate = (row[4] as String?).flatMap(CalendarDate.init)
        placedAt = row[5]
        cancelledAt = row[6]
        cancelReason = row[7]
        receipts = row[8]
        lastReceiptDate = (row[9] as String?).flatMap(CalendarDate.init)
        deliveryDate = (row[10] as String?).flatMap(CalendarDate.init)
        inFull = row[11]
        lastEventId = row[12]
    }

    static func fetch(_ db: Database, id: String) throws -> StoredOrder? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM purchase_order WHERE id = ?"), arguments: [id]).map(
            Self.init(row:))
    }

    var cancelled: Bool { cancelledAt != nil }

    /// open (not yet in full), delivered (in full) or cancelled.
    var state: String { cancelled ? "cancelled" : inFull ? "delivered" : "open" }

    var contribution: OrderContribution? {
        OrderContribution(
            orderDate: orderDate, promisedDate: promisedDate, deliveryDate: deliveryDate, inFull: inFull, dueCounts: placed && !cancelled)
    }

    func save(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO purchase_order(id, supplier_id, placed, state, order_date, promised_date, placed_at, cancelled_at, cancel_reason,
                    receipts, last_receipt_date, delivery_date, in_full, last_event_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                ON CONFLICT(id) DO UPDATE SET placed = ?3, state = ?4, order_date = ?5, promised_date = ?6, placed_at = ?7,
                    cancelled_at = ?8, cancel_reason = ?9, receipts = ?10, last_receipt_date = ?11, delivery_date = ?12, in_full = ?13,
                    last_event_id = ?14
                """
        ).execute(arguments: [
            id, supplierId, placed, state, orderDate?.description, promisedDate?.description, placedAt, cancelledAt, cancelReason,
            receipts, lastReceiptDate?.description, deliveryDate?.description, inFull, lastEventId,
        ])
    }
}
