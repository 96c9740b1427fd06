import WireFormat

/// Completeness of a counterparty's contact information (`shared/reference/domain.md`): the share
/// of nine items that are filled, with equal weights, as a whole percentage.
public enum Completeness {
    public static let items = [
        "legalName", "taxId", "legalAddress", "phone", "email", "contactPerson", "reachableContactPerson",
        "reachableContactPersonBirthday", "source",
    ]

    /// The items filled for a counterparty and its contact persons (those of merged counterparties included).
    public static func filledItems(_ record: CounterpartyRecord, persons: [ContactPerson]) -> [String] {
        let reachable = persons.filter { !$0.phones.isEmpty || !$0.emails.isEmpty }
        let checks: [(String, Bool)] = [
            ("legalName", !record.legalName.isEmpty),
            ("taxId", record.taxId?.isEmpty == false),
            ("legalAddress", record.addresses.legal?.isEmpty == false),
            ("phone", !record.phones.isEmpty),
            ("email", !record.emails.isEmpty),
            ("contactPerson", !persons.isEmpty),
            ("reachableContactPerson", !reachable.isEmpty),
            ("reachableContactPersonBirthday", reachable.contains { $0.birthday != nil }),
            ("source", record.source?.isEmpty == false),
        ]
        return checks.filter(\.1).map(\.0)
    }

    public static func percent(_ record: CounterpartyRecord, persons: [ContactPerson]) -> Int {
        let filled = filledItems(record, persons: persons).count
        return (filled * 100 + items.count / 2) / items.count
    }
}
