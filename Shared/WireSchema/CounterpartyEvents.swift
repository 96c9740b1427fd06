import Foundation

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
        var id: String?, kind: CounterpartyKind?, legalName: String?
        var roles: [CounterpartyRole] = [], shortName: String?, taxId: String?, addresses = Addresses()
        var phones: [String] = [], emails: [String] = [], website: String?, responsibleManagerId: String?
        var source: String?, tags: [String] = [], notes: String?, archived = false
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

/// Events on `crm.counterparties.v1`, keyed by counterparty id (for a merge, the merged one's; for
/// a contact person, the counterparty it was added to).
public enum CounterpartyEvent: Sendable, Equatable {
    case registered(CounterpartyRecord)
    case updated(CounterpartyRecord)
    case archived(CounterpartyReference)
    case unarchived(CounterpartyReference)
    case contactPersonAdded(ContactPerson)
    case contactPersonUpdated(ContactPerson)
    case contactPersonRemoved(ContactPersonReference)
    case merged(CounterpartyMerge)
    case mergeUndone(CounterpartyMerge)

    public enum EventType {
        public static let registered = "CounterpartyRegistered"
        public static let updated = "CounterpartyUpdated"
        public static let archived = "CounterpartyArchived"
        public static let unarchived = "CounterpartyUnarchived"
        public static let contactPersonAdded = "ContactPersonAdded"
        public static let contactPersonUpdated = "ContactPersonUpdated"
        public static let contactPersonRemoved = "ContactPersonRemoved"
        public static let merged = "CounterpartiesMerged"
        public static let mergeUndone = "CounterpartyMergeUndone"
        public static let all = [
            registered, updated, archived, unarchived, contactPersonAdded, contactPersonUpdated, contactPersonRemoved,
            merged, mergeUndone,
        ]
    }

    public var type: String {
        switch self {
        case .registered: EventType.registered
        case .updated: EventType.updated
        case .archived: EventType.archived
        case .unarchived: EventType.unarchived
        case .contactPersonAdded: EventType.contactPersonAdded
        case .contactPersonUpdated: EventType.contactPersonUpdated
        case .contactPersonRemoved: EventType.contactPersonRemoved
        case .merged: EventType.merged
        case .mergeUndone: EventType.mergeUndone
        }
    }

    /// The record key: the counterparty the event is about.
    public var counterpartyId: String {
        switch self {
        case .registered(let r), .updated(let r): r.id
        case .archived(let r), .unarchived(let r): r.id
        case .contactPersonAdded(let p), .contactPersonUpdated(let p): p.counterpartyId
        case .contactPersonRemoved(let r): r.counterpartyId
        case .merged(let m), .mergeUndone(let m): m.mergedId
        }
    }

    public static func decode(type: String, data: [UInt8]) throws -> CounterpartyEvent {
        do {
            switch type {
            case EventType.registered: return .registered(try CounterpartyRecord.read(data))
            case EventType.updated: return .updated(try CounterpartyRecord.read(data))
            case EventType.archived: return .archived(try CounterpartyReference.read(data))
            case EventType.unarchived: return .unarchived(try CounterpartyReference.read(data))
            case EventType.contactPersonAdded: return .contactPersonAdded(try WireDecoder.decode(ContactPerson.self, from: data))
            case EventType.contactPersonUpdated: return .contactPersonUpdated(try WireDecoder.decode(ContactPerson.self, from: data))
            case EventType.contactPersonRemoved:
                return .contactPersonRemoved(try WireDecoder.decode(ContactPersonReference.self, from: data))
            case EventType.merged: return .merged(try WireDecoder.decode(CounterpartyMerge.self, from: data))
            case EventType.mergeUndone: return .mergeUndone(try WireDecoder.decode(CounterpartyMerge.self, from: data))
            default: throw WireFormatError("unknown event type '\(type)' on \(Topics.counterparties)")
            }
        } catch {
            throw WireFormatError.describing(error)
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .registered(let r), .updated(let r): try WireEncoder.encode(r)
        case .archived(let r), .unarchived(let r): try WireEncoder.encode(r)
        case .contactPersonAdded(let p), .contactPersonUpdated(let p): try WireEncoder.encode(p)
        case .contactPersonRemoved(let r): try WireEncoder.encode(r)
        case .merged(let m), .mergeUndone(let m): try WireEncoder.encode(m)
        }
    }
}
