import Foundation
import WireFormat

/// An order's amounts from its lines: revenue = Σ quantity × price, cost = Σ quantity × cost (a
/// line without a cost counts none).
public struct OrderAmounts: Equatable, Sendable {
    public var revenue: Decimal = 0
    public var cost: Decimal = 0
    public var grossProfit: Decimal { revenue - cost }

    public init(revenue: Decimal = 0, cost: Decimal = 0) {
        self.revenue = revenue
        self.cost = cost
    }

    public init(lines: [OrderLine]) {
        for line in lines {
            revenue += line.quantity.value * line.price.value
            if let cost = line.cost { self.cost += line.quantity.value * cost.value }
        }
    }
}

/// Where an ERP order stands: placed, completed (a sale), cancelled (failed before completion) or
/// reversed (cancelled after completion).
public enum ERPOrderState: String, Sendable, CaseIterable {
    case placed, completed, cancelled, reversed

    /// The state an event takes an order to, from `state` with `customerId` as stored (nil: the
    /// first event seen of it), or the reason the order's own earlier events contradict it (its
    /// customer changes once it is past placed, or the transition is impossible). Every service
    /// reading `erp.orders.v1` follows these rules, so they agree on what became of each order.
    public static func after(_ event: ERPOrderEvent, from state: ERPOrderState?, customerId: String?) -> Result<
        ERPOrderState, ERPOrderContradiction
    > {
        if let customerId, customerId != event.customerId, let state, state != .placed {
            return .failure(
                ERPOrderContradiction("order '\(event.orderId)' belongs to customer '\(customerId)', not '\(event.customerId)'"))
        }
        switch (event.type, state) {
        case (.placed, nil), (.placed, .placed?):
            return .success(.placed)
        case (.completed, nil), (.completed, .placed?):
            if state == nil && event.lines == nil {
                return .failure(
                    ERPOrderContradiction("order '\(event.orderId)' completed, but it was never placed and the event has no lines"))
            }
            return .success(.completed)
        case (.cancelled, nil), (.cancelled, .placed?):
            return .success(.cancelled)
        case (.cancelled, .completed?):
            return .success(.reversed)
        case (_, let state?):
            return .failure(ERPOrderContradiction("order '\(event.orderId)' is \(state.rawValue); \(event.type.rawValue) contradicts that"))
        }
    }
}

/// Why an ERP order event cannot be applied: what the order's own events say against it.
public struct ERPOrderContradiction: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
