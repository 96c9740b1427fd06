import WireFormat
import WireSchema

/// What the search index holds for one counterparty (with those merged into it): its names; its
/// identifiers (tax id, e-mails, and each phone as full digits plus its last 10 and 7 digits, so a
/// number written with or without country and area code finds it); and its contact persons.
struct SearchDocument {
    let names: String
    let identifiers: String
    let persons: String

    init(counterparties: [CounterpartyRecord], persons people: [ContactPerson], normalization: ContactNormalization) {
        names = counterparties.flatMap { [$0.legalName, $0.shortName].compactMap { $0 } }.joined(separator: " ")
        var identifiers: [String] = []
        for record in counterparties {
            if let taxId = record.taxId.flatMap(normalization.taxId) { identifiers.append(taxId) }
            identifiers += record.emails.compactMap(normalization.email)
            identifiers += record.phones.flatMap { Self.phoneTokens($0, normalization) }
        }
        self.identifiers = identifiers.joined(separator: " ")
        persons = people.flatMap { person in
            [person.name] + person.emails.compactMap(normalization.email) + person.phones.flatMap { Self.phoneTokens($0, normalization) }
        }.joined(separator: " ")
    }

    /// A newly registered counterparty's document from the identities already worked out for it.
    init(newCounterparty record: CounterpartyRecord, identities: [(ContactNormalization.IdentityKind, String)]) {
        names = [record.legalName, record.shortName].compactMap { $0 }.joined(separator: " ")
        identifiers = identities.flatMap { kind, value in kind == .phone ? Self.phoneTokens(digits: value) : [value] }
            .joined(separator: " ")
        persons = ""
    }

    static func phoneTokens(_ phone: String, _ normalization: ContactNormalization) -> [String] {
        normalization.phone(phone).map(phoneTokens(digits:)) ?? []
    }

    static func phoneTokens(digits: String) -> [String] {
        var tokens = [digits]
        for length in [10, 7] where digits.count > length { tokens.append(String(digits.suffix(length))) }
        return tokens
    }
}
