import EventStore
import Foundation
import GRDB
import Hummingbird
import Kafka
import Platform
import ServiceKit
import WireFormat
import WireSchema

/// `POST /counterparties/import`: a CSV stream (the columns of the export; `legalName` required,
/// `kind` defaults to organization) becomes `CounterpartyRegistered` events. Rows are validated like
/// `POST /counterparties` (duplicates included, against the store and the rows before them); good
/// rows are published in batches while the body is still arriving, bad ones are reported with their
/// line. No row cap. Answers once the service has applied every imported row.
struct ImportController {
    let context: ContactsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/counterparties/import", use: importCSV)
    }

    struct RowError: Encodable, Sendable {
        let line: Int
        let id: String?
        let detail: String
    }

    struct Report: Encodable, Sendable {
        let imported: Int
        let failed: Int
        let errors: [RowError]
    }

    @Sendable func importCSV(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let allowDuplicates = request.uri.queryParameters.get("allowDuplicates") == "true"
        var reader = try CSVReader(request)
        var session = ImportSession(context: self.context, user: user, allowDuplicates: allowDuplicates)
        do {
            for try await buffer in request.body {
                for row in reader.feed(buffer.readableBytesView) { try await session.take(row) }
            }
            do {
                for row in try reader.finish() { try await session.take(row) }
            } catch CSVReader.Failure.unterminatedQuote(let line) {
                session.errors.append(RowError(line: line, id: nil, detail: "a quoted field is not closed before the end of the file"))
            }
            if session.header == nil { throw Problem.unprocessable("the CSV has no header row") }
            try await session.flush()
        } catch let interrupted as ImportSession.PublishingFailed {
            // Batches before the failed one are in Kafka and will be applied; the failed one may be
            // partly. Rows re-imported from its first line with their tax id, phone or e-mail are then
            // refused as duplicates where they did get through.
            throw Problem.unavailable(
                "Kafka did not accept the rows from line \(interrupted.firstLine) on (\(interrupted.error.message)). "
                    + "\(interrupted.imported) rows before that line were published and will be applied; rows from line "
                    + "\(interrupted.firstLine) to \(interrupted.lastLine) may have been published in part. Import the file "
                    + "from line \(interrupted.firstLine) again when Kafka is back; reads still work.",
                extensions: ["imported": String(interrupted.imported), "firstLineNotConfirmed": String(interrupted.firstLine)])
        }
        // Read-your-writes for the whole import: wait until every imported row is applied.
        for (partition, offset) in session.lastOffsets {
            guard await self.context.status.waitUntilApplied(partition, offset: offset, timeout: .seconds(600)) else {
                throw Problem.unavailable("the rows were published but not applied yet; they will be as the service catches up")
            }
        }
        // Rows refused by the store check come back a batch later than those refused on reading.
        let errors = session.errors.sorted { $0.line < $1.line }
        return try jsonResponse(Report(imported: session.imported, failed: errors.count, errors: errors))
    }
}

/// The state of one import: the header, what the file itself already holds, the rows waiting to be
/// checked against the store (in batches: one read for thousands of rows) and published.
struct ImportSession {
    let context: ContactsContext
    let user: ActingUser
    let allowDuplicates: Bool
    var header: [String: Int]?
    var errors: [ImportController.RowError] = []
    var imported = 0
    var lastOffsets: [TopicPartition: Int64] = [:]
    private var pending: [(line: Int, record: CounterpartyRecord, identities: [(ContactNormalization.IdentityKind, String)])] = []
    private var seenIds = Set<String>()
    private var seenIdentities = Set<String>()
    private var knownStaff = Set<String>()
    static let batchSize = 5000

    /// Kafka refused (or did not acknowledge in time) a batch: what is known to be published, and
    /// the lines of the batch whose fate is unknown.
    struct PublishingFailed: Error {
        let error: KafkaError
        let imported: Int
        let firstLine: Int
        let lastLine: Int
    }

    init(context: ContactsContext, user: ActingUser, allowDuplicates: Bool) {
        self.context = context
        self.user = user
        self.allowDuplicates = allowDuplicates
    }

    mutating func take(_ row: CSVReader.Row) async throws {
        guard let header else {
            var columns: [String: Int] = [:]
            for (index, name) in row.fields.enumerated() { columns[name.trimmingWhitespace()] = index }
            guard columns["legalName"] != nil else { throw Problem.unprocessable("the header row has no legalName column") }
            self.header = columns
            return
        }
        if row.invalid { return fail(row.line, nil, "the row is not valid UTF-8") }
        func cell(_ name: String) -> String? {
            guard let index = header[name], index < row.fields.count else { return nil }
            let value = CSVFormat.unescapedCell(row.fields[index].trimmingWhitespace())
            return value.isEmpty ? nil : value
        }
        func list(_ name: String) -> [String] { cell(name)?.split(separator: ";").map { $0.trimmingWhitespace() } ?? [] }
        let id = cell("id") ?? TimeOrderedID.make()
        do {
            guard let kind = CounterpartyKind(rawValue: cell("kind") ?? "organization") else {
                throw Problem.unprocessable("kind must be organization or person")
            }
            let roles = try list("roles").map { name in
                guard let role = CounterpartyRole(rawValue: name) else { throw Problem.unprocessable("unknown role '\(name)'") }
                return role
            }
            let record = try Validation.normalized(
                CounterpartyRecord(
                    id: id, kind: kind, roles: roles, legalName: cell("legalName") ?? "", shortName: cell("shortName"),
                    taxId: cell("taxId"),
                    addresses: Addresses(legal: cell("legalAddress"), actual: cell("actualAddress"), delivery: cell("deliveryAddress")),
                    phones: list("phones"), emails: list("emails"), website: cell("website"),
                    responsibleManagerId: cell("responsibleManagerId"), source: cell("source"), tags: list("tags"), notes: cell("notes"),
                    archived: cell("archived") == "true"))
            // Against the rows before it in the file (the store is checked per batch).
            if !seenIds.insert(record.id).inserted { throw Problem.unprocessable("id '\(record.id)' appears earlier in the file") }
            let identities = allowDuplicates ? [] : context.normalization.identities(of: record)
            if !allowDuplicates {
                let keys = identities.map { (ContactNormalization.key($0), $0) }
                if let repeated = keys.first(where: { seenIdentities.contains($0.0) }) {
                    throw Problem.unprocessable("the \(repeated.1.0.label) \(repeated.1.1) appears earlier in the file")
                }
                for (key, _) in keys { seenIdentities.insert(key) }
            }
            pending.append((row.line, record, identities))
            if pending.count >= Self.batchSize { try await flush() }
        } catch let problem as Problem {
            fail(row.line, id, problem.detail)
        }
    }

    private mutating func fail(_ line: Int, _ id: String?, _ detail: String) {
        errors.append(ImportController.RowError(line: line, id: id, detail: detail))
    }

    /// Checks the waiting rows against the store in one read, then publishes the good ones (blocking
    /// librdkafka calls on a thread of their own).
    mutating func flush() async throws {
        if pending.isEmpty { return }
        let rows = pending
        pending = []
        let allowDuplicates = self.allowDuplicates
        let staffToCheck = Set(rows.compactMap(\.record.responsibleManagerId)).subtracting(knownStaff)
        let (refusals, staff) = try await context.read { db -> ([Int: String], Set<String>) in
            var staff = Set<String>()
            for id in staffToCheck where try StoredStaffMember.fetch(db, id: id) != nil { staff.insert(id) }
            var refusals: [Int: String] = [:]
            for (index, row) in rows.enumerated() {
                if try StoredCounterparty.fetchRow(db, id: row.record.id) != nil {
                    refusals[index] = "counterparty '\(row.record.id)' already exists"
                } else if let manager = row.record.responsibleManagerId, staffToCheck.contains(manager), !staff.contains(manager) {
                    refusals[index] = "responsibleManagerId: no staff member '\(manager)'"
                } else if !allowDuplicates,
                    let match = try Duplicates.firstMatch(db, identities: row.identities, excludingRoot: nil)
                {
                    refusals[index] = "counterparty '\(match.counterpartyId)' already has this \(match.kind.label) (\(match.value))"
                }
            }
            return (refusals, staff)
        }
        knownStaff.formUnion(staff)
        var records: [OutgoingRecord] = []
        for (index, row) in rows.enumerated() {
            if let refusal = refusals[index] {
                fail(row.line, row.record.id, refusal)
                continue
            }
            records.append(try context.commands.publisher.record(CounterpartyEvent.registered(row.record), actor: user))
        }
        if records.isEmpty { return }
        let producer = context.commands.publisher.producer
        let batch = records
        let highest: [TopicPartition: Int64]
        do {
            highest = try await runOnThread(name: "import") {
                try producer.sendAllReportingBlocking(batch, topic: Topics.counterparties)
            }
        } catch let error as KafkaError {
            throw PublishingFailed(error: error, imported: imported, firstLine: rows[0].line, lastLine: rows[rows.count - 1].line)
        }
        for (partition, offset) in highest { lastOffsets[partition] = max(lastOffsets[partition] ?? -1, offset) }
        imported += records.count
    }
}
