import Foundation
import GRDB
import Hummingbird
import Kafka
import ServiceKit
import WireFormat
import WireSchema

/// `/suppliers/{id}/price-lists`: price lists uploaded as JSON or CSV, checked line by line (any bad
/// line: 422 naming every bad line, nothing published), then published in parts; shown as JSON or CSV.
struct PriceListController {
    let context: SuppliersContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/suppliers/{id}/price-lists", use: upload)
        group.get("/suppliers/{id}/price-lists", use: list)
        group.get("/suppliers/{id}/price-lists/{priceListId}", use: show)
    }

    /// The largest JSON upload (CSV is streamed and has no limit).
    static let maxJSONBytes = 256 * 1024 * 1024

    /// A price list's current publication.
    struct Summary: Encodable, Sendable {
        let id: String
        let supplierId: String
        let currency: String
        let validFrom: String?
        let validTo: String?
        /// `active` (valid today), `scheduled` (from a later date) or `expired`.
        let status: String
        let lines: Int
        let publicationId: String
        let publishedAt: String
        let publishedBy: String?
        let publications: Int
    }

    static func summaries(_ db: Database, supplierId: String, today: CalendarDate, priceListId: String? = nil) throws -> [Summary] {
        let day = today.description
        var arguments: StatementArguments = [supplierId]
        if let priceListId { arguments += [priceListId] }
        return try Row.fetchAll(
            db,
            sql: """
                SELECT p.price_list_id, p.currency, p.valid_from, p.valid_to, p.line_count, p.id, p.published_at, p.published_by,
                    (SELECT COUNT(*) FROM price_publication q WHERE q.supplier_id = p.supplier_id AND q.price_list_id = p.price_list_id
                        AND q.complete = 1)
                FROM price_publication p WHERE p.supplier_id = ? AND p.current = 1 \(priceListId == nil ? "" : "AND p.price_list_id = ?")
                ORDER BY p.price_list_id
                """, arguments: arguments
        ).map { row in
            let from: String? = row[2]
            let to: String? = row[3]
            let status = (from ?? "") > day ? "scheduled" : (to.map { $0 < day } ?? false) ? "expired" : "active"
            return Summary(
                id: row[0], supplierId: supplierId, currency: row[1], validFrom: from, validTo: to, status: status, lines: row[4],
                publicationId: row[5], publishedAt: row[6], publishedBy: row[7], publications: row[8])
        }
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let today = self.context.today
        let lists = try await self.context.read { db in
            _ = try SupplierName.require(db, id)
            return try Self.summaries(db, supplierId: id, today: today)
        }
        return try jsonResponse(Page(items: lists, nextCursor: nil))
    }

    struct Detail: Encodable, Sendable {
        let summary: Summary
        let items: [PriceList.Item]

        enum CodingKeys: String, CodingKey { case items }

        func encode(to encoder: any Encoder) throws {
            try summary.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(items, forKey: .items)
        }
    }

    static let csvColumns = ["sku", "packagingUnit", "price", "minQuantity", "returnablePackaging"]

    /// The current publication with its lines, as JSON or (`Accept: text/csv`) as the CSV it could be uploaded from.
    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let priceListId = try context.parameters.require("priceListId")
        let today = self.context.today
        let (summary, items) = try await self.context.read { db in
            _ = try SupplierName.require(db, id)
            guard let summary = try Self.summaries(db, supplierId: id, today: today, priceListId: priceListId).first else {
                throw Problem.notFound("supplier '\(id)' has no price list '\(priceListId)'")
            }
            let items = try Row.fetchAll(
                db,
                sql: "SELECT sku, packaging_unit, price, min_quantity, returnable FROM price_line WHERE publication_id = ? ORDER BY line",
                arguments: [summary.publicationId]
            ).map { row in
                PriceList.Item(
                    sku: row[0], packagingUnit: row[1], price: Amount(row[2] as String) ?? 0,
                    minQuantity: (row[3] as String?).flatMap(Amount.init),
                    returnablePackaging: (row[4] as Bool) ? true : nil)
            }
            return (summary, items)
        }
        if request.wantsCSV {
            return try CSVFormat(request).response(
                header: Self.csvColumns,
                rows: items.map { item in
                    [
                        item.sku, item.packagingUnit ?? "", item.price.description, item.minQuantity?.description ?? "",
                        item.returnablePackaging == true ? "true" : "",
                    ]
                }, filename: "price-list-\(id)-\(priceListId).csv")
        }
        return try jsonResponse(Detail(summary: summary, items: items), headers: [.eTag: "\"\(summary.publicationId)\""])
    }

    struct Draft: Decodable {
        var id: String?
        var currency: String
        var validFrom: CalendarDate
        var validTo: CalendarDate?
    }

    @Sendable func upload(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let supplierId = try context.parameters.require("id")
        _ = try await self.context.requireSupplier(supplierId)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        var upload: PriceListUpload
        if type.hasPrefix("text/csv") || type.hasPrefix("application/csv") {
            let query = request.uri.queryParameters
            upload = try PriceListUpload(
                id: query.get("id"), currency: query.get("currency"), validFrom: try QueryValue.date(query.get("validFrom"), "validFrom"),
                validTo: try QueryValue.date(query.get("validTo"), "validTo"))
            var reader = try CSVReader(request)
            for try await buffer in request.body {
                for row in reader.feed(buffer.readableBytesView) { try upload.take(row) }
            }
            do {
                for row in try reader.finish() { try upload.take(row) }
            } catch CSVReader.Failure.unterminatedQuote(let line) {
                upload.fail(line, "a quoted field is not closed before the end of the file")
            }
            if !upload.sawHeader { throw Problem.unprocessable("the CSV has no header row") }
        } else {
            let body = try await request.jsonBody(maxBytes: Self.maxJSONBytes)
            let draft = try decodeProblem(Draft.self, from: body)
            guard case .array(let items)? = body["items"] else { throw Problem.unprocessable("items must be an array of price lines") }
            upload = try PriceListUpload(id: draft.id, currency: draft.currency, validFrom: draft.validFrom, validTo: draft.validTo)
            for (index, item) in items.enumerated() { upload.take(json: item, line: index + 1) }
        }
        let parts = try upload.finished(supplierId: supplierId, publishedAt: self.context.settings.clock.now())
        try await self.context.publishAll(parts.map(SupplierEvent.priceListPublished), by: user, timeout: .seconds(300))
        let today = self.context.today
        let listId = parts[0].priceListId
        guard
            let summary = try await self.context.read({ db in
                try Self.summaries(db, supplierId: supplierId, today: today, priceListId: listId).first
            })
        else { throw Problem.unavailable("the price list was published but is not applied yet") }
        if summary.publicationId != parts[0].publicationId {
            throw Problem.conflict("price list '\(listId)' was replaced by another upload published later")
        }
        return try jsonResponse(
            summary, status: .created,
            headers: [.location: "/suppliers/\(supplierId)/price-lists/\(listId)", .eTag: "\"\(summary.publicationId)\""])
    }
}

/// One upload being read: the list's own fields, then its lines, each checked as it comes
/// (the errors are collected by line; one bad line and nothing is published).
struct PriceListUpload {
    var id: String?
    var currency: String?
    var validFrom: CalendarDate?
    var validTo: CalendarDate?
    private(set) var items: [PriceList.Item] = []
    private(set) var errors: [Problem.LineError] = []
    private var errorCount = 0
    private var seen = Set<String>()
    private var header: [String: Int]?
    var sawHeader: Bool { header != nil }

    /// At most this many bad lines are listed (all are counted).
    static let listedErrors = 1000
    static let maxLines = 2_000_000

    init(id: String?, currency: String?, validFrom: CalendarDate?, validTo: CalendarDate?) throws {
        if let id, !Validation.isValidId(id) {
            throw Problem.unprocessable("id must be 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
        }
        self.id = id
        self.currency = try currency.map(SupplierInput.currency)
        self.validFrom = validFrom
        self.validTo = validTo
    }

    mutating func fail(_ line: Int, _ detail: String) {
        errorCount += 1
        if errors.count < Self.listedErrors { errors.append(Problem.LineError(line: line, detail: detail)) }
    }

    /// A CSV row: the header first (`sku` and `price` required), then lines. `currency`,
    /// `validFrom` and `validTo` columns may stand in for the query parameters; every line must then agree.
    mutating func take(_ row: CSVReader.Row) throws {
        guard let header else {
            var columns: [String: Int] = [:]
            for (index, name) in row.fields.enumerated() { columns[name.trimmingWhitespace()] = index }
            for required in ["sku", "price"] where columns[required] == nil {
                throw Problem.unprocessable(
                    "the header row has no \(required) column (columns: sku, packagingUnit, price, minQuantity, returnablePackaging)")
            }
            self.header = columns
            return
        }
        if row.invalid { return fail(row.line, "the line is not valid UTF-8") }
        func cell(_ name: String) -> String? {
            guard let index = header[name], index < row.fields.count else { return nil }
            let value = CSVFormat.unescapedCell(row.fields[index].trimmingWhitespace())
            return value.isEmpty ? nil : value
        }
        do {
            try agree(&currency, cell("currency").map(SupplierInput.currency), "currency")
            try agree(&validFrom, try cell("validFrom").map { try Self.date($0, "validFrom") }, "validFrom")
            try agree(&validTo, try cell("validTo").map { try Self.date($0, "validTo") }, "validTo")
            let returnable: Bool?
            switch cell("returnablePackaging")?.lowercased() {
            case nil, "false", "0", "no": returnable = nil
            case "true", "1", "yes": returnable = true
            case let other?: throw Problem.unprocessable("returnablePackaging must be true or false (got '\(other)')")
            }
            try add(
                sku: cell("sku"), packagingUnit: cell("packagingUnit"), price: try cell("price").map { try Self.decimal($0, "price") },
                minQuantity: try cell("minQuantity").map { try Self.decimal($0, "minQuantity") }, returnable: returnable, line: row.line)
        } catch let problem as Problem {
            fail(row.line, problem.detail)
        }
    }

    /// An item of a JSON upload (`line`: its position in `items`, from 1).
    mutating func take(json item: JSONValue, line: Int) {
        do {
            let item = try decodeProblem(PriceList.Item.self, from: item)
            try add(
                sku: item.sku, packagingUnit: item.packagingUnit, price: item.price.value, minQuantity: item.minQuantity?.value,
                returnable: item.returnablePackaging == true ? true : nil, line: line)
        } catch let problem as Problem {
            fail(line, problem.detail)
        } catch {
            fail(line, "\(error)")
        }
    }

    private mutating func add(sku: String?, packagingUnit: String?, price: Decimal?, minQuantity: Decimal?, returnable: Bool?, line: Int)
        throws
    {
        guard let sku = try Validation.optional(sku, "sku", maxLength: 100) else { throw Problem.unprocessable("sku is required") }
        let unit = try Validation.optional(packagingUnit, "packagingUnit", maxLength: 50)
        guard let price else { throw Problem.unprocessable("price is required") }
        if price < 0 { throw Problem.unprocessable("price must not be negative") }
        if let minQuantity, minQuantity <= 0 { throw Problem.unprocessable("minQuantity must be positive") }
        let key = "\(sku)\u{1F}\(unit ?? "")\u{1F}\(minQuantity.map { ExactDecimal.format($0) } ?? "")"
        if !seen.insert(key).inserted {
            throw Problem.unprocessable("sku '\(sku)' with this packaging unit and minimum quantity appears on an earlier line")
        }
        if items.count >= Self.maxLines { throw Problem.unprocessable("a price list has at most \(Self.maxLines) lines") }
        items.append(
            PriceList.Item(
                sku: sku, packagingUnit: unit, price: Amount(price), minQuantity: minQuantity.map(Amount.init),
                returnablePackaging: returnable))
    }

    private func agree<T: Equatable & CustomStringConvertible>(_ value: inout T?, _ given: T?, _ name: String) throws {
        guard let given else { return }
        if let value, value != given { throw Problem.unprocessable("\(name) \(given) differs from the list's \(value)") }
        value = given
    }

    static func decimal(_ text: String, _ name: String) throws -> Decimal {
        // A decimal comma is common in spreadsheets exported with semicolons (and Foundation's
        // replacingOccurrences cost a third of reading a large list when called on every price).
        let decimal = text.utf8.contains(UInt8(ascii: ",")) ? String(text.map { $0 == "," ? "." : $0 }) : text
        guard let value = ExactDecimal.parse(decimal) else {
            throw Problem.unprocessable("\(name) must be a decimal number (got '\(text)')")
        }
        return value
    }

    static func date(_ text: String, _ name: String) throws -> CalendarDate {
        guard let date = CalendarDate(text) else { throw Problem.unprocessable("\(name) must be a date (YYYY-MM-DD), got '\(text)'") }
        return date
    }

    /// The parts to publish, or 422 listing the bad lines.
    func finished(supplierId: String, publishedAt: Date) throws -> [PriceList] {
        if errorCount > 0 {
            var problem = Problem.unprocessable(
                "\(errorCount) line\(errorCount == 1 ? "" : "s") of the price list \(errorCount == 1 ? "is" : "are") not valid; nothing was published"
                    + (errorCount > errors.count ? " (the first \(errors.count) are listed)" : ""))
            problem.lineErrors = errors
            throw problem
        }
        guard let currency else { throw Problem.unprocessable("currency is required") }
        guard let validFrom else { throw Problem.unprocessable("validFrom is required") }
        if let validTo, validTo < validFrom { throw Problem.unprocessable("validTo (\(validTo)) is before validFrom (\(validFrom))") }
        if items.isEmpty { throw Problem.unprocessable("the price list has no lines") }
        let publicationId = TimeOrderedID.make()
        let size = PriceList.partSize
        let partCount = (items.count + size - 1) / size
        return (0..<partCount).map { index in
            let start = index * size
            return PriceList(
                supplierId: supplierId, priceListId: id ?? publicationId, currency: currency, validFrom: validFrom, validTo: validTo,
                publicationId: publicationId, publishedAt: publishedAt, part: index + 1, parts: partCount, firstLine: start + 1,
                lineCount: items.count, items: Array(items[start..<min(start + size, items.count)]))
        }
    }
}
