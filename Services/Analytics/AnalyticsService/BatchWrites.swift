import EventStore
import Foundation
import GRDB
import Synchronization
import WireSchema

/// The orders the current batch transaction's order events left, and the clients they named: each
/// written once, at the batch's end.
///
/// An order is placed and closed within one batch, as a rule, during a replay: its later event
/// takes the order as the earlier one left it instead of reading it back, and the order is written
/// once instead of once per event. A client named by many events of a batch is written once, with
/// the manager of the latest of them.
///
/// Only the writer thread uses it, inside a batch. It forgets everything when a batch begins and
/// ends, so a batch rolled back and retried record by record starts from the store; an event is
/// recorded here last, once everything else it does has succeeded, so a refused event (its
/// savepoint rolled back) leaves nothing behind.
final class BatchWrites: Sendable {
    /// The manager an order event names, and when: a client's order manager is that of the latest
    /// such event by the ERP's time, then by order id (within an order, the later event), so that
    /// a replay that interleaves partitions differently keeps the same one.
    struct ManagerNote: Sendable {
        var managerId: String
        var atMilliseconds: Int
        var orderId: String

        init(managerId: String, atMilliseconds: Int, orderId: String) {
            self.managerId = managerId
            self.atMilliseconds = atMilliseconds
            self.orderId = orderId
        }

        /// The event's note, if it names a manager.
        init?(naming event: ERPOrderEvent) {
            guard let manager = event.managerId else { return nil }
            self.init(
                managerId: manager, atMilliseconds: Int((event.occurredAt.timeIntervalSince1970 * 1000).rounded()), orderId: event.orderId)
        }

        /// Order ids compare as bytes, as SQLite compares the stored one.
        func isAtLeastAsLate(as other: ManagerNote) -> Bool {
            if atMilliseconds != other.atMilliseconds { return atMilliseconds > other.atMilliseconds }
            return !orderId.utf8.lexicographicallyPrecedes(other.orderId.utf8)
        }
    }

    private struct State {
        var orders: [String: StoredOrder] = [:]
        /// Clients named in this batch, with the latest manager note among their events (if any).
        var clients: [String: ManagerNote?] = [:]
    }
    private let state = Mutex(State())

    func forget() {
        state.withLock { $0 = State() }
    }

    /// The order as this batch left it; nil if no event of the batch changed it.
    func order(_ id: String) -> StoredOrder? {
        state.withLock { $0.orders[id] }
    }

    func wrote(_ order: StoredOrder, id: String) {
        state.withLock { $0.orders[id] = order }
    }

    /// Writes the orders this batch changed, in id order.
    func writeOrders(_ db: Database) throws {
        let orders = state.withLock { state in
            defer { state.orders = [:] }
            return state.orders.sorted { $0.key < $1.key }
        }
        guard !orders.isEmpty else { return }
        let upsert = try RawStatement(db, sql: StoredOrder.upsertSQL)
        for (id, order) in orders { try order.write(id: id, upsert) }
    }

    /// Notes that an order event named the client, with its manager if it named one.
    func named(_ clientId: String, _ note: ManagerNote?) {
        state.withLock { state in
            let current = state.clients[clientId] ?? nil
            if let note, current.map({ note.isAtLeastAsLate(as: $0) }) ?? true {
                state.clients[clientId] = .some(note)
            } else if state.clients[clientId] == nil {
                state.clients[clientId] = .some(current)
            }
        }
    }

    /// A client orders named, with the latest manager note among their events.
    struct NamedClient: Sendable {
        var id: String
        var note: ManagerNote?
    }

    /// Writes the clients this batch named (in id order).
    func writeClients(_ db: Database) throws {
        let clients = state.withLock { state in
            defer { state.clients = [:] }
            return state.clients.sorted { $0.key < $1.key }.map { NamedClient(id: $0.key, note: $0.value) }
        }
        try Self.write(clients, db)
    }

    /// Writes clients orders named: each is a known client, and its order manager is the note's
    /// unless the store holds a later one.
    static func write(_ clients: [NamedClient], _ db: Database) throws {
        guard !clients.isEmpty else { return }
        let upsert = try RawStatement(
            db,
            sql: """
                INSERT INTO client(id, mentioned, order_manager_id, order_manager_at, order_manager_order) VALUES (?1, 1, ?2, ?3, ?4)
                ON CONFLICT(id) DO UPDATE SET mentioned = 1,
                    order_manager_id = CASE WHEN \(Self.later) THEN ?2 ELSE order_manager_id END,
                    order_manager_at = CASE WHEN \(Self.later) THEN ?3 ELSE order_manager_at END,
                    order_manager_order = CASE WHEN \(Self.later) THEN ?4 ELSE order_manager_order END
                """)
        for client in clients {
            upsert.bind(1, client.id)
            upsert.bind(2, client.note?.managerId)
            upsert.bind(3, client.note?.atMilliseconds)
            upsert.bind(4, client.note?.orderId)
            try upsert.execute()
        }
    }

    /// Whether the bound note is at least as late as the stored one (`ManagerNote.isAtLeastAsLate`).
    private static let later =
        "?2 IS NOT NULL AND (order_manager_at IS NULL OR (?3, ?4) >= (order_manager_at, order_manager_order))"
}
