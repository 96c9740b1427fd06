import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/deals`: deals moving through the pipeline to won or lost, with their stage history and the
/// ERP orders that carry their id.
struct DealController {
    let context: DealsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/deals", use: create)
        group.get("/deals", use: list)
        group.get("/deals/{id}", use: show)
        group.patch("/deals/{id}", use: patch)
        group.post("/deals/{id}/stage", use: changeStage)
        group.post("/deals/{id}/close", use: close)
        group.post("/deals/{id}/reopen", use: reopen)
    }

    struct Draft: Decodable {
        var id: String?
        var counterpartyId: String
        var title: String
        var stage: String?
        var expectedAmount: Amount
        var currency: String
        var probability: Int?
        var expectedCloseDate: CalendarDate
        var ownerId: String
        var inquiryId: String?
        var campaignId: String?
        var nextStep: String?
        var nextStepAt: Date?
    }

    struct StageDraft: Decodable {
        var stage: String
        var probability: Int?
    }

    struct CloseDraft: Decodable {
        var outcome: DealClosure.Outcome
        var reason: String?
        var amount: Amount?
    }

    struct ReopenDraft: Decodable {
        var stage: String?
        var probability: Int?
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let id = try Validation.idOrNew(draft.id)
        // One read for every check: the pipeline, the references, and that the id is free.
        let deal = try await self.context.read { db in
            let pipeline = try Pipeline.current(db)
            let stageId = draft.stage ?? pipeline.stages[0].id
            guard let stage = pipeline.stage(stageId) else { throw Self.unknownStage(stageId, pipeline) }
            let deal = try Self.validated(
                Deal(
                    id: id, counterpartyId: draft.counterpartyId, title: draft.title, stage: stage.id, expectedAmount: draft.expectedAmount,
                    currency: draft.currency, probability: draft.probability ?? stage.probability,
                    expectedCloseDate: draft.expectedCloseDate, ownerId: draft.ownerId, inquiryId: draft.inquiryId,
                    campaignId: draft.campaignId, nextStep: draft.nextStep, nextStepAt: draft.nextStepAt), previous: nil, db)
            if try StoredDeal.fetch(db, id: id) != nil {
                throw Problem.conflict("deal '\(id)' already exists", extensions: ["existingId": id])
            }
            return deal
        }
        let resource = try await publishResource(
            .opened(deal), id: id, user: user, conflict: Problem.conflict("deal '\(id)' was opened concurrently by another request"))
        return try resourceResponse(resource, resource.summary.stored.bookkeeping, status: .created, location: "/deals/\(id)")
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try pageLimit(request)
        var conditions: [String] = []
        var arguments: StatementArguments = []
        for (parameter, column) in [("stage", "stage"), ("ownerId", "owner_id"), ("counterpartyId", "counterparty_id")] {
            if let value = query.get(parameter) {
                conditions.append("\(column) = ?")
                arguments += [value]
            }
        }
        if let open = try QueryValue.bool(query.get("open"), "open") {
            conditions.append("open = ?")
            arguments += [open]
        }
        if let before = try QueryValue.date(query.get("closingBefore"), "closingBefore") {
            conditions.append("expected_close_date < ?")
            arguments += [before.description]
        }
        if let afterId = try query.get("cursor").map(Cursor.decode) {
            conditions.append("id > ?")
            arguments += [afterId]
        }
        arguments += [limit + 1]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let (items, more) = try await self.context.read { [arguments] db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(StoredDeal.columns), \(DealClosing.columns) FROM deal \(filter) ORDER BY id LIMIT ?",
                arguments: arguments)
            return (
                try rows.prefix(limit).map { row in DealSummary(stored: try StoredDeal(row: row), closing: DealClosing(row: row)) },
                rows.count > limit
            )
        }
        let next = more ? items.last.map { Cursor.encode($0.stored.record.id) } : nil
        return try jsonResponse(Page(items: items, nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let resource = try await self.context.read({ db in try DealResource.fetch(db, id: id) }) else {
            throw Problem.notFound("no deal '\(id)'")
        }
        return try resourceResponse(resource, resource.summary.stored.bookkeeping)
    }

    /// Changes anything but the id and the stage (which has its own commands).
    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let patch = try await request.jsonBody(maxBytes: self.context.maxBodyBytes)
        if patch["id"] != nil { throw Problem.unprocessable("id cannot be changed") }
        let id = try context.parameters.require("id")
        let ifMatch = request.headers[.ifMatch]
        let (current, deal) = try await self.context.read { db in
            let current = try Self.existing(db, id, ifMatch: ifMatch)
            return (current, try Self.validated(try mergePatched(current.record, with: patch), previous: current.record, db))
        }
        if deal.stage != current.record.stage {
            throw Problem.unprocessable("stage changes through POST /deals/\(id)/stage, /close or /reopen")
        }
        if deal == current.record { return try await unchanged(id) }
        return try await publish(.updated(deal), id: id, user: user)
    }

    @Sendable func changeStage(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(StageDraft.self, maxBytes: self.context.maxBodyBytes)
        let id = try context.parameters.require("id")
        let ifMatch = request.headers[.ifMatch]
        if Deal.terminalStages.contains(draft.stage) {
            throw Problem.unprocessable("stage '\(draft.stage)' closes the deal: use POST /deals/\(id)/close")
        }
        try DealsValidation.probability(draft.probability)
        let change = try await self.context.read { db -> DealStageChange? in
            let current = try Self.existing(db, id, ifMatch: ifMatch)
            guard current.record.isOpen else {
                throw Problem.conflict("deal '\(id)' is \(current.record.stage); reopen it before changing its stage")
            }
            let pipeline = try Pipeline.current(db)
            guard let stage = pipeline.stage(draft.stage) else { throw Self.unknownStage(draft.stage, pipeline) }
            let probability = draft.probability ?? stage.probability
            if stage.id == current.record.stage && probability == current.record.probability { return nil }
            return DealStageChange(id: id, stage: stage.id, probability: probability)
        }
        guard let change else { return try await unchanged(id) }
        return try await publish(.stageChanged(change), id: id, user: user)
    }

    /// Won (with the amount, the expected amount by default) or lost (with the reason, required).
    @Sendable func close(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(CloseDraft.self, maxBytes: self.context.maxBodyBytes)
        let id = try context.parameters.require("id")
        let reason = try Validation.optional(draft.reason, "reason", maxLength: 500)
        if draft.outcome == .lost && reason == nil { throw Problem.unprocessable("reason is required when a deal is lost") }
        if let amount = draft.amount { try DealsValidation.amount(amount, "amount") }
        let ifMatch = request.headers[.ifMatch]
        let current = try await self.context.read { db in try Self.existing(db, id, ifMatch: ifMatch) }
        guard current.record.isOpen else { throw Problem.conflict("deal '\(id)' is already \(current.record.stage)") }
        let closure = DealClosure(
            id: id, outcome: draft.outcome, reason: reason,
            amount: draft.amount ?? (draft.outcome == .won ? current.record.expectedAmount : nil), currency: current.record.currency)
        return try await publish(.closed(closure), id: id, user: user)
    }

    /// Back to an open stage: the one given, else the last open stage it was at.
    @Sendable func reopen(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try decodeProblem(
            ReopenDraft.self, from: try await request.jsonBody(maxBytes: self.context.maxBodyBytes, empty: .object([])))
        try DealsValidation.probability(draft.probability)
        let id = try context.parameters.require("id")
        let ifMatch = request.headers[.ifMatch]
        let change = try await self.context.read { db in
            let current = try Self.existing(db, id, ifMatch: ifMatch)
            if current.record.isOpen { throw Problem.conflict("deal '\(id)' is open") }
            let pipeline = try Pipeline.current(db)
            let lastOpen = try String.fetchOne(
                db,
                sql: """
                    SELECT stage FROM deal_stage WHERE deal_id = ? AND stage NOT IN ('won', 'lost')
                    ORDER BY entered_at DESC, event_id DESC LIMIT 1
                    """, arguments: [id])
            let stageId = draft.stage ?? lastOpen.flatMap { pipeline.stage($0)?.id } ?? pipeline.stages[0].id
            guard let stage = pipeline.stage(stageId) else { throw Self.unknownStage(stageId, pipeline) }
            return DealStageChange(id: id, stage: stage.id, probability: draft.probability ?? stage.probability)
        }
        return try await publish(.reopened(change), id: id, user: user)
    }

    /// Publishes and answers the deal as the event left it (one read after the event is applied).
    private func publish(
        _ event: DealEvent, id: String, user: ActingUser,
        conflict: @autoclosure () -> Problem = Problem.conflict("the deal was changed concurrently; read it again")
    ) async throws -> Response {
        let resource = try await publishResource(event, id: id, user: user, conflict: conflict())
        return try resourceResponse(resource, resource.summary.stored.bookkeeping)
    }

    private func publishResource(_ event: DealEvent, id: String, user: ActingUser, conflict: @autoclosure () -> Problem)
        async throws -> DealResource
    {
        try await context.publish(
            event, by: user, readBack: { db in try DealResource.fetch(db, id: id) },
            isOwnChange: { resource, eventId in resource.summary.stored.lastEventId == eventId }, conflict: conflict())
    }

    private func unchanged(_ id: String) async throws -> Response {
        guard let resource = try await context.read({ db in try DealResource.fetch(db, id: id) }) else {
            throw Problem.notFound("no deal '\(id)'")
        }
        return try resourceResponse(resource, resource.summary.stored.bookkeeping)
    }

    static func unknownStage(_ id: String, _ pipeline: Pipeline) -> Problem {
        Problem.unprocessable("stage '\(id)' is not an open stage of the pipeline (\(pipeline.stages.map(\.id).joined(separator: ", ")))")
    }

    /// The rules of a deal: a title, an owner and a counterparty that exist, an amount in a
    /// currency, a close date; the inquiry and campaign, if named, exist (a deal from an inquiry
    /// takes its campaign). References are checked only when they change.
    static func validated(_ deal: Deal, previous: Deal?, _ db: Database) throws -> Deal {
        var deal = deal
        deal.title = try Validation.required(deal.title ?? "", "title", maxLength: 200)
        guard let amount = deal.expectedAmount else { throw Problem.unprocessable("expectedAmount is required") }
        try DealsValidation.amount(amount, "expectedAmount")
        deal.currency = try DealsValidation.currency(deal.currency ?? "")
        if deal.expectedCloseDate == nil { throw Problem.unprocessable("expectedCloseDate is required") }
        try DealsValidation.probability(deal.probability)
        deal.nextStep = try Validation.optional(deal.nextStep, "nextStep", maxLength: 500)
        guard let ownerId = deal.ownerId else { throw Problem.unprocessable("ownerId is required") }
        if let id = deal.inquiryId {
            try Validation.validateId(id, "inquiryId")
        }
        if ownerId != previous?.ownerId { try ReferenceChecks.requireStaff(db, ownerId, field: "ownerId") }
        if deal.counterpartyId != previous?.counterpartyId {
            try ReferenceChecks.requireCounterparty(db, deal.counterpartyId, field: "counterpartyId")
        }
        if let inquiryId = deal.inquiryId, inquiryId != previous?.inquiryId {
            guard let inquiry = try StoredInquiry.fetch(db, id: inquiryId) else {
                throw Problem.unprocessable("inquiryId: no inquiry '\(inquiryId)'")
            }
            if deal.campaignId == nil { deal.campaignId = inquiry.record.campaignId }
        }
        if let campaignId = deal.campaignId, campaignId != previous?.campaignId {
            try References.requireCampaign(db, campaignId, field: "campaignId")
        }
        return deal
    }

    /// The deal (404), its `If-Match` checked (412).
    static func existing(_ db: Database, _ id: String, ifMatch: String?) throws -> StoredDeal {
        guard let stored = try StoredDeal.fetch(db, id: id) else { throw Problem.notFound("no deal '\(id)'") }
        try checkIfMatch(ifMatch, version: stored.bookkeeping.version, "deal '\(id)'")
        return stored
    }
}

/// How a closed deal closed.
struct DealClosing: Encodable, Sendable {
    static let columns = "outcome, close_reason, closed_amount, closed_at, won_order_id"
    let outcome: String?
    let reason: String?
    let amount: String?
    let closedAt: String?
    let wonByOrderId: String?

    init(row: Row) {
        outcome = row["outcome"]
        reason = row["close_reason"]
        amount = row["closed_amount"]
        closedAt = row["closed_at"]
        wonByOrderId = row["won_order_id"]
    }
}

/// A deal in a list: its record, bookkeeping, and how it closed.
struct DealSummary: Encodable, Sendable {
    let stored: StoredDeal
    let closing: DealClosing

    enum Keys: String, CodingKey { case closing }

    func encode(to encoder: any Encoder) throws {
        try EntityResource(stored: stored).encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        if closing.outcome != nil { try container.encode(closing, forKey: .closing) }
    }
}

/// `GET /deals/{id}`: the deal, how it closed, every stage it entered, and its ERP orders.
struct DealResource: Encodable, Sendable {
    struct StageEntry: Encodable, Sendable {
        let stage: String
        let probability: Int?
        let enteredAt: String
        let enteredBy: String?
    }

    let summary: DealSummary
    let stageHistory: [StageEntry]
    let orders: [ERPOrderResource]

    enum Keys: String, CodingKey { case stageHistory, orders }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(stageHistory, forKey: .stageHistory)
        try container.encode(orders, forKey: .orders)
    }

    static func fetch(_ db: Database, id: String) throws -> DealResource? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(StoredDeal.columns), \(DealClosing.columns) FROM deal WHERE id = ?"), arguments: [id])
        else { return nil }
        let history = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT stage, probability, entered_at, entered_by FROM deal_stage WHERE deal_id = ? ORDER BY entered_at, event_id"),
            arguments: [id]
        ).map { StageEntry(stage: $0[0], probability: $0[1], enteredAt: $0[2], enteredBy: $0[3]) }
        let orders = try ERPOrderResource.fetch(db, where: "deal_id = ?", [id])
        return DealResource(
            summary: DealSummary(stored: try StoredDeal(row: row), closing: DealClosing(row: row)), stageHistory: history, orders: orders)
    }
}
