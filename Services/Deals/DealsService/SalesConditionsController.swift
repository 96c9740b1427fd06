import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/sales-conditions/rules` and `/clients/{id}/sales-conditions`: the conditions each rank of
/// client gets, a client's conditions now or at a time, their history, and overrides. What the
/// ERP applies travels on `crm.sales-conditions.v1`, published by `FollowUpWork`.
struct SalesConditionsController {
    let context: DealsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/sales-conditions/rules", use: rules)
        group.put("/sales-conditions/rules", use: replaceRules)
        group.get("/clients/{id}/sales-conditions", use: client)
        group.get("/clients/{id}/sales-conditions/history", use: history)
        group.put("/clients/{id}/sales-conditions/override", use: setOverride)
        group.delete("/clients/{id}/sales-conditions/override", use: removeOverride)
    }

    static let rulesLock = "sales-condition rules"

    struct RulesResource: Encodable, Sendable {
        let rules: [SalesConditionRule]
        let `default`: Conditions?
        let version: Int
        let updatedAt: String?
        let updatedBy: String?
    }

    @Sendable func rules(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let resource = try await self.context.read(Self.rulesResource)
        return try jsonResponse(resource, headers: [.eTag: "\"\(resource.version)\""])
    }

    /// Replaces the rules (If-Match optional). Answers once they are stored; the clients whose
    /// conditions change get them on the topic shortly after, without holding this request.
    @Sendable func replaceRules(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let rules = try Self.validated(try await request.decodeJSON(SalesConditionRules.self, maxBytes: self.context.maxBodyBytes))
        let ifMatch = request.headers[.ifMatch]
        try await self.context.commandLocks.withLock([Self.rulesLock]) {
            let current = try await self.context.read { db in try SettingVersion.fetch(db, key: DealSettingsEvent.rulesKey) }
            try checkIfMatch(ifMatch, version: current.version, "the rules")
            try await self.context.publish(DealSettingsEvent.rulesSet(rules), by: user)
        }
        let resource = try await self.context.read(Self.rulesResource)
        return try jsonResponse(resource, headers: [.eTag: "\"\(resource.version)\""])
    }

    /// A rule set is valid when each rule's match names only known classes and statuses, each
    /// rule's conditions are valid, and every rule can match some client a rule before it does not.
    static func validated(_ rules: SalesConditionRules) throws -> SalesConditionRules {
        if rules.rules.count > 200 { throw Problem.unprocessable("rules has more than 200 entries") }
        let allowed: [(String, KeyPath<SalesConditionRule.Match, MatchValues?>, [String?])] = [
            ("abcClass", \.abcClass, ["A", "B", "C"]), ("xyzClass", \.xyzClass, ["X", "Y", "Z"]),
            ("status", \.status, ["potential", "one-time", "regular", "lost"]),
        ]
        var validated = SalesConditionRules(rules: [], default: try DealsValidation.conditions(rules.default, "default"))
        for (index, rule) in rules.rules.enumerated() {
            for (name, path, values) in allowed {
                guard let match = rule.match[keyPath: path] else { continue }
                if match.values.isEmpty { throw Problem.unprocessable("rules[\(index)].match.\(name) must name at least one value") }
                if let bad = match.values.first(where: { !values.contains($0) }) {
                    throw Problem.unprocessable(
                        "rules[\(index)].match.\(name): '\(bad)' is not one of \(values.compactMap { $0 }.joined(separator: ", "))")
                }
            }
            validated.rules.append(
                SalesConditionRule(
                    match: rule.match, conditions: try DealsValidation.conditions(rule.conditions, "rules[\(index)].conditions")))
        }
        // Every rank a client can have (a class may be absent), to find rules that can never win.
        let ranks = [nil, "A", "B", "C"].flatMap { abc in
            [nil, "X", "Y", "Z"].flatMap { xyz in
                ["potential", "one-time", "regular", "lost"].map { ClientRank(abcClass: abc, xyzClass: xyz, status: $0) }
            }
        }
        for (index, rule) in validated.rules.enumerated() {
            let reachable = ranks.contains { rank in
                rule.match.matches(rank) && !validated.rules[..<index].contains { $0.match.matches(rank) }
            }
            if !reachable {
                let shadow = validated.rules[..<index].firstIndex { earlier in
                    ranks.contains { rule.match.matches($0) && earlier.match.matches($0) }
                }
                throw Problem.unprocessable(
                    "rules[\(index)] can never apply: every rank it matches is matched first by "
                        + (shadow.map { "rules[\($0)]" + (index - $0 > 1 ? " and the rules after it" : "") } ?? "an earlier rule"))
            }
        }
        return validated
    }

    @Sendable static func rulesResource(_ db: Database) throws -> RulesResource {
        let rules = try ConditionsInputs.rules(db).rules
        let version = try SettingVersion.fetch(db, key: DealSettingsEvent.rulesKey)
        return RulesResource(
            rules: rules?.rules ?? [], default: rules?.default, version: version.version, updatedAt: version.updatedAt,
            updatedBy: version.updatedBy)
    }

    /// A client's conditions: as they stand now (worked out from its rank, override and the rules,
    /// with whether they are on the topic yet), or as assigned at `asOf`.
    struct ClientConditions: Encodable, Sendable {
        let clientId: String
        let rank: ClientRank?
        let conditions: Conditions
        let source: ConditionsSource
        let ruleIndex: Int?
        let overrideUntil: Date?
        let overrideReason: String?
        /// When these conditions were assigned (on the topic); null while they are still to be published.
        let since: String?
        let published: Bool
    }

    @Sendable func client(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        if let asOf = try QueryValue.time(request.uri.queryParameters.get("asOf"), "asOf") {
            let found = try await self.context.read { db -> (SalesConditions, String)? in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT record, assigned_at FROM conditions_history WHERE client_id = ? AND assigned_at <= ?
                        ORDER BY assigned_at DESC, event_id DESC LIMIT 1
                        """, arguments: [id, Timestamp.format(asOf)]
                ).map { row in (try decodeStoredRecord(SalesConditions.self, row), row[1]) }
            }
            guard let (assigned, since) = found else {
                throw Problem.notFound("client '\(id)' had no sales conditions assigned at \(Timestamp.format(asOf))")
            }
            return try jsonResponse(
                ClientConditions(
                    clientId: id, rank: assigned.rank == nil ? nil : assigned.clientRank, conditions: assigned.conditions,
                    source: assigned.source ?? .rule, ruleIndex: assigned.ruleIndex, overrideUntil: assigned.overrideUntil,
                    overrideReason: nil, since: since, published: true))
        }
        let now = Date()
        let answer = try await self.context.read { db -> ClientConditions? in
            let inputs = try ConditionsInputs.read(db, touchedAfter: nil, ids: [id])
            guard let client = inputs.clients.first else { return nil }
            let registered = try Bool.fetchOne(db, sql: "SELECT 1 FROM counterparty WHERE id = ?", arguments: [id]) ?? false
            let known = client.rank != nil || client.override != nil || client.assignedConditions != nil || registered
            guard known,
                let effective = EffectiveConditions.of(
                    clientId: id, rank: client.rank, override: client.override, rules: inputs.rules, now: now)
            else { return nil }
            let published = !effective.differs(fromAssigned: client.assignedConditions, source: client.assignedSource)
            let since =
                published
                ? try String.fetchOne(db, sql: "SELECT assigned_at FROM conditions_assigned WHERE client_id = ?", arguments: [id]) : nil
            return ClientConditions(
                clientId: id, rank: client.rank, conditions: effective.conditions, source: effective.source,
                ruleIndex: effective.ruleIndex, overrideUntil: effective.overrideUntil, overrideReason: effective.overrideReason,
                since: since, published: published)
        }
        guard let answer else {
            throw Problem.notFound("no sales conditions for client '\(id)': it is not classified, has no override, or no rules are set")
        }
        return try jsonResponse(answer)
    }

    struct History: Encodable, Sendable {
        let clientId: String
        let items: [HistoryEntry]
    }

    struct HistoryEntry: Encodable, Sendable {
        let assignedAt: String
        let assignedBy: String?
        let conditions: SalesConditions
    }

    @Sendable func history(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let entries = try await self.context.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT assigned_at, assigned_by, record FROM conditions_history WHERE client_id = ? ORDER BY assigned_at, event_id",
                arguments: [id]
            ).map { row in
                HistoryEntry(assignedAt: row[0], assignedBy: row[1], conditions: try decodeStoredRecord(SalesConditions.self, row))
            }
        }
        return try jsonResponse(History(clientId: id, items: entries))
    }

    struct OverrideDraft: Decodable {
        var conditions: Conditions
        var until: Date
        var reason: String
    }

    /// Sets the client's conditions until `until`, whatever its rank; they are on the topic shortly
    /// after the answer, and the rules' conditions return by themselves at `until`.
    @Sendable func setOverride(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        try Validation.validateId(id, "client id")
        let draft = try await request.decodeJSON(OverrideDraft.self, maxBytes: self.context.maxBodyBytes)
        let conditions = try DealsValidation.conditions(draft.conditions, "conditions")
        if draft.until <= Date() { throw Problem.unprocessable("until must be in the future") }
        let reason = try Validation.required(draft.reason, "reason", maxLength: 500)
        let known = try await self.context.read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM counterparty WHERE id = ?1) OR EXISTS (SELECT 1 FROM client_rank WHERE client_id = ?1)",
                arguments: [id]) ?? false
        }
        if !known { throw Problem.notFound("no client '\(id)': neither a registered counterparty nor a classified client") }
        let override = SalesConditionsOverride(clientId: id, conditions: conditions, until: draft.until, reason: reason)
        try await self.context.publish(DealSettingsEvent.overrideSet(override), by: user)
        return try jsonResponse(override)
    }

    @Sendable func removeOverride(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        let exists = try await self.context.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM conditions_override WHERE client_id = ?", arguments: [id]) ?? false
        }
        if !exists { throw Problem.notFound("client '\(id)' has no sales-conditions override") }
        try await self.context.publish(DealSettingsEvent.overrideRemoved(SalesConditionsOverrideRemoval(clientId: id)), by: user)
        return Response(status: .noContent)
    }
}
