import Foundation
import ServiceKit
import WireFormat
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
        // Byte loop: this runs for every phone of every event on replay.
        var digits: [UInt8] = []
        digits.reserveCapacity(16)
        var international = false
        for byte in text.utf8 {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits.append(byte)
            } else if byte == UInt8(ascii: "+") && digits.isEmpty {
                international = true
            }
        }
        guard digits.count >= 5 else { return nil }
        var result = String(decoding: digits, as: UTF8.self)
        if international { return result }
        if result.hasPrefix("00") { return String(result.dropFirst(2)) }
        if result.hasPrefix(trunkPrefix) && digits.count >= 10 {
            result = countryCode + result.dropFirst(trunkPrefix.count)
        } else if !(result.hasPrefix(countryCode) && digits.count >= 11) {
            result = countryCode + result
        }
        return result
    }

    public func email(_ text: String) -> String? {
        // Stored values are already trimmed by validation; lowercasing is all that is left.
        let value = text.lowercased()
        return value.contains("@") ? value : nil
    }

    public func taxId(_ text: String) -> String? {
        let value = String(text.unicodeScalars.filter { !$0.properties.isWhitespace && $0 != "-" }).uppercased()
        return value.isEmpty ? nil : value
    }

    public enum IdentityKind: String, Sendable, CaseIterable {
        case taxId, email, phone
    }

    /// One identity as a single string (`phone 74951234567`), for sets and lock keys.
    static func key(_ identity: (IdentityKind, String)) -> String { "\(identity.0.rawValue) \(identity.1)" }

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
        let words: [String]
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII (most names in the bulk of a base): bytes, no Unicode tables.
            words = text.utf8.split { !(($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A)) }
                .map { String(decoding: $0.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self) }
        } else {
            let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
            words = folded.split { !$0.isLetter && !$0.isNumber }.map(String.init)
        }
        let meaningful = words.filter { !Self.legalForms.contains($0) }
        return (meaningful.isEmpty ? words : meaningful).joined(separator: " ")
    }

    static let legalForms: Set<String> = [
        "llc", "ltd", "limited", "inc", "corp", "corporation", "co", "company", "gmbh", "ag", "sa", "srl", "bv", "plc", "jsc",
        "ooo", "zao", "oao", "pao", "ao", "ip", "ооо", "зао", "оао", "пао", "ао", "ип", "нко", "тоо",
    ]
}
