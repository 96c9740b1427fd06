import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// Interaction history: `POST/GET /counterparties/{id}/interactions` (log one; the timeline newest
/// first, paged, by kind and period) and `GET/PUT /interactions/{id}` (read, correct).
struct InteractionController {
    let context: ContactsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/counterparties/{id}/interactions", use: log)
        group.get("/counterparties/{id}/interactions", use: timeline)
        group.get("/interactions/{interactionId}", use: show)
        group.put("/interactions/{interactionId}", use: correct)
    }

    struct Draft: Decodable {
        var id: String?
        var kind: InteractionKind
        var direction: InteractionDirection?
        var occurredAt: Date?
        var durationMinutes: Int?
        var contactPersonId: String?
        var staffId: String?
        var subject: String?
        var outcome: String?
        var dealId: String?

        func interaction(id: String, counterpartyId: String, defaultTime: Date) -> Interaction {
            Interaction(
                id: id, counterpartyId: counterpartyId, kind: kind, direction: direction, occurredAt: occurredAt ?? defaultTime,
                durationMinutes: durationMinutes, contactPersonId: contactPersonId, staffId: staffId, subject: subject,
                outcome: outcome, dealId: dealId)
        }
    }

    @Sendable func log(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let owner = try await self.context.counterparty(try context.parameters.require("id")).record.id
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let interaction = try Validation.normalized(
            draft.interaction(id: draft.id ?? TimeOrderedID.make(), counterpartyId: owner, defaultTime: Date()))
        if try await self.context.read({ db in try StoredInteraction.fetch(db, id: interaction.id) }) != nil {
            throw Problem.conflict("interaction '\(interaction.id)' already exists", extensions: ["existingId": interaction.id])
        }
        try await checkReferences(interaction, owner: owner)
        let stored: StoredInteraction = try await self.context.publish(
            InteractionEvent.logged(interaction), by: user, readBack: interaction.id,
            conflict: Problem.conflict("interaction '\(interaction.id)' was logged concurrently by another request"))
        return try resourceResponse(
            InteractionResource(stored: stored, counterpartyId: owner), stored.bookkeeping, status: .created,
            location: "/interactions/\(interaction.id)")
    }

    @Sendable func timeline(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let owner = try await self.context.counterparty(try context.parameters.require("id")).record.id
        let query = request.uri.queryParameters
        let limit = try pageLimit(request)
        var filter = StoredInteraction.TimelineFilter()
        if let kinds = query.get("kind") {
            filter.kinds = try kinds.split(separator: ",").map { name in
                guard let kind = InteractionKind(rawValue: String(name)) else {
                    throw Problem.badRequest(
                        "kind must be a comma-separated list of \(InteractionKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return kind
            }
        }
        filter.from = try query.get("from").map { try time($0, "from") }
        filter.to = try query.get("to").map { try time($0, "to") }
        let after = try query.get("cursor").map { cursor -> StoredInteraction.Position in
            guard let position = try? WireDecoder.decode(StoredInteraction.Position.self, from: Array(try Cursor.decode(cursor).utf8))
            else {
                throw Problem.badRequest("invalid cursor")
            }
            return position
        }
        let chosen = filter
        let page = try await self.context.read { db in
            try StoredInteraction.timeline(
                db, counterpartyIds: try StoredCounterparty.absorbedIds(db, root: owner), filter: chosen, after: after, limit: limit)
        }
        let next =
            try page.more
            ? page.items.last.map { Cursor.encode(String(decoding: try WireEncoder.encode($0.position), as: UTF8.self)) } : nil
        return try jsonResponse(Page(items: page.items.map { InteractionResource(stored: $0, counterpartyId: owner) }, nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let (owner, stored) = try await existing(try context.parameters.require("interactionId"), nil)
        return try resourceResponse(InteractionResource(stored: stored, counterpartyId: owner), stored.bookkeeping)
    }

    /// Replaces an interaction with a corrected one (it stays with its counterparty).
    @Sendable func correct(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let (owner, current) = try await existing(try context.parameters.require("interactionId"), request)
        if let bodyId = draft.id, bodyId != current.record.id {
            throw Problem.unprocessable("the body's id '\(bodyId)' differs from the path's '\(current.record.id)'")
        }
        let interaction = try Validation.normalized(
            draft.interaction(id: current.record.id, counterpartyId: current.record.counterpartyId, defaultTime: current.record.occurredAt))
        if interaction == current.record {
            return try resourceResponse(InteractionResource(stored: current, counterpartyId: owner), current.bookkeeping)
        }
        try await checkReferences(interaction, owner: owner)
        let stored: StoredInteraction = try await self.context.publish(
            InteractionEvent.corrected(interaction), by: user, readBack: interaction.id,
            conflict: Problem.conflict("interaction '\(interaction.id)' was changed concurrently"))
        return try resourceResponse(InteractionResource(stored: stored, counterpartyId: owner), stored.bookkeeping)
    }

    /// The contact person must belong to the counterparty; the staff member must exist.
    private func checkReferences(_ interaction: Interaction, owner: String) async throws {
        try await context.requireStaff(interaction.staffId, field: "staffId")
        guard let personId = interaction.contactPersonId else { return }
        let belongs = try await context.read { db -> Bool in
            guard let person = try StoredContactPerson.fetch(db, id: personId) else { return false }
            return try StoredCounterparty.resolve(db, id: person.record.counterpartyId) == owner
        }
        if !belongs { throw Problem.unprocessable("contactPersonId: counterparty '\(owner)' has no contact person '\(personId)'") }
    }

    private func existing(_ id: String, _ request: Request?) async throws -> (owner: String, interaction: StoredInteraction) {
        let found = try await context.read { db -> (String, StoredInteraction)? in
            guard let stored = try StoredInteraction.fetch(db, id: id) else { return nil }
            return (try StoredCounterparty.resolve(db, id: stored.record.counterpartyId) ?? stored.record.counterpartyId, stored)
        }
        guard let found else { throw Problem.notFound("no interaction '\(id)'") }
        if let request { try checkIfMatch(request, found.1.bookkeeping, "interaction '\(id)'") }
        return found
    }

    private func time(_ text: String, _ name: String) throws -> Date {
        guard let date = Timestamp.parse(text) else {
            throw Problem.badRequest("\(name) must be an RFC 3339 time such as 2026-03-14T09:30:00Z")
        }
        return date
    }
}
