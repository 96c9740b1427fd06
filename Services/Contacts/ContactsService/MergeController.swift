import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// Merging duplicates: `GET /counterparties/duplicates` (the report), `POST /counterparties/{id}/merges`
/// (absorb another counterparty: its contact persons and history follow, its id keeps resolving
/// here), `GET /counterparties/{id}/merges` and `DELETE /counterparties/{id}/merges/{mergedId}` (undo).
struct MergeController {
    let context: ContactsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/counterparties/duplicates", use: duplicates)
        group.get("/counterparties/{id}/merges", use: merges)
        group.post("/counterparties/{id}/merges", use: merge)
        group.delete("/counterparties/{id}/merges/{mergedId}", use: undo)
    }

    struct MergeRequest: Decodable { var mergedId: String }

    struct MergedList: Encodable, Sendable {
        let survivorId: String
        /// Counterparties merged into the survivor directly (each can be undone).
        let mergedIds: [String]
    }

    @Sendable func duplicates(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let limit = try pageLimit(request)
        let after = try request.uri.queryParameters.get("cursor").map { cursor -> (reason: String, value: String) in
            let parts = try Cursor.decode(cursor).split(separator: "\u{1F}", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw Problem.badRequest("invalid cursor") }
            return (parts[0], parts[1])
        }
        let page = try await self.context.read { db in try Duplicates.report(db, after: after, limit: limit) }
        let next = page.more ? page.groups.last.map { Cursor.encode($0.reason + "\u{1F}" + $0.value) } : nil
        return try jsonResponse(Page(items: page.groups, nextCursor: next))
    }

    @Sendable func merges(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let survivor = try await self.context.counterparty(try context.parameters.require("id")).record.id
        return try jsonResponse(try await mergedList(survivor))
    }

    @Sendable func merge(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let survivor = try await self.context.counterparty(try context.parameters.require("id"))
        let body = try await request.decodeJSON(MergeRequest.self, maxBytes: self.context.maxBodyBytes)
        guard let merged = try await self.context.read({ db in try StoredCounterparty.fetchRow(db, id: body.mergedId) }) else {
            throw Problem.unprocessable("mergedId: no counterparty '\(body.mergedId)'")
        }
        if let into = merged.mergedInto {
            throw Problem.conflict("counterparty '\(merged.record.id)' is already merged into '\(into)'", extensions: ["existingId": into])
        }
        if merged.record.id == survivor.record.id { throw Problem.unprocessable("a counterparty cannot be merged into itself") }
        let merge = CounterpartyMerge(mergedId: merged.record.id, survivorId: survivor.record.id)
        _ = try await self.context.publish(
            CounterpartyEvent.merged(merge), by: user, readBack: { db in try StoredCounterparty.fetchRow(db, id: merge.mergedId) },
            isOwnChange: { stored, _ in stored.mergedInto == merge.survivorId },
            conflict: Problem.conflict("counterparty '\(merge.mergedId)' was merged or changed concurrently"))
        return try jsonResponse(try await mergedList(survivor.record.id))
    }

    @Sendable func undo(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let survivorId = try context.parameters.require("id")
        let mergedId = try context.parameters.require("mergedId")
        guard let merged = try await self.context.read({ db in try StoredCounterparty.fetchRow(db, id: mergedId) }),
            merged.mergedInto == survivorId
        else {
            throw Problem.notFound("counterparty '\(mergedId)' is not merged into '\(survivorId)'")
        }
        try await self.context.publish(
            CounterpartyEvent.mergeUndone(CounterpartyMerge(mergedId: mergedId, survivorId: survivorId)), by: user)
        let restored = try await self.context.counterparty(mergedId)
        return try resourceResponse(CounterpartyResource(restored), restored.bookkeeping)
    }

    private func mergedList(_ survivor: String) async throws -> MergedList {
        let ids = try await context.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM counterparty WHERE merged_into = ? ORDER BY id", arguments: [survivor])
        }
        return MergedList(survivorId: survivor, mergedIds: ids)
    }
}
