import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/webhooks`: receivers of reminders. The secret is shown once, when a webhook is registered.
struct WebhookController {
    let context: SchedulerContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/webhooks", use: create)
        group.get("/webhooks", use: list)
        group.get("/webhooks/{id}", use: show)
        group.delete("/webhooks/{id}", use: remove)
        group.get("/webhooks/{id}/deliveries", use: deliveries)
    }

    struct Draft: Decodable {
        var url: String
        var kinds: [Reminder.Kind]?
        var recipientIds: [String]?
    }

    /// A webhook as the API shows it (the secret only when registered).
    struct View: Encodable, Sendable {
        var id: String
        var url: String
        var kinds: [String]?
        var recipientIds: [String]?
        var secret: String?
        var state: String
        var stateReason: String?
        var registeredAt: Date?
        var registeredBy: String?

        static func fetch(_ db: Database, id: String?) throws -> [View] {
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, url, kinds, recipient_ids, state, state_reason, registered_at, registered_by FROM webhook
                    WHERE state != 'removed' \(id == nil ? "" : "AND id = ?") ORDER BY id
                    """, arguments: StatementArguments(id.map { [$0] } ?? [])
            ).map { row in
                View(
                    id: row[0], url: row[1],
                    kinds: try (row[2] as String?).map { try WireDecoder.decode([String].self, from: Array($0.utf8)) },
                    recipientIds: try (row[3] as String?).map { try WireDecoder.decode([String].self, from: Array($0.utf8)) },
                    state: row[4], stateReason: row[5], registeredAt: (row[6] as String?).flatMap(Timestamp.parse), registeredBy: row[7])
            }
        }
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let url = try WebhookURL.validated(draft.url, allowPrivate: self.context.settings.webhookAllowPrivate)
        if let kinds = draft.kinds, kinds.isEmpty {
            throw Problem.unprocessable("kinds must name at least one kind (or be left out for all)")
        }
        let recipients = try draft.recipientIds.map { ids in
            try Validation.list(ids, "recipientIds", maxCount: 1000, maxLength: 64)
        }
        if let recipients {
            if recipients.isEmpty { throw Problem.unprocessable("recipientIds must name at least one (or be left out for all)") }
            try await self.context.read { db in
                for (index, id) in recipients.enumerated() { try ReferenceChecks.requireStaff(db, id, field: "recipientIds[\(index)]") }
            }
        }
        let webhook = Webhook(
            id: TimeOrderedID.make(), url: url, kinds: draft.kinds.map(Validation.unique), recipientIds: recipients,
            secret: WebhookSignature.makeSecret())
        var view = try await self.context.publish(
            WebhookEvent.registered(webhook), by: user, readBack: { db in try View.fetch(db, id: webhook.id).first },
            isOwnChange: { _, _ in true }, conflict: Problem.conflict("webhook '\(webhook.id)' exists"))
        view.secret = webhook.secret
        return try jsonResponse(view, status: .created, headers: [.location: "/webhooks/\(webhook.id)"])
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let views = try await self.context.read { db in try View.fetch(db, id: nil) }
        return try jsonResponse(Page(items: views, nextCursor: nil))
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        try jsonResponse(try await existing(try context.parameters.require("id")))
    }

    @Sendable func remove(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        _ = try await existing(id)
        try await self.context.publish(WebhookEvent.removed(WebhookReference(id: id)), by: user)
        return Response(status: .noContent)
    }

    @Sendable func deliveries(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let limit = try pageLimit(request)
        _ = try await existing(id)
        let outcome = request.uri.queryParameters.get("outcome")
        if let outcome, WebhookDeliveryAttempt.Outcome(rawValue: outcome) == nil {
            throw Problem.badRequest("outcome must be one of delivered, retrying, failed, gone")
        }
        let deliveries = try await self.context.read { db in
            try ReminderController.Delivery.fetch(
                db, where: "webhook_id = ?\(outcome == nil ? "" : " AND outcome = ?")",
                StatementArguments([id] + (outcome.map { [$0] } ?? [])),
                limit: limit)
        }
        return try jsonResponse(Page(items: deliveries, nextCursor: nil))
    }

    private func existing(_ id: String) async throws -> View {
        guard let view = try await context.read({ db in try View.fetch(db, id: id).first }) else {
            throw Problem.notFound("no webhook '\(id)'")
        }
        return view
    }
}

/// Where a webhook may point: an absolute http(s) URL with a host; loopback, private and
/// link-local addresses only when `CRM_WEBHOOK_ALLOW_PRIVATE` says so (a receiver chosen by a user
/// must not reach the service's own network).
enum WebhookURL {
    static func validated(_ text: String, allowPrivate: Bool) throws -> String {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard text.utf8.count <= 2000, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty
        else { throw Problem.unprocessable("url must be an absolute http or https URL") }
        if components.user != nil || components.password != nil { throw Problem.unprocessable("url must not carry credentials") }
        if !allowPrivate && isPrivate(host) {
            throw Problem.unprocessable("url: \(host) is a loopback or private address (allowed only with CRM_WEBHOOK_ALLOW_PRIVATE=true)")
        }
        return text
    }

    static func isPrivate(_ host: String) -> Bool {
        let host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" || host.hasSuffix(".localhost") || host.hasSuffix(".local") || host.hasSuffix(".internal") { return true }
        let octets = host.split(separator: ".").compactMap { UInt8($0) }
        if octets.count == 4 {
            switch (octets[0], octets[1]) {
            case (127, _), (10, _), (0, _), (169, 254), (192, 168): return true
            case (172, 16...31), (100, 64...127): return true
            default: return false
            }
        }
        if host.contains(":") {
            return host == "::1" || host == "::" || host.hasPrefix("fc") || host.hasPrefix("fd") || host.hasPrefix("fe80")
                || host.hasPrefix("::ffff:")
        }
        return false
    }
}
