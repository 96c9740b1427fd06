import EventStore
import Foundation
import GRDB
import Kafka
import ServiceKit
import WireFormat
import WireSchema

/// An event of one of the topics the scheduler reads.
public enum SchedulerEvent: Sendable {
    case counterparty(CounterpartyEvent)
    case staff(StaffEvent)
    case deal(DealEvent)
    case segment(SegmentEvent)
    case activity(ActivityEvent)
    case reminder(ReminderEvent)
    case webhook(WebhookEvent)
}

/// How staff, counterparties (with contact persons' birthdays), deals, client classifications, the
/// scheduler's own activities, reminders and webhooks become its store.
///
/// The projection schedules (`reminder_schedule`) and records what was sent (`reminder_sent`);
/// sending is the `ReminderDispatcher`'s, delivering to webhooks the `WebhookDeliverer`'s. Both
/// compare with what the topics say was already done, so a replay or a crash repeats only a check.
public struct SchedulerProjection: Projection {
    public init() {}

    public var name: String { "scheduler" }
    public var topics: [String] {
        [Topics.staff, Topics.counterparties, Topics.deals, Topics.segments, Topics.activities, Topics.reminders, Topics.webhooks]
    }

    public func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<SchedulerEvent> {
        try decodeCloudEvent(record) { type, data -> SchedulerEvent in
            switch record.topic {
            case Topics.counterparties: .counterparty(try CounterpartyEvent.decode(type: type, data: data))
            case Topics.staff: .staff(try StaffEvent.decode(type: type, data: data))
            case Topics.deals: .deal(try DealEvent.decode(type: type, data: data))
            case Topics.segments: .segment(try SegmentEvent.decode(type: type, data: data))
            case Topics.activities: .activity(try ActivityEvent.decode(type: type, data: data))
            case Topics.reminders: .reminder(try ReminderEvent.decode(type: type, data: data))
            case Topics.webhooks: .webhook(try WebhookEvent.decode(type: type, data: data))
            default: throw WireFormatError("the scheduler does not read \(record.topic)")
            }
        }
    }

    public func apply(_ event: ProjectedEvent<SchedulerEvent>, in db: Database) throws {
        let stamp = EventStamp(event)
        switch event.event {
        case .staff(let change):
            let member = change.member
            try db.cachedStatement(
                sql: """
                    INSERT INTO staff(id, name, supervisor_id, time_zone, active) VALUES (?1, ?2, ?3, ?4, ?5)
                    ON CONFLICT(id) DO UPDATE SET name = ?2, supervisor_id = ?3, time_zone = ?4, active = ?5
                    """
            ).execute(arguments: [member.id, member.name, member.supervisorId, member.timeZone, member.active ?? true])
            // Birthdays of this manager's clients may be remindable now (or due at another hour).
            try db.cachedStatement(
                sql: """
                    UPDATE contact_person SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_person)
                    WHERE counterparty_id IN (SELECT id FROM counterparty WHERE responsible_manager_id = ?)
                    """
            ).execute(arguments: [member.id])
        case .counterparty(let change): try apply(change, db)
        case .deal(.opened(let deal)), .deal(.updated(let deal)):
            try db.cachedStatement(
                sql: """
                    INSERT INTO deal(id, counterparty_id, title) VALUES (?1, ?2, ?3)
                    ON CONFLICT(id) DO UPDATE SET counterparty_id = ?2, title = ?3
                    """
            ).execute(arguments: [deal.id, deal.counterpartyId, deal.title])
        case .deal: break
        case .segment(.clientClassified(let classification)):
            guard let kind = ClientChange.reminderKind(classification) else { return }
            try schedule(
                subject: classification.clientId, kind: kind, dueAt: stamp.time, detail: ClientChange.describe(classification), db)
        case .activity(let change): try apply(change, stamp: stamp, db)
        case .reminder(.due(let reminder)):
            let record = event.record.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
            try db.cachedStatement(
                sql: """
                    INSERT INTO reminder_sent(id, kind, recipient_id, due_at, sent_at, late, activity_id, counterparty_id, record,
                        published_at, seq, event_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM reminder_sent), ?)
                    ON CONFLICT(id) DO NOTHING
                    """
            ).execute(arguments: [
                reminder.id, reminder.kind.rawValue, reminder.recipientId, Timestamp.format(reminder.dueAt),
                Timestamp.format(reminder.sentAt ?? reminder.dueAt), reminder.late ?? false, reminder.activityId,
                reminder.counterpartyId, record, stamp.time, stamp.eventId,
            ])
        case .webhook(let change): try apply(change, stamp: stamp, db)
        }
    }

    private func apply(_ change: CounterpartyEvent, _ db: Database) throws {
        switch change {
        case .registered(let record), .updated(let record):
            try db.cachedStatement(
                sql: """
                    INSERT INTO counterparty(id, name, responsible_manager_id) VALUES (?1, ?2, ?3)
                    ON CONFLICT(id) DO UPDATE SET name = ?2, responsible_manager_id = ?3
                    """
            ).execute(arguments: [record.id, record.shortName ?? record.legalName, record.responsibleManagerId])
            try Self.touchReminders(ofCounterparty: record.id, db)
        case .archived, .unarchived:
            break
        case .contactPersonAdded(let person), .contactPersonUpdated(let person):
            try db.cachedStatement(
                sql: """
                    INSERT INTO contact_person(id, counterparty_id, name, birthday, birthday_md, removed, seq)
                    VALUES (?1, ?2, ?3, ?4, ?5, 0, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_person))
                    ON CONFLICT(id) DO UPDATE SET counterparty_id = ?2, name = ?3, birthday = ?4, birthday_md = ?5, removed = 0,
                        seq = excluded.seq
                    """
            ).execute(arguments: [person.id, person.counterpartyId, person.name, person.birthday, Birthday.monthDay(person.birthday)])
        case .contactPersonRemoved(let reference):
            try db.cachedStatement(sql: "UPDATE contact_person SET removed = 1 WHERE id = ?").execute(arguments: [reference.id])
        case .merged(let merge):
            try db.cachedStatement(sql: "UPDATE counterparty SET merged_into = ? WHERE id = ?").execute(arguments: [
                merge.survivorId, merge.mergedId,
            ])
            try Self.touchReminders(ofCounterparty: merge.mergedId, db)
        case .mergeUndone(let merge):
            try db.cachedStatement(sql: "UPDATE counterparty SET merged_into = NULL WHERE id = ?").execute(arguments: [merge.mergedId])
            try Self.touchReminders(ofCounterparty: merge.mergedId, db)
        }
    }

    /// Marks a counterparty's scheduled reminders and its contact persons as changed: whom they go
    /// to may be known only now (topics are read in no fixed order across each other), and the
    /// dispatcher looks at what changed since its last look.
    private static func touchReminders(ofCounterparty id: String, _ db: Database) throws {
        try db.cachedStatement(
            sql: "UPDATE reminder_schedule SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM reminder_schedule) WHERE subject_id = ?"
        ).execute(arguments: [id])
        try db.cachedStatement(
            sql: "UPDATE contact_person SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_person) WHERE counterparty_id = ?"
        ).execute(arguments: [id])
    }

    private func apply(_ change: ActivityEvent, stamp: EventStamp, _ db: Database) throws {
        switch change {
        case .planned(let activity):
            if try !StoredEntity.insert(activity, stamp: stamp, db) {
                throw ProjectionRejection("activity '\(activity.id)' is already planned")
            }
            try scheduleReminders(of: activity, db)
        case .updated(let activity), .rescheduled(let activity):
            if try !StoredEntity.update(activity, stamp: stamp, db) {
                throw ProjectionRejection("activity '\(activity.id)' was never planned")
            }
            try unscheduleReminders(of: activity.id, db)
            if try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM activity WHERE id = ?"), arguments: [activity.id])
                == ActivityState.planned.rawValue
            {
                try scheduleReminders(of: activity, db)
            }
        case .completed(let outcome), .cancelled(let outcome):
            let done = if case .completed = change { true } else { false }
            try db.cachedStatement(
                sql: """
                    UPDATE activity SET state = ?, completed_at = ?, outcome = ?, cancel_reason = ?, version = version + 1,
                        updated_at = ?, updated_by = ?, last_event_id = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [
                done ? ActivityState.done.rawValue : ActivityState.cancelled.rawValue,
                done ? Timestamp.format(outcome.completedAt ?? Timestamp.parse(stamp.time)!) : nil, outcome.outcome, outcome.reason,
                stamp.time, stamp.actor, stamp.eventId, outcome.id,
            ])
            if db.changesCount == 0 { throw ProjectionRejection("activity '\(outcome.id)' was never planned") }
            try unscheduleReminders(of: outcome.id, db)
        }
    }

    private func apply(_ change: WebhookEvent, stamp: EventStamp, _ db: Database) throws {
        switch change {
        case .registered(let webhook):
            try db.cachedStatement(
                sql: """
                    INSERT INTO webhook(id, url, kinds, recipient_ids, secret, state, registered_at, registered_by, changed_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?6) ON CONFLICT(id) DO NOTHING
                    """
            ).execute(arguments: [
                webhook.id, webhook.url, try webhook.kinds.map { try encodedRecord($0.map(\.rawValue)) },
                try webhook.recipientIds.map(encodedRecord), webhook.secret, stamp.time, stamp.actor,
            ])
            if db.changesCount == 0 { throw ProjectionRejection("webhook '\(webhook.id)' is already registered") }
        case .removed(let reference), .disabled(let reference):
            let state = if case .removed = change { "removed" } else { "disabled" }
            try db.cachedStatement(
                sql: "UPDATE webhook SET state = ?, state_reason = ?, changed_at = ? WHERE id = ? AND state != 'removed'"
            )
            .execute(arguments: [state, reference.reason, stamp.time, reference.id])
        case .deliveryAttempted(let attempt):
            let arguments: StatementArguments = [
                attempt.webhookId, attempt.reminderId, attempt.attempt, Timestamp.format(attempt.attemptedAt), attempt.status,
                attempt.error, attempt.durationMs, attempt.outcome.rawValue, attempt.nextAttemptAt.map(Timestamp.format),
            ]
            try db.cachedStatement(
                sql: """
                    INSERT INTO webhook_attempt(webhook_id, reminder_id, attempt, attempted_at, status, error, duration_ms, outcome,
                        next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """
            ).execute(arguments: arguments)
            // The latest attempt decides the delivery's state (a redelivered older attempt does not).
            try db.cachedStatement(
                sql: """
                    INSERT INTO webhook_delivery(webhook_id, reminder_id, attempts, first_attempt_at, last_attempt_at, status, error,
                        outcome, next_attempt_at)
                    VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?8, ?9)
                    ON CONFLICT(webhook_id, reminder_id) DO UPDATE SET attempts = ?3, last_attempt_at = ?4, status = ?5, error = ?6,
                        outcome = ?8, next_attempt_at = ?9
                    WHERE ?3 > attempts
                    """
            ).execute(arguments: arguments)
        }
    }

    /// The activity's upcoming reminder (to its owner, `remindMinutesBefore` ahead of the start) and
    /// its overdue one (at its end, to the owner and the owner's supervisor).
    private func scheduleReminders(of activity: Activity, _ db: Database) throws {
        let ahead = TimeInterval(activity.remindMinutesBefore ?? Activity.defaultRemindMinutesBefore) * 60
        try schedule(
            subject: activity.id, kind: .activityUpcoming, dueAt: Timestamp.format(activity.startsAt.addingTimeInterval(-ahead)),
            detail: nil, db)
        try schedule(subject: activity.id, kind: .activityOverdue, dueAt: Timestamp.format(activity.effectiveEnd), detail: nil, db)
    }

    private func unscheduleReminders(of activityId: String, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM reminder_schedule WHERE subject_id = ? AND kind IN (?, ?)").execute(arguments: [
            activityId, Reminder.Kind.activityUpcoming.rawValue, Reminder.Kind.activityOverdue.rawValue,
        ])
    }

    private func schedule(subject: String, kind: Reminder.Kind, dueAt: String, detail: String?, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO reminder_schedule(subject_id, kind, due_at, seq, detail)
                VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(seq), 0) + 1 FROM reminder_schedule), ?4)
                ON CONFLICT DO UPDATE SET seq = excluded.seq, detail = ?4
                """
        ).execute(arguments: [subject, kind.rawValue, dueAt, detail])
    }
}

/// What an activity is now. `overdue` is never stored: it is `planned` past the end.
enum ActivityState: String, Codable, Sendable, CaseIterable {
    case planned, done, overdue, cancelled
}

extension Activity: StoredRecord {
    public static let table = "activity"
    public var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] {
        [
            ("owner_id", ownerId), ("kind", kind.rawValue), ("subject", subject), ("counterparty_id", counterpartyId),
            ("starts_at", Timestamp.format(startsAt)), ("ends_at", Timestamp.format(effectiveEnd)),
        ]
    }
}

/// A classification that warrants telling the client's manager: a move to `lost`, or a worse ABC class.
enum ClientChange {
    static func reminderKind(_ classification: ClientClassification) -> Reminder.Kind? {
        if classification.status == .lost && classification.previousStatus != nil
            && classification.previousStatus != ClientClassification.Status.lost.rawValue
        {
            return .clientLost
        }
        guard let previous = classification.previousAbcClass.flatMap(rank) else { return nil }
        // No class now (too little sales to classify) is worse than any class.
        let current = classification.abcClass.flatMap(rank) ?? 3
        return current > previous ? .clientDowngraded : nil
    }

    static func describe(_ classification: ClientClassification) -> String {
        let abc = "\(classification.previousAbcClass ?? "-") → \(classification.abcClass ?? "-")"
        let status = "\(classification.previousStatus ?? "-") → \(classification.status.rawValue)"
        return "ABC \(abc), status \(status)"
    }

    private static func rank(_ abcClass: String) -> Int? { ["A": 0, "B": 1, "C": 2][abcClass] }
}
