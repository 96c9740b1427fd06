import Foundation
import ServiceRuntime
import WireSchema

/// Normalises a counterparty before it is published, or says exactly what is wrong (422).
enum CounterpartyValidation {
    static let idPattern = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

    static func validateId(_ id: String) throws {
        guard id.range(of: idPattern, options: .regularExpression) != nil else {
            throw Problem.unprocessable(
                "id '\(id)' is invalid: use 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
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
        record.phones = try list(record.phones, "phones", maxCount: 20, maxLength: 50)
        for phone in record.phones where phone.filter(\.isNumber).count < 3 {
            throw Problem.unprocessable("phones: '\(phone)' is not a phone number")
        }
        record.emails = try list(record.emails, "emails", maxCount: 20, maxLength: 254)
        for email in record.emails where !isPlausibleEmail(email) {
            throw Problem.unprocessable("emails: '\(email)' is not an e-mail address")
        }
        record.tags = try list(record.tags, "tags", maxCount: 50, maxLength: 100)
        return record
    }

    private static func required(_ value: String, _ field: String, maxLength: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw Problem.unprocessable("\(field) must not be empty") }
        if trimmed.count > maxLength { throw Problem.unprocessable("\(field) is longer than \(maxLength) characters") }
        return trimmed
    }

    private static func optional(_ value: String?, _ field: String, maxLength: Int) throws -> String? {
        guard let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        if trimmed.count > maxLength { throw Problem.unprocessable("\(field) is longer than \(maxLength) characters") }
        return trimmed
    }

    private static func list(_ values: [String], _ field: String, maxCount: Int, maxLength: Int) throws -> [String] {
        let cleaned = unique(values.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty })
        if cleaned.count > maxCount { throw Problem.unprocessable("\(field) has more than \(maxCount) entries") }
        if let long = cleaned.first(where: { $0.count > maxLength }) {
            throw Problem.unprocessable("\(field): '\(long.prefix(40))…' is longer than \(maxLength) characters")
        }
        return cleaned
    }

    private static func unique<T: Hashable>(_ values: [T]) -> [T] {
        var seen = Set<T>()
        return values.filter { seen.insert($0).inserted }
    }

    private static func isPlausibleEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && !text.contains(where: \.isWhitespace)
    }
}
