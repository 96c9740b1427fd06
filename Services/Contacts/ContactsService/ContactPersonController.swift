import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/counterparties/{id}/contact-persons`: add, list, read, update (PUT, merge-PATCH), remove.
/// Persons of counterparties merged into this one are listed with it; a person's events stay keyed
/// by the counterparty it was added to, so they keep their order.
struct ContactPersonController {
    let context: ContactsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/counterparties/{id}/contact-persons", use: list)
        group.post("/counterparties/{id}/contact-persons", use: add)
        group.get("/counterparties/{id}/contact-persons/{personId}", use: show)
        group.put("/counterparties/{id}/contact-persons/{personId}", use: replace)
        group.patch("/counterparties/{id}/contact-persons/{personId}", use: patch)
        group.delete("/counterparties/{id}/contact-persons/{personId}", use: remove)
        group.get("/counterparties/{id}/contact-persons.vcf", use: exportVCards)
        group.post("/counterparties/{id}/contact-persons.vcf", use: importVCards)
    }

    /// All the counterparty's contact persons as vCards (`?version=4.0`, the default, or `3.0`).
    @Sendable func exportVCards(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let owner = try await self.context.counterparty(try context.parameters.require("id"))
        let version: VCard.Version
        switch request.uri.queryParameters.get("version") {
        case nil, "4.0", "4": version = .v4
        case "3.0", "3": version = .v3
        case let other?: throw Problem.badRequest("version must be 3.0 or 4.0 (got '\(other)')")
        }
        let persons = try await self.context.read { db in
            try StoredContactPerson.fetchAll(db, counterpartyIds: try StoredCounterparty.absorbedIds(db, root: owner.record.id))
        }
        let text = persons.map { VCard.write($0.record, organization: owner.record.legalName, version: version) }.joined()
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/vcard; charset=utf-8",
                .contentDisposition: "attachment; filename=\"contact-persons-\(owner.record.id).vcf\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    struct VCardImportReport: Encodable, Sendable {
        struct CardError: Encodable, Sendable {
            /// 1-based position of the card in the file.
            let card: Int
            let detail: String
        }
        let imported: Int
        let failed: Int
        let errors: [CardError]
    }

    /// Adds every card of a vCard file as a contact person; a card that is not valid is reported.
    @Sendable func importVCards(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let owner = try await self.context.counterparty(try context.parameters.require("id")).record.id
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: self.context.maxBodyBytes * 16)
        } catch {
            throw Problem(.contentTooLarge, "the vCard file is larger than \(self.context.maxBodyBytes * 16) bytes")
        }
        guard let text = String(validating: Array(buffer.readableBytesView), as: UTF8.self) else {
            throw Problem.badRequest("the vCard file is not UTF-8")
        }
        let cards: [VCard.Card]
        do { cards = try VCard.parse(text) } catch { throw Problem.unprocessable("not a vCard file: \(error)") }
        var imported = 0
        var errors: [VCardImportReport.CardError] = []
        for (index, card) in cards.enumerated() {
            do {
                let person = try Validation.normalized(try VCard.person(card, counterpartyId: owner))
                if try await self.context.read({ db in try StoredContactPerson.fetch(db, id: person.id) }) != nil {
                    throw Problem.conflict("contact person '\(person.id)' already exists")
                }
                try await self.context.publish(CounterpartyEvent.contactPersonAdded(person), by: user)
                imported += 1
            } catch let problem as Problem where problem.status != .serviceUnavailable {
                errors.append(.init(card: index + 1, detail: problem.detail))
            } catch let failure as VCard.Failure {
                errors.append(.init(card: index + 1, detail: failure.description))
            }
        }
        return try jsonResponse(VCardImportReport(imported: imported, failed: errors.count, errors: errors))
    }

    /// The body of `POST` (and `PUT`, where the id comes from the path).
    struct Draft: Decodable {
        var id: String?
        var name: String
        var position: String?
        var phones: [String]?
        var emails: [String]?
        var birthday: String?
        var preferredChannel: PreferredChannel?
        var notes: String?

        func person(id: String, counterpartyId: String) -> ContactPerson {
            ContactPerson(
                id: id, counterpartyId: counterpartyId, name: name, position: position, phones: phones ?? [], emails: emails ?? [],
                birthday: birthday, preferredChannel: preferredChannel, notes: notes)
        }
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let owner = try await self.context.counterparty(try context.parameters.require("id"))
        let persons = try await self.context.read { db in
            try StoredContactPerson.fetchAll(db, counterpartyIds: try StoredCounterparty.absorbedIds(db, root: owner.record.id))
        }
        return try jsonResponse(
            Page(items: persons.map { ContactPersonResource(stored: $0, counterpartyId: owner.record.id) }, nextCursor: nil))
    }

    @Sendable func add(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let owner = try await self.context.counterparty(try context.parameters.require("id"))
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let person = try Validation.normalized(draft.person(id: draft.id ?? TimeOrderedID.make(), counterpartyId: owner.record.id))
        if try await self.context.read({ db in try StoredContactPerson.fetch(db, id: person.id) }) != nil {
            throw Problem.conflict("contact person '\(person.id)' already exists", extensions: ["existingId": person.id])
        }
        let stored: StoredContactPerson = try await self.context.publish(
            CounterpartyEvent.contactPersonAdded(person), by: user, readBack: person.id,
            conflict: Problem.conflict(
                "contact person '\(person.id)' was added concurrently by another request", extensions: ["existingId": person.id]))
        return try resourceResponse(
            ContactPersonResource(stored: stored, counterpartyId: owner.record.id), stored.bookkeeping, status: .created,
            location: "/counterparties/\(owner.record.id)/contact-persons/\(person.id)")
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let (owner, person) = try await existing(context, request: nil)
        return try resourceResponse(ContactPersonResource(stored: person, counterpartyId: owner), person.bookkeeping)
    }

    @Sendable func replace(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let (owner, current) = try await existing(context, request: request)
        if let bodyId = draft.id, bodyId != current.record.id {
            throw Problem.unprocessable("the body's id '\(bodyId)' differs from the path's '\(current.record.id)'")
        }
        let person = try Validation.normalized(draft.person(id: current.record.id, counterpartyId: current.record.counterpartyId))
        return try await update(current, to: person, owner: owner, user: user)
    }

    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let patch = try await request.jsonBody(maxBytes: self.context.maxBodyBytes)
        let (owner, current) = try await existing(context, request: request)
        for field in ["id", "counterpartyId"] where patch[field] != nil {
            throw Problem.unprocessable("\(field) cannot be changed")
        }
        let person = try Validation.normalized(try mergePatched(current.record, with: patch))
        return try await update(current, to: person, owner: owner, user: user)
    }

    @Sendable func remove(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let (_, current) = try await existing(context, request: request)
        let reference = ContactPersonReference(id: current.record.id, counterpartyId: current.record.counterpartyId)
        try await self.context.publish(CounterpartyEvent.contactPersonRemoved(reference), by: user)
        return Response(status: .noContent)
    }

    private func update(_ current: StoredContactPerson, to person: ContactPerson, owner: String, user: ActingUser) async throws -> Response
    {
        if person == current.record {
            return try resourceResponse(ContactPersonResource(stored: current, counterpartyId: owner), current.bookkeeping)
        }
        let stored: StoredContactPerson = try await context.publish(
            CounterpartyEvent.contactPersonUpdated(person), by: user, readBack: person.id,
            conflict: Problem.conflict("contact person '\(person.id)' was changed or removed concurrently"))
        return try resourceResponse(ContactPersonResource(stored: stored, counterpartyId: owner), stored.bookkeeping)
    }

    /// The counterparty (resolved) and one of its persons; 404 unless the person belongs to it.
    private func existing(_ context: CRMRequestContext, request: Request?) async throws -> (owner: String, person: StoredContactPerson) {
        let owner = try await self.context.counterparty(try context.parameters.require("id")).record.id
        let personId = try context.parameters.require("personId")
        let found = try await self.context.read { db -> StoredContactPerson? in
            guard let person = try StoredContactPerson.fetch(db, id: personId),
                try StoredCounterparty.resolve(db, id: person.record.counterpartyId) == owner
            else { return nil }
            return person
        }
        guard let person = found else { throw Problem.notFound("counterparty '\(owner)' has no contact person '\(personId)'") }
        if let request { try checkIfMatch(request, person.bookkeeping, "contact person '\(personId)'") }
        return (owner, person)
    }
}
