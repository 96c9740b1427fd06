import Foundation
import WireFormat

// The contacts service's topics: `crm.counterparties.v1` (the record itself in
// `CounterpartyRecord.swift`, contact persons and merges), `crm.interactions.v1` and `crm.staff.v1`.

public enum PreferredChannel: String, Codable, Sendable, CaseIterable {
    case phone, email, messenger, sms, meeting, letter
}

/// A person to talk to at a counterparty. `counterpartyId` is the counterparty it was added to;
/// after a merge it resolves to the survivor, and its events stay keyed by the original id.
public struct ContactPerson: Codable, Sendable, Equatable {
    public var id: String
    public var counterpartyId: String
    public var name: String
    public var position: String?
    public var phones: [String]
    public var emails: [String]
    /// `MM-DD`, or `YYYY-MM-DD` when the year is known.
    public var birthday: String?
    public var preferredChannel: PreferredChannel?
    public var notes: String?

    public init(
        id: String, counterpartyId: String, name: String, position: String? = nil, phones: [String] = [],
        emails: [String] = [], birthday: String? = nil, preferredChannel: PreferredChannel? = nil, notes: String? = nil
    ) {
        self.id = id
        self.counterpartyId = counterpartyId
        self.name = name
        self.position = position
        self.phones = phones
        self.emails = emails
        self.birthday = birthday
        self.preferredChannel = preferredChannel
        self.notes = notes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        counterpartyId = try container.decode(String.self, forKey: .counterpartyId)
        name = try container.decode(String.self, forKey: .name)
        position = try container.decodeIfPresent(String.self, forKey: .position)
        phones = try container.decodeIfPresent([String].self, forKey: .phones) ?? []
        emails = try container.decodeIfPresent([String].self, forKey: .emails) ?? []
        birthday = try container.decodeIfPresent(String.self, forKey: .birthday)
        preferredChannel = try container.decodeIfPresent(PreferredChannel.self, forKey: .preferredChannel)
        notes = try container.decodeIfPresent(String.self, forKey: .notes)
    }
}

public struct ContactPersonReference: Codable, Sendable, Equatable {
    public var id: String
    public var counterpartyId: String
    public init(id: String, counterpartyId: String) {
        self.id = id
        self.counterpartyId = counterpartyId
    }
}

/// `mergedId` now resolves to `survivorId` (keyed by `mergedId`); undone by `CounterpartyMergeUndone`.
public struct CounterpartyMerge: Codable, Sendable, Equatable {
    public var mergedId: String
    public var survivorId: String
    public init(mergedId: String, survivorId: String) {
        self.mergedId = mergedId
        self.survivorId = survivorId
    }
}

public enum InteractionKind: String, Codable, Sendable, CaseIterable { case call, meeting, email, letter, visit, other }
public enum InteractionDirection: String, Codable, Sendable, CaseIterable { case inbound, outbound }

/// `crm.interactions.v1`: `InteractionLogged`, `InteractionCorrected` (the whole interaction).
public struct Interaction: Codable, Sendable, Equatable {
    public var id: String
    public var counterpartyId: String
    public var kind: InteractionKind
    public var direction: InteractionDirection?
    public var occurredAt: Date
    public var durationMinutes: Int?
    public var contactPersonId: String?
    public var staffId: String?
    public var subject: String?
    public var outcome: String?
    public var dealId: String?

    public init(
        id: String, counterpartyId: String, kind: InteractionKind, direction: InteractionDirection? = nil,
        occurredAt: Date, durationMinutes: Int? = nil, contactPersonId: String? = nil, staffId: String? = nil,
        subject: String? = nil, outcome: String? = nil, dealId: String? = nil
    ) {
        self.id = id
        self.counterpartyId = counterpartyId
        self.kind = kind
        self.direction = direction
        self.occurredAt = occurredAt
        self.durationMinutes = durationMinutes
        self.contactPersonId = contactPersonId
        self.staffId = staffId
        self.subject = subject
        self.outcome = outcome
        self.dealId = dealId
    }
}

/// `crm.staff.v1`: `StaffMemberRegistered`, `StaffMemberUpdated`.
public struct StaffMember: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var email: String?
    public var role: String?
    public var supervisorId: String?
    /// An IANA time zone (`Europe/Moscow`).
    public var timeZone: String?
    public var active: Bool?

    public init(
        id: String, name: String, email: String? = nil, role: String? = nil, supervisorId: String? = nil,
        timeZone: String? = nil, active: Bool? = nil
    ) {
        self.id = id
        self.name = name
        self.email = email
        self.role = role
        self.supervisorId = supervisorId
        self.timeZone = timeZone
        self.active = active
    }
}

/// Events on `crm.counterparties.v1`, keyed by counterparty id (for a merge, the merged one's; for
/// a contact person, the counterparty it was added to).
public enum CounterpartyEvent: TopicEvents, Equatable {
    case registered(CounterpartyRecord)
    case updated(CounterpartyRecord)
    case archived(CounterpartyReference)
    case unarchived(CounterpartyReference)
    case contactPersonAdded(ContactPerson)
    case contactPersonUpdated(ContactPerson)
    case contactPersonRemoved(ContactPersonReference)
    case merged(CounterpartyMerge)
    case mergeUndone(CounterpartyMerge)

    public static let topic = Topics.counterparties

    public enum Message: String, CaseIterable, Sendable {
        case registered = "CounterpartyRegistered"
        case updated = "CounterpartyUpdated"
        case archived = "CounterpartyArchived"
        case unarchived = "CounterpartyUnarchived"
        case contactPersonAdded = "ContactPersonAdded"
        case contactPersonUpdated = "ContactPersonUpdated"
        case contactPersonRemoved = "ContactPersonRemoved"
        case merged = "CounterpartiesMerged"
        case mergeUndone = "CounterpartyMergeUndone"
    }

    public var message: Message {
        switch self {
        case .registered: .registered
        case .updated: .updated
        case .archived: .archived
        case .unarchived: .unarchived
        case .contactPersonAdded: .contactPersonAdded
        case .contactPersonUpdated: .contactPersonUpdated
        case .contactPersonRemoved: .contactPersonRemoved
        case .merged: .merged
        case .mergeUndone: .mergeUndone
        }
    }

    public var key: String { counterpartyId }

    /// The counterparty the event is about.
    public var counterpartyId: String {
        switch self {
        case .registered(let r), .updated(let r): r.id
        case .archived(let r), .unarchived(let r): r.id
        case .contactPersonAdded(let p), .contactPersonUpdated(let p): p.counterpartyId
        case .contactPersonRemoved(let r): r.counterpartyId
        case .merged(let m), .mergeUndone(let m): m.mergedId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> CounterpartyEvent {
        switch message {
        case .registered: .registered(try CounterpartyRecord.read(data))
        case .updated: .updated(try CounterpartyRecord.read(data))
        case .archived: .archived(try CounterpartyReference.read(data))
        case .unarchived: .unarchived(try CounterpartyReference.read(data))
        case .contactPersonAdded: .contactPersonAdded(try WireDecoder.decode(ContactPerson.self, from: data))
        case .contactPersonUpdated: .contactPersonUpdated(try WireDecoder.decode(ContactPerson.self, from: data))
        case .contactPersonRemoved: .contactPersonRemoved(try WireDecoder.decode(ContactPersonReference.self, from: data))
        case .merged: .merged(try WireDecoder.decode(CounterpartyMerge.self, from: data))
        case .mergeUndone: .mergeUndone(try WireDecoder.decode(CounterpartyMerge.self, from: data))
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

/// Events on `crm.interactions.v1`, keyed by interaction id: the whole interaction each time.
public enum InteractionEvent: TopicEvents, Equatable {
    case logged(Interaction)
    case corrected(Interaction)

    public static let topic = Topics.interactions

    public enum Message: String, CaseIterable, Sendable {
        case logged = "InteractionLogged"
        case corrected = "InteractionCorrected"
    }

    public var message: Message {
        switch self {
        case .logged: .logged
        case .corrected: .corrected
        }
    }

    public var interaction: Interaction {
        switch self {
        case .logged(let i), .corrected(let i): i
        }
    }

    public var key: String { interaction.id }

    public static func decode(_ message: Message, data: [UInt8]) throws -> InteractionEvent {
        let interaction = try WireDecoder.decode(Interaction.self, from: data)
        return switch message {
        case .logged: .logged(interaction)
        case .corrected: .corrected(interaction)
        }
    }

    public func encodeData() throws -> [UInt8] { try WireEncoder.encode(interaction) }
}

/// Events on `crm.staff.v1`, keyed by staff id: the whole staff member each time.
public enum StaffEvent: TopicEvents, Equatable {
    case registered(StaffMember)
    case updated(StaffMember)

    public static let topic = Topics.staff

    public enum Message: String, CaseIterable, Sendable {
        case registered = "StaffMemberRegistered"
        case updated = "StaffMemberUpdated"
    }

    public var message: Message {
        switch self {
        case .registered: .registered
        case .updated: .updated
        }
    }

    public var member: StaffMember {
        switch self {
        case .registered(let m), .updated(let m): m
        }
    }

    public var key: String { member.id }

    public static func decode(_ message: Message, data: [UInt8]) throws -> StaffEvent {
        let member = try WireDecoder.decode(StaffMember.self, from: data)
        return switch message {
        case .registered: .registered(member)
        case .updated: .updated(member)
        }
    }

    public func encodeData() throws -> [UInt8] { try WireEncoder.encode(member) }
}
