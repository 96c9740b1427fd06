import GRDB

/// Checks that what a command names exists in the service's copy of another service's records,
/// inside one read (422 naming the field). For stores that keep, as the deals and scheduler stores
/// do, `staff(id)` and `counterparty(id, merged_into)` from the contacts service's topics.
public enum ReferenceChecks {
    public static func requireStaff(_ db: Database, _ id: String, field: String) throws {
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM staff WHERE id = ?"), arguments: [id]) == nil {
            throw Problem.unprocessable("\(field): no staff member '\(id)'")
        }
    }

    /// A counterparty that exists and was not merged away (the problem names the survivor).
    public static func requireCounterparty(_ db: Database, _ id: String, field: String) throws {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT merged_into FROM counterparty WHERE id = ?"), arguments: [id])
        else { throw Problem.unprocessable("\(field): no counterparty '\(id)'") }
        if let survivor: String = row[0] {
            throw Problem.unprocessable("\(field): counterparty '\(id)' was merged into '\(survivor)'; use that one")
        }
    }
}
