import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/activities`: planned contacts and tasks, rescheduled, completed or cancelled.
struct ActivityController {
    let context: SchedulerContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/activities", use: create)
        group.get("/activities", use: list)
        group.get("/activities/{id}", use: show)
        group.patch("/activities/{id}", use: patch)
        group.post("/activities/{id}/reschedule", use: reschedule)
        group.post("/activities/{id}/complete", use: complete)
        group.post("/activities/{id}/cancel", use: cancel)
    }

    struct Draft: Decodable {
        var id: String?
        var kind: ActivityKind
        var ownerId: String
        var counterpartyId: String?
        var contactPersonId: String?
        var dealId: String?
        var subject: String
        var startsAt: Date
        var endsAt: Date?
        var remindMinutesBefore: Int?
    }

    struct Times: Decodable {
        var startsAt: Date
        var endsAt: Date?
    }

    struct Completion: Decodable {
        var outcome: String
        var completedAt: Date?
    }

    struct Cancellation: Decodable {
        var reason: String
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let id = try Validation.idOrNew(draft.id)
        let activity = try await self.context.read { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM activity WHERE id = ?", arguments: [id]) != nil {
                throw Problem.conflict("activity '\(id)' already exists", extensions: ["existingId": id])
            }
            return try Self.validated(
                Activity(
                    id: id, kind: draft.kind, ownerId: draft.ownerId, counterpartyId: draft.counterpartyId,
                    contactPersonId: draft.contactPersonId, dealId: draft.dealId, subject: draft.subject, startsAt: draft.startsAt,
                    endsAt: draft.endsAt, remindMinutesBefore: draft.remindMinutesBefore), db)
        }
        let view = try await publish(
            .planned(activity), id: id, user: user,
            conflict: Problem.conflict("activity '\(id)' was planned concurrently by another request"))
        return try resourceResponse(view, view.stored.bookkeeping, status: .created, location: "/activities/\(id)")
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let view = try await self.context.read { db in try ActivityView.existing(db, id, ifMatch: nil) }
        return try resourceResponse(view.at(self.context.clock.now()), view.stored.bookkeeping)
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try pageLimit(request)
        let from = try QueryValue.time(query.get("from"), "from")
        let to = try QueryValue.time(query.get("to"), "to")
        let afterKey = try query.get("cursor").map(Cursor.decode)
        var conditions: [String] = []
        var arguments: StatementArguments = []
        for (parameter, column) in [("ownerId", "owner_id"), ("counterpartyId", "counterparty_id")] {
            if let value = query.get(parameter) {
                conditions.append("\(column) = ?")
                arguments += [value]
            }
        }
        if let state = query.get("state") {
            guard let state = ActivityState(rawValue: state) else {
                throw Problem.badRequest("state must be one of \(ActivityState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let now = Timestamp.format(self.context.clock.now())
            switch state {
            case .planned: conditions.append("state = 'planned' AND ends_at > '\(now)'")
            case .overdue: conditions.append("state = 'planned' AND ends_at <= '\(now)'")
            case .done, .cancelled: conditions.append("state = '\(state.rawValue)'")
            }
        }
        if let from {
            conditions.append("starts_at >= ?")
            arguments += [Timestamp.format(from)]
        }
        if let to {
            conditions.append("starts_at < ?")
            arguments += [Timestamp.format(to)]
        }
        if let afterKey {
            // The cursor is `<starts_at> <id>` of the last item.
            let parts = afterKey.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw Problem.badRequest("cursor is not one this API issued") }
            conditions.append("(starts_at, id) > (?, ?)")
            arguments += [parts[0], parts[1]]
        }
        arguments += [limit + 1]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await self.context.read { [arguments] db in
            try Row.fetchAll(
                db, sql: "SELECT \(ActivityView.columns) FROM activity \(filter) ORDER BY starts_at, id LIMIT ?", arguments: arguments
            )
            .map(ActivityView.init(row:))
        }
        let now = self.context.clock.now()
        let page = rows.prefix(limit).map { $0.at(now) }
        let next =
            rows.count > limit
            ? page.last.map { Cursor.encode("\(Timestamp.format($0.stored.record.startsAt)) \($0.stored.record.id)") } : nil
        return try jsonResponse(Page(items: page, nextCursor: next))
    }

    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let patch = try await request.jsonBody(maxBytes: self.context.maxBodyBytes)
        if patch["id"] != nil { throw Problem.unprocessable("id cannot be changed") }
        let id = try context.parameters.require("id")
        let ifMatch = request.headers[.ifMatch]
        let (current, activity) = try await self.context.read { db in
            let current = try ActivityView.existing(db, id, ifMatch: ifMatch)
            try current.requireOpen("changed")
            return (current, try Self.validated(try mergePatched(current.stored.record, with: patch), db))
        }
        if activity == current.stored.record {
            return try resourceResponse(current.at(self.context.clock.now()), current.stored.bookkeeping)
        }
        let moved = activity.startsAt != current.stored.record.startsAt || activity.endsAt != current.stored.record.endsAt
        let view = try await publish(moved ? .rescheduled(activity) : .updated(activity), id: id, user: user)
        return try resourceResponse(view, view.stored.bookkeeping)
    }

    @Sendable func reschedule(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let times = try await request.decodeJSON(Times.self, maxBytes: self.context.maxBodyBytes)
        let id = try context.parameters.require("id")
        let ifMatch = request.headers[.ifMatch]
        let activity = try await self.context.read { db in
            let current = try ActivityView.existing(db, id, ifMatch: ifMatch)
            try current.requireOpen("rescheduled")
            var activity = current.stored.record
            activity.startsAt = times.startsAt
            activity.endsAt = times.endsAt
            return try Self.validated(activity, db)
        }
        let view = try await publish(.rescheduled(activity), id: id, user: user)
        return try resourceResponse(view, view.stored.bookkeeping)
    }

    @Sendable func complete(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let completion = try await request.decodeJSON(Completion.self, maxBytes: self.context.maxBodyBytes)
        let id = try context.parameters.require("id")
        let outcome = try Validation.required(completion.outcome, "outcome", maxLength: 4000)
        let completedAt = completion.completedAt ?? self.context.clock.now()
        let ifMatch = request.headers[.ifMatch]
        let current = try await self.context.read { db in try ActivityView.existing(db, id, ifMatch: ifMatch) }
        try current.requireOpen("completed")
        if completedAt < current.stored.record.startsAt.addingTimeInterval(-24 * 3600) {
            throw Problem.unprocessable("completedAt is more than a day before the activity starts")
        }
        if completedAt >= Self.latest { throw Problem.unprocessable("completedAt must be before 9000") }
        let view = try await publish(
            .completed(ActivityOutcome(id: id, outcome: outcome, completedAt: completedAt, activity: current.stored.record)), id: id,
            user: user)
        return try resourceResponse(view, view.stored.bookkeeping)
    }

    @Sendable func cancel(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let cancellation = try await request.decodeJSON(Cancellation.self, maxBytes: self.context.maxBodyBytes)
        let id = try context.parameters.require("id")
        let reason = try Validation.required(cancellation.reason, "reason", maxLength: 4000)
        let ifMatch = request.headers[.ifMatch]
        let current = try await self.context.read { db in try ActivityView.existing(db, id, ifMatch: ifMatch) }
        try current.requireOpen("cancelled")
        let view = try await publish(.cancelled(ActivityOutcome(id: id, reason: reason)), id: id, user: user)
        return try resourceResponse(view, view.stored.bookkeeping)
    }

    private func publish(
        _ event: ActivityEvent, id: String, user: ActingUser,
        conflict: @autoclosure () -> Problem = Problem.conflict("the activity was changed concurrently; read it again")
    ) async throws -> ActivityView {
        let view = try await context.publish(
            event, by: user, readBack: { db in try ActivityView.fetch(db, id: id) },
            isOwnChange: { view, eventId in view.stored.lastEventId == eventId }, conflict: conflict())
        return view.at(context.clock.now())
    }

    static let earliest = Date(timeIntervalSince1970: 0)
    static let latest = Timestamp.parse("9000-01-01T00:00:00Z")!

    /// The rules of an activity: an owner, counterparty, contact person and deal that exist (the
    /// contact person's counterparty is the activity's; named alone, it supplies it), a subject,
    /// an end after the start, a reminder at most a week ahead.
    static func validated(_ activity: Activity, _ db: Database) throws -> Activity {
        var activity = activity
        try Validation.validateId(activity.id)
        activity.subject = try Validation.required(activity.subject ?? "", "subject", maxLength: 500)
        try ReferenceChecks.requireStaff(db, activity.ownerId, field: "ownerId")
        if let personId = activity.contactPersonId {
            let counterparty = try References.contactPersonCounterparty(db, personId, field: "contactPersonId")
            if let named = activity.counterpartyId, named != counterparty {
                throw Problem.unprocessable(
                    "contactPersonId: contact person '\(personId)' is of counterparty '\(counterparty)', not '\(named)'")
            }
            activity.counterpartyId = counterparty
        }
        if let counterpartyId = activity.counterpartyId {
            try ReferenceChecks.requireCounterparty(db, counterpartyId, field: "counterpartyId")
        }
        if let dealId = activity.dealId { try References.requireDeal(db, dealId, field: "dealId") }
        guard activity.startsAt >= Self.earliest, activity.startsAt < Self.latest else {
            throw Problem.unprocessable("startsAt must be between 1970 and 9000")
        }
        if let endsAt = activity.endsAt {
            guard endsAt > activity.startsAt else { throw Problem.unprocessable("endsAt must be after startsAt") }
            guard endsAt.timeIntervalSince(activity.startsAt) <= 31 * 24 * 3600 else {
                throw Problem.unprocessable("endsAt must be within 31 days of startsAt")
            }
        }
        if let minutes = activity.remindMinutesBefore, !(0...10_080).contains(minutes) {
            throw Problem.unprocessable("remindMinutesBefore must be from 0 to 10080 (a week)")
        }
        return activity
    }
}

/// An activity as the API shows it: the record, its state now (overdue when planned past its
/// end), how it ended, and the bookkeeping.
struct ActivityView: Encodable, Sendable {
    static let columns = "state, completed_at, outcome, cancel_reason, \(StoredEntity<Activity>.columns)"

    var stored: StoredEntity<Activity>
    var storedState: ActivityState
    var state: ActivityState
    var completedAt: Date?
    var outcome: String?
    var cancelReason: String?

    init(row: Row) throws {
        stored = try StoredEntity(row: row)
        storedState = ActivityState(rawValue: row["state"]) ?? .planned
        state = storedState
        completedAt = (row["completed_at"] as String?).flatMap(Timestamp.parse)
        outcome = row["outcome"]
        cancelReason = row["cancel_reason"]
    }

    static func fetch(_ db: Database, id: String) throws -> ActivityView? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM activity WHERE id = ?"), arguments: [id]).map(
            ActivityView.init(row:))
    }

    static func existing(_ db: Database, _ id: String, ifMatch: String?) throws -> ActivityView {
        guard let view = try fetch(db, id: id) else { throw Problem.notFound("no activity '\(id)'") }
        try checkIfMatch(ifMatch, version: view.stored.bookkeeping.version, "activity '\(id)'")
        return view
    }

    /// 409 unless it is still to be done.
    func requireOpen(_ verb: String) throws {
        guard storedState == .planned else {
            throw Problem.conflict("activity '\(stored.record.id)' is \(storedState.rawValue) and cannot be \(verb)")
        }
    }

    /// The view with its state at `now`.
    func at(_ now: Date) -> ActivityView {
        var view = self
        if storedState == .planned && stored.record.effectiveEnd <= now { view.state = .overdue }
        return view
    }

    enum Keys: String, CodingKey { case state, effectiveEndsAt, completedAt, outcome, cancelReason }

    func encode(to encoder: any Encoder) throws {
        try EntityResource(stored: stored).encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(state, forKey: .state)
        try container.encode(stored.record.effectiveEnd, forKey: .effectiveEndsAt)
        try container.encodeIfPresent(completedAt, forKey: .completedAt)
        try container.encodeIfPresent(outcome, forKey: .outcome)
        try container.encodeIfPresent(cancelReason, forKey: .cancelReason)
    }
}
