import Foundation
import ServiceRuntime
import WireFormat
import WireSchema

/// Normalises what a request asks to publish, or says exactly what is wrong (422).
enum Validation {
    /// `^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`, checked on bytes (a regular expression per call cost
    /// more than the rest of an import row's validation).
    static func isValidId(_ id: String) -> Bool {
        let bytes = id.utf8
        guard (1...64).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let alphanumeric = (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
            let punctuation = byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
            if !(alphanumeric || (index > 0 && punctuation)) { return false }
        }
        return true
    }

    static func validateId(_ id: String, _ field: String = "id") throws {
        guard isValidId(id) else {
            throw Problem.unprocessable(
                "\(field) '\(id)' is invalid: use 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
        }
    }

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

    static func required(_ value: String, _ field: String, maxLength: Int) throws -> String {
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty { throw Problem.unprocessable("\(field) must not be empty") }
        if isLonger(trimmed, than: maxLength) { throw Problem.unprocessable("\(field) is longer than \(maxLength) characters") }
        return trimmed
    }

    static func optional(_ value: String?, _ field: String, maxLength: Int) throws -> String? {
        guard let trimmed = value?.trimmingWhitespace(), !trimmed.isEmpty else { return nil }
        if isLonger(trimmed, than: maxLength) { throw Problem.unprocessable("\(field) is longer than \(maxLength) characters") }
        return trimmed
    }

    static func list(_ values: [String], _ field: String, maxCount: Int, maxLength: Int) throws -> [String] {
        let cleaned = unique(values.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty })
        if cleaned.count > maxCount { throw Problem.unprocessable("\(field) has more than \(maxCount) entries") }
        if let long = cleaned.first(where: { isLonger($0, than: maxLength) }) {
            throw Problem.unprocessable("\(field): '\(long.prefix(40))…' is longer than \(maxLength) characters")
        }
        return cleaned
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

    /// More characters than `limit`; counting bytes first avoids walking the characters of short text.
    static func isLonger(_ text: String, than limit: Int) -> Bool {
        text.utf8.count > limit && text.count > limit
    }

    static func unique<T: Hashable>(_ values: [T]) -> [T] {
        var seen = Set<T>()
        return values.filter { seen.insert($0).inserted }
    }

    static func isPlausibleEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && !containsWhitespace(text)
    }

    private static func containsWhitespace(_ text: String) -> Bool {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.contains { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) } }
        return text.contains(where: \.isWhitespace)
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
              calendar.component(.month, from: date) == month else { return false }
        return year == nil || date <= Date()
    }
}
