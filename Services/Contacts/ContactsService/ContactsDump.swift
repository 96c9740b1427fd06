import Foundation
import GRDB
import WireSchema

/// The whole store as canonical JSON lines (`{"counterparty": {...}}`, then contact persons, staff and
/// interactions, each in id order, keys sorted, derived values included): equal stores give equal dumps.
enum ContactsDump {
    struct Line<Resource: Encodable>: Encodable {
        let entity: String
        let resource: Resource

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(resource, forKey: Key(stringValue: entity))
        }
    }

    static func write(_ db: Database, into output: (String) -> Void) throws {
        func emit<Resource: Encodable>(_ entity: String, _ resource: Resource) throws {
            output(String(decoding: try WireEncoder.encode(Line(entity: entity, resource: resource)), as: UTF8.self))
        }
        let counterparties = try Row.fetchCursor(db, sql: "SELECT \(StoredCounterparty.columns) FROM counterparty ORDER BY id")
        while let row = try counterparties.next() { try emit("counterparty", CounterpartyResource(try StoredCounterparty(row: row))) }
        let persons = try Row.fetchCursor(db, sql: "SELECT \(StoredContactPerson.columns) FROM contact_person ORDER BY id")
        while let row = try persons.next() {
            let person = try StoredContactPerson(row: row)
            try emit("contactPerson", ContactPersonResource(stored: person, counterpartyId: person.record.counterpartyId))
        }
        let staff = try Row.fetchCursor(db, sql: "SELECT \(StoredStaffMember.columns) FROM staff ORDER BY id")
        while let row = try staff.next() { try emit("staffMember", StaffMemberResource(stored: try StoredStaffMember(row: row))) }
        let interactions = try Row.fetchCursor(db, sql: "SELECT \(StoredInteraction.columns) FROM interaction ORDER BY id")
        while let row = try interactions.next() {
            let interaction = try StoredInteraction(row: row)
            try emit("interaction", InteractionResource(stored: interaction, counterpartyId: interaction.record.counterpartyId))
        }
    }
}
