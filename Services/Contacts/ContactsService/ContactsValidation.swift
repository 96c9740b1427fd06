import Foundation
import ServiceKit
import WireFormat
import WireSchema

/// The contacts records' rules: what a request may publish as a counterparty, contact person,
/// staff member or interaction (422 naming the field otherwise).
extension Validation {
    static func normalized(_ input: CounterpartyRecord) throws -> CounterpartyRecord {
        var record = input
        try validateId(record.id)
        record.legalName = try required(record.legalName, "legalName", maxLength: 500)
        record.shortName = try optional(record.shortName, "shortName", maxLength: 200)
        record.taxId = try optional(record.taxId, "taxId", maxLength: 64)
        record.website = try optional(record.website, "website", maxLength: 500)
        record.responsibleManagerId = try optional(record.responsibleManagerId, "responsibleManagerId", maxLength: 64)
        record.source = try optional(record.source, "source", maxLength: 200)
        record.notes = try optional(record.notes, "notes", maxLength: 20_000)
        record.addresses = Addresses(
            legal: try optional(record.addresses.legal, "addresses.legal", maxLength: 1000),
            actual: try optional(record.addresses.actual, "addresses.actual", maxLength: 1000),
            delivery: try optional(record.addresses.delivery, "addresses.delivery", maxLength: 1000))
        record.roles = unique(record.roles)
        record.phones = try phones(record.phones)
        record.emails = try emails(record.emails)
        record.tags = try list(record.tags, "tags", maxCount: 50, maxLength: 100)
        return record
    }

    static func normalized(_ input: ContactPerson) throws -> ContactPerson {
        var person = input
        try validateId(person.id)
        person.name = try required(person.name, "name", maxLength: 300)
        person.position = try optional(person.position, "position", maxLength: 200)
        person.phones = try phones(person.phones)
        person.emails = try emails(person.emails)
        person.birthday = try optional(person.birthday, "birthday", maxLength: 10)
        if let birthday = person.birthday, !isValidBirthday(birthday) {
            throw Problem.unprocessable("birthday '\(birthday)' must be MM-DD or YYYY-MM-DD (a real date, not in the future)")
        }
        person.notes = try optional(person.notes, "notes", maxLength: 20_000)
        return person
    }

    static func normalized(_ input: StaffMember) throws -> StaffMember {
        var member = input
        try validateId(member.id)
        member.name = try required(member.name, "name", maxLength: 300)
        member.email = try optional(member.email, "email", maxLength: 254)
        if let email = member.email, !isPlausibleEmail(email) { throw Problem.unprocessable("email: '\(email)' is not an e-mail address") }
        member.role = try optional(member.role, "role", maxLength: 100)
        member.supervisorId = try optional(member.supervisorId, "supervisorId", maxLength: 64)
        if member.supervisorId == member.id { throw Problem.unprocessable("a staff member cannot supervise themselves") }
        member.timeZone = try optional(member.timeZone, "timeZone", maxLength: 64)
        if let zone = member.timeZone, TimeZone(identifier: zone) == nil {
            throw Problem.unprocessable("timeZone '\(zone)' is not an IANA time zone (e.g. Europe/Moscow)")
        }
        return member
    }

    static func normalized(_ input: Interaction) throws -> Interaction {
        var interaction = input
        try validateId(interaction.id)
        if let minutes = interaction.durationMinutes, !(0...100_000).contains(minutes) {
            throw Problem.unprocessable("durationMinutes must be from 0 to 100000")
        }
        interaction.contactPersonId = try optional(interaction.contactPersonId, "contactPersonId", maxLength: 64)
        interaction.staffId = try optional(interaction.staffId, "staffId", maxLength: 64)
        interaction.subject = try optional(interaction.subject, "subject", maxLength: 500)
        interaction.outcome = try optional(interaction.outcome, "outcome", maxLength: 20_000)
        interaction.dealId = try optional(interaction.dealId, "dealId", maxLength: 64)
        return interaction
    }

    static func phones(_ values: [String]) throws -> [String] {
        let phones = try list(values, "phones", maxCount: 20, maxLength: 50)
        // ASCII digits counted on bytes first: Unicode properties per character are slow on an import.
        for phone in phones where phone.utf8.count(where: { $0 >= 0x30 && $0 <= 0x39 }) < 3 && phone.filter(\.isNumber).count < 3 {
            throw Problem.unprocessable("phones: '\(phone)' is not a phone number")
        }
        return phones
    }

    static func emails(_ values: [String]) throws -> [String] {
        let emails = try list(values, "emails", maxCount: 20, maxLength: 254)
        for email in emails where !isPlausibleEmail(email) {
            throw Problem.unprocessable("emails: '\(email)' is not an e-mail address")
        }
        return emails
    }

    /// `MM-DD` (29 February allowed) or `YYYY-MM-DD`, a real date not after today.
    static func isValidBirthday(_ text: String) -> Bool {
        let parts = text.split(separator: "-").map(String.init)
        guard parts.allSatisfy({ $0.allSatisfy(\.isASCII) && Int($0) != nil }) else { return false }
        let (year, month, day): (Int?, Int, Int)
        switch parts.count {
        case 2 where parts[0].count == 2 && parts[1].count == 2: (year, month, day) = (nil, Int(parts[0])!, Int(parts[1])!)
        case 3 where parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 2:
            (year, month, day) = (Int(parts[0])!, Int(parts[1])!, Int(parts[2])!)
        default: return false
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year ?? 2000, month: month, day: day)
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day,
            calendar.component(.month, from: date) == month
        else { return false }
        return year == nil || date <= Date()
    }
}
