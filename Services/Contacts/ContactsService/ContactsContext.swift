import EventStore
import Foundation
import GRDB
import Hummingbird
import ServiceRuntime
import WireFormat
import WireSchema

/// What every contacts controller works with: the store it validates against, the gateway it
/// publishes through, and the request limits and normalisation rules.
struct ContactsContext: Sendable {
    let store: ServiceStore
    let commands: CommandGateway
    let maxBodyBytes: Int
    let normalization: ContactNormalization
    /// Commands whose checks must see each other's effect hold keys here: the staff hierarchy, a
    /// counterparty's id and its normalised identities.
    let commandLocks = CommandLock()

    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await store.database.read(body)
    }

    /// Publishes an event and waits until this service has applied it; returns the event's id, so
    /// the caller can tell whether its own change is the one stored (`last_event_id`).
    @discardableResult
    func publish(topic: String, key: String, type: String, data: [UInt8], user: ActingUser) async throws -> String {
        let eventId = TimeOrderedID.make()
        try await commands.execute(topic: topic, key: key, type: type, data: data, actor: user, eventId: eventId)
        return eventId
    }

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

/// `If-Match: "<version>"`: 412 when the resource has moved on since the client read it.
func checkIfMatch(_ request: Request, _ bookkeeping: Bookkeeping, _ what: String) throws {
    if let ifMatch = request.headers[.ifMatch], ifMatch != "*", ifMatch != bookkeeping.etag {
        throw Problem(.preconditionFailed, "\(what) is at version \(bookkeeping.version), not \(ifMatch)")
    }
}

/// A resource with its ETag (and Location when created).
func resourceResponse<R: Encodable>(
    _ resource: R, _ bookkeeping: Bookkeeping, status: HTTPResponse.Status = .ok, location: String? = nil
) throws -> Response {
    var headers: HTTPFields = [.eTag: bookkeeping.etag]
    if let location { headers[.location] = location }
    return try jsonResponse(resource, status: status, headers: headers)
}

/// Applies a JSON merge patch (RFC 7396) to a record; the result is decoded again, so a patch
/// can only produce a valid record.
func mergePatched<T: Codable>(_ record: T, with patch: JSONValue) throws -> T {
    guard case .object = patch else { throw Problem.unprocessable("a merge patch must be a JSON object") }
    let current = try JSONParser.parse(try WireEncoder.encode(record))
    return try decodeProblem(T.self, from: current.merged(with: patch))
}
