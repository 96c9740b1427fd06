import Foundation
import WireFormat

public enum CounterpartyKind: String, Codable, Sendable, CaseIterable {
    case organization
    case person
}

public enum CounterpartyRole: String, Codable, Sendable, CaseIterable {
    case customer
    case supplier
    case prospect
}

public struct Addresses: Codable, Sendable, Equatable, JSONReadable {
    public var legal: String?
    public var actual: String?
    public var delivery: String?

    public init(legal: String? = nil, actual: String? = nil, delivery: String? = nil) {
        self.legal = legal
        self.actual = actual
        self.delivery = delivery
    }

    public var isEmpty: Bool { legal == nil && actual == nil && delivery == nil }

    public init(reading object: inout JSONObjectReader) throws {
        while let field = try object.nextField() {
            switch field {
            case "legal": legal = try object.optionalString(field)
            case "actual": actual = try object.optionalString(field)
            case "delivery": delivery = try object.optionalString(field)
            default: try object.skip()
            }
        }
    }

    public init(from decoder: any Decoder) throws { self = try .decodeThroughJSON(decoder) }
}

/// A counterparty as it travels on `crm.counterparties.v1`: the whole state after the change, so
/// applying an event never depends on having seen the one before it.
public struct CounterpartyRecord: Codable, Sendable, Equatable, JSONReadable {
    public var id: String
    public var kind: CounterpartyKind
    public var roles: [CounterpartyRole]
    public var legalName: String
    public var shortName: String?
    public var taxId: String?
    public var addresses: Addresses
    public var phones: [String]
    public var emails: [String]
    public var website: String?
    public var responsibleManagerId: String?
    public var source: String?
    public var tags: [String]
    public var notes: String?
    public var archived: Bool

    public init(
        id: String, kind: CounterpartyKind, roles: [CounterpartyRole], legalName: String, shortName: String? = nil,
        taxId: String? = nil, addresses: Addresses = Addresses(), phones: [String] = [], emails: [String] = [],
        website: String? = nil, responsibleManagerId: String? = nil, source: String? = nil, tags: [String] = [],
        notes: String? = nil, archived: Bool = false
    ) {
        self.id = id
        self.kind = kind
        self.roles = roles
        self.legalName = legalName
        self.shortName = shortName
        self.taxId = taxId
        self.addresses = addresses
        self.phones = phones
        self.emails = emails
        self.website = website
        self.responsibleManagerId = responsibleManagerId
        self.source = source
        self.tags = tags
        self.notes = notes
        self.archived = archived
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, roles, legalName, shortName, taxId, addresses, phones, emails, website
        case responsibleManagerId, source, tags, notes, archived
    }

    // Lists and flags may be omitted by older or leaner producers. The record is made once, at the
    // end: made first and its fields assigned afterwards, it was copied and destroyed whole twice per
    // event (a tenth of a registration's decoding).
    public init(reading object: inout JSONObjectReader) throws {
        var id: String?
        var kind: CounterpartyKind?
        var legalName: String?
        var roles: [CounterpartyRole] = []
        var shortName: String?
        var taxId: String?
        var addresses = Addresses()
        var phones: [String] = []
        var emails: [String] = []
        var website: String?
        var responsibleManagerId: String?
        var source: String?
        var tags: [String] = []
        var notes: String?
        var archived = false
        while let field = try object.nextField() {
            switch field {
            case "id": id = try object.optionalString(field)
            case "kind": kind = try object.optionalEnumeration(field, CounterpartyKind.self)
            case "roles": roles = try object.enumerations(field, CounterpartyRole.self)
            case "legalName": legalName = try object.optionalString(field)
            case "shortName": shortName = try object.optionalString(field)
            case "taxId": taxId = try object.optionalString(field)
            case "addresses": addresses = try object.optionalObject(field) { try Addresses(reading: &$0) } ?? Addresses()
            case "phones": phones = try object.strings(field)
            case "emails": emails = try object.strings(field)
            case "website": website = try object.optionalString(field)
            case "responsibleManagerId": responsibleManagerId = try object.optionalString(field)
            case "source": source = try object.optionalString(field)
            case "tags": tags = try object.strings(field)
            case "notes": notes = try object.optionalString(field)
            case "archived": archived = try object.optionalBool(field) ?? false
            default: try object.skip()
            }
        }
        guard let id else { throw object.missing("id") }
        guard let kind else { throw object.missing("kind") }
        guard let legalName else { throw object.missing("legalName") }
        self.init(
            id: id, kind: kind, roles: roles, legalName: legalName, shortName: shortName, taxId: taxId, addresses: addresses,
            phones: phones, emails: emails, website: website, responsibleManagerId: responsibleManagerId, source: source,
            tags: tags, notes: notes, archived: archived)
    }

    public init(from decoder: any Decoder) throws { self = try .decodeThroughJSON(decoder) }
}

extension Addresses: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field("actual", actual)
            json.field("delivery", delivery)
            json.field("legal", legal)
        }
    }
}

extension CounterpartyRecord: JSONWritable {
    /// Keys in sorted order, as `WireEncoder` writes them.
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field("addresses", addresses)
            json.field("archived", archived)
            json.field("emails", emails)
            json.field("id", id)
            json.field("kind", kind.rawValue)
            json.field("legalName", legalName)
            json.field("notes", notes)
            json.field("phones", phones)
            json.field("responsibleManagerId", responsibleManagerId)
            json.field("roles", roles.map(\.rawValue))
            json.field("shortName", shortName)
            json.field("source", source)
            json.field("tags", tags)
            json.field("taxId", taxId)
            json.field("website", website)
        }
    }
}

public struct CounterpartyReference: Codable, Sendable, Equatable, JSONReadable {
    public var id: String
    public init(id: String) { self.id = id }
    public init(reading object: inout JSONObjectReader) throws {
        var id: String?
        while let field = try object.nextField() {
            switch field {
            case "id": id = try object.optionalString(field)
            default: try object.skip()
            }
        }
        guard let id else { throw object.missing("id") }
        self.id = id
    }
    public init(from decoder: any Decoder) throws { self = try .decodeThroughJSON(decoder) }
}
