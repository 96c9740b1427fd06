import EventStore
import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/counterparties`: register, read, list and search, update (PUT and merge-PATCH), archive and
/// unarchive, with duplicate checks.
struct CounterpartyController {
    let context: ContactsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/counterparties", use: create)
        group.get("/counterparties", use: list)
        group.get("/counterparties/{id}", use: show)
        group.put("/counterparties/{id}", use: replace)
        group.patch("/counterparties/{id}", use: patch)
        group.post("/counterparties/{id}/archive") { request, context in try await setArchived(true, request, context) }
        group.post("/counterparties/{id}/unarchive") { request, context in try await setArchived(false, request, context) }
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(CounterpartyDraft.self, maxBytes: self.context.maxBodyBytes)
        let id = draft.id ?? TimeOrderedID.make()
        try Validation.validateId(id)
        let record = try Validation.normalized(draft.record(id: id, archived: false))
        let allowDuplicates = try allowsDuplicates(request)
        let stored = try await self.context.commandLocks.withLock(lockKeys(record, previous: nil)) {
            if try await self.context.read({ db in try StoredCounterparty.fetchRow(db, id: id) }) != nil {
                throw Problem.conflict("counterparty '\(id)' already exists", extensions: ["existingId": id])
            }
            try await checkReferences(record, allowDuplicates: allowDuplicates, ownRoot: nil)
            return try await self.context.publish(
                CounterpartyEvent.registered(record), by: user, readBack: { db in try StoredCounterparty.fetchRow(db, id: id) },
                isOwnChange: { stored, eventId in stored.registrationEventId == eventId },
                conflict: Problem.conflict(
                    "counterparty '\(id)' was registered concurrently by another request", extensions: ["existingId": id]))
        }
        return try resourceResponse(CounterpartyResource(stored), stored.bookkeeping, status: .created, location: "/counterparties/\(id)")
    }

    /// A merged id answers with its survivor; `Content-Location` names the survivor.
    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let stored = try await self.context.counterparty(id)
        var response = try resourceResponse(CounterpartyResource(stored), stored.bookkeeping)
        if stored.record.id != id { response.headers[.contentLocation] = "/counterparties/\(stored.record.id)" }
        return response
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try pageLimit(request)
        let chosen = try StoredCounterparty.ListFilter(request)
        if let text = query.get("q") {
            return try await search(text, filter: chosen, request: request, limit: limit)
        }
        let afterId = try query.get("cursor").map(Cursor.decode)
        let page = try await self.context.read { db in
            try StoredCounterparty.list(db, filter: chosen, afterId: afterId, limit: limit)
        }
        let next = page.more ? page.items.last.map { Cursor.encode($0.record.id) } : nil
        return try jsonResponse(Page(items: page.items.map(CounterpartyResource.init), nextCursor: next))
    }

    private func search(_ text: String, filter: StoredCounterparty.ListFilter, request: Request, limit: Int) async throws -> Response {
        guard let query = CounterpartySearch.Query(text, normalization: self.context.normalization) else {
            throw Problem.badRequest("q must contain at least one letter or digit")
        }
        let offset =
            try request.uri.queryParameters.get("cursor").map { cursor -> Int in
                guard let offset = Int(try Cursor.decode(cursor)), offset >= 0 else { throw Problem.badRequest("invalid cursor") }
                return offset
            } ?? 0
        let page = try await self.context.read { db in
            try CounterpartySearch.run(db, query: query, filter: filter, offset: offset, limit: limit)
        }
        let next = page.more ? Cursor.encode(String(offset + limit)) : nil
        return try jsonResponse(Page(items: page.items.map(CounterpartyResource.init), nextCursor: next))
    }

    @Sendable func replace(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        let draft = try await request.decodeJSON(CounterpartyDraft.self, maxBytes: self.context.maxBodyBytes)
        let current = try await existing(id, request)
        if let bodyId = draft.id, bodyId != current.record.id {
            throw Problem.unprocessable("the body's id '\(bodyId)' differs from the counterparty's '\(current.record.id)'")
        }
        let record = try Validation.normalized(draft.record(id: current.record.id, archived: current.record.archived))
        return try await update(current, to: record, request: request, user: user)
    }

    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        let patch = try await request.jsonBody(maxBytes: self.context.maxBodyBytes)
        let current = try await existing(id, request)
        if let patchedId = patch["id"], patchedId != .string(current.record.id) {
            throw Problem.unprocessable("id cannot be changed")
        }
        var record = try mergePatched(current.record, with: patch)
        record.id = current.record.id
        record.archived = current.record.archived
        return try await update(current, to: try Validation.normalized(record), request: request, user: user)
    }

    private func update(
        _ current: StoredCounterparty, to record: CounterpartyRecord, request: Request, user: ActingUser
    ) async throws -> Response {
        if record == current.record { return try resourceResponse(CounterpartyResource(current), current.bookkeeping) }
        let allowDuplicates = try allowsDuplicates(request)
        try await context.commandLocks.withLock(lockKeys(record, previous: current.record)) {
            try await checkReferences(record, allowDuplicates: allowDuplicates, ownRoot: current.record.id, previous: current.record)
            try await context.publish(CounterpartyEvent.updated(record), by: user)
        }
        let stored = try await context.counterparty(record.id)
        return try resourceResponse(CounterpartyResource(stored), stored.bookkeeping)
    }

    private func setArchived(_ archived: Bool, _ request: Request, _ context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let current = try await existing(try context.parameters.require("id"), request)
        let id = current.record.id
        if current.record.archived == archived { return try resourceResponse(CounterpartyResource(current), current.bookkeeping) }
        let event: CounterpartyEvent = archived ? .archived(CounterpartyReference(id: id)) : .unarchived(CounterpartyReference(id: id))
        try await self.context.publish(event, by: user)
        let stored = try await self.context.counterparty(id)
        return try resourceResponse(CounterpartyResource(stored), stored.bookkeeping)
    }

    /// The counterparty `id` stands for, honouring `If-Match` (412 when it changed meanwhile).
    private func existing(_ id: String, _ request: Request) async throws -> StoredCounterparty {
        let current = try await context.counterparty(id)
        try checkIfMatch(request, current.bookkeeping, "counterparty '\(current.record.id)'")
        return current
    }

    private func allowsDuplicates(_ request: Request) throws -> Bool {
        switch request.uri.queryParameters.get("allowDuplicates") {
        case nil, "false": return false
        case "true": return true
        case let other?: throw Problem.badRequest("allowDuplicates must be true or false (got '\(other)')")
        }
    }

    /// What a create or update holds while it checks and publishes: the counterparty's id and the
    /// identities it adds, so two requests racing with the same phone cannot both pass the check.
    private func lockKeys(_ record: CounterpartyRecord, previous: CounterpartyRecord?) -> [String] {
        ["counterparty \(record.id)"] + addedIdentities(record, previous: previous).map { "identity " + ContactNormalization.key($0) }
    }

    /// Only what this change adds: a duplicate accepted earlier does not block later edits.
    private func addedIdentities(
        _ record: CounterpartyRecord, previous: CounterpartyRecord?
    ) -> [(ContactNormalization.IdentityKind, String)] {
        let before = Set((previous.map(context.normalization.identities(of:)) ?? []).map(ContactNormalization.key))
        return context.normalization.identities(of: record).filter { !before.contains(ContactNormalization.key($0)) }
    }

    /// The responsible manager must be a staff member; a tax id, e-mail or phone that another
    /// counterparty already has is a 409 naming it, unless the client says the duplicate is intended.
    private func checkReferences(
        _ record: CounterpartyRecord, allowDuplicates: Bool, ownRoot: String?, previous: CounterpartyRecord? = nil
    ) async throws {
        if record.responsibleManagerId != previous?.responsibleManagerId {
            try await context.requireStaff(record.responsibleManagerId, field: "responsibleManagerId")
        }
        if allowDuplicates { return }
        let identities = addedIdentities(record, previous: previous)
        let match = try await context.read { db in try Duplicates.firstMatch(db, identities: identities, excludingRoot: ownRoot) }
        if let match {
            throw Problem.conflict(
                "counterparty '\(match.counterpartyId)' already has this \(match.kind.label) (\(match.value)); "
                    + "add ?allowDuplicates=true to keep both",
                extensions: ["existingId": match.counterpartyId, "field": match.kind.rawValue])
        }
    }
}

extension StoredCounterparty.ListFilter {
    /// The list filters of a request (`archived`, `role`, `responsibleManagerId`); 400 when invalid.
    init(_ request: Request) throws {
        self.init()
        let query = request.uri.queryParameters
        switch query.get("archived") {
        case nil, "false": archived = false
        case "true": archived = true
        case "any": archived = nil
        case let other?: throw Problem.badRequest("archived must be true, false or any (got '\(other)')")
        }
        if let role = query.get("role") {
            guard let parsed = CounterpartyRole(rawValue: role) else {
                throw Problem.badRequest("role must be one of \(CounterpartyRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.role = parsed
        }
        responsibleManagerId = query.get("responsibleManagerId")
    }
}
