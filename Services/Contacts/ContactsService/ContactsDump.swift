import Foundation
import GRDB
import ServiceKit
import WireSchema

/// The whole store as canonical JSON lines (`{"counterparty": {...}}`, then contact persons, staff and
/// interactions, each in id order, keys sorted, derived values included): equal stores give equal dumps.
enum ContactsDump {
    static func write(_ db: Database, into dump: CanonicalDump) throws {
        let counterparties = try Row.fetchCursor(db, sql: "SELECT \(StoredCounterparty.columns) FROM counterparty ORDER BY id")
        while let row = try counterparties.next() { try dump.emit("counterparty", CounterpartyResource(try StoredCounterparty(row: row))) }
        try dump.emitAll("contactPerson", ContactPerson.self, in: db)
        try dump.emitAll("staffMember", StaffMember.self, in: db)
        try dump.emitAll("interaction", Interaction.self, in: db)
    }
}
