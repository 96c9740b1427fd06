import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/campaigns`: advertising and marketing campaigns, the costs recorded against them, and what
/// they brought so far (inquiries, deals, won amounts).
struct CampaignController {
    let context: DealsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/campaigns", use: create)
        group.get("/campaigns", use: list)
        group.get("/campaigns/{id}", use: show)
        group.patch("/campaigns/{id}", use: patch)
        group.post("/campaigns/{id}/costs", use: recordCost)
    }

    struct Draft: Decodable {
        var id: String?
        var name: String
        var channel: String
        var startsOn: CalendarDate
        var endsOn: CalendarDate
        var budget: Amount
        var currency: String
    }

    struct CostDraft: Decodable {
        var amount: Amount
        var currency: String?
        var incurredOn: CalendarDate?
        var note: String?
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let campaign = try Self.validated(
            Campaign(
                id: try Validation.idOrNew(draft.id), name: draft.name, channel: draft.channel, startsOn: draft.startsOn,
                endsOn: draft.endsOn, budget: draft.budget, currency: draft.currency))
        if try await self.context.read({ db in try StoredCampaign.fetch(db, id: campaign.id) }) != nil {
            throw Problem.conflict("campaign '\(campaign.id)' already exists", extensions: ["existingId": campaign.id])
        }
        let stored: StoredCampaign = try await self.context.publish(
            CampaignEvent.defined(campaign), by: user, readBack: campaign.id,
            conflict: Problem.conflict("campaign '\(campaign.id)' was defined concurrently by another request"))
        return try resourceResponse(
            try await resource(stored), stored.bookkeeping, status: .created, location: "/campaigns/\(campaign.id)")
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let limit = try pageLimit(request)
        let afterId = try request.uri.queryParameters.get("cursor").map(Cursor.decode)
        let channel = request.uri.queryParameters.get("channel")
        let page = try await self.context.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let channel {
                conditions.append("channel = ?")
                arguments += [channel]
            }
            if let afterId {
                conditions.append("id > ?")
                arguments += [afterId]
            }
            arguments += [limit + 1]
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(StoredCampaign.columns) FROM campaign \(filter) ORDER BY id LIMIT ?", arguments: arguments)
            return (try rows.prefix(limit).map(StoredCampaign.init(row:)), rows.count > limit)
        }
        let next = page.1 ? page.0.last.map { Cursor.encode($0.record.id) } : nil
        return try jsonResponse(Page(items: page.0.map { EntityResource(stored: $0) }, nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let stored = try await existing(try context.parameters.require("id"), nil)
        return try resourceResponse(try await resource(stored), stored.bookkeeping)
    }

    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let patch = try await request.jsonBody(maxBytes: self.context.maxBodyBytes)
        let current = try await existing(try context.parameters.require("id"), request)
        if patch["id"] != nil { throw Problem.unprocessable("id cannot be changed") }
        let campaign = try Self.validated(try mergePatched(current.record, with: patch))
        if campaign == current.record { return try resourceResponse(try await resource(current), current.bookkeeping) }
        let stored: StoredCampaign = try await self.context.publish(
            CampaignEvent.defined(campaign), by: user, readBack: campaign.id,
            conflict: Problem.conflict("campaign '\(campaign.id)' was changed concurrently"))
        return try resourceResponse(try await resource(stored), stored.bookkeeping)
    }

    /// Adds an actual cost (in the campaign's currency); answers the campaign with its cost to date.
    @Sendable func recordCost(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(CostDraft.self, maxBytes: self.context.maxBodyBytes)
        let campaign = try await existing(try context.parameters.require("id"), nil)
        try DealsValidation.amount(draft.amount, "amount")
        let currency = try draft.currency.map { try DealsValidation.currency($0) } ?? campaign.record.currency
        if let budgetCurrency = campaign.record.currency, currency != budgetCurrency {
            throw Problem.unprocessable("currency must be the campaign's currency, \(budgetCurrency) (got \(currency ?? ""))")
        }
        let cost = CampaignCost(
            id: campaign.record.id, amount: draft.amount, currency: currency, incurredOn: draft.incurredOn ?? CalendarDate(utc: Date()),
            note: try Validation.optional(draft.note, "note", maxLength: 1000))
        try await self.context.publish(CampaignEvent.costRecorded(cost), by: user)
        let stored = try await existing(campaign.record.id, nil)
        return try resourceResponse(try await resource(stored), stored.bookkeeping, status: .created)
    }

    static func validated(_ campaign: Campaign) throws -> Campaign {
        var campaign = campaign
        campaign.name = try Validation.required(campaign.name, "name", maxLength: 200)
        campaign.channel = try Validation.required(campaign.channel ?? "", "channel", maxLength: 64)
        if let startsOn = campaign.startsOn, let endsOn = campaign.endsOn, endsOn.dayNumber < startsOn.dayNumber {
            throw Problem.unprocessable("endsOn (\(endsOn)) is before startsOn (\(startsOn))")
        }
        if let budget = campaign.budget { try DealsValidation.amount(budget, "budget") }
        campaign.currency = try campaign.currency.map { try DealsValidation.currency($0) }
        return campaign
    }

    private func existing(_ id: String, _ request: Request?) async throws -> StoredCampaign {
        try await context.existing(Campaign.self, id, what: "campaign", ifMatch: request)
    }

    private func resource(_ stored: StoredCampaign) async throws -> CampaignResource {
        let id = stored.record.id
        let results = try await context.read { db in try CampaignResults.build(db, campaignId: id) }
        return CampaignResource(entity: EntityResource(stored: stored), results: results)
    }
}

/// A campaign with what it cost and brought so far.
struct CampaignResource: Encodable, Sendable {
    let entity: EntityResource<Campaign>
    let results: CampaignResults

    func encode(to encoder: any Encoder) throws {
        try entity.encode(to: encoder)
        try results.encode(to: encoder)
    }
}

struct CampaignResults: Encodable, Sendable {
    struct Cost: Encodable, Sendable {
        let amount: String
        let currency: String?
        let incurredOn: String?
        let note: String?
        let recordedAt: String
        let recordedBy: String?
    }
    /// Σ of the recorded costs.
    let costToDate: String
    /// budget − cost to date (null without a budget).
    let budgetRemaining: String?
    let costs: [Cost]
    let inquiries: Int
    let deals: Int
    let dealsOpen: Int
    let dealsWon: Int
    let dealsLost: Int
    /// Won amounts per currency.
    let wonAmount: [String: String]

    static func build(_ db: Database, campaignId: String) throws -> CampaignResults {
        let costs = try Row.fetchAll(
            db,
            sql: """
                SELECT amount, currency, incurred_on, note, recorded_at, recorded_by FROM campaign_cost WHERE campaign_id = ?
                ORDER BY incurred_on, recorded_at
                """, arguments: [campaignId]
        ).map { row in
            Cost(amount: row[0], currency: row[1], incurredOn: row[2], note: row[3], recordedAt: row[4], recordedBy: row[5])
        }
        let total = costs.reduce(Decimal(0)) { $0 + (ExactDecimal.parse($1.amount) ?? 0) }
        let budget = try StoredCampaign.fetch(db, id: campaignId)?.record.budget
        let inquiries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inquiry WHERE campaign_id = ?", arguments: [campaignId]) ?? 0
        let counts = try Row.fetchOne(
            db,
            sql: """
                SELECT COUNT(*), COALESCE(SUM(open), 0), COALESCE(SUM(outcome = 'won'), 0), COALESCE(SUM(outcome = 'lost'), 0)
                FROM deal WHERE campaign_id = ?
                """, arguments: [campaignId])
        var won: [String: String] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT COALESCE(currency, ''), SUM(closed_amount_minor) FROM deal
                WHERE campaign_id = ? AND outcome = 'won' AND closed_amount_minor IS NOT NULL GROUP BY 1
                """, arguments: [campaignId])
        {
            won[row[0]] = ExactDecimal.format(MinorUnits.decimal(row[1]))
        }
        return CampaignResults(
            costToDate: ExactDecimal.format(total), budgetRemaining: budget.map { ExactDecimal.format($0.value - total) }, costs: costs,
            inquiries: inquiries, deals: counts?[0] ?? 0, dealsOpen: counts?[1] ?? 0, dealsWon: counts?[2] ?? 0,
            dealsLost: counts?[3] ?? 0, wonAmount: won)
    }
}
