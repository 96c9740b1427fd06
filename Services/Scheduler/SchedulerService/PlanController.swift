import EventStore
import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/staff/{id}/plan`, `/staff/{id}/team-plan` and `/staff/{id}/reminders`: an employee's work plan
/// in their time zone, the plan against the fact of everyone under a supervisor, and the
/// reminders someone got and will get.
struct PlanController {
    let context: SchedulerContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/staff/{id}/plan", use: plan)
        group.get("/staff/{id}/team-plan", use: teamPlan)
        group.get("/staff/{id}/reminders", use: reminders)
    }

    @Sendable func plan(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let now = self.context.clock.now()
        let query = request.uri.queryParameters
        let bytes = try await self.context.read { db in
            let member = try PlanMember.existing(db, id)
            let period = try PlanPeriod(from: query.get("from"), to: query.get("to"), zone: member.zone, now: now)
            let items = try PlanItem.fetch(db, owner: id, period)
            var offsets: [Int: Int] = [:]
            var json = JSONWriter(capacity: 256 + items.count * 320)
            json.object { json in
                json.field("counts", PlanCounts(items, now: now))
                json.field("from", member.zone.format(period.from))
                json.field(
                    "items", array: { json in for item in items { item.write(to: &json, zone: member.zone, offsets: &offsets, now: now) } })
                json.field("name", member.name)
                json.field("staffId", id)
                json.field("timeZone", member.zone.identifier)
                json.field("to", member.zone.format(period.to))
            }
            return json.bytes
        }
        return jsonResponse(bytes: bytes)
    }

    /// `items=false` leaves the items out: the counts of each member come from one aggregate each,
    /// for a dashboard that shows plan against fact only.
    @Sendable func teamPlan(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let now = self.context.clock.now()
        let query = request.uri.queryParameters
        let withItems = try QueryValue.bool(query.get("items"), "items") ?? true
        let bytes = try await self.context.read { db in
            let supervisor = try PlanMember.existing(db, id)
            let period = try PlanPeriod(from: query.get("from"), to: query.get("to"), zone: supervisor.zone, now: now)
            let plans = try PlanMember.subordinates(db, of: id).map { member in
                if withItems {
                    let items = try PlanItem.fetch(db, owner: member.id, period)
                    return (member, PlanCounts(items, now: now), items as [PlanItem]?)
                }
                return (member, try PlanCounts.fetch(db, owner: member.id, period, now: now), nil)
            }
            var total = PlanCounts()
            // Offsets looked up, per zone (members share a few).
            var memberOffsets: [String: [Int: Int]] = [:]
            // Sized for the whole answer (about 210 bytes an item): growing a 4 MB buffer step by
            // step copied it twice over.
            let itemCount = plans.reduce(0) { $0 + ($1.2?.count ?? 0) }
            var json = JSONWriter(capacity: 256 * (plans.count + 1) + itemCount * 240)
            json.object { json in
                json.field("from", supervisor.zone.format(period.from))
                json.field(
                    "members",
                    array: { json in
                        for (member, counts, items) in plans {
                            total.add(counts)
                            var offsets = memberOffsets[member.zone.identifier, default: [:]]
                            defer { memberOffsets[member.zone.identifier] = offsets }
                            json.object { json in
                                json.field("counts", counts)
                                if let items {
                                    json.field(
                                        "items",
                                        array: { json in
                                            for item in items { item.write(to: &json, zone: member.zone, offsets: &offsets, now: now) }
                                        })
                                }
                                json.field("name", member.name)
                                json.field("staffId", member.id)
                                json.field("supervisorId", member.supervisorId)
                                json.field("timeZone", member.zone.identifier)
                            }
                        }
                    })
                json.field("supervisorId", id)
                json.field("to", supervisor.zone.format(period.to))
                json.field("totals", total)
            }
            return json.bytes
        }
        return jsonResponse(bytes: bytes)
    }

    /// What was sent to the employee in the period (`sent`) and what will be or is about to be
    /// (`scheduled`, `due`), by due moment.
    @Sendable func reminders(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let now = self.context.clock.now()
        let query = request.uri.queryParameters
        let from = try QueryValue.time(query.get("from"), "from") ?? now.addingTimeInterval(-7 * 24 * 3600)
        let to = try QueryValue.time(query.get("to"), "to") ?? now.addingTimeInterval(7 * 24 * 3600)
        guard to > from, to.timeIntervalSince(from) <= 92 * 24 * 3600 else {
            throw Problem.badRequest("to must be after from, and at most 92 days later")
        }
        let planner = ReminderPlanner(settings: self.context.settings)
        let items = try await self.context.read { db -> [ReminderItem] in
            _ = try PlanMember.existing(db, id)
            var items = try Row.fetchAll(
                db, sql: "SELECT record FROM reminder_sent WHERE recipient_id = ? AND due_at >= ? AND due_at < ? ORDER BY due_at, id",
                arguments: [id, Timestamp.format(from), Timestamp.format(to)]
            ).map { row in ReminderItem(reminder: try decodeStoredRecord(Reminder.self, row), status: "sent") }
            let sent = Set(items.map(\.reminder.id))
            let planned = try planner.due(db, after: from.addingTimeInterval(-0.001), through: to.addingTimeInterval(-0.001))
            items += planned.filter { $0.recipientId == id && !sent.contains($0.id) }.map {
                ReminderItem(reminder: $0, status: $0.dueAt > now ? "scheduled" : "due")
            }
            return items.sorted { ($0.reminder.dueAt, $0.reminder.id) < ($1.reminder.dueAt, $1.reminder.id) }
        }
        return try jsonResponse(ReminderList(staffId: id, from: from, to: to, items: items))
    }

    struct ReminderItem: Encodable, Sendable {
        var reminder: Reminder
        var status: String

        enum Keys: String, CodingKey { case status }

        func encode(to encoder: any Encoder) throws {
            try reminder.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(status, forKey: .status)
        }
    }

    struct ReminderList: Encodable, Sendable {
        var staffId: String
        var from: Date
        var to: Date
        var items: [ReminderItem]
    }
}

/// A staff member whose plan is shown, with their time zone.
struct PlanMember {
    var id: String
    var name: String
    var supervisorId: String?
    var zone: LocalTime

    init(row: Row, zones: inout [String: LocalTime]) {
        id = row[0]
        name = row[1]
        supervisorId = row[2]
        let identifier: String? = row[3]
        if let known = zones[identifier ?? ""] {
            zone = known
        } else {
            zone = LocalTime(identifier: identifier)
            zones[identifier ?? ""] = zone
        }
    }

    static func existing(_ db: Database, _ id: String) throws -> PlanMember {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, name, supervisor_id, time_zone FROM staff WHERE id = ?", arguments: [id])
        else {
            throw Problem.notFound("no staff member '\(id)'")
        }
        var zones: [String: LocalTime] = [:]
        return PlanMember(row: row, zones: &zones)
    }

    /// Everyone down the supervisor chain from `id` (not `id` itself), nearest first, by name; a
    /// loop in the chain ends the walk.
    static func subordinates(_ db: Database, of id: String) throws -> [PlanMember] {
        // Members share a few time zones, and Foundation's are not cheap to make.
        var zones: [String: LocalTime] = [:]
        return try Row.fetchAll(
            db,
            sql: """
                WITH RECURSIVE team(id, depth) AS (
                    SELECT id, 1 FROM staff WHERE supervisor_id = ?1 AND id != ?1
                    UNION
                    SELECT s.id, t.depth + 1 FROM staff s JOIN team t ON s.supervisor_id = t.id WHERE t.depth < 32 AND s.id != ?1
                )
                SELECT s.id, s.name, s.supervisor_id, s.time_zone, MIN(t.depth) AS depth FROM team t JOIN staff s ON s.id = t.id
                GROUP BY s.id ORDER BY depth, s.name, s.id
                """, arguments: [id]
        ).map { PlanMember(row: $0, zones: &zones) }
    }
}

/// The period a plan covers: `from` and `to` as dates (whole local days, `to` included) or
/// instants; by default the seven days from today.
struct PlanPeriod {
    var from: Date
    var to: Date

    init(from fromText: String?, to toText: String?, zone: LocalTime, now: Date) throws {
        let today = zone.date(of: now)
        func bound(_ text: String?, _ name: String, endOfDay: Bool) throws -> Date? {
            guard let text else { return nil }
            if let day = CalendarDate(text) {
                return zone.instant(CalendarDate(dayNumber: day.dayNumber + (endOfDay ? 1 : 0)), minuteOfDay: 0)
            }
            if let instant = Timestamp.parse(text) { return instant }
            throw Problem.badRequest("\(name) must be a date (YYYY-MM-DD, in the employee's time zone) or an RFC 3339 time, got '\(text)'")
        }
        from = try bound(fromText, "from", endOfDay: false) ?? zone.instant(today, minuteOfDay: 0)
        to =
            try bound(toText, "to", endOfDay: true)
            ?? zone.instant(CalendarDate(dayNumber: zone.date(of: from).dayNumber + 7), minuteOfDay: 0)
        guard to > from, to.timeIntervalSince(from) <= 92 * 24 * 3600 else {
            throw Problem.badRequest("to must be after from, and at most 92 days later")
        }
    }
}

/// One activity in a plan.
struct PlanItem {
    var id: String
    var kind: String
    var subject: String?
    var counterpartyId: String?
    var startsAt: Date
    var endsAt: Date
    var state: ActivityState
    var completedAt: Date?

    static func fetch(_ db: Database, owner: String, _ period: PlanPeriod) throws -> [PlanItem] {
        // A team plan reads tens of thousands: with the C API, times parsed from the row's bytes.
        let select = try RawStatement(
            db,
            sql: """
                SELECT id, kind, subject, counterparty_id, starts_at, ends_at, state, completed_at FROM activity
                WHERE owner_id = ? AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, id
                """)
        select.bind(1, owner)
        select.bind(2, Timestamp.format(period.from))
        select.bind(3, Timestamp.format(period.to))
        var items: [PlanItem] = []
        try select.forEachRow { row in
            func time(_ column: Int32) -> Date? { row.utf8(column).flatMap(Timestamp.parse(utf8:)) }
            items.append(
                PlanItem(
                    id: row.text(0) ?? "", kind: row.text(1) ?? "", subject: row.text(2), counterpartyId: row.text(3),
                    startsAt: time(4) ?? .distantPast, endsAt: time(5) ?? .distantPast,
                    state: row.text(6).flatMap(ActivityState.init(rawValue:)) ?? .planned, completedAt: time(7)))
        }
        return items
    }

    func state(at now: Date) -> ActivityState { state == .planned && endsAt <= now ? .overdue : state }
    var isDoneOnTime: Bool { state == .done && (completedAt ?? .distantFuture) <= endsAt }

    func write(to json: inout JSONWriter, zone: LocalTime, offsets: inout [Int: Int], now: Date) {
        json.object { json in
            json.field("completedAt", completedAt)
            json.field("counterpartyId", counterpartyId)
            json.key("endsAt")
            json.plainString { zone.append(endsAt, offsets: &offsets, to: &$0) }
            json.field("id", id)
            json.field("kind", kind)
            if state == .done { json.field("onTime", isDoneOnTime) }
            json.key("startsAt")
            json.plainString { zone.append(startsAt, offsets: &offsets, to: &$0) }
            json.field("state", state(at: now).rawValue)
            json.field("subject", subject)
        }
    }
}

/// Plan against fact: how many of the period's activities are still planned, done (and done by
/// their end), overdue and cancelled.
struct PlanCounts: JSONWritable {
    var total = 0
    var planned = 0
    var done = 0
    var doneOnTime = 0
    var overdue = 0
    var cancelled = 0

    init() {}

    init(_ items: [PlanItem], now: Date) {
        for item in items {
            total += 1
            switch item.state(at: now) {
            case .planned: planned += 1
            case .overdue: overdue += 1
            case .cancelled: cancelled += 1
            case .done:
                done += 1
                if item.isDoneOnTime { doneOnTime += 1 }
            }
        }
    }

    /// The counts of one owner's activities starting in the period, counted by SQLite.
    static func fetch(_ db: Database, owner: String, _ period: PlanPeriod, now: Date) throws -> PlanCounts {
        let now = Timestamp.format(now)
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT COUNT(*),
                            TOTAL(state = 'planned' AND ends_at > ?1), TOTAL(state = 'planned' AND ends_at <= ?1),
                            TOTAL(state = 'done'), TOTAL(state = 'done' AND completed_at <= ends_at), TOTAL(state = 'cancelled')
                        FROM activity WHERE owner_id = ?2 AND starts_at >= ?3 AND starts_at < ?4
                        """), arguments: [now, owner, Timestamp.format(period.from), Timestamp.format(period.to)])
        else { return PlanCounts() }
        var counts = PlanCounts()
        counts.total = row[0]
        counts.planned = Int(row[1] as Double)
        counts.overdue = Int(row[2] as Double)
        counts.done = Int(row[3] as Double)
        counts.doneOnTime = Int(row[4] as Double)
        counts.cancelled = Int(row[5] as Double)
        return counts
    }

    mutating func add(_ other: PlanCounts) {
        total += other.total
        planned += other.planned
        done += other.done
        doneOnTime += other.doneOnTime
        overdue += other.overdue
        cancelled += other.cancelled
    }

    func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("cancelled", cancelled)
            json.field("done", done)
            json.field("doneOnTime", doneOnTime)
            json.field("overdue", overdue)
            json.field("planned", planned)
            json.field("total", total)
        }
    }
}
