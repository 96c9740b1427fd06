import Foundation
import WireFormat

// The scheduler's topics: `crm.activities.v1` and `crm.reminders.v1`; the data follows the JSON
// Schemas of `topics/asyncapi.yaml`.

/// What an activity is: a planned contact with a counterparty, or a task.
public enum ActivityKind: String, Codable, Sendable, CaseIterable { case call, meeting, email, visit, task }

/// `crm.activities.v1`: `ActivityPlanned`, `ActivityUpdated`, `ActivityRescheduled` (the whole
/// activity after the change).
public struct Activity: Codable, Sendable, Equatable {
    public var id: String
    public var kind: ActivityKind
    public var ownerId: String
    public var counterpartyId: String?
    public var contactPersonId: String?
    public var dealId: String?
    public var subject: String?
    public var startsAt: Date
    public var endsAt: Date?
    /// Minutes before the start the owner is reminded; absent means the default (15).
    public var remindMinutesBefore: Int?

    public init(
        id: String, kind: ActivityKind, ownerId: String, counterpartyId: String? = nil, contactPersonId: String? = nil,
        dealId: String? = nil, subject: String? = nil, startsAt: Date, endsAt: Date? = nil, remindMinutesBefore: Int? = nil
    ) {
        self.id = id
        self.kind = kind
        self.ownerId = ownerId
        self.counterpartyId = counterpartyId
        self.contactPersonId = contactPersonId
        self.dealId = dealId
        self.subject = subject
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.remindMinutesBefore = remindMinutesBefore
    }

    public static let defaultRemindMinutesBefore = 15
    /// How long an activity without an end is taken to last.
    public static let defaultDuration: TimeInterval = 30 * 60

    /// When it ends: its `endsAt`, or 30 minutes after the start. Not completed by then, it is overdue.
    public var effectiveEnd: Date { endsAt ?? startsAt.addingTimeInterval(Self.defaultDuration) }
}

/// `crm.activities.v1`: `ActivityCompleted` (with `outcome`, `completedAt` and the activity as
/// planned) and `ActivityCancelled` (with `reason`).
public struct ActivityOutcome: Codable, Sendable, Equatable {
    public var id: String
    public var outcome: String?
    public var reason: String?
    public var completedAt: Date?
    public var interactionId: String?
    public var activity: Activity?

    public init(
        id: String, outcome: String? = nil, reason: String? = nil, completedAt: Date? = nil, interactionId: String? = nil,
        activity: Activity? = nil
    ) {
        self.id = id
        self.outcome = outcome
        self.reason = reason
        self.completedAt = completedAt
        self.interactionId = interactionId
        self.activity = activity
    }
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
    public var sentAt: Date?
    public var late: Bool?
    public var text: String
    public var activityId: String?
    public var counterpartyId: String?
    public var contactPersonId: String?
    public var dealId: String?

    public init(
        id: String, recipientId: String, kind: Kind, dueAt: Date, sentAt: Date? = nil, late: Bool? = nil, text: String,
        activityId: String? = nil, counterpartyId: String? = nil, contactPersonId: String? = nil, dealId: String? = nil
    ) {
        self.id = id
        self.recipientId = recipientId
        self.kind = kind
        self.dueAt = dueAt
        self.sentAt = sentAt
        self.late = late
        self.text = text
        self.activityId = activityId
        self.counterpartyId = counterpartyId
        self.contactPersonId = contactPersonId
        self.dealId = dealId
    }
}

extension Reminder: JSONWritable {
    /// Keys in sorted order, as `WireEncoder` writes them: reminders due at one instant are
    /// published by the ten thousand (`scripts/bench-scheduler`), and the encoder took most of that.
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field("activityId", activityId)
            json.field("contactPersonId", contactPersonId)
            json.field("counterpartyId", counterpartyId)
            json.field("dealId", dealId)
            json.field("dueAt", dueAt)
            json.field("id", id)
            json.field("kind", kind.rawValue)
            json.field("late", late)
            json.field("recipientId", recipientId)
            json.field("sentAt", sentAt)
            json.field("text", text)
        }
    }
}

/// `crm.webhooks.v1`: `WebhookRegistered`.
public struct Webhook: Codable, Sendable, Equatable {
    public var id: String
    public var url: String
    /// Only reminders of these kinds (all when nil).
    public var kinds: [Reminder.Kind]?
    /// Only reminders to these staff members (all when nil).
    public var recipientIds: [String]?
    /// `whsec_` + base64 of the HMAC key.
    public var secret: String

    public init(id: String, url: String, kinds: [Reminder.Kind]? = nil, recipientIds: [String]? = nil, secret: String) {
        self.id = id
        self.url = url
        self.kinds = kinds
        self.recipientIds = recipientIds
        self.secret = secret
    }
}

/// `crm.webhooks.v1`: `WebhookRemoved`, `WebhookDisabled` (with the reason).
public struct WebhookReference: Codable, Sendable, Equatable {
    public var id: String
    public var reason: String?

    public init(id: String, reason: String? = nil) {
        self.id = id
        self.reason = reason
    }
}

/// `crm.webhooks.v1`: `WebhookDeliveryAttempted`, one attempt to deliver a reminder to a webhook.
public struct WebhookDeliveryAttempt: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        /// 2xx: done.
        case delivered
        /// Another attempt follows at `nextAttemptAt`.
        case retrying
        /// Given up: the retry window passed.
        case failed
        /// 410: the receiver is gone and the webhook disabled.
        case gone
    }
    public var webhookId: String
    public var reminderId: String
    public var attempt: Int
    public var attemptedAt: Date
    public var status: Int?
    public var error: String?
    public var durationMs: Int?
    public var outcome: Outcome
    public var nextAttemptAt: Date?

    public init(
        webhookId: String, reminderId: String, attempt: Int, attemptedAt: Date, status: Int? = nil, error: String? = nil,
        durationMs: Int? = nil, outcome: Outcome, nextAttemptAt: Date? = nil
    ) {
        self.webhookId = webhookId
        self.reminderId = reminderId
        self.attempt = attempt
        self.attemptedAt = attemptedAt
        self.status = status
        self.error = error
        self.durationMs = durationMs
        self.outcome = outcome
        self.nextAttemptAt = nextAttemptAt
    }
}

/// Events on `crm.activities.v1`, keyed by activity id.
public enum ActivityEvent: TopicEvents, Equatable {
    case planned(Activity)
    case updated(Activity)
    case rescheduled(Activity)
    case completed(ActivityOutcome)
    case cancelled(ActivityOutcome)

    public static let topic = Topics.activities

    public enum Message: String, CaseIterable, Sendable {
        case planned = "ActivityPlanned"
        case updated = "ActivityUpdated"
        case rescheduled = "ActivityRescheduled"
        case completed = "ActivityCompleted"
        case cancelled = "ActivityCancelled"
    }

    public var message: Message {
        switch self {
        case .planned: .planned
        case .updated: .updated
        case .rescheduled: .rescheduled
        case .completed: .completed
        case .cancelled: .cancelled
        }
    }

    public var key: String {
        switch self {
        case .planned(let data): data.id
        case .updated(let data): data.id
        case .rescheduled(let data): data.id
        case .completed(let data): data.id
        case .cancelled(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> ActivityEvent {
        switch message {
        case .planned: .planned(try WireDecoder.decode(Activity.self, from: data))
        case .updated: .updated(try WireDecoder.decode(Activity.self, from: data))
        case .rescheduled: .rescheduled(try WireDecoder.decode(Activity.self, from: data))
        case .completed: .completed(try WireDecoder.decode(ActivityOutcome.self, from: data))
        case .cancelled: .cancelled(try WireDecoder.decode(ActivityOutcome.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .planned(let data): try WireEncoder.encode(data)
        case .updated(let data): try WireEncoder.encode(data)
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
        case .due(let data):
            var writer = JSONWriter(capacity: 384)
            data.write(to: &writer)
            return writer.bytes
        }
    }
}

/// Events on `crm.webhooks.v1`, keyed by webhook id.
public enum WebhookEvent: TopicEvents, Equatable {
    case registered(Webhook)
    case removed(WebhookReference)
    case disabled(WebhookReference)
    case deliveryAttempted(WebhookDeliveryAttempt)

    public static let topic = Topics.webhooks

    public enum Message: String, CaseIterable, Sendable {
        case registered = "WebhookRegistered"
        case removed = "WebhookRemoved"
        case disabled = "WebhookDisabled"
        case deliveryAttempted = "WebhookDeliveryAttempted"
    }

    public var message: Message {
        switch self {
        case .registered: .registered
        case .removed: .removed
        case .disabled: .disabled
        case .deliveryAttempted: .deliveryAttempted
        }
    }

    public var key: String {
        switch self {
        case .registered(let data): data.id
        case .removed(let data), .disabled(let data): data.id
        case .deliveryAttempted(let data): data.webhookId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> WebhookEvent {
        switch message {
        case .registered: .registered(try WireDecoder.decode(Webhook.self, from: data))
        case .removed: .removed(try WireDecoder.decode(WebhookReference.self, from: data))
        case .disabled: .disabled(try WireDecoder.decode(WebhookReference.self, from: data))
        case .deliveryAttempted: .deliveryAttempted(try WireDecoder.decode(WebhookDeliveryAttempt.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .registered(let data): try WireEncoder.encode(data)
        case .removed(let data), .disabled(let data): try WireEncoder.encode(data)
        case .deliveryAttempted(let data): try WireEncoder.encode(data)
        }
    }
}

extension Interaction {
    /// The interaction a completed activity was (the contacts timeline and the analytics scorecards
    /// count it as one, under the id `activity:<activity id>`): a call, meeting, e-mail or visit as such (a task as
    /// `other`), made by its owner, when it was completed.
    public init?(completing completion: ActivityOutcome) {
        guard let activity = completion.activity, let counterpartyId = activity.counterpartyId else { return nil }
        let kind: InteractionKind =
            switch activity.kind {
            case .call: .call
            case .meeting: .meeting
            case .email: .email
            case .visit: .visit
            case .task: .other
            }
        self.init(
            id: "activity:\(activity.id)", counterpartyId: counterpartyId, kind: kind, direction: .outbound,
            occurredAt: completion.completedAt ?? activity.startsAt,
            durationMinutes: activity.endsAt.map { Int($0.timeIntervalSince(activity.startsAt) / 60) },
            contactPersonId: activity.contactPersonId, staffId: activity.ownerId, subject: activity.subject,
            outcome: completion.outcome, dealId: activity.dealId)
    }
}
