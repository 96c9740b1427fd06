import EventStore
import Foundation
import GRDB
import HummingbirdTesting
import Kafka
import SchedulerService
import ServiceKit
import Synchronization
import TestSupport
import Testing
import WireFormat
import WireSchema

/// Staff (a boss over Ivan over Anna, in three time zones), two counterparties managed by Ivan,
/// and their contact persons, as the contacts service publishes them.
func staffAndClients(birthdays: [(id: String, counterparty: String, birthday: String)] = []) throws -> TopicFeed {
    var feed = TopicFeed()
    for member in [
        StaffMember(id: "boss", name: "Olga Head", timeZone: "Europe/Moscow"),
        StaffMember(id: "ivan", name: "Ivan", supervisorId: "boss", timeZone: "Asia/Vladivostok"),
        StaffMember(id: "anna", name: "Anna", supervisorId: "ivan", timeZone: "Europe/Berlin"),
    ] {
        try feed.event(StaffEvent.registered(member))
    }
    for id in ["c1", "c2"] {
        try feed.event(
            CounterpartyEvent.registered(
                CounterpartyRecord(id: id, kind: .organization, roles: [.customer], legalName: "\(id) LLC", responsibleManagerId: "ivan")))
    }
    try feed.event(CounterpartyEvent.contactPersonAdded(ContactPerson(id: "p1", counterpartyId: "c1", name: "Maria")))
    for person in birthdays {
        try feed.event(
            CounterpartyEvent.contactPersonAdded(
                ContactPerson(id: person.id, counterpartyId: person.counterparty, name: "Person \(person.id)", birthday: person.birthday)))
    }
    return feed
}

/// Settings for a test: a clock the test moves, one instance (no group), quick retries.
func testSettings(at start: String, transport: (any WebhookTransport)? = nil, daysBefore: Int? = nil) -> SchedulerSettings {
    var settings = SchedulerSettings()
    settings.clock = ServiceClock(start: Timestamp.parse(start)!)
    settings.group = nil
    settings.dispatchInterval = .milliseconds(50)
    settings.webhookRetryBase = 0.05
    settings.webhookAllowPrivate = true
    settings.birthdayDaysBefore = daysBefore
    if let transport { settings.webhookTransport = transport }
    return settings
}

/// What the service sent on `crm.reminders.v1`, as its store recorded it.
func sentReminders(_ service: ServiceUnderTest<SchedulerService>) async throws -> [Reminder] {
    try await service.host.store.database.read { db in
        try String.fetchAll(db, sql: "SELECT record FROM reminder_sent ORDER BY due_at, id").map {
            try WireDecoder.decode(Reminder.self, from: Array($0.utf8))
        }
    }
}

@Suite(.serialized) struct ActivityTests {
    static func activity(
        _ id: String, owner: String = "ivan", startsAt: String, endsAt: String? = nil, remind: Int? = nil, extra: String = ""
    )
        -> String
    {
        #"{"id": "\#(id)", "kind": "call", "ownerId": "\#(owner)", "counterpartyId": "c1", "subject": "Call \#(id)", "startsAt": "\#(startsAt)""#
            + (endsAt.map { #", "endsAt": "\#($0)""# } ?? "") + (remind.map { #", "remindMinutesBefore": \#($0)"# } ?? "") + extra + "}"
    }

    @Test func anActivityIsPlannedMovedDoneOrCancelledAndItsPlanShowsItsState() async throws {
        let settings = testSettings(at: "2026-12-07T08:00:00Z")
        try await withService(SchedulerService.self, settings: settings) { service in
            try await service.feed(try staffAndClients())
            let client = service.client
            try expectProblem(
                try await client.send(.post, "/activities", Self.activity("a1", owner: "ghost", startsAt: "2026-12-07T10:00:00Z")),
                .unprocessableContent, containing: "ownerId")
            try expectProblem(
                try await client.send(
                    .post, "/activities",
                    #"{"kind": "call", "ownerId": "ivan", "counterpartyId": "nobody", "subject": "x", "startsAt": "2026-12-07T10:00:00Z"}"#),
                .unprocessableContent, containing: "counterpartyId")
            try expectProblem(
                try await client.send(
                    .post, "/activities",
                    #"{"kind": "call", "ownerId": "ivan", "contactPersonId": "nobody", "subject": "x", "startsAt": "2026-12-07T10:00:00Z"}"#
                ),
                .unprocessableContent, containing: "contactPersonId")
            try expectProblem(
                try await client.send(
                    .post, "/activities", #"{"kind": "party", "ownerId": "ivan", "subject": "x", "startsAt": "2026-12-07T10:00:00Z"}"#),
                .unprocessableContent, containing: "kind")
            try expectProblem(
                try await client.send(
                    .post, "/activities", Self.activity("a1", startsAt: "2026-12-07T10:00:00Z", endsAt: "2026-12-07T09:00:00Z")),
                .unprocessableContent, containing: "endsAt")

            let planned = try await client.created(
                "/activities", Self.activity("a1", startsAt: "2026-12-07T10:00:00Z", extra: #", "contactPersonId": "p1""#))
            #expect(planned["state"] as? String == "planned")
            #expect(planned["effectiveEndsAt"] as? String == "2026-12-07T10:30:00.000Z", "30 minutes without an end")
            _ = try await client.created(
                "/activities", Self.activity("a2", startsAt: "2026-12-07T12:00:00Z", endsAt: "2026-12-07T13:00:00Z"))
            _ = try await client.created("/activities", Self.activity("a3", startsAt: "2026-12-08T09:00:00Z"))
            _ = try await client.created("/activities", Self.activity("b1", owner: "anna", startsAt: "2026-12-07T09:00:00Z"))
            try expectProblem(
                try await client.send(.post, "/activities", Self.activity("a1", startsAt: "2026-12-07T10:00:00Z")), .conflict)

            let moved = try object(
                try await client.send(
                    .post, "/activities/a2/reschedule", #"{"startsAt": "2026-12-07T14:00:00Z", "endsAt": "2026-12-07T15:00:00Z"}"#))
            #expect(moved["startsAt"] as? String == "2026-12-07T14:00:00.000Z" && moved["version"] as? Int == 2)
            let stale = try await client.send(.patch, "/activities/a2", #"{"subject": "New"}"#, headers: jsonHeaders + [.ifMatch: "\"1\""])
            try expectProblem(stale, .preconditionFailed)
            let patched = try object(try await client.send(.patch, "/activities/a2", #"{"subject": "Agree on prices"}"#))
            #expect(patched["subject"] as? String == "Agree on prices")
            let cancelled = try object(try await client.send(.post, "/activities/a3/cancel", #"{"reason": "client away"}"#))
            #expect(cancelled["state"] as? String == "cancelled" && cancelled["cancelReason"] as? String == "client away")
            try expectProblem(try await client.send(.post, "/activities/a3/complete", #"{"outcome": "x"}"#), .conflict)

            // Past its end and not done, a1 is overdue; done in time, b1 is on time.
            settings.clock.set(Timestamp.parse("2026-12-07T10:31:00Z")!)
            let done = try object(
                try await client.send(.post, "/activities/b1/complete", #"{"outcome": "agreed", "completedAt": "2026-12-07T09:20:00Z"}"#))
            #expect(done["state"] as? String == "done")
            let a1 = try object(try await client.send(.get, "/activities/a1"))
            #expect(a1["state"] as? String == "overdue")

            let plan = try object(try await client.send(.get, "/staff/ivan/plan?from=2026-12-07&to=2026-12-08"))
            #expect(plan["timeZone"] as? String == "Asia/Vladivostok")
            let items = plan["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["id"] as? String } == ["a1", "a2", "a3"])
            #expect(items.first?["startsAt"] as? String == "2026-12-07T20:00:00+10:00", "in the employee's time zone")
            #expect(items.map { $0["state"] as? String } == ["overdue", "planned", "cancelled"])
            let counts = plan["counts"] as? [String: Int]
            #expect(counts == ["total": 3, "planned": 1, "done": 0, "doneOnTime": 0, "overdue": 1, "cancelled": 1])

            let team = try object(try await client.send(.get, "/staff/boss/team-plan?from=2026-12-06&to=2026-12-09"))
            let members = team["members"] as? [[String: Any]] ?? []
            #expect(members.map { $0["staffId"] as? String } == ["ivan", "anna"], "down the whole chain, nearest first")
            #expect((members.last?["counts"] as? [String: Int])?["doneOnTime"] == 1)
            #expect((team["totals"] as? [String: Int])?["total"] == 4)
            let countsOnly = try object(try await client.send(.get, "/staff/boss/team-plan?from=2026-12-06&to=2026-12-09&items=false"))
            let counted = countsOnly["members"] as? [[String: Any]] ?? []
            #expect(counted.allSatisfy { $0["items"] == nil })
            #expect(
                counted.map { $0["counts"] as? [String: Int] } == members.map { $0["counts"] as? [String: Int] },
                "SQLite counts as the items do")
            try expectProblem(try await client.send(.get, "/staff/nobody/team-plan"), .notFound)
            try expectProblem(try await client.send(.get, "/staff/ivan/plan?from=someday"), .badRequest)
        }
    }
}

@Suite(.serialized) struct ReminderTests {
    @Test func anActivityRemindsItsOwnerAheadAndItsOwnerAndSupervisorWhenOverdue() async throws {
        let settings = testSettings(at: "2026-12-07T09:00:00Z")
        try await withService(SchedulerService.self, settings: settings) { service in
            try await service.feed(try staffAndClients())
            _ = try await service.client.created(
                "/activities", ActivityTests.activity("a1", owner: "anna", startsAt: "2026-12-07T09:30:00Z", remind: 10))
            _ = try await service.client.created(
                "/activities", ActivityTests.activity("moved", owner: "anna", startsAt: "2026-12-07T09:25:00Z", remind: 10))
            _ = try await service.client.send(.post, "/activities/moved/reschedule", #"{"startsAt": "2026-12-08T09:25:00Z"}"#)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await sentReminders(service).isEmpty, "nothing is due yet")

            settings.clock.set(Timestamp.parse("2026-12-07T09:20:00.500Z")!)
            try await eventually("the upcoming reminder is sent") { try await sentReminders(service).count == 1 }
            let upcoming = try #require(try await sentReminders(service).first)
            #expect(upcoming.kind == .activityUpcoming && upcoming.recipientId == "anna" && upcoming.activityId == "a1")
            #expect(upcoming.dueAt == Timestamp.parse("2026-12-07T09:20:00Z") && upcoming.late == false)
            #expect(upcoming.text.contains("10:30:00+01:00"), "in Anna's time zone: \(upcoming.text)")

            settings.clock.set(Timestamp.parse("2026-12-07T10:00:01Z")!)
            try await eventually("the overdue reminders are sent") { try await sentReminders(service).count == 3 }
            let overdue = try await sentReminders(service).filter { $0.kind == .activityOverdue }
            #expect(Set(overdue.map(\.recipientId)) == ["anna", "ivan"], "the owner and the owner's supervisor")
            #expect(Set(overdue.map(\.id)).count == 2)

            // The same reminder is never sent twice, and its id says what it is about.
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await sentReminders(service).count == 3)
            let list = try object(try await service.client.send(.get, "/staff/anna/reminders?from=2026-12-07&to=2026-12-09"))
            let items = list["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["status"] as? String } == ["sent", "sent", "scheduled", "scheduled"])
            let shown = try object(try await service.client.send(.get, "/reminders/\(upcoming.id)"))
            #expect(shown["kind"] as? String == "activity-upcoming" && shown["deliveries"] as? [Any] != nil)
            try expectProblem(try await service.client.send(.get, "/reminders/rem_nothing"), .notFound)
        }
    }

    @Test func aBirthdayRemindsTheManagerAtNineInTheirZoneAndTheTwentyNinthOfFebruaryFallsOnTheTwentyEighth() async throws {
        // 2027 has no 29 February; Ivan is in Vladivostok (UTC+10): 09:00 there is 23:00 UTC the day before.
        let settings = testSettings(at: "2027-02-27T22:58:00Z", daysBefore: 3)
        try await withService(SchedulerService.self, settings: settings) { service in
            try await service.feed(
                try staffAndClients(birthdays: [("leap", "c1", "02-29"), ("plain", "c2", "1980-03-01"), ("later", "c2", "06-15")]))
            // On start it looked back a week: the three-days-ahead reminders of both were due on the 24th and 25th.
            try await eventually("the reminders due in the last week are sent, late") { try await sentReminders(service).count == 2 }
            let early = try await sentReminders(service)
            #expect(early.allSatisfy { $0.late == true && $0.text.contains("in 3 days") })
            #expect(Set(early.map(\.dueAt)) == [Timestamp.parse("2027-02-24T23:00:00Z")!, Timestamp.parse("2027-02-25T23:00:00Z")!])

            settings.clock.set(Timestamp.parse("2027-02-27T23:00:01Z")!)
            try await eventually("the leap-day birthday is reminded on 28 February") { try await sentReminders(service).count == 3 }
            let onTheDay = try #require(try await sentReminders(service).last)
            #expect(onTheDay.kind == .birthday && onTheDay.contactPersonId == "leap" && onTheDay.recipientId == "ivan")
            #expect(onTheDay.dueAt == Timestamp.parse("2027-02-27T23:00:00Z") && onTheDay.late == false)
            #expect(onTheDay.text.contains("today"))

            settings.clock.set(Timestamp.parse("2027-02-28T23:00:01Z")!)
            try await eventually("the 1 March birthday is reminded") { try await sentReminders(service).count == 4 }
            #expect(try await sentReminders(service).last?.contactPersonId == "plain")
        }
    }

    @Test func aClientThatDropsFromAToCOrIsLostRemindsItsManager() async throws {
        let now = Timestamp.parse("2026-12-07T09:00:00.001Z")!
        let settings = testSettings(at: "2026-12-07T09:00:00Z")
        try await withService(SchedulerService.self, settings: settings) { service in
            var feed = try staffAndClients()
            func classified(_ client: String, abc: String?, previous: String?, status: ClientClassification.Status, previousStatus: String?)
                -> SegmentEvent
            {
                .clientClassified(
                    ClientClassification(
                        clientId: client, runId: "run-1", asOf: CalendarDate("2026-12-06")!, abcClass: abc, xyzClass: "X", status: status,
                        previousAbcClass: previous, previousXyzClass: "X", previousStatus: previousStatus, parameters: nil))
            }
            try feed.event(classified("c1", abc: "C", previous: "A", status: .regular, previousStatus: "regular"), time: now)
            try feed.event(classified("c2", abc: "A", previous: "B", status: .lost, previousStatus: "regular"), time: now)
            try feed.event(classified("c3", abc: "A", previous: "C", status: .regular, previousStatus: "regular"), time: now)
            try await service.feed(feed)
            try await eventually("both are reminded") { try await sentReminders(service).count == 2 }
            let sent = try await sentReminders(service).sorted { $0.counterpartyId ?? "" < $1.counterpartyId ?? "" }
            #expect(sent.map(\.kind) == [.clientDowngraded, .clientLost])
            #expect(sent.allSatisfy { $0.recipientId == "ivan" })
            #expect(sent.first?.text.contains("A → C") == true)
        }
    }
}

/// Records every delivery and answers with the statuses it is given, in turn (then 200).
final class RecordingTransport: WebhookTransport {
    struct Delivery: Sendable {
        var url: URL
        var headers: [String: String]
        var body: [UInt8]
    }
    let answers: Mutex<[String: [Int]]>
    let deliveries = Mutex<[Delivery]>([])

    init(answers: [String: [Int]] = [:]) { self.answers = Mutex(answers) }

    func post(url: URL, headers: [String: String], body: [UInt8], timeout: TimeInterval) async throws -> (status: Int, retryAfter: Int?) {
        deliveries.withLock { $0.append(Delivery(url: url, headers: headers, body: body)) }
        let status = answers.withLock { answers -> Int in
            guard var queue = answers[url.absoluteString], !queue.isEmpty else { return 200 }
            let status = queue.removeFirst()
            answers[url.absoluteString] = queue
            return status
        }
        return (status, nil)
    }

    func received(at url: String) -> [Delivery] { deliveries.withLock { $0.filter { $0.url.absoluteString == url } } }
}

@Suite(.serialized) struct WebhookTests {
    @Test func theStandardWebhooksTestVectorSigns() {
        let key = WebhookSignature.key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
        let signature = WebhookSignature.sign(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8), key: key)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func aReceiverThatFailsTwiceGetsTheSameIdThreeTimesAndOneThatIsGoneIsDisabled() async throws {
        let flaky = "http://127.0.0.1:9001/flaky"
        let gone = "http://127.0.0.1:9001/gone"
        let other = "http://127.0.0.1:9001/only-birthdays"
        let transport = RecordingTransport(answers: [flaky: [500, 503], gone: [410]])
        let settings = testSettings(at: "2026-12-07T09:00:00Z", transport: transport)
        try await withService(SchedulerService.self, settings: settings) { service in
            try await service.feed(try staffAndClients())
            let client = service.client
            try expectProblem(try await client.send(.post, "/webhooks", #"{"url": "ftp://x"}"#), .unprocessableContent, containing: "url")
            try expectProblem(
                try await client.send(.post, "/webhooks", #"{"url": "\#(flaky)", "recipientIds": ["ghost"]}"#), .unprocessableContent,
                containing: "recipientIds[0]")
            let registered = try await client.created("/webhooks", #"{"url": "\#(flaky)"}"#)
            let secret = try #require(registered["secret"] as? String)
            #expect(secret.hasPrefix("whsec_"))
            let goneHook = try await client.created("/webhooks", #"{"url": "\#(gone)"}"#)
            _ = try await client.created("/webhooks", #"{"url": "\#(other)", "kinds": ["birthday"]}"#)
            #expect(try object(try await client.send(.get, "/webhooks/\(goneHook["id"] as! String)"))["secret"] == nil, "shown once")

            _ = try await client.created("/activities", ActivityTests.activity("a1", startsAt: "2026-12-07T09:10:00Z"))
            try await eventually("the reminder reaches the flaky receiver on the third attempt") {
                transport.received(at: flaky).count == 3
            }
            let attempts = transport.received(at: flaky)
            let reminder = try WireDecoder.decode(Reminder.self, from: attempts[0].body)
            #expect(attempts.allSatisfy { $0.headers["webhook-id"] == reminder.id })
            let key = try #require(WebhookSignature.key(secret))
            for attempt in attempts {
                let timestamp = try #require(attempt.headers["webhook-timestamp"].flatMap { Int64($0) })
                #expect(
                    attempt.headers["webhook-signature"]
                        == WebhookSignature.sign(id: reminder.id, timestamp: timestamp, body: attempt.body, key: key))
            }
            #expect(transport.received(at: other).isEmpty, "a webhook gets only the kinds it asked for")

            let hookId = try #require(registered["id"] as? String)
            try await eventually("the delivery is recorded as delivered") {
                let page = try object(try await client.send(.get, "/webhooks/\(hookId)/deliveries"))
                let delivery = (page["items"] as? [[String: Any]])?.first
                return delivery?["outcome"] as? String == "delivered" && delivery?["attempts"] as? Int == 3
            }
            try await eventually("the gone receiver's webhook is disabled") {
                try object(try await client.send(.get, "/webhooks/\(goneHook["id"] as! String)"))["state"] as? String == "disabled"
            }
            #expect(transport.received(at: gone).count == 1)
            let shown = try object(try await client.send(.get, "/reminders/\(reminder.id)"))
            #expect((shown["deliveries"] as? [[String: Any]])?.count == 2)

            #expect(try await client.send(.delete, "/webhooks/\(hookId)").status == .noContent)
            try expectProblem(try await client.send(.get, "/webhooks/\(hookId)"), .notFound)
        }
    }
}

@Suite struct CalendarTests {
    @Test func theFeedHasEveryActivityWithItsAlarmAndTheBirthdaysOfTheManagersClients() async throws {
        let settings = testSettings(at: "2026-12-07T09:00:00Z", daysBefore: 2)
        try await withService(SchedulerService.self, settings: settings) { service in
            try await service.feed(try staffAndClients(birthdays: [("leap", "c1", "02-29"), ("plain", "c2", "03-01")]))
            _ = try await service.client.created(
                "/activities",
                ActivityTests.activity(
                    "a1", startsAt: "2026-12-08T10:00:00Z", remind: 20,
                    extra: #", "endsAt": "2026-12-08T11:00:00Z", "dealId": null"#))
            _ = try await service.client.send(
                .patch, "/activities/a1",
                #"{"subject": "A very long subject, with commas; semicolons and a backslash \\ that needs folding because it is long"}"#)
            let response = try await service.client.send(.get, "/staff/ivan/calendar.ics")
            #expect(response.headers[.contentType]?.hasPrefix("text/calendar") == true)
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && text.hasSuffix("END:VCALENDAR\r\n"))
            #expect(text.split(separator: "\r\n", omittingEmptySubsequences: false).allSatisfy { $0.utf8.count <= 75 })
            let unfolded = text.replacingOccurrences(of: "\r\n ", with: "")
            #expect(unfolded.contains("UID:a1@crm-scheduler\r\n") && unfolded.contains("DTSTART:20261208T100000Z\r\n"))
            #expect(unfolded.contains("SEQUENCE:1\r\n") && unfolded.contains("TRIGGER:-PT20M\r\n"))
            #expect(unfolded.contains(#"with commas\; semicolons and a backslash \\ that"#))
            #expect(unfolded.contains("DTSTART;VALUE=DATE:20000229\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1\r\n"))
            #expect(unfolded.contains("DTSTART;VALUE=DATE:20000301\r\nRRULE:FREQ=YEARLY\r\n"))
            #expect(
                unfolded.contains("TRIGGER:PT9H0M\r\n") && unfolded.contains("TRIGGER:-PT2340M\r\n"),
                "on the day at 09:00 and two days ahead")
        }
    }
}
