import Foundation
import WireFormat

// The scheduler's topics: `crm.activities.v1` and `crm.reminders.v1`; the data follows the JSON
// Schemas of `topics/asyncapi.yaml`.

/// `crm.activities.v1`: `ActivityPlanned`, `ActivityRescheduled`.
public struct Activity: Codable, Sendable, Equatable {
    public var id: String
    public var kind: String
    public var ownerId: String
    public var counterpartyId: String?
    public var contactPersonId: String?
    public var dealId: String?
    public var subject: String?
    public var startsAt: Date
    public var endsAt: Date?
    public var remindMinutesBefore: Int?
}

/// `crm.activities.v1`: `ActivityCompleted`, `ActivityCancelled`.
public struct ActivityOutcome: Codable, Sendable, Equatable {
    public var id: String
    public var outcome: String?
    public var interactionId: String?
}

/// `crm.reminders.v1`: `ReminderDue`, keyed by its stable id.
public struct Reminder: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case activityUpcoming = "activity-upcoming", activityOverdue = "activity-overdue", birthday
        case clientDowngraded = "client-downgraded", clientLost = "client-lost"
    }
    public var id: String
    public var recipientId: String
    public var kind: Kind
    public var dueAt: Date
    public var text: String
    public var activityId: String?
    public var counterpartyId: String?
    public var contactPersonId: String?
}

/// Events on `crm.activities.v1`, keyed by activity id.
public enum ActivityEvent: TopicEvents, Equatable {
    case planned(Activity)
    case rescheduled(Activity)
    case completed(ActivityOutcome)
    case cancelled(ActivityOutcome)

    public static let topic = Topics.activities

    public enum Message: String, CaseIterable, Sendable {
        case planned = "ActivityPlanned"
        case rescheduled = "ActivityRescheduled"
        case completed = "ActivityCompleted"
        case cancelled = "ActivityCancelled"
    }

    public var message: Message {
        switch self {
        case .planned: .planned
        case .rescheduled: .rescheduled
        case .completed: .completed
        case .cancelled: .cancelled
        }
    }

    public var key: String {
        switch self {
        case .planned(let data): data.id
        case .rescheduled(let data): data.id
        case .completed(let data): data.id
        case .cancelled(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> ActivityEvent {
        switch message {
        case .planned: .planned(try WireDecoder.decode(Activity.self, from: data))
        case .rescheduled: .rescheduled(try WireDecoder.decode(Activity.self, from: data))
        case .completed: .completed(try WireDecoder.decode(ActivityOutcome.self, from: data))
        case .cancelled: .cancelled(try WireDecoder.decode(ActivityOutcome.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .planned(let data): try WireEncoder.encode(data)
        case .rescheduled(let data): try WireEncoder.encode(data)
        case .completed(let data): try WireEncoder.encode(data)
        case .cancelled(let data): try WireEncoder.encode(data)
        }
    }
}

/// Events on `crm.reminders.v1`, keyed by the reminder's stable id.
public enum ReminderEvent: TopicEvents, Equatable {
    case due(Reminder)

    public static let topic = Topics.reminders

    public enum Message: String, CaseIterable, Sendable {
        case due = "ReminderDue"
    }

    public var message: Message {
        switch self {
        case .due: .due
        }
    }

    public var key: String {
        switch self {
        case .due(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> ReminderEvent {
        switch message {
        case .due: .due(try WireDecoder.decode(Reminder.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .due(let data): try WireEncoder.encode(data)
        }
    }
}
