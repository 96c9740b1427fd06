import EventStore
import Foundation
import GRDB
import ServiceKit
import WireSchema

/// What every contacts controller works with: the kit's context, with the contacts' lookups.
public typealias ContactsContext = ServiceContext<ContactsService>

extension ServiceContext where Service == ContactsService {
    /// How phones, e-mails, tax ids and names are compared (the projection's rules).
    var normalization: ContactNormalization { projection.normalization }

    /// The counterparty an id stands for (the survivor for a merged id), or 404.
    func counterparty(_ id: String) async throws -> StoredCounterparty {
        guard let stored = try await read({ db in try StoredCounterparty.fetch(db, id: id) }) else {
            throw Problem.notFound("no counterparty '\(id)'")
        }
        return stored
    }

    /// Refuses a reference to a staff member who does not exist (422 naming the field).
    func requireStaff(_ id: String?, field: String) async throws {
        guard let id else { return }
        let exists = try await read { db in try StoredStaffMember.fetch(db, id: id) != nil }
        if !exists { throw Problem.unprocessable("\(field): no staff member '\(id)'") }
    }
}
