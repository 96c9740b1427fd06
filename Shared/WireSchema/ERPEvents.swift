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
            event = try WireDecoder.decode(ERPOrderEvent.self, from: bytes)
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
