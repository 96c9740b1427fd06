import Foundation
import WireFormat

/// One line of an ERP order. Quantities and amounts are exact decimals (number or string on the wire).
public struct OrderLine: Codable, Sendable, Equatable {
    public var sku: String
    public var quantity: Amount
    public var price: Amount
    public var cost: Amount?
}

/// A record of `erp.orders.v1` (plain JSON, no CloudEvents headers required), keyed by order id.
public struct ERPOrderEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case placed = "OrderPlaced"
        case completed = "OrderCompleted"
        case cancelled = "OrderCancelled"
    }

    public var eventId: String
    public var type: Kind
    public var occurredAt: Date
    public var orderId: String
    public var customerId: String
    public var managerId: String?
    public var currency: String?
    public var lines: [OrderLine]?
    public var dealId: String?
    public var reason: String?

    /// Decodes and checks the contract's rules beyond types (lines on OrderPlaced).
    public static func decode(_ bytes: [UInt8]) throws -> ERPOrderEvent {
        let event: ERPOrderEvent
        do {
            event = try ERPOrderEvent.read(bytes)
        } catch {
            throw WireFormatError.describing(error)
        }
        if event.type == .placed && (event.lines ?? []).isEmpty {
            throw WireFormatError("OrderPlaced requires non-empty 'lines'")
        }
        if event.eventId.isEmpty || event.orderId.isEmpty { throw WireFormatError("'eventId' and 'orderId' must not be empty") }
        return event
    }
}

/// Read by hand: a rebuild reads every order event the ERP ever sent (the rule of
/// `docs/architecture.md`), and through `Codable` decoding was a third of the analytics replay.
extension ERPOrderEvent: JSONReadable {
    public init(reading object: inout JSONObjectReader) throws {
        var eventId: String?
        var type: Kind?
        var occurredAt: Date?
        var orderId: String?
        var customerId: String?
        var managerId: String?
        var currency: String?
        var lines: [OrderLine]?
        var dealId: String?
        var reason: String?
        while let field = try object.nextField() {
            switch field {
            case "eventId": eventId = try object.optionalString(field)
            case "type": type = try object.optionalEnumeration(field, Kind.self)
            case "occurredAt": occurredAt = try object.optionalTime(field)
            case "orderId": orderId = try object.optionalString(field)
            case "customerId": customerId = try object.optionalString(field)
            case "managerId": managerId = try object.optionalString(field)
            case "currency": currency = try object.optionalString(field)
            case "lines": lines = try object.optionalObjects(field) { try OrderLine(reading: &$0) }
            case "dealId": dealId = try object.optionalString(field)
            case "reason": reason = try object.optionalString(field)
            default: try object.skip()
            }
        }
        guard let eventId else { throw object.missing("eventId") }
        guard let type else { throw object.missing("type") }
        guard let occurredAt else { throw object.missing("occurredAt") }
        guard let orderId else { throw object.missing("orderId") }
        guard let customerId else { throw object.missing("customerId") }
        self.init(
            eventId: eventId, type: type, occurredAt: occurredAt, orderId: orderId, customerId: customerId, managerId: managerId,
            currency: currency, lines: lines, dealId: dealId, reason: reason)
    }
}

extension OrderLine: JSONReadable {
    public init(reading object: inout JSONObjectReader) throws {
        var sku: String?
        var quantity: Amount?
        var price: Amount?
        var cost: Amount?
        while let field = try object.nextField() {
            switch field {
            case "sku": sku = try object.optionalString(field)
            case "quantity": quantity = try object.optionalAmount(field)
            case "price": price = try object.optionalAmount(field)
            case "cost": cost = try object.optionalAmount(field)
            default: try object.skip()
            }
        }
        guard let sku else { throw object.missing("sku") }
        guard let quantity else { throw object.missing("quantity") }
        guard let price else { throw object.missing("price") }
        self.init(sku: sku, quantity: quantity, price: price, cost: cost)
    }
}

public struct PurchaseLine: Codable, Sendable, Equatable {
    public var sku: String
    public var quantity: Amount
    public var price: Amount?
    public var rejectedQuantity: Amount?
}

/// A record of `erp.purchases.v1`, keyed by purchase order id.
public struct ERPPurchaseEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case placed = "PurchaseOrderPlaced"
        case goodsReceived = "GoodsReceived"
        case cancelled = "PurchaseOrderCancelled"
    }

    public var eventId: String
    public var type: Kind
    public var occurredAt: Date
    public var purchaseOrderId: String
    public var supplierId: String
    public var promisedDate: CalendarDate?
    public var lines: [PurchaseLine]?
    public var reason: String?

    public static func decode(_ bytes: [UInt8]) throws -> ERPPurchaseEvent {
        let event: ERPPurchaseEvent
        do {
            event = try WireDecoder.decode(ERPPurchaseEvent.self, from: bytes)
        } catch {
            throw WireFormatError.describing(error)
        }
        if event.type == .placed {
            if (event.lines ?? []).isEmpty { throw WireFormatError("PurchaseOrderPlaced requires non-empty 'lines'") }
            if event.promisedDate == nil { throw WireFormatError("PurchaseOrderPlaced requires 'promisedDate'") }
        }
        if event.type == .goodsReceived && (event.lines ?? []).isEmpty {
            throw WireFormatError("GoodsReceived requires the received 'lines'")
        }
        if event.eventId.isEmpty || event.purchaseOrderId.isEmpty || event.supplierId.isEmpty {
            throw WireFormatError("'eventId', 'purchaseOrderId' and 'supplierId' must not be empty")
        }
        for line in event.lines ?? [] {
            if line.sku.isEmpty || line.sku.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                throw WireFormatError("a line's 'sku' is empty or has control characters")
            }
            if line.quantity.value < 0 || (line.rejectedQuantity?.value ?? 0) < 0 {
                throw WireFormatError("line '\(line.sku)': quantities must not be negative")
            }
        }
        return event
    }
}
