import Foundation
import GRDB
import WireFormat
import WireSchema

/// Which reminders fall due, and to whom: the scheduled ones (activities, client changes) with
/// their recipients resolved now, and the birthdays, which recur and so are found from the
/// calendar. Every reminder gets its stable id here.
struct ReminderPlanner {
    let settings: SchedulerSettings
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The stable id of a reminder: the same kind, subject, due moment and recipient give the same id.
    static func id(kind: Reminder.Kind, subject: String, dueAt: Date, recipient: String) -> String {
        let identity = "\(kind.rawValue)|\(subject)|\(Timestamp.format(dueAt))|\(recipient)"
        let digest = WebhookSignature.sha256(Array(identity.utf8))
        var text = Array("rem_".utf8)
        for byte in digest.prefix(16) {
            text.append(Self.hexDigits[Int(byte >> 4)])
            text.append(Self.hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Of reminders planned earlier, those to send now: once each, not already on the topic, and
    /// still wanted (the activity not done, moved or cancelled since; the person still there).
    static func stillToSend(_ reminders: [Reminder], _ db: Database) throws -> [Reminder] {
        let sent = try db.cachedStatement(sql: "SELECT 1 FROM reminder_sent WHERE id = ?")
        let scheduled = try db.cachedStatement(sql: "SELECT 1 FROM reminder_schedule WHERE subject_id = ? AND kind = ? AND due_at = ?")
        let planned = try db.cachedStatement(
            sql: """
                SELECT 1 FROM reminder_schedule s CROSS JOIN activity a ON a.id = s.subject_id
                WHERE s.subject_id = ? AND s.kind = ? AND s.due_at = ? AND a.state = 'planned'
                """)
        let person = try db.cachedStatement(sql: "SELECT 1 FROM contact_person WHERE id = ? AND removed = 0")
        var seen = Set<String>()
        return try reminders.filter { reminder in
            guard seen.insert(reminder.id).inserted, try Bool.fetchOne(sent, arguments: [reminder.id]) == nil else { return false }
            switch reminder.kind {
            case .activityUpcoming, .activityOverdue:
                guard let activity = reminder.activityId else { return false }
                return try Bool.fetchOne(planned, arguments: [activity, reminder.kind.rawValue, Timestamp.format(reminder.dueAt)]) != nil
            case .clientDowngraded, .clientLost:
                guard let client = reminder.counterpartyId else { return false }
                return try Bool.fetchOne(scheduled, arguments: [client, reminder.kind.rawValue, Timestamp.format(reminder.dueAt)]) != nil
            case .birthday:
                guard let personId = reminder.contactPersonId else { return false }
                return try Bool.fetchOne(person, arguments: [personId]) != nil
            }
        }
    }

    /// How far the changes the planner has seen go (`reminder_schedule.seq`, `contact_person.seq`).
    struct Progress: Sendable, Equatable {
        var schedule = 0
        var persons = 0

        static func current(_ db: Database) throws -> Progress {
            Progress(
                schedule: try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM reminder_schedule") ?? 0,
                persons: try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM contact_person") ?? 0)
        }
    }

    /// Every reminder due in `(after, through]`, ordered by due moment.
    func due(_ db: Database, after: Date, through: Date) throws -> [Reminder] {
        var reminders = try scheduled(
            db, sql: "SELECT subject_id, kind, due_at, detail FROM reminder_schedule WHERE due_at > ? AND due_at <= ?",
            arguments: [Timestamp.format(after), Timestamp.format(through)])
        reminders += try birthdays(db, after: after, through: through, persons: nil)
        return reminders.sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
    }

    /// The reminders due in `(after, through]` of what changed since `progress`: activities planned
    /// or moved into the past, client changes learnt late, contact persons added or changed.
    func dueAmongChanges(_ db: Database, since progress: Progress, after: Date, through: Date) throws -> [Reminder] {
        var reminders = try scheduled(
            db, sql: "SELECT subject_id, kind, due_at, detail FROM reminder_schedule WHERE seq > ? AND due_at > ? AND due_at <= ?",
            arguments: [progress.schedule, Timestamp.format(after), Timestamp.format(through)])
        let persons = try String.fetchAll(
            db, sql: "SELECT id FROM contact_person WHERE seq > ? AND birthday_md IS NOT NULL AND removed = 0",
            arguments: [progress.persons])
        if !persons.isEmpty { reminders += try birthdays(db, after: after, through: through, persons: Set(persons)) }
        return reminders
    }

    // MARK: Scheduled reminders

    private func scheduled(_ db: Database, sql: String, arguments: StatementArguments) throws -> [Reminder] {
        var reminders: [Reminder] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        var lookup = Lookup(db: db)
        while let row = try rows.next() {
            guard let kind = Reminder.Kind(rawValue: row[1]), let dueAt = Timestamp.parse(row[2]) else { continue }
            let subject: String = row[0]
            switch kind {
            case .activityUpcoming, .activityOverdue:
                guard let activity = try lookup.activity(subject), activity.state == .planned else { continue }
                var recipients = [activity.ownerId]
                if kind == .activityOverdue, let supervisor = try lookup.staff(activity.ownerId)?.supervisorId,
                    supervisor != activity.ownerId
                {
                    recipients.append(supervisor)
                }
                for recipient in recipients {
                    let text = try activityText(kind, activity, recipient: recipient, &lookup)
                    reminders.append(
                        Reminder(
                            id: Self.id(kind: kind, subject: subject, dueAt: dueAt, recipient: recipient), recipientId: recipient,
                            kind: kind, dueAt: dueAt, text: text, activityId: subject, counterpartyId: activity.counterpartyId,
                            contactPersonId: activity.contactPersonId, dealId: activity.dealId))
                }
            case .clientDowngraded, .clientLost:
                guard let client = try lookup.counterparty(subject), let manager = client.managerId else { continue }
                let detail: String? = row[3]
                let text =
                    kind == .clientLost
                    ? "\(client.name) is now a lost client (\(detail ?? "")): time to win it back"
                    : "\(client.name) moved to a worse class (\(detail ?? ""))"
                reminders.append(
                    Reminder(
                        id: Self.id(kind: kind, subject: subject, dueAt: dueAt, recipient: manager), recipientId: manager, kind: kind,
                        dueAt: dueAt, text: text, counterpartyId: subject))
            case .birthday:
                continue
            }
        }
        return reminders
    }

    private func activityText(_ kind: Reminder.Kind, _ activity: Lookup.ActivityRow, recipient: String, _ lookup: inout Lookup) throws
        -> String
    {
        let zone = lookup.zone(try lookup.staff(recipient)?.timeZone)
        var what = activity.kind.capitalized
        if let subject = activity.subject { what += " \"\(subject)\"" }
        if let counterpartyId = activity.counterpartyId, let counterparty = try lookup.counterparty(counterpartyId) {
            what += " with \(counterparty.name)"
        }
        if kind == .activityUpcoming {
            return "\(what) at \(zone.format(activity.startsAt)) (\(zone.identifier))"
        }
        let owner = recipient == activity.ownerId ? "" : " (\(try lookup.staff(activity.ownerId)?.name ?? activity.ownerId))"
        return "Overdue\(owner): \(what) was to be done by \(zone.format(activity.endsAt)) (\(zone.identifier))"
    }

    // MARK: Birthdays

    /// Birthday reminders due in `(after, through]`: on the day, and `birthdayDaysBefore` days
    /// ahead, at the configured time in the responsible manager's time zone; of `persons` only,
    /// when given.
    private func birthdays(_ db: Database, after: Date, through: Date, persons: Set<String>?) throws -> [Reminder] {
        var reminders: [Reminder] = []
        var lookup = Lookup(db: db)
        let offsets = [0] + (settings.birthdayDaysBefore.map { [$0] } ?? [])
        // Local days on which a reminder could fall due in the window, whatever the manager's zone.
        let firstDay = CalendarDate(utc: after).dayNumber - 1
        let lastDay = CalendarDate(utc: through).dayNumber + 1
        guard lastDay - firstDay <= 400 else { return [] }
        var seen = Set<String>()
        for localDay in firstDay...lastDay {
            for offset in offsets {
                let birthday = CalendarDate(dayNumber: localDay + offset)
                let candidates: [Lookup.PersonRow]
                if let persons {
                    candidates = try persons.compactMap { try lookup.person($0) }.filter {
                        Birthday.monthDays(celebratedOn: birthday).contains($0.monthDay)
                    }
                } else {
                    candidates = try lookup.persons(celebratingOn: birthday)
                }
                for person in candidates {
                    // Until the manager is known (their time zone decides the moment), there is nothing to send.
                    guard let client = try lookup.counterparty(person.counterpartyId), let manager = client.managerId,
                        let staff = try lookup.staff(manager)
                    else { continue }
                    let zone = lookup.zone(staff.timeZone)
                    let dueAt = zone.instant(CalendarDate(dayNumber: localDay), minuteOfDay: settings.birthdayMinuteOfDay)
                    guard dueAt > after, dueAt <= through else { continue }
                    let id = Self.id(kind: .birthday, subject: person.id, dueAt: dueAt, recipient: manager)
                    guard seen.insert(id).inserted else { continue }
                    let when = offset == 0 ? "today" : "in \(offset) day\(offset == 1 ? "" : "s"), on \(birthday)"
                    reminders.append(
                        Reminder(
                            id: id, recipientId: manager, kind: .birthday, dueAt: dueAt,
                            text: "Birthday of \(person.name) (\(client.name)) \(when)", counterpartyId: client.id,
                            contactPersonId: person.id))
                }
            }
        }
        return reminders
    }
}

/// Cached reads of the rows reminders are made from, within one read transaction.
struct Lookup {
    let db: Database
    private var staffRows: [String: StaffRow?] = [:]
    private var counterparties: [String: CounterpartyRow?] = [:]
    private var zones: [String: LocalTime] = [:]

    init(db: Database) { self.db = db }

    /// A time zone by identifier (UTC for none), made once per look: Foundation's are not cheap.
    mutating func zone(_ identifier: String?) -> LocalTime {
        let key = identifier ?? ""
        if let zone = zones[key] { return zone }
        let zone = LocalTime(identifier: identifier)
        zones[key] = zone
        return zone
    }

    struct StaffRow {
        var id: String
        var name: String
        var supervisorId: String?
        var timeZone: String?
    }

    struct CounterpartyRow {
        var id: String
        var name: String
        var managerId: String?
    }

    struct ActivityRow {
        var ownerId: String
        var kind: String
        var subject: String?
        var counterpartyId: String?
        var contactPersonId: String?
        var dealId: String?
        var startsAt: Date
        var endsAt: Date
        var state: ActivityState
    }

    struct PersonRow {
        var id: String
        var counterpartyId: String
        var name: String
        var monthDay: String
    }

    mutating func staff(_ id: String) throws -> StaffRow? {
        if let cached = staffRows[id] { return cached }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, name, supervisor_id, time_zone FROM staff WHERE id = ?"), arguments: [id]
        ).map { StaffRow(id: $0[0], name: $0[1], supervisorId: $0[2], timeZone: $0[3]) }
        staffRows[id] = row
        return row
    }

    /// A counterparty as its survivor when it was merged away (the survivor's manager is the one to tell).
    mutating func counterparty(_ id: String) throws -> CounterpartyRow? {
        if let cached = counterparties[id] { return cached }
        var row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, name, responsible_manager_id, merged_into FROM counterparty WHERE id = ?"), arguments: [id])
        if let survivor: String = row?[3] {
            row =
                try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT id, name, responsible_manager_id, merged_into FROM counterparty WHERE id = ?"),
                    arguments: [survivor]) ?? row
        }
        let counterparty = row.map { CounterpartyRow(id: $0[0], name: $0[1], managerId: $0[2]) }
        counterparties[id] = counterparty
        return counterparty
    }

    func activity(_ id: String) throws -> ActivityRow? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT owner_id, kind, subject, counterparty_id, starts_at, ends_at, state,
                            json_extract(record, '$.contactPersonId'), json_extract(record, '$.dealId')
                        FROM activity WHERE id = ?
                        """),
                arguments: [id]),
            let startsAt = Timestamp.parse(row[4]), let endsAt = Timestamp.parse(row[5])
        else { return nil }
        return ActivityRow(
            ownerId: row[0], kind: row[1], subject: row[2], counterpartyId: row[3], contactPersonId: row[7], dealId: row[8],
            startsAt: startsAt, endsAt: endsAt, state: ActivityState(rawValue: row[6]) ?? .planned)
    }

    func person(_ id: String) throws -> PersonRow? {
        try Row.fetchOne(
            db.cachedStatement(
                sql:
                    "SELECT id, counterparty_id, name, birthday_md FROM contact_person WHERE id = ? AND removed = 0 AND birthday_md IS NOT NULL"
            ), arguments: [id]
        ).map { PersonRow(id: $0[0], counterpartyId: $0[1], name: $0[2], monthDay: $0[3]) }
    }

    func persons(celebratingOn day: CalendarDate) throws -> [PersonRow] {
        var persons: [PersonRow] = []
        for monthDay in Birthday.monthDays(celebratedOn: day) {
            persons += try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT id, counterparty_id, name, birthday_md FROM contact_person WHERE birthday_md = ? AND removed = 0"),
                arguments: [monthDay]
            ).map { PersonRow(id: $0[0], counterpartyId: $0[1], name: $0[2], monthDay: $0[3]) }
        }
        return persons
    }
}
