import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/classification-runs`: make a run, list runs, and read a run's clients, matrix and transitions.
struct ClassificationController {
    let context: AnalyticsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/classification-runs", use: create)
        group.get("/classification-runs", use: list)
        group.get("/classification-runs/latest", use: latest)
        group.get("/classification-runs/{id}", use: show)
        group.get("/classification-runs/{id}/clients", use: clients)
        group.get("/classification-runs/{id}/matrix", use: matrix)
        group.get("/classification-runs/{id}/transitions", use: transitions)
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        // Every field is optional, so is the body.
        let body = try await request.jsonBody(maxBytes: self.context.maxBodyBytes, empty: .object([]))
        let order = try RunOrder(body, defaults: self.context.settings.classification, today: CalendarDate(utc: Date()))
        let run = try await ClassificationRunner(context: self.context).run(
            asOf: order.asOf, parameters: order.parameters, publish: order.publish, trigger: "request", user: user)
        return try jsonResponse(run, status: .created, headers: [.location: "/classification-runs/\(run.id)"])
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let limit = try pageLimit(request)
        let after = try request.uri.queryParameters.get("cursor").map(Cursor.decode)
        let runs = try await self.context.read { db in
            try String.fetchAll(
                db, sql: "SELECT record FROM classification_run WHERE id < ? ORDER BY id DESC LIMIT ?",
                arguments: [after ?? "\u{10FFFF}", limit + 1])
        }.map { try WireDecoder.decode(ClassificationRun.self, from: Array($0.utf8)) }
        let page = Array(runs.prefix(limit))
        return try jsonResponse(Page(items: page, nextCursor: runs.count > limit ? page.last.map { Cursor.encode($0.id) } : nil))
    }

    @Sendable func latest(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let publishedOnly = request.uri.queryParameters.get("published") == "true"
        guard let run = try await self.context.read({ db in try RunQueries.latest(db, publishedOnly: publishedOnly) }) else {
            throw Problem.notFound("no classification run yet")
        }
        return try jsonResponse(run)
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        try jsonResponse(try await run(context))
    }

    @Sendable func clients(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let run = try await run(context)
        let query = request.uri.queryParameters
        var filters: [String] = []
        var arguments: [DatabaseValue] = [run.id.databaseValue]
        for (parameter, column, allowed) in [
            ("abcClass", "abc_class", ["A", "B", "C"]), ("xyzClass", "xyz_class", ["X", "Y", "Z"]),
            ("status", "status", ClientClassification.Status.allCases.map(\.rawValue)),
        ] {
            guard let value = query.get(parameter) else { continue }
            if value == "none", column != "status" {
                filters.append("\(column) IS NULL")
                continue
            }
            guard allowed.contains(value) else {
                throw Problem.badRequest(
                    "\(parameter) must be one of \(allowed.joined(separator: ", "))\(column == "status" ? "" : " or none")")
            }
            filters.append("\(column) = ?")
            arguments.append(value.databaseValue)
        }
        if let managerId = query.get("managerId") {
            filters.append("manager_id = ?")
            arguments.append(managerId.databaseValue)
        }
        let condition = (["run_id = ?"] + filters).joined(separator: " AND ")
        if request.wantsCSV {
            let format = try CSVFormat(request)
            let statementArguments = StatementArguments(arguments)
            let rows = try await self.context.read { db in
                try String.fetchAll(
                    db, sql: "SELECT record FROM classification_result WHERE \(condition) ORDER BY client_id", arguments: statementArguments
                )
            }
            let fields = try rows.map { record in
                ClientResultItem(try WireDecoder.decode(ClientRunResult.self, from: Array(record.utf8))).csvFields
            }
            return format.response(header: ClientResultItem.csvHeader, rows: fields, filename: "classification-\(run.id).csv")
        }
        let limit = try pageLimit(request, default: 100, maximum: 1000)
        if let cursor = query.get("cursor") {
            filters.append("client_id > ?")
            arguments.append(try Cursor.decode(cursor).databaseValue)
        }
        let pageCondition = (["run_id = ?"] + filters).joined(separator: " AND ")
        let pageArguments = StatementArguments(arguments + [(limit + 1).databaseValue])
        let rows = try await self.context.read { db in
            try String.fetchAll(
                db, sql: "SELECT record FROM classification_result WHERE \(pageCondition) ORDER BY client_id LIMIT ?",
                arguments: pageArguments)
        }
        let items = try rows.prefix(limit).map { ClientResultItem(try WireDecoder.decode(ClientRunResult.self, from: Array($0.utf8))) }
        return try jsonResponse(
            Page(items: items, nextCursor: rows.count > limit ? items.last.map { Cursor.encode($0.result.clientId) } : nil))
    }

    struct Cell: Encodable {
        @NullEncoded var abcClass: String?
        @NullEncoded var xyzClass: String?
        let count: Int
        let measure: Amount
    }

    struct Matrix: Encodable {
        let runId: String
        let cells: [Cell]
        let statuses: [String: Int]
        let total: Amount
    }

    @Sendable func matrix(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let run = try await run(context)
        let results = try await self.context.read { db in try RunQueries.results(db, runId: run.id) }
        var cells: [String: (count: Int, measure: Decimal)] = [:]
        var statuses = Dictionary(uniqueKeysWithValues: ClientClassification.Status.allCases.map { ($0.rawValue, 0) })
        var total: Decimal = 0
        for result in results {
            let key = "\(result.abcClass ?? "-")\(result.xyzClass ?? "-")"
            cells[key, default: (0, 0)].count += 1
            cells[key, default: (0, 0)].measure += result.measure.value
            statuses[result.status.rawValue, default: 0] += 1
            total += result.measure.value
        }
        // Every cell of the 4 × 4 grid (classes and "none"), in order, empty ones included.
        var grid: [Cell] = []
        for abc in ["A", "B", "C", nil] as [String?] {
            for xyz in ["X", "Y", "Z", nil] as [String?] {
                let cell = cells["\(abc ?? "-")\(xyz ?? "-")"] ?? (0, 0)
                grid.append(Cell(abcClass: abc, xyzClass: xyz, count: cell.count, measure: Amount(cell.measure)))
            }
        }
        return try jsonResponse(Matrix(runId: run.id, cells: grid, statuses: statuses, total: Amount(total)))
    }

    @Sendable func transitions(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let run = try await run(context)
        let rows = try await self.context.read { db in
            try String.fetchAll(
                db, sql: "SELECT record FROM classification_result WHERE run_id = ? AND changed = 1 ORDER BY client_id", arguments: [run.id]
            )
        }
        let items = try rows.map { ClientResultItem(try WireDecoder.decode(ClientRunResult.self, from: Array($0.utf8))) }
        var byKind: [String: Int] = [:]
        for item in items { byKind[item.transition, default: 0] += 1 }
        struct Transitions: Encodable {
            let runId: String
            let count: Int
            let byKind: [String: Int]
            let items: [ClientResultItem]
        }
        return try jsonResponse(Transitions(runId: run.id, count: items.count, byKind: byKind, items: items))
    }

    private func run(_ context: CRMRequestContext) async throws -> ClassificationRun {
        let id = try context.parameters.require("id")
        guard let run = try await self.context.read({ db in try RunQueries.run(db, id: id) }) else {
            throw Problem.notFound("no classification run '\(id)'")
        }
        return run
    }
}

/// What a `POST /classification-runs` asks for, checked: each parameter overrides the configured default.
struct RunOrder {
    var asOf: CalendarDate
    var parameters: ClassificationParameters
    var publish: Bool

    static let fields: Set<String> = ["asOf", "measure", "periodKind", "periods", "oneTimeMax", "abcCuts", "xyzCuts", "publish"]

    init(_ body: JSONValue, defaults: ClassificationParameters, today: CalendarDate) throws {
        guard case .object(let members) = body else { throw Problem.unprocessable("the body must be a JSON object") }
        if let unknown = members.first(where: { !Self.fields.contains($0.0) }) {
            throw Problem.unprocessable("unknown field '\(unknown.0)'; the fields are \(Self.fields.sorted().joined(separator: ", "))")
        }
        func string(_ name: String) throws -> String? {
            guard let value = body[name], value != .null else { return nil }
            guard case .string(let text) = value else { throw Problem.unprocessable("\(name) must be a string") }
            return text
        }
        func integer(_ name: String) throws -> Int?? {
            guard let value = body[name], value != .null else { return nil }
            guard case .number(let text) = value else { throw Problem.unprocessable("\(name) must be a whole number") }
            return .some(Int(text))
        }
        func decimals(_ name: String) throws -> [Decimal]?? {
            guard let value = body[name], value != .null else { return nil }
            guard case .array(let items) = value else { throw Problem.unprocessable("\(name) must be an array of two numbers") }
            let numbers = items.map { item -> Decimal? in
                if case .number(let text) = item { return ExactDecimal.parse(text) }
                return nil
            }
            return .some(numbers.contains(nil) ? nil : numbers.compactMap { $0 })
        }
        if let text = try string("asOf") {
            guard let date = CalendarDate(text) else { throw Problem.unprocessable("asOf must be a date, YYYY-MM-DD (got '\(text)')") }
            asOf = date
        } else {
            asOf = today
        }
        parameters = defaults
        if let text = try string("measure") { parameters.measure = try ParameterParsing.measure(text) }
        if let text = try string("periodKind") { parameters.periodKind = try ParameterParsing.periodKind(text) }
        if let value = try integer("periods") { parameters.periods = try ParameterParsing.periods(value) }
        if let value = try integer("oneTimeMax") { parameters.oneTimeMax = try ParameterParsing.oneTimeMax(value) }
        if let value = try decimals("abcCuts") { parameters.abcCuts = try ParameterParsing.abcCuts(value) }
        if let value = try decimals("xyzCuts") { parameters.xyzCuts = try ParameterParsing.xyzCuts(value) }
        switch body["publish"] {
        case nil, .null?: publish = asOf == today
        case .bool(let value)?: publish = value
        default: throw Problem.unprocessable("publish must be true or false")
        }
    }
}

/// A client's row of a run as the API shows it: every field present, null where it has no value.
struct ClientResultItem: Encodable {
    let result: ClientRunResult

    init(_ result: ClientRunResult) { self.result = result }

    /// `A→B`, `regular→lost`, … : what changed, classes before statuses.
    var transition: String {
        var changes: [String] = []
        if result.previousAbcClass != result.abcClass {
            changes.append("\(result.previousAbcClass ?? "none")→\(result.abcClass ?? "none")")
        }
        if result.previousXyzClass != result.xyzClass {
            changes.append("\(result.previousXyzClass ?? "none")→\(result.xyzClass ?? "none")")
        }
        if result.previousStatus != result.status.rawValue {
            changes.append("\(result.previousStatus ?? "none")→\(result.status.rawValue)")
        }
        return changes.joined(separator: ", ")
    }

    enum Keys: String, CodingKey {
        case clientId, managerId, abcClass, xyzClass, status, measure, share, cumulativeShareBefore, cv, sales
        case previousAbcClass, previousXyzClass, previousStatus, transition
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(result.clientId, forKey: .clientId)
        try container.encode(result.managerId, forKey: .managerId)
        try container.encode(result.abcClass, forKey: .abcClass)
        try container.encode(result.xyzClass, forKey: .xyzClass)
        try container.encode(result.status, forKey: .status)
        try container.encode(result.measure, forKey: .measure)
        try container.encode(result.share, forKey: .share)
        try container.encode(result.cumulativeShareBefore, forKey: .cumulativeShareBefore)
        try container.encode(result.cv, forKey: .cv)
        try container.encode(result.sales, forKey: .sales)
        try container.encode(result.previousAbcClass, forKey: .previousAbcClass)
        try container.encode(result.previousXyzClass, forKey: .previousXyzClass)
        try container.encode(result.previousStatus, forKey: .previousStatus)
        if result.isTransition { try container.encode(transition, forKey: .transition) }
    }

    static let csvHeader = [
        "clientId", "managerId", "abcClass", "xyzClass", "status", "measure", "share", "cumulativeShareBefore", "cv", "sales",
        "previousAbcClass", "previousXyzClass", "previousStatus",
    ]

    var csvFields: [String] {
        [
            result.clientId, result.managerId ?? "", result.abcClass ?? "", result.xyzClass ?? "", result.status.rawValue,
            result.measure.description, result.share.map { "\($0)" } ?? "", result.cumulativeShareBefore.map { "\($0)" } ?? "",
            result.cv.map { "\($0)" } ?? "", String(result.sales), result.previousAbcClass ?? "", result.previousXyzClass ?? "",
            result.previousStatus ?? "",
        ]
    }
}

/// Reads of stored runs and results.
enum RunQueries {
    static func run(_ db: Database, id: String) throws -> ClassificationRun? {
        try String.fetchOne(db, sql: "SELECT record FROM classification_run WHERE id = ?", arguments: [id])
            .map { try WireDecoder.decode(ClassificationRun.self, from: Array($0.utf8)) }
    }

    static func latest(_ db: Database, publishedOnly: Bool) throws -> ClassificationRun? {
        try String.fetchOne(
            db, sql: "SELECT record FROM classification_run \(publishedOnly ? "WHERE published = 1" : "") ORDER BY id DESC LIMIT 1"
        ).map { try WireDecoder.decode(ClassificationRun.self, from: Array($0.utf8)) }
    }

    static func results(_ db: Database, runId: String) throws -> [ClientRunResult] {
        try String.fetchAll(db, sql: "SELECT record FROM classification_result WHERE run_id = ? ORDER BY client_id", arguments: [runId])
            .map { try WireDecoder.decode(ClientRunResult.self, from: Array($0.utf8)) }
    }
}
