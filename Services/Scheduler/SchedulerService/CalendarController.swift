import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/staff/{id}/calendar.ics`: an RFC 5545 feed of the employee's activities (90 days back, a year
/// ahead), each with an alarm at its reminder, and the birthdays they are reminded of, as yearly
/// all-day events.
struct CalendarController {
    let context: SchedulerContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/staff/{id}/calendar.ics", use: feed)
    }

    @Sendable func feed(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let now = self.context.clock.now()
        let settings = self.context.settings
        let text = try await self.context.read { db in
            let member = try PlanMember.existing(db, id)
            var calendar = ICalendar(name: "CRM: \(member.name)", zone: member.zone.identifier)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT a.record, a.state, a.version, a.updated_at, a.outcome, c.name FROM activity a
                    LEFT JOIN counterparty c ON c.id = a.counterparty_id
                    WHERE a.owner_id = ? AND a.starts_at >= ? AND a.starts_at < ? ORDER BY a.starts_at, a.id
                    """,
                arguments: [
                    id, Timestamp.format(now.addingTimeInterval(-90 * 86_400)), Timestamp.format(now.addingTimeInterval(366 * 86_400)),
                ])
            for row in rows {
                let activity = try decodeStoredRecord(Activity.self, row)
                let state = ActivityState(rawValue: row[1]) ?? .planned
                var summary = activity.kind.rawValue.capitalized + ": " + (activity.subject ?? "")
                if let counterparty: String = row[5] { summary += " (\(counterparty))" }
                var description: [String] = []
                if let outcome: String = row[4] { description.append("Outcome: \(outcome)") }
                if let deal = activity.dealId { description.append("Deal: \(deal)") }
                calendar.event(
                    uid: "\(activity.id)@crm-scheduler", stamp: Timestamp.parse(row[3]) ?? now, sequence: (row[2] as Int) - 1,
                    summary: summary, description: description.joined(separator: "\n"), start: .instant(activity.startsAt),
                    end: .instant(activity.effectiveEnd), status: state == .cancelled ? "CANCELLED" : "CONFIRMED", rule: nil,
                    alarms: state == .planned
                        ? ["-PT\(activity.remindMinutesBefore ?? Activity.defaultRemindMinutesBefore)M"] : [])
            }
            // Birthdays of the contact persons of the counterparties this employee is responsible for.
            let persons = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.id, p.name, p.birthday_md, c.name FROM contact_person p
                    JOIN counterparty c ON c.id = p.counterparty_id
                    LEFT JOIN counterparty s ON s.id = c.merged_into
                    WHERE p.removed = 0 AND p.birthday_md IS NOT NULL AND COALESCE(s.responsible_manager_id, c.responsible_manager_id) = ?
                    ORDER BY p.id
                    """, arguments: [id])
            let minute = settings.birthdayMinuteOfDay
            for person in persons {
                let monthDay: String = person[2]
                var alarms = ["PT\(minute / 60)H\(minute % 60)M"]
                if let days = settings.birthdayDaysBefore { alarms.append("-PT\(days * 24 * 60 - minute)M") }
                calendar.event(
                    uid: "birthday-\(person[0] as String)@crm-scheduler", stamp: now, sequence: 0,
                    summary: "Birthday: \(person[1] as String) (\(person[3] as String))", description: "",
                    start: .day(ICalendar.firstCelebration(monthDay)), end: nil, status: "CONFIRMED",
                    rule: monthDay == "02-29" ? "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1" : "FREQ=YEARLY", alarms: alarms)
            }
            return calendar.text
        }
        return Response(
            status: .ok, headers: [.contentType: "text/calendar; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// An iCalendar (RFC 5545) document: CRLF line ends, lines folded at 75 octets, text escaped.
struct ICalendar {
    enum Moment {
        case instant(Date)
        case day(CalendarDate)
    }

    private var lines: [String]

    init(name: String, zone: String) {
        lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//CRM//crm-scheduler//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
            "X-WR-CALNAME:\(Self.escape(name))", "X-WR-TIMEZONE:\(zone)",
        ]
    }

    var text: String {
        (lines + ["END:VCALENDAR"]).map(Self.fold).joined(separator: "\r\n") + "\r\n"
    }

    /// The first day a yearly birthday is celebrated on, as `DTSTART`: in 2000, a leap year, so that
    /// 29 February starts on a 29 February (its rule puts it on the last day of February each year).
    static func firstCelebration(_ monthDay: String) -> CalendarDate {
        CalendarDate("2000-\(monthDay)") ?? CalendarDate(uncheckedYear: 2000, month: 1, day: 1)
    }

    mutating func event(
        uid: String, stamp: Date, sequence: Int, summary: String, description: String, start: Moment, end: Moment?, status: String,
        rule: String?, alarms: [String]
    ) {
        lines.append("BEGIN:VEVENT")
        lines.append("UID:\(Self.escape(uid))")
        lines.append("DTSTAMP:\(Self.basic(stamp))")
        lines.append(Self.property("DTSTART", start))
        if let end { lines.append(Self.property("DTEND", end)) }
        if let rule { lines.append("RRULE:\(rule)") }
        lines.append("SEQUENCE:\(max(0, sequence))")
        lines.append("STATUS:\(status)")
        lines.append("SUMMARY:\(Self.escape(summary))")
        if case .day = start { lines.append("TRANSP:TRANSPARENT") }
        if !description.isEmpty { lines.append("DESCRIPTION:\(Self.escape(description))") }
        for trigger in alarms {
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:\(Self.escape(summary))", "TRIGGER:\(trigger)", "END:VALARM"]
        }
        lines.append("END:VEVENT")
    }

    private static func property(_ name: String, _ moment: Moment) -> String {
        switch moment {
        case .instant(let date): "\(name):\(basic(date))"
        case .day(let day): "\(name);VALUE=DATE:\(String(format: "%04d%02d%02d", day.year, day.month, day.day))"
        }
    }

    /// `20261205T103000Z`
    static func basic(_ date: Date) -> String {
        let text = Timestamp.format(date)
        return text.prefix(19).filter { $0 != "-" && $0 != ":" } + "Z"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case ";": escaped += "\\;"
            case ",": escaped += "\\,"
            case "\n", "\r\n": escaped += "\\n"
            case "\r": continue
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Folds a line at 75 octets, never inside a UTF-8 sequence; continuation lines start with a space.
    static func fold(_ line: String) -> String {
        let bytes = Array(line.utf8)
        guard bytes.count > 75 else { return line }
        var parts: [[UInt8]] = []
        var start = 0
        var limit = 75
        while start < bytes.count {
            var end = min(start + limit, bytes.count)
            while end < bytes.count && end > start && (bytes[end] & 0xC0) == 0x80 { end -= 1 }
            parts.append(Array(bytes[start..<end]))
            start = end
            limit = 74
        }
        return parts.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\r\n ")
    }
}
