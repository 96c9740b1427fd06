import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat

/// `GET /counterparties/{id}/orders`: what became of a client's ERP orders.
struct CounterpartyOrdersController {
    let context: DealsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/counterparties/{id}/orders", use: list)
    }

    /// `state`: placed (still open), completed, or cancelled (failed, including those cancelled after
    /// completion: state reversed).
    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let limit = try pageLimit(request, default: 100, maximum: 1000)
        var condition = "customer_id = ?"
        var arguments: StatementArguments = [id]
        switch request.uri.queryParameters.get("state") {
        case nil: break
        case "placed": condition += " AND state = 'placed'"
        case "completed": condition += " AND state = 'completed'"
        case "cancelled": condition += " AND state IN ('cancelled', 'reversed')"
        case let other?: throw Problem.badRequest("state must be placed, completed or cancelled (got '\(other)')")
        }
        if let afterId = try request.uri.queryParameters.get("cursor").map(Cursor.decode) {
            condition += " AND id > ?"
            arguments += [afterId]
        }
        let (orders, known) = try await self.context.read { [condition, arguments] db in
            let orders = try ERPOrderResource.fetch(db, where: condition, arguments, limit: limit + 1)
            let known =
                try Bool.fetchOne(
                    db,
                    sql:
                        "SELECT EXISTS (SELECT 1 FROM counterparty WHERE id = ?1) OR EXISTS (SELECT 1 FROM erp_order WHERE customer_id = ?1)",
                    arguments: [id]) ?? false
            return (orders, known)
        }
        if !known { throw Problem.notFound("no counterparty '\(id)' and no ERP orders for it") }
        let next = orders.count > limit ? orders[limit - 1].id : nil
        return try jsonResponse(Page(items: Array(orders.prefix(limit)), nextCursor: next.map(Cursor.encode)))
    }
}

/// An ERP order as the deals service reports it.
struct ERPOrderResource: Encodable, Sendable {
    let id: String
    let customerId: String
    let dealId: String?
    /// placed, completed, cancelled (failed before completion) or reversed (cancelled after).
    let state: String
    /// pending, completed or failed.
    let outcome: String
    let amount: String
    let currency: String?
    let failureReason: String?
    let placedAt: String?
    let completedAt: String?
    let cancelledAt: String?

    static func fetch(_ db: Database, where condition: String, _ arguments: StatementArguments, limit: Int = 1000) throws
        -> [ERPOrderResource]
    {
        try Row.fetchAll(
            db,
            sql: """
                SELECT id, customer_id, deal_id, state, amount, currency, reason, placed_at, completed_at, cancelled_at
                FROM erp_order WHERE \(condition) ORDER BY id LIMIT \(limit)
                """, arguments: arguments
        ).map { row in
            let state: String = row[3]
            return ERPOrderResource(
                id: row[0], customerId: row[1], dealId: row[2], state: state,
                outcome: state == "placed" ? "pending" : state == "completed" ? "completed" : "failed", amount: row[4], currency: row[5],
                failureReason: row[6], placedAt: row[7], completedAt: row[8], cancelledAt: row[9])
        }
    }
}
