import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// Exports: `GET /counterparties/export.csv` (every counterparty matching the list filters, streamed
/// page by page, so a million rows never sit in memory) and `GET /counterparties/{id}/export` (one
/// counterparty's complete data as JSON: data portability).
struct ExportController {
    let context: ContactsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/counterparties/export.csv", use: csv)
        group.get("/counterparties/{id}/export", use: complete)
    }

    static let csvColumns = [
        "id", "kind", "roles", "legalName", "shortName", "taxId", "legalAddress", "actualAddress", "deliveryAddress", "phones",
        "emails", "website", "responsibleManagerId", "source", "tags", "notes", "archived", "completeness", "createdAt", "updatedAt",
    ]

    /// Lists inside a cell are joined with "; ".
    static func csvFields(_ stored: StoredCounterparty) -> [String] {
        let r = stored.record
        return [
            r.id, r.kind.rawValue, r.roles.map(\.rawValue).joined(separator: "; "), r.legalName, r.shortName ?? "", r.taxId ?? "",
            r.addresses.legal ?? "", r.addresses.actual ?? "", r.addresses.delivery ?? "", r.phones.joined(separator: "; "),
            r.emails.joined(separator: "; "), r.website ?? "", r.responsibleManagerId ?? "", r.source ?? "",
            r.tags.joined(separator: "; "), r.notes ?? "", r.archived ? "true" : "false", String(stored.completeness),
            Timestamp.format(stored.bookkeeping.createdAt), Timestamp.format(stored.bookkeeping.updatedAt),
        ]
    }

    @Sendable func csv(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let exportFormat = try CSVFormat(request)
        let chosen = try StoredCounterparty.ListFilter(request)
        let store = self.context.store
        let body = ResponseBody { writer in
            var text = exportFormat.byteOrderMark ? "\u{FEFF}" : ""
            text += exportFormat.line(Self.csvColumns)
            var afterId: String?
            while true {
                let after = afterId
                let page = try await store.database.read { db in
                    try StoredCounterparty.list(db, filter: chosen, afterId: after, limit: 1000)
                }
                for stored in page.items { text += exportFormat.line(Self.csvFields(stored)) }
                try await writer.write(ByteBuffer(string: text))
                text = ""
                guard page.more, let last = page.items.last else { break }
                afterId = last.record.id
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"counterparties.csv\""],
            body: body)
    }

    struct CompleteData: Encodable, Sendable {
        let counterparty: CounterpartyResource
        let mergedIds: [String]
        let contactPersons: [ContactPersonResource]
        let interactions: [InteractionResource]
    }

    @Sendable func complete(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let stored = try await self.context.counterparty(try context.parameters.require("id"))
        let root = stored.record.id
        let data = try await self.context.read { db -> CompleteData in
            let ids = try StoredCounterparty.absorbedIds(db, root: root)
            let persons = try StoredContactPerson.fetchAll(db, counterpartyIds: ids)
            var interactions: [StoredInteraction] = []
            var after: StoredInteraction.Position?
            while true {
                let page = try StoredInteraction.timeline(db, counterpartyIds: ids, filter: .init(), after: after, limit: 500)
                interactions += page.items
                guard page.more, let last = page.items.last else { break }
                after = last.position
            }
            return CompleteData(
                counterparty: CounterpartyResource(stored), mergedIds: ids.filter { $0 != root },
                contactPersons: persons.map { ContactPersonResource(stored: $0, counterpartyId: root) },
                interactions: interactions.map { InteractionResource(stored: $0, counterpartyId: root) })
        }
        return try jsonResponse(data, headers: [.contentDisposition: "attachment; filename=\"counterparty-\(root).json\""])
    }
}
