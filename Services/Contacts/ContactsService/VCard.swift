import Foundation
import ServiceKit
import WireFormat
import WireSchema

/// vCard (RFC 6350 for 4.0, RFC 2426 for 3.0) for contact persons: written with escaping and line
/// folding; read leniently (folded lines, parameters, either version, the common birthday forms).
enum VCard {
    enum Version: String, Sendable { case v3 = "3.0", v4 = "4.0" }

    static func write(_ person: ContactPerson, organization: String, version: Version) -> String {
        var lines = ["BEGIN:VCARD", "VERSION:\(version.rawValue)", "UID:\(escape(person.id))", "FN:\(escape(person.name))"]
        // N is structured (family;given;…); a single name field becomes family = last word, given = the rest.
        let words = person.name.split(separator: " ").map(String.init)
        let family = words.last ?? person.name
        let given = words.dropLast().joined(separator: " ")
        lines.append("N:\(escape(family));\(escape(given));;;")
        lines.append("ORG:\(escape(organization))")
        if let position = person.position { lines.append("TITLE:\(escape(position))") }
        for phone in person.phones { lines.append(version == .v4 ? "TEL;VALUE=text:\(escape(phone))" : "TEL:\(escape(phone))") }
        for email in person.emails { lines.append("EMAIL:\(escape(email))") }
        if let birthday = person.birthday {
            // Without a year: 4.0 has --MMDD; 3.0 has no such form, so the year 1604 stands in (as Apple does).
            let parts = birthday.split(separator: "-")
            if parts.count == 3 {
                lines.append("BDAY:\(parts.joined())")
            } else {
                lines.append(version == .v4 ? "BDAY:--\(parts.joined())" : "BDAY:1604\(parts.joined())")
            }
        }
        if let notes = person.notes { lines.append("NOTE:\(escape(notes))") }
        lines.append("END:VCARD")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// One parsed card: property name (upper case) → values, in order.
    struct Card {
        var properties: [(name: String, value: String)] = []
        func all(_ name: String) -> [String] { properties.filter { $0.name == name }.map(\.value) }
        func first(_ name: String) -> String? { properties.first { $0.name == name }?.value }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func parse(_ text: String) throws -> [Card] {
        // Unfold: a line starting with a space or tab continues the previous one.
        var lines: [String] = []
        for raw in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = raw.first, first == " " || first == "\t", !lines.isEmpty {
                lines[lines.count - 1] += raw.dropFirst()
            } else {
                lines.append(String(raw))
            }
        }
        var cards: [Card] = []
        var current: Card?
        for line in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw Failure(description: "a line without ':': '\(line.prefix(60))'") }
            let head = line[..<colon]
            let value = String(line[line.index(after: colon)...])
            // Drop a group prefix (item1.TEL) and the parameters (TEL;TYPE=cell).
            let nameWithGroup = head.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            let name = (nameWithGroup.split(separator: ".").last.map(String.init) ?? nameWithGroup).uppercased()
            switch name {
            case "BEGIN" where value.uppercased() == "VCARD": current = Card()
            case "END" where value.uppercased() == "VCARD":
                guard let card = current else { throw Failure(description: "END:VCARD without BEGIN:VCARD") }
                cards.append(card)
                current = nil
            default:
                guard current != nil else { throw Failure(description: "a property outside BEGIN:VCARD … END:VCARD") }
                current!.properties.append((name, value))
            }
        }
        if current != nil { throw Failure(description: "the last card has no END:VCARD") }
        return cards
    }

    /// A contact person from a card (without its counterparty); the id comes from UID when usable.
    static func person(_ card: Card, counterpartyId: String) throws -> ContactPerson {
        var name = card.first("FN").map(unescape) ?? ""
        if name.trimmingCharacters(in: .whitespaces).isEmpty, let structured = card.first("N") {
            let parts = structured.split(separator: ";", omittingEmptySubsequences: false).map { unescape(String($0)) }
            name = [parts.count > 1 ? parts[1] : "", parts.first ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
        }
        let uid = card.first("UID").map(unescape).map { $0.hasPrefix("urn:uuid:") ? String($0.dropFirst(9)) : $0 }
        let id = uid.flatMap { (try? Validation.validateId($0)) != nil ? $0 : nil } ?? TimeOrderedID.make()
        let phones = card.all("TEL").map { unescape($0.hasPrefix("tel:") ? String($0.dropFirst(4)) : $0) }
        let emails = card.all("EMAIL").map(unescape)
        return ContactPerson(
            id: id, counterpartyId: counterpartyId, name: name, position: card.first("TITLE").map(unescape),
            phones: phones, emails: emails, birthday: try card.first("BDAY").map(birthday), notes: card.first("NOTE").map(unescape))
    }

    /// `YYYY-MM-DD`, `YYYYMMDD`, `--MM-DD`, `--MMDD`, or a date-time (the time is dropped); the year
    /// 1604 (a common stand-in for "no year") is dropped too.
    static func birthday(_ value: String) throws -> String {
        let date = value.split(separator: "T").first.map(String.init) ?? value
        let digits = date.filter(\.isNumber)
        if date.hasPrefix("--"), digits.count == 4 {
            return "\(digits.prefix(2))-\(digits.suffix(2))"
        }
        guard digits.count == 8 else { throw Failure(description: "BDAY '\(value)' is not a date") }
        let year = digits.prefix(4)
        let month = digits.dropFirst(4).prefix(2)
        let day = digits.suffix(2)
        return year == "1604" ? "\(month)-\(day)" : "\(year)-\(month)-\(day)"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: ",", with: "\\,").replacingOccurrences(of: ";", with: "\\;")
    }

    static func unescape(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                result.append(character == "n" || character == "N" ? "\n" : character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Lines longer than 75 octets continue on the next line after a space (never inside a character).
    static func fold(_ line: String) -> String {
        var result = ""
        var length = 0
        for character in line {
            let size = String(character).utf8.count
            if length + size > 75 {
                result += "\r\n "
                length = 1
            }
            result.append(character)
            length += size
        }
        return result
    }
}
