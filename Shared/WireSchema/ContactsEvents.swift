import Foundation

// Events of the contacts service besides the counterparty record itself: contact persons and merges
// (on `crm.counterparties.v1`), interactions (`crm.interactions.v1`) and staff (`crm.staff.v1`).

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

/// Events on `crm.interactions.v1`, keyed by interaction id.
public enum InteractionEvent: Sendable, Equatable {
    case logged(Interaction)
    case corrected(Interaction)

    public enum EventType {
        public static let logged = "InteractionLogged"
        public static let corrected = "InteractionCorrected"
    }

    public var type: String {
        switch self {
        case .logged: EventType.logged
        case .corrected: EventType.corrected
        }
    }

    public var interaction: Interaction {
        switch self {
        case .logged(let i), .corrected(let i): i
        }
    }

    public static func decode(type: String, data: [UInt8]) throws -> InteractionEvent {
        switch type {
        case EventType.logged: .logged(try WireDecoder.decodeEvent(Interaction.self, from: data))
        case EventType.corrected: .corrected(try WireDecoder.decodeEvent(Interaction.self, from: data))
        default: throw WireFormatError("unknown event type '\(type)' on \(Topics.interactions)")
        }
    }

    public func encodeData() throws -> [UInt8] { try WireEncoder.encode(interaction) }
}

/// Events on `crm.staff.v1`, keyed by staff id.
public enum StaffEvent: Sendable, Equatable {
    case registered(StaffMember)
    case updated(StaffMember)

    public enum EventType {
        public static let registered = "StaffMemberRegistered"
        public static let updated = "StaffMemberUpdated"
    }

    public var type: String {
        switch self {
        case .registered: EventType.registered
        case .updated: EventType.updated
        }
    }

    public var member: StaffMember {
        switch self {
        case .registered(let m), .updated(let m): m
        }
    }

    public static func decode(type: String, data: [UInt8]) throws -> StaffEvent {
        switch type {
        case EventType.registered: .registered(try WireDecoder.decodeEvent(StaffMember.self, from: data))
        case EventType.updated: .updated(try WireDecoder.decodeEvent(StaffMember.self, from: data))
        default: throw WireFormatError("unknown event type '\(type)' on \(Topics.staff)")
        }
    }

    public func encodeData() throws -> [UInt8] { try WireEncoder.encode(member) }
}
