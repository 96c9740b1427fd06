import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/inquiries`: every approach of a potential buyer, from a registered counterparty or from a
/// prospect not registered yet (linked to its counterparty once it is).
struct InquiryController {
    let context: DealsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/inquiries", use: create)
        group.get("/inquiries", use: list)
        group.get("/inquiries/{id}", use: show)
        group.patch("/inquiries/{id}", use: patch)
        group.post("/inquiries/{id}/link", use: link)
    }

    struct Draft: Decodable {
        var id: String?
        var receivedAt: Date?
        var channel: String
        var campaignId: String?
        var source: String?
        var subject: String
        var managerId: String
        var counterpartyId: String?
        var prospect: Prospect?
    }

    struct LinkDraft: Decodable {
        var counterpartyId: String
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let inquiry = try await validated(
            Inquiry(
                id: try Validation.idOrNew(draft.id), receivedAt: draft.receivedAt ?? Date(), channel: draft.channel,
                campaignId: draft.campaignId, source: draft.source, counterpartyId: draft.counterpartyId, prospect: draft.prospect,
                subject: draft.subject, managerId: draft.managerId), previous: nil)
        if try await self.context.read({ db in try StoredInquiry.fetch(db, id: inquiry.id) }) != nil {
            throw Problem.conflict("inquiry '\(inquiry.id)' already exists", extensions: ["existingId": inquiry.id])
        }
        let stored: StoredInquiry = try await self.context.publish(
            InquiryEvent.registered(inquiry), by: user, readBack: inquiry.id,
            conflict: Problem.conflict("inquiry '\(inquiry.id)' was registered concurrently by another request"))
        return try resourceResponse(
            EntityResource(stored: stored), stored.bookkeeping, status: .created, location: "/inquiries/\(inquiry.id)")
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try pageLimit(request)
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let from = try QueryValue.time(query.get("from"), "from") {
            conditions.append("received_at >= ?")
            arguments += [Timestamp.format(from)]
        }
        if let to = try QueryValue.time(query.get("to"), "to") {
            conditions.append("received_at < ?")
            arguments += [Timestamp.format(to)]
        }
        for (parameter, column) in [("channel", "channel"), ("campaignId", "campaign_id"), ("managerId", "manager_id")] {
            if let value = query.get(parameter) {
                conditions.append("\(column) = ?")
                arguments += [value]
            }
        }
        if let linked = try QueryValue.bool(query.get("linked"), "linked") {
            conditions.append(linked ? "counterparty_id IS NOT NULL" : "counterparty_id IS NULL")
        }
        if let cursor = try query.get("cursor").map(Cursor.decode) {
            let parts = cursor.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw Problem.badRequest("cursor is not one this service issued") }
            conditions.append("(received_at, id) > (?, ?)")
            arguments += [parts[0], parts[1]]
        }
        arguments += [limit + 1]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let (items, more) = try await self.context.read { [arguments] db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(StoredInquiry.columns) FROM inquiry \(filter) ORDER BY received_at, id LIMIT ?", arguments: arguments)
            return (try rows.prefix(limit).map(StoredInquiry.init(row:)), rows.count > limit)
        }
        let next = more ? items.last.map { Cursor.encode("\(Timestamp.format($0.record.receivedAt)) \($0.record.id)") } : nil
        return try jsonResponse(Page(items: items.map { EntityResource(stored: $0) }, nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let stored = try await existing(try context.parameters.require("id"), nil)
        return try resourceResponse(EntityResource(stored: stored), stored.bookkeeping)
    }

    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let patch = try await request.jsonBody(maxBytes: self.context.maxBodyBytes)
        let current = try await existing(try context.parameters.require("id"), request)
        if patch["id"] != nil { throw Problem.unprocessable("id cannot be changed") }
        var inquiry = try mergePatched(current.record, with: patch)
        inquiry.prospectName = inquiry.prospect?.name
        return try await update(current, to: try await validated(inquiry, previous: current.record), user: user)
    }

    /// Ties a prospect's inquiry to the counterparty registered for it.
    @Sendable func link(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(LinkDraft.self, maxBytes: self.context.maxBodyBytes)
        let current = try await existing(try context.parameters.require("id"), request)
        if let linked = current.record.counterpartyId {
            if linked == draft.counterpartyId { return try resourceResponse(EntityResource(stored: current), current.bookkeeping) }
            throw Problem.conflict("inquiry '\(current.record.id)' is already linked to counterparty '\(linked)'")
        }
        try await self.context.requireCounterparty(draft.counterpartyId, field: "counterpartyId")
        var inquiry = current.record
        inquiry.counterpartyId = draft.counterpartyId
        return try await update(current, to: inquiry, user: user)
    }

    private func update(_ current: StoredInquiry, to inquiry: Inquiry, user: ActingUser) async throws -> Response {
        if inquiry == current.record { return try resourceResponse(EntityResource(stored: current), current.bookkeeping) }
        let stored: StoredInquiry = try await context.publish(
            InquiryEvent.updated(inquiry), by: user, readBack: inquiry.id,
            conflict: Problem.conflict("inquiry '\(inquiry.id)' was changed concurrently"))
        return try resourceResponse(EntityResource(stored: stored), stored.bookkeeping)
    }

    /// The rules of an inquiry: a channel, a subject, a manager who exists, and either a
    /// counterparty that exists or a prospect with a name (not both); the campaign, if named, exists.
    /// References are checked only when they change.
    private func validated(_ inquiry: Inquiry, previous: Inquiry?) async throws -> Inquiry {
        var inquiry = inquiry
        inquiry.channel = try Validation.required(inquiry.channel, "channel", maxLength: 64)
        inquiry.subject = try Validation.required(inquiry.subject ?? "", "subject", maxLength: 500)
        inquiry.source = try Validation.optional(inquiry.source, "source", maxLength: 200)
        guard let managerId = inquiry.managerId else { throw Problem.unprocessable("managerId is required") }
        if var prospect = inquiry.prospect {
            prospect.name = try Validation.required(prospect.name, "prospect.name", maxLength: 200)
            prospect.company = try Validation.optional(prospect.company, "prospect.company", maxLength: 200)
            prospect.phone = try Validation.optional(prospect.phone, "prospect.phone", maxLength: 64)
            prospect.email = try Validation.optional(prospect.email, "prospect.email", maxLength: 254)
            if let email = prospect.email, !Validation.isPlausibleEmail(email) {
                throw Problem.unprocessable("prospect.email '\(email)' is not an email address")
            }
            inquiry.prospect = prospect
            inquiry.prospectName = prospect.name
        }
        if inquiry.counterpartyId == nil && inquiry.prospect == nil {
            throw Problem.unprocessable("either counterpartyId or prospect is required")
        }
        if previous == nil && inquiry.counterpartyId != nil && inquiry.prospect != nil {
            throw Problem.unprocessable(
                "give either counterpartyId or prospect, not both (link a prospect's inquiry once it is registered)")
        }
        if managerId != previous?.managerId { try await context.requireStaff(managerId, field: "managerId") }
        if let counterpartyId = inquiry.counterpartyId, counterpartyId != previous?.counterpartyId {
            try await context.requireCounterparty(counterpartyId, field: "counterpartyId")
        }
        if let campaignId = inquiry.campaignId, campaignId != previous?.campaignId {
            try await context.requireCampaign(campaignId, field: "campaignId")
        }
        return inquiry
    }

    private func existing(_ id: String, _ request: Request?) async throws -> StoredInquiry {
        try await context.existing(Inquiry.self, id, what: "inquiry", ifMatch: request)
    }
}
