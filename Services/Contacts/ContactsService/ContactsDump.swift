import Foundation
import GRDB
import WireFormat
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
        func emitAll<Record: StoredRecord>(_ entity: String, _: Record.Type) throws {
            let rows = try StoredEntity<Record>.all(db)
            while let row = try rows.next() { try emit(entity, EntityResource(stored: try StoredEntity<Record>(row: row))) }
        }
        try emitAll("contactPerson", ContactPerson.self)
        try emitAll("staffMember", StaffMember.self)
        try emitAll("interaction", Interaction.self)
    }
}
