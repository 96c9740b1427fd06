import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/staff`: employees and their supervisor chain (no cycles), and the completeness of the contact
/// information of the counterparties each one is responsible for.
struct StaffController {
    let context: ContactsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.post("/staff", use: create)
        group.get("/staff", use: list)
        group.get("/staff/{id}", use: show)
        group.put("/staff/{id}", use: replace)
        group.patch("/staff/{id}", use: patch)
        group.get("/staff/{id}/completeness", use: completeness)
    }

    /// Held by commands that set or change a supervisor: a cycle check must see the previous change.
    static let hierarchyLock = "staff hierarchy"

    struct Draft: Decodable {
        var id: String?
        var name: String
        var email: String?
        var role: String?
        var supervisorId: String?
        var timeZone: String?
        var active: Bool?

        func member(id: String) -> StaffMember {
            StaffMember(
                id: id, name: name, email: email, role: role, supervisorId: supervisorId, timeZone: timeZone, active: active ?? true)
        }
    }

    @Sendable func create(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let member = try Validation.normalized(draft.member(id: draft.id ?? TimeOrderedID.make()))
        if try await self.context.read({ db in try StoredStaffMember.fetch(db, id: member.id) }) != nil {
            throw Problem.conflict("staff member '\(member.id)' already exists", extensions: ["existingId": member.id])
        }
        let stored: StoredStaffMember = try await self.context.commandLocks.withLock([Self.hierarchyLock]) {
            try await checkSupervisor(of: member)
            return try await self.context.publish(
                StaffEvent.registered(member), by: user, readBack: member.id,
                conflict: Problem.conflict(
                    "staff member '\(member.id)' was registered concurrently by another request", extensions: ["existingId": member.id]))
        }
        return try resourceResponse(
            StaffMemberResource(stored: stored), stored.bookkeeping, status: .created, location: "/staff/\(member.id)")
    }

    @Sendable func list(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let limit = try pageLimit(request)
        let afterId = try request.uri.queryParameters.get("cursor").map(Cursor.decode)
        let supervisorId = request.uri.queryParameters.get("supervisorId")
        let page = try await self.context.read { db in
            try StoredStaffMember.list(db, supervisorId: supervisorId, afterId: afterId, limit: limit)
        }
        let next = page.more ? page.items.last.map { Cursor.encode($0.record.id) } : nil
        return try jsonResponse(Page(items: page.items.map { StaffMemberResource(stored: $0) }, nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let member = try await existing(try context.parameters.require("id"), nil)
        return try resourceResponse(StaffMemberResource(stored: member), member.bookkeeping)
    }

    @Sendable func replace(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let draft = try await request.decodeJSON(Draft.self, maxBytes: self.context.maxBodyBytes)
        let current = try await existing(try context.parameters.require("id"), request)
        if let bodyId = draft.id, bodyId != current.record.id {
            throw Problem.unprocessable("the body's id '\(bodyId)' differs from the path's '\(current.record.id)'")
        }
        var member = draft.member(id: current.record.id)
        member.active = draft.active ?? current.record.active
        return try await update(current, to: try Validation.normalized(member), user: user)
    }

    @Sendable func patch(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let patch = try await request.jsonBody(maxBytes: self.context.maxBodyBytes)
        let current = try await existing(try context.parameters.require("id"), request)
        if patch["id"] != nil { throw Problem.unprocessable("id cannot be changed") }
        let member = try Validation.normalized(try mergePatched(current.record, with: patch))
        return try await update(current, to: member, user: user)
    }

    /// Mean completeness (0-100) over the counterparties the member is responsible for, and how
    /// many of them have each item filled.
    @Sendable func completeness(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let member = try await existing(try context.parameters.require("id"), nil)
        let report = try await self.context.read { db in try CompletenessReport.build(db, staffId: member.record.id) }
        return try jsonResponse(report)
    }

    private func update(_ current: StoredStaffMember, to member: StaffMember, user: ActingUser) async throws -> Response {
        if member == current.record { return try resourceResponse(StaffMemberResource(stored: current), current.bookkeeping) }
        let publish = { @Sendable [context] () async throws -> StoredStaffMember in
            try await context.publish(
                StaffEvent.updated(member), by: user, readBack: member.id,
                conflict: Problem.conflict("staff member '\(member.id)' was changed concurrently"))
        }
        // Only a change of supervisor can close a cycle, so only that waits for the hierarchy.
        let stored: StoredStaffMember
        if member.supervisorId == current.record.supervisorId {
            stored = try await publish()
        } else {
            stored = try await context.commandLocks.withLock([Self.hierarchyLock]) {
                try await checkSupervisor(of: member)
                return try await publish()
            }
        }
        return try resourceResponse(StaffMemberResource(stored: stored), stored.bookkeeping)
    }

    /// The supervisor must exist and must not be the member or anyone below them.
    private func checkSupervisor(of member: StaffMember) async throws {
        guard let supervisorId = member.supervisorId else { return }
        try await context.requireStaff(supervisorId, field: "supervisorId")
        let chain = try await context.read { db in try StoredStaffMember.supervisorChain(db, of: supervisorId) }
        if chain.contains(member.id) {
            throw Problem.unprocessable(
                "supervisorId '\(supervisorId)' reports to '\(member.id)' (\(([supervisorId] + chain.prefix { $0 != member.id }).joined(separator: " → ")) → \(member.id)): "
                    + "that would make a cycle")
        }
    }

    private func existing(_ id: String, _ request: Request?) async throws -> StoredStaffMember {
        try await context.existing(StaffMember.self, id, what: "staff member", ifMatch: request)
    }
}

/// `GET /staff/{id}/completeness`.
struct CompletenessReport: Encodable, Sendable {
    let staffId: String
    let counterparties: Int
    /// Mean completeness, 0-100, one decimal; null when the member has no counterparties.
    let completeness: Decimal?
    /// Per item, how many of the counterparties have it filled.
    let filled: [String: Int]

    enum CodingKeys: String, CodingKey { case staffId, counterparties, completeness, filled }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(staffId, forKey: .staffId)
        try container.encode(counterparties, forKey: .counterparties)
        try container.encode(completeness, forKey: .completeness)  // explicit null, not omitted
        try container.encode(filled, forKey: .filled)
    }

    /// Two reads for all of the member's counterparties (a manager may have tens of thousands);
    /// only those that absorbed merged ones are read one by one, with what they absorbed.
    static func build(_ db: Database, staffId: String) throws -> CompletenessReport {
        let owned = "responsible_manager_id = ? AND merged_into IS NULL AND archived = 0"
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT c.id, c.record, EXISTS (SELECT 1 FROM counterparty m WHERE m.merged_into = c.id) AS absorbs
                FROM counterparty c WHERE \(owned) ORDER BY c.id
                """, arguments: [staffId])
        var personsOf: [String: [ContactPerson]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT p.record FROM contact_person p WHERE p.counterparty_id IN (SELECT id FROM counterparty WHERE \(owned))
                """, arguments: [staffId])
        {
            let person = try decodeStoredRecord(ContactPerson.self, row)
            personsOf[person.counterpartyId, default: []].append(person)
        }
        var filled = Dictionary(uniqueKeysWithValues: Completeness.items.map { ($0, 0) })
        var total = 0
        for row in rows {
            let id: String = row["id"]
            let own: CounterpartyRecord
            let persons: [ContactPerson]
            if row["absorbs"] as Bool {
                let records = try StoredCounterparty.absorbedRecords(db, root: id)
                guard let root = records.first(where: { $0.id == id }) else { continue }
                own = root
                persons = try StoredContactPerson.fetchAll(db, counterpartyIds: records.map(\.id)).map(\.record)
            } else {
                own = try decodeStoredRecord(CounterpartyRecord.self, row)
                persons = personsOf[id] ?? []
            }
            for item in Completeness.filledItems(own, persons: persons) { filled[item, default: 0] += 1 }
            total += Completeness.percent(own, persons: persons)
        }
        let mean: Decimal? =
            rows.isEmpty
            ? nil
            : {
                var value = Decimal(total) / Decimal(rows.count)
                var rounded = Decimal()
                NSDecimalRound(&rounded, &value, 1, .plain)
                return rounded
            }()
        return CompletenessReport(staffId: staffId, counterparties: rows.count, completeness: mean, filled: filled)
    }
}
