import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/suppliers`: the counterparties with the supplier role, their terms, current reliability,
/// price lists and returnable packaging.
struct SupplierController {
    let context: SuppliersContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/suppliers", use: list)
        group.get("/suppliers/{id}", use: show)
        group.put("/suppliers/{id}/terms", use: setTerms)
        group.get("/suppliers/{id}/packaging", use: packaging)
    }

    /// A supplier in a list: its name and published standing.
    struct Summary: Encodable, Sendable {
        let id: String
        let name: String
        let legalName: String
        let archived: Bool
        let standing: SupplierStandingLevel?
        let score: String?
        let blocked: Bool
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try pageLimit(request)
        let afterId = try query.get("cursor").map(Cursor.decode)
        // `none`: suppliers without a standing (no order due in the window yet).
        let standing: String? = try query.get("standing").map { text in
            guard text == "none" || SupplierStandingLevel(rawValue: text) != nil else {
                throw Problem.badRequest("standing must be very-poor, poor, average, excellent or none (got '\(text)')")
            }
            return text
        }
        let search = query.get("q").map { $0.trimmingWhitespace().lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        let page = try await self.context.read { db in
            var conditions = ["c.is_supplier = 1", "c.merged_into IS NULL"]
            var arguments: StatementArguments = []
            if standing == "none" {
                conditions.append("s.standing IS NULL")
            } else if let standing {
                conditions.append("s.standing = ?")
                arguments += [standing]
            }
            if let search {
                conditions.append("(instr(lower(c.name), ?) > 0 OR instr(lower(c.legal_name), ?) > 0 OR c.id = ?)")
                arguments += [search, search, search]
            }
            if let afterId {
                conditions.append("c.id > ?")
                arguments += [afterId]
            }
            arguments += [limit + 1]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.id, c.name, c.legal_name, c.archived, s.standing, s.score, COALESCE(s.blocked, 0)
                    FROM counterparty c LEFT JOIN supplier_standing s ON s.supplier_id = c.id
                    WHERE \(conditions.joined(separator: " AND ")) ORDER BY c.id LIMIT ?
                    """, arguments: arguments)
            return rows.map { row in
                Summary(
                    id: row[0], name: row[1], legalName: row[2], archived: row[3],
                    standing: (row[4] as String?).flatMap(SupplierStandingLevel.init), score: row[5], blocked: row[6])
            }
        }
        let items = Array(page.prefix(limit))
        let next = page.count > limit ? items.last.map { Cursor.encode($0.id) } : nil
        return try jsonResponse(Page(items: items, nextCursor: next))
    }

    /// Terms as set, with their version (`ETag`, `If-Match` on PUT).
    struct TermsResource: Encodable, Sendable {
        let terms: SupplierTerms
        let version: Int
        let updatedAt: String
        let updatedBy: String?
    }

    struct Detail: Encodable, Sendable {
        let id: String
        let name: String
        let legalName: String
        let archived: Bool
        let terms: TermsResource?
        let standing: SupplierStandingLevel?
        let blocked: Bool
        let standingChangedAt: String?
        let reliability: ReliabilityController.Report
        let priceLists: [PriceListController.Summary]

        enum CodingKeys: String, CodingKey {
            case id, name, legalName, archived, terms, standing, blocked, standingChangedAt, reliability, priceLists
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(legalName, forKey: .legalName)
            try container.encode(archived, forKey: .archived)
            try container.encode(terms, forKey: .terms)
            try container.encode(standing, forKey: .standing)
            try container.encode(blocked, forKey: .blocked)
            try container.encode(standingChangedAt, forKey: .standingChangedAt)
            try container.encode(reliability, forKey: .reliability)
            try container.encode(priceLists, forKey: .priceLists)
        }
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let today = self.context.today
        let window = ReliabilityWindow.standard(today: today)
        let detail = try await self.context.read { db in
            let supplier = try SupplierName.require(db, id)
            let standing = try Row.fetchOne(
                db, sql: "SELECT standing, blocked, changed_at FROM supplier_standing WHERE supplier_id = ?", arguments: [id])
            return Detail(
                id: id, name: supplier.name, legalName: supplier.legalName, archived: supplier.archived, terms: try Self.terms(db, id),
                standing: (standing?[0] as String?).flatMap(SupplierStandingLevel.init), blocked: standing?[1] ?? false,
                standingChangedAt: standing?[2],
                reliability: ReliabilityController.Report(
                    supplierId: id, window: window, sums: try ReliabilityQueries.standardSums(db, supplierIds: [id], window: window)[id]),
                priceLists: try PriceListController.summaries(db, supplierId: id, today: today))
        }
        var headers: HTTPFields = [:]
        if let terms = detail.terms { headers[.eTag] = "\"\(terms.version)\"" }
        return try jsonResponse(detail, headers: headers)
    }

    static func terms(_ db: Database, _ id: String) throws -> TermsResource? {
        try Row.fetchOne(
            db, sql: "SELECT record, version, updated_at, updated_by FROM supplier_terms WHERE supplier_id = ?", arguments: [id]
        )
        .map { row in
            TermsResource(
                terms: try decodeStoredRecord(SupplierTerms.self, row), version: row[1], updatedAt: row[2], updatedBy: row[3])
        }
    }

    struct TermsDraft: Decodable {
        var deliveryTerms: String?
        var minimumOrder: Amount?
        var deliveryDays: [String]?
        var promisedLeadTimeDays: Int?
        var paymentTerms: String?
        var packagingDeposit: Amount?
        var packagingReturnDays: Int?
        var currency: String?
    }

    /// Replaces the supplier's terms (a field left out is no longer part of them).
    @Sendable func setTerms(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        let draft = try await request.decodeJSON(TermsDraft.self, maxBytes: self.context.maxBodyBytes)
        _ = try await self.context.requireSupplier(id)
        let terms = try Self.validated(draft, supplierId: id)
        let current = try await self.context.read { db in try Self.terms(db, id) }
        try checkIfMatch(request.headers[.ifMatch], version: current?.version ?? 0, "the terms of '\(id)'")
        if let current, current.terms == terms { return try Self.termsResponse(current) }
        try await self.context.publish(SupplierEvent.termsSet(terms), by: user)
        guard let stored = try await self.context.read({ db in try Self.terms(db, id) }) else {
            throw Problem.unavailable("the terms were published but are not applied yet")
        }
        if stored.terms != terms { throw Problem.conflict("the terms of '\(id)' were changed concurrently by another request") }
        return try Self.termsResponse(stored)
    }

    private static func termsResponse(_ resource: TermsResource) throws -> Response {
        try jsonResponse(resource, headers: [.eTag: "\"\(resource.version)\""])
    }

    static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    static func validated(_ draft: TermsDraft, supplierId: String) throws -> SupplierTerms {
        func nonNegative(_ amount: Amount?, _ name: String) throws -> Amount? {
            if let amount, amount.value < 0 { throw Problem.unprocessable("\(name) must not be negative") }
            return amount
        }
        func days(_ value: Int?, _ name: String) throws -> Int? {
            if let value, !(0...3650).contains(value) { throw Problem.unprocessable("\(name) must be from 0 to 3650 days") }
            return value
        }
        // Days of the week, as three-letter English abbreviations or full names, any case; kept in week order.
        var deliveryDays: [String]?
        if let names = draft.deliveryDays {
            var chosen = Set<String>()
            for name in names {
                let given = name.trimmingWhitespace().lowercased()
                let short = String(given.prefix(3))
                guard let full = Self.fullNames[short], given == short || given == full else {
                    throw Problem.unprocessable("deliveryDays: '\(name)' is not a day of the week (mon … sun)")
                }
                chosen.insert(short)
            }
            deliveryDays = Self.weekdays.filter(chosen.contains)
        }
        let currency = try draft.currency.map(SupplierInput.currency)
        return SupplierTerms(
            supplierId: supplierId, deliveryTerms: try Validation.optional(draft.deliveryTerms, "deliveryTerms", maxLength: 500),
            minimumOrder: try nonNegative(draft.minimumOrder, "minimumOrder"), deliveryDays: deliveryDays,
            promisedLeadTimeDays: try days(draft.promisedLeadTimeDays, "promisedLeadTimeDays"),
            paymentTerms: try Validation.optional(draft.paymentTerms, "paymentTerms", maxLength: 500),
            packagingDeposit: try nonNegative(draft.packagingDeposit, "packagingDeposit"),
            packagingReturnDays: try days(draft.packagingReturnDays, "packagingReturnDays"), currency: currency)
    }

    private static let fullNames = [
        "mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday",
    ]

    struct PackagingLine: Encodable, Sendable {
        let priceListId: String
        let line: Int
        let sku: String
        let packagingUnit: String?
        let price: String
        let currency: String
        let validFrom: String?
        let validTo: String?
    }

    struct Packaging: Encodable, Sendable {
        let supplierId: String
        let deposit: String?
        let returnDays: Int?
        let currency: String?
        let items: [PackagingLine]
    }

    /// Returnable containers: their price lines in the current price lists, and the deposit terms.
    @Sendable func packaging(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let packaging = try await self.context.read { db in
            _ = try SupplierName.require(db, id)
            let terms = try Self.terms(db, id)?.terms
            let items = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.price_list_id, l.line, l.sku, l.packaging_unit, l.price, p.currency, p.valid_from, p.valid_to
                    FROM price_publication p JOIN price_line l ON l.publication_id = p.id
                    WHERE p.supplier_id = ? AND p.current = 1 AND l.returnable = 1 ORDER BY p.price_list_id, l.line
                    """, arguments: [id]
            ).map { row in
                PackagingLine(
                    priceListId: row[0], line: row[1], sku: row[2], packagingUnit: row[3], price: row[4], currency: row[5],
                    validFrom: row[6], validTo: row[7])
            }
            return Packaging(
                supplierId: id, deposit: terms?.packagingDeposit?.description, returnDays: terms?.packagingReturnDays,
                currency: terms?.currency, items: items)
        }
        return try jsonResponse(packaging)
    }
}
