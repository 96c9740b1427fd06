import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

extension StoredEntity where Record == ContactPerson {
    /// The persons added to any of these counterparties, in id order.
    public static func fetchAll(_ db: Database, counterpartyIds: [String]) throws -> [StoredContactPerson] {
        if counterpartyIds.count == 1 {
            return try Row.fetchAll(
                try db.cachedStatement(sql: "SELECT \(columns) FROM contact_person WHERE counterparty_id = ? ORDER BY id"),
                arguments: [counterpartyIds[0]]
            ).map(Self.init(row:))
        }
        return try Row.fetchAll(
            try db.cachedStatement(
                sql: "SELECT \(columns) FROM contact_person WHERE counterparty_id IN (SELECT value FROM json_each(?)) ORDER BY id"),
            arguments: [try encodedRecord(counterpartyIds)]
        ).map(Self.init(row:))
    }
}
