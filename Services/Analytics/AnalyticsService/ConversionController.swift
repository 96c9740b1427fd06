import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat

/// `/campaigns/effectiveness` and `/inquiries/conversion`: what inquiries and campaigns brought.
/// Attraction is measured on a cohort: of the inquiries received in the period, those whose
/// counterparty made its first-ever sale within `horizonDays` after the inquiry.
struct ConversionController {
    let context: AnalyticsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/campaigns/effectiveness", use: campaigns)
        group.get("/inquiries/conversion", use: conversion)
    }

    struct InquiryRow {
        let id: String
        let day: Int
        let channel: String
        let campaignId: String?
        let source: String?
        let counterpartyId: String?
        let managerId: String?
    }

    static func inquiries(_ db: Database, _ period: ReportPeriod) throws -> [InquiryRow] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT id, received_on, channel, campaign_id, source, counterparty_id, manager_id FROM inquiry
                WHERE received_on BETWEEN ? AND ? ORDER BY received_at, id
                """, arguments: [period.firstDay, period.lastDay]
        ).map {
            InquiryRow(id: $0[0], day: $0[1], channel: $0[2], campaignId: $0[3], source: $0[4], counterpartyId: $0[5], managerId: $0[6])
        }
    }

    /// One group of inquiries: how many, which clients they attracted (first inquiry that converted
    /// each), and the days to those first sales.
    struct Cohort {
        var inquiries = 0
        var converted = 0
        var days: [Int] = []
        /// Attracted client → the day of the inquiry that attracted it.
        var attracted: [String: Int] = [:]

        mutating func add(_ inquiry: InquiryRow, history: SalesHistory, horizon: Int) {
            inquiries += 1
            guard let clientId = inquiry.counterpartyId,
                let days = history.daysToFirstSale(clientId, inquiryDay: inquiry.day, horizon: horizon)
            else { return }
            converted += 1
            self.days.append(days)
            let client = history.clients.resolve(clientId)
            attracted[client] = min(attracted[client] ?? inquiry.day, inquiry.day)
        }

        var conversionPercent: Double? { percentage(Decimal(converted), of: Decimal(inquiries)) }
        var medianDays: Double? { median(days.sorted()) }
    }

    struct ConversionRow: Encodable {
        let group: String
        let inquiries: Int
        let converted: Int
        let attractedClients: Int
        @NullEncoded var conversionPercent: Double?
        @NullEncoded var medianDaysToFirstSale: Double?
    }

    @Sendable func conversion(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let period = try ReportPeriod(request)
        let horizon = try horizonDays(request)
        let groupBy = request.uri.queryParameters.get("groupBy") ?? "channel"
        let key: @Sendable (InquiryRow) -> String
        switch groupBy {
        case "channel": key = { $0.channel }
        case "source": key = { $0.source ?? $0.campaignId ?? "(none)" }
        case "manager": key = { $0.managerId ?? "(none)" }
        case "month": key = { PeriodKind.month.label(ofPeriod: PeriodKind.month.index(ofDay: $0.day)) }
        default: throw Problem.badRequest("groupBy must be channel, source, manager or month")
        }
        let (rows, total) = try await self.context.read { db -> ([ConversionRow], ConversionRow) in
            let history = try SalesHistory(db, clients: try KnownClients(db))
            var groups: [String: Cohort] = [:]
            var all = Cohort()
            for inquiry in try Self.inquiries(db, period) {
                groups[key(inquiry), default: Cohort()].add(inquiry, history: history, horizon: horizon)
                all.add(inquiry, history: history, horizon: horizon)
            }
            func row(_ group: String, _ cohort: Cohort) -> ConversionRow {
                ConversionRow(
                    group: group, inquiries: cohort.inquiries, converted: cohort.converted, attractedClients: cohort.attracted.count,
                    conversionPercent: cohort.conversionPercent, medianDaysToFirstSale: cohort.medianDays)
            }
            return (groups.sorted { $0.key < $1.key }.map { row($0.key, $0.value) }, row("total", all))
        }
        struct Conversion: Encodable {
            let period: ReportPeriod
            let horizonDays: Int
            let groupBy: String
            let items: [ConversionRow]
            let total: ConversionRow
        }
        return try jsonResponse(Conversion(period: period, horizonDays: horizon, groupBy: groupBy, items: rows, total: total))
    }

    struct CampaignRow: Encodable {
        @NullEncoded var campaignId: String?
        @NullEncoded var name: String?
        /// For inquiries without a campaign: their source (or channel).
        @NullEncoded var source: String?
        let inquiries: Int
        let attractedClients: Int
        @NullEncoded var conversionPercent: Double?
        @NullEncoded var medianDaysToFirstSale: Double?
        let revenue: Amount
        let grossProfit: Amount
        @NullEncoded var cost: Amount?
        @NullEncoded var costPerInquiry: Amount?
        @NullEncoded var costPerAttractedClient: Amount?
        @NullEncoded var roiPercent: Amount?
        @NullEncoded var roas: Amount?
    }

    @Sendable func campaigns(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let period = try ReportPeriod(request)
        let horizon = try horizonDays(request)
        let rows = try await self.context.read { db -> [CampaignRow] in
            let history = try SalesHistory(db, clients: try KnownClients(db))
            var cohorts: [String: Cohort] = [:]
            var sources: [String: Cohort] = [:]
            for inquiry in try Self.inquiries(db, period) {
                if let campaignId = inquiry.campaignId {
                    cohorts[campaignId, default: Cohort()].add(inquiry, history: history, horizon: horizon)
                } else {
                    sources[inquiry.source ?? inquiry.channel, default: Cohort()].add(inquiry, history: history, horizon: horizon)
                }
            }
            // Campaigns defined but without inquiries in the period are listed too (their cost is real).
            var names: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name FROM campaign") { names[row[0]] = row[1] }
            var costs: [String: Decimal] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT campaign_id, amount FROM campaign_cost") {
                costs[row[0], default: 0] += Decimals.parse(row[1])
            }
            func row(campaignId: String?, source: String?, _ cohort: Cohort, cost: Decimal?) -> CampaignRow {
                var revenue: Decimal = 0
                var grossProfit: Decimal = 0
                for (client, day) in cohort.attracted {
                    let totals = history.totals(client, firstDay: day, lastDay: day + horizon)
                    revenue += totals.revenue
                    grossProfit += totals.grossProfit
                }
                return CampaignRow(
                    campaignId: campaignId, name: campaignId.flatMap { names[$0] }, source: source, inquiries: cohort.inquiries,
                    attractedClients: cohort.attracted.count, conversionPercent: cohort.conversionPercent,
                    medianDaysToFirstSale: cohort.medianDays, revenue: Amount(revenue), grossProfit: Amount(grossProfit),
                    cost: cost.map(Amount.init), costPerInquiry: cost.flatMap { ratio($0, Decimal(cohort.inquiries)) },
                    costPerAttractedClient: cost.flatMap { ratio($0, Decimal(cohort.attracted.count)) },
                    roiPercent: cost.flatMap { ratio((grossProfit - $0) * 100, $0) }, roas: cost.flatMap { ratio(revenue, $0) })
            }
            let campaignIds = Set(cohorts.keys).union(names.keys).sorted()
            return campaignIds.map { id in row(campaignId: id, source: nil, cohorts[id] ?? Cohort(), cost: costs[id] ?? 0) }
                + sources.sorted { $0.key < $1.key }.map { row(campaignId: nil, source: $0.key, $0.value, cost: nil) }
        }
        struct Effectiveness: Encodable {
            let period: ReportPeriod
            let horizonDays: Int
            let items: [CampaignRow]
        }
        return try jsonResponse(Effectiveness(period: period, horizonDays: horizon, items: rows))
    }
}
