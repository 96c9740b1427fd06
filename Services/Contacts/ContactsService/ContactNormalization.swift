import Foundation
import WireSchema

/// The comparable forms of contact data: what duplicate checks and search match on, so that
/// `+7 495 123-45-67`, `8 (495) 1234567` and `495 123 45 67` are one phone number.
public struct ContactNormalization: Sendable {
    /// Country calling code assumed for numbers written without one (`CRM_PHONE_COUNTRY_CODE`).
    public var countryCode: String
    /// The national trunk prefix that replaces the country code in domestic notation (`8` in
    /// Russia and Kazakhstan, `0` in most of Europe).
    public var trunkPrefix: String

    public init(countryCode: String = "7", trunkPrefix: String? = nil) {
        self.countryCode = countryCode
        self.trunkPrefix = trunkPrefix ?? (countryCode == "7" ? "8" : "0")
    }

    public static let standard = ContactNormalization()

    /// E.164 digits without `+`, or nil when the text holds too few digits to be a number.
    public func phone(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var digits = String(trimmed.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init))
        guard digits.count >= 5 else { return nil }
        if trimmed.hasPrefix("+") { return digits }
        if digits.hasPrefix("00") { return String(digits.dropFirst(2)) }
        if digits.hasPrefix(trunkPrefix) && digits.count >= 10 {
            digits = countryCode + digits.dropFirst(trunkPrefix.count)
        } else if !(digits.hasPrefix(countryCode) && digits.count >= 11) {
            digits = countryCode + digits
        }
        return digits
    }

    public func email(_ text: String) -> String? {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return value.contains("@") ? value : nil
    }

    public func taxId(_ text: String) -> String? {
        let value = String(text.filter { !$0.isWhitespace && $0 != "-" }).uppercased()
        return value.isEmpty ? nil : value
    }

    public enum IdentityKind: String, Sendable, CaseIterable {
        case taxId, email, phone
    }

    /// What makes two counterparties the same one: normalised tax id, e-mails and phones.
    public func identities(of record: CounterpartyRecord) -> [(IdentityKind, String)] {
        var result: [(IdentityKind, String)] = []
        if let taxId = record.taxId.flatMap(taxId) { result.append((.taxId, taxId)) }
        result += record.emails.compactMap(email).map { (.email, $0) }
        result += record.phones.compactMap(phone).map { (.phone, $0) }
        return result
    }

    /// A name reduced for "similar names": lower case, no legal form, quotes or punctuation.
    public func nameKey(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
        let words = folded.split { !$0.isLetter && !$0.isNumber }.map(String.init)
        let meaningful = words.filter { !Self.legalForms.contains($0) }
        return (meaningful.isEmpty ? words : meaningful).joined(separator: " ")
    }

    static let legalForms: Set<String> = [
        "llc", "ltd", "limited", "inc", "corp", "corporation", "co", "company", "gmbh", "ag", "sa", "srl", "bv", "plc", "jsc",
        "ooo", "zao", "oao", "pao", "ao", "ip", "ооо", "зао", "оао", "пао", "ао", "ип", "нко", "тоо",
    ]
}
