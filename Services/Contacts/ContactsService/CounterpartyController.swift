import EventStore
import Foundation
import GRDB
import Hummingbird
import ServiceRuntime
import WireSchema

/// `/counterparties`: register, read, list, update (PUT and merge-PATCH), archive and unarchive.
struct CounterpartyController {
    let store: ServiceStore
    let commands: CommandGateway
    let maxBodyBytes: Int

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
        let draft = try await request.decodeJSON(CounterpartyDraft.self, maxBytes: maxBodyBytes)
        let id = draft.id ?? TimeOrderedID.make()
        try CounterpartyValidation.validateId(id)
        let record = try CounterpartyValidation.normalized(draft.record(id: id, archived: false))
        if try await fetch(id) != nil {
            throw Problem.conflict("counterparty '\(id)' already exists", extensions: ["existingId": id])
        }
        let event = CounterpartyEvent.registered(record)
        let eventId = TimeOrderedID.make()
        try await commands.execute(
            topic: Topics.counterparties, key: id, type: event.type, data: try event.encodeData(), actor: user, eventId: eventId)
        guard let stored = try await fetch(id), stored.registrationEventId == eventId else {
            throw Problem.conflict("counterparty '\(id)' was registered concurrently by another request", extensions: ["existingId": id])
        }
        return try resource(stored, status: .created, location: "/counterparties/\(id)")
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let stored = try await fetch(id) else { throw Problem.notFound("no counterparty '\(id)'") }
        return try resource(stored)
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try pageLimit(request)
        let afterId = try query.get("cursor").map(Cursor.decode)
        var filter = StoredCounterparty.ListFilter()
        switch query.get("archived") {
        case nil, "false": filter.archived = false
        case "true": filter.archived = true
        case "any": filter.archived = nil
        case let other?: throw Problem.badRequest("archived must be true, false or any (got '\(other)')")
        }
        if let role = query.get("role") {
            guard let parsed = CounterpartyRole(rawValue: role) else {
                throw Problem.badRequest("role must be one of \(CounterpartyRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.role = parsed
        }
        filter.responsibleManagerId = query.get("responsibleManagerId")
        let chosen = filter
        let page = try await store.database.read { db in
            try StoredCounterparty.list(db, filter: chosen, afterId: afterId, limit: limit)
        }
        let next = page.more ? page.items.last.map { Cursor.encode($0.record.id) } : nil
        return try jsonResponse(Page(items: page.items.map(CounterpartyResource.init), nextCursor: next))
    }

    @Sendable func replace(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        let draft = try await request.decodeJSON(CounterpartyDraft.self, maxBytes: maxBodyBytes)
        if let bodyId = draft.id, bodyId != id {
            throw Problem.unprocessable("the body's id '\(bodyId)' differs from the path's '\(id)'")
        }
        let current = try await existing(id, request)
        let record = try CounterpartyValidation.normalized(draft.record(id: id, archived: current.record.archived))
        return try await update(current, to: record, user: user)
    }

    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        let patch = try await request.jsonBody(maxBytes: maxBodyBytes)
        guard case .object = patch else { throw Problem.unprocessable("a merge patch must be a JSON object") }
        if let patchedId = patch["id"], patchedId != .string(id) {
            throw Problem.unprocessable("id cannot be changed")
        }
        let current = try await existing(id, request)
        let currentJSON = try JSONParser.parse(try WireEncoder.encode(current.record))
        var record = try decodeProblem(CounterpartyRecord.self, from: currentJSON.merged(with: patch))
        record.id = id
        record.archived = current.record.archived
        return try await update(current, to: try CounterpartyValidation.normalized(record), user: user)
    }

    private func update(_ current: StoredCounterparty, to record: CounterpartyRecord, user: ActingUser) async throws -> Response {
        if record == current.record { return try resource(current) }
        let event = CounterpartyEvent.updated(record)
        try await commands.execute(
            topic: Topics.counterparties, key: record.id, type: event.type, data: try event.encodeData(), actor: user)
        return try resource(try await fetch(record.id) ?? current)
    }

    private func setArchived(_ archived: Bool, _ request: Request, _ context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        let current = try await existing(id, request)
        if current.record.archived == archived { return try resource(current) }
        let event: CounterpartyEvent = archived ? .archived(CounterpartyReference(id: id)) : .unarchived(CounterpartyReference(id: id))
        try await commands.execute(topic: Topics.counterparties, key: id, type: event.type, data: try event.encodeData(), actor: user)
        return try resource(try await fetch(id) ?? current)
    }

    /// The current counterparty, honouring `If-Match: "<version>"` (412 when it changed meanwhile).
    private func existing(_ id: String, _ request: Request) async throws -> StoredCounterparty {
        guard let current = try await fetch(id) else { throw Problem.notFound("no counterparty '\(id)'") }
        if let ifMatch = request.headers[.ifMatch], ifMatch != "*", ifMatch != etag(current) {
            throw Problem(.preconditionFailed, "counterparty '\(id)' is at version \(current.version), not \(ifMatch)")
        }
        return current
    }

    private func fetch(_ id: String) async throws -> StoredCounterparty? {
        try await store.database.read { db in try StoredCounterparty.fetch(db, id: id) }
    }

    private func etag(_ stored: StoredCounterparty) -> String { "\"\(stored.version)\"" }

    private func resource(_ stored: StoredCounterparty, status: HTTPResponse.Status = .ok, location: String? = nil) throws -> Response {
        var headers: HTTPFields = [.eTag: etag(stored)]
        if let location { headers[.location] = location }
        return try jsonResponse(CounterpartyResource(stored), status: status, headers: headers)
    }
}
