import AnalyticsService
import Foundation
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

// Scorecard, campaign, conversion and at-risk figures for a small book of business, computed by
// hand. The period is October 2026; the period before it is the 31 days before (31 Aug … 30 Sep).
@Suite(.serialized) struct ReportTests {
    static func time(_ text: String) -> Date { Timestamp.parse(text)! }

    static func feed() throws -> TopicFeed {
        var feed = TopicFeed()
        for member in [
            StaffMember(id: "S-1", name: "Olga Head"), StaffMember(id: "m1", name: "Ivan", supervisorId: "S-1"),
            StaffMember(id: "m2", name: "Anna", supervisorId: "m1"), StaffMember(id: "m3", name: "Petr"),
        ] {
            try feed.event(StaffEvent.registered(member))
        }
        // m1: c1 and c2 bought from m1 in September; in October c1 (100, cost 60) and c3 (50, cost 10).
        feed.sale("o-1", customer: "c1", on: "2026-09-20", amount: "10", manager: "m1")
        feed.sale("o-2", customer: "c2", on: "2026-09-21", amount: "10", manager: "m1")
        feed.sale("o-3", customer: "c1", on: "2026-10-10", amount: "100", cost: "60", manager: "m1")
        feed.sale("o-4", customer: "c3", on: "2026-10-05", amount: "50", cost: "10", manager: "m1")
        // m2: c4 (300, cost 100) in October.
        feed.sale("o-5", customer: "c4", on: "2026-10-20", amount: "300", cost: "100", manager: "m2")
        // Contacts: two by m1 with c1, one by m1 with a supplier (not a buyer), one by m2 with c4.
        try feed.event(
            CounterpartyEvent.registered(CounterpartyRecord(id: "sup", kind: .organization, roles: [.supplier], legalName: "Supplies")))
        for (id, counterparty, staff) in [("i-1", "c1", "m1"), ("i-2", "c1", "m1"), ("i-3", "sup", "m1"), ("i-4", "c4", "m2")] {
            try feed.event(
                InteractionEvent.logged(
                    Interaction(id: id, counterpartyId: counterparty, kind: .call, occurredAt: time("2026-10-12T10:00:00Z"), staffId: staff)
                ))
        }
        // m2's call with c4 planned and completed in the scheduler is a contact too; m3's cancelled
        // call and m2's task without a counterparty are not.
        try feed.event(
            ActivityEvent.self, "ActivityCompleted",
            #"{"id": "a-1", "completedAt": "2026-10-14T11:00:00Z", "activity": {"id": "a-1", "kind": "call", "ownerId": "m2", "counterpartyId": "c4", "startsAt": "2026-10-14T10:00:00Z"}}"#
        )
        try feed.event(
            ActivityEvent.self, "ActivityCancelled",
            #"{"id": "a-2", "reason": "ill", "activity": {"id": "a-2", "kind": "call", "ownerId": "m3", "counterpartyId": "c4", "startsAt": "2026-10-14T10:00:00Z"}}"#
        )
        try feed.event(
            ActivityEvent.self, "ActivityCompleted",
            #"{"id": "a-3", "completedAt": "2026-10-14T11:00:00Z", "activity": {"id": "a-3", "kind": "task", "ownerId": "m2", "startsAt": "2026-10-14T10:00:00Z"}}"#
        )
        // Completeness of m1's counterparties: k1 has 3 of 9 items (33 %), k2 1 of 9 (11 %): mean 22.
        try feed.event(
            CounterpartyEvent.registered(
                CounterpartyRecord(
                    id: "k1", kind: .organization, roles: [.customer], legalName: "K1", taxId: "7701234567", phones: ["+74951234567"],
                    responsibleManagerId: "m1")))
        try feed.event(
            CounterpartyEvent.registered(
                CounterpartyRecord(id: "k2", kind: .organization, roles: [.customer], legalName: "K2", responsibleManagerId: "m1")))
        // A campaign costing 100 + 50, and four inquiries in October.
        try feed.event(CampaignEvent.self, "CampaignDefined", #"{"id": "cmp-1", "name": "Autumn mail", "channel": "email"}"#)
        try feed.event(CampaignEvent.self, "CampaignCostRecorded", #"{"id": "cmp-1", "amount": "100"}"#)
        try feed.event(CampaignEvent.self, "CampaignCostRecorded", #"{"id": "cmp-1", "amount": "50"}"#)
        for (id, day, campaign, counterparty, channel) in [
            ("q-1", "02", "cmp-1", "c3", "email"), ("q-2", "03", "cmp-1", "c9", "email"), ("q-4", "04", "cmp-1", "c1", "email"),
        ] {
            try feed.event(
                InquiryEvent.self, "InquiryRegistered",
                #"{"id": "\#(id)", "receivedAt": "2026-10-\#(day)T09:00:00Z", "channel": "\#(channel)", "campaignId": "\#(campaign)", "counterpartyId": "\#(counterparty)", "managerId": "m1"}"#
            )
        }
        try feed.event(
            InquiryEvent.self, "InquiryRegistered",
            #"{"id": "q-3", "receivedAt": "2026-10-01T09:00:00Z", "channel": "visit", "source": "fair", "counterpartyId": "c4"}"#)
        return feed
    }

    @Test func scorecardRanksManagersOnTheIndicators() async throws {
        try await withService(AnalyticsService.self) { service in
            try await service.feed(try Self.feed())
            let card = try object(try await service.client.send(.get, "/managers/scorecard?from=2026-10-01&to=2026-10-31"))
            let items = Dictionary(uniqueKeysWithValues: (card["items"] as? [[String: Any]] ?? []).map { ($0["managerId"] as! String, $0) })
            let m1 = try #require(items["m1"])
            #expect(m1["name"] as? String == "Ivan")
            #expect(m1["salesVolume"] as? String == "150" && m1["grossProfit"] as? String == "80" && m1["ordersFulfilled"] as? Int == 2)
            #expect(m1["cohortClients"] as? Int == 2 && m1["retainedClients"] as? Int == 1 && m1["retentionRate"] as? Double == 50)
            #expect(m1["contactsWithBuyers"] as? Int == 2)
            #expect(m1["completeness"] as? Double == 22 && m1["counterparties"] as? Int == 2)
            let m2 = try #require(items["m2"])
            #expect(m2["salesVolume"] as? String == "300" && m2["retentionRate"] is NSNull && m2["contactsWithBuyers"] as? Int == 2)
            #expect((m2["ranks"] as? [String: Int])?["salesVolume"] == 1 && (m1["ranks"] as? [String: Int])?["salesVolume"] == 2)
            #expect((m1["ranks"] as? [String: Int])?["retentionRate"] == 1, "a manager without a cohort ranks after one with")
            let totals = card["totals"] as? [String: Any]
            #expect(totals?["salesVolume"] as? String == "450" && totals?["ordersFulfilled"] as? Int == 3)
            let overall = (card["items"] as? [[String: Any]] ?? []).map { $0["overallRank"] as? Int }
            #expect(overall == [1, 2, 3, 4])

            let team = try object(try await service.client.send(.get, "/managers/scorecard?from=2026-10-01&to=2026-10-31&supervisorId=S-1"))
            #expect(Set((team["items"] as? [[String: Any]] ?? []).compactMap { $0["managerId"] as? String }) == ["m1", "m2"])
            let one = try object(try await service.client.send(.get, "/managers/scorecard?from=2026-10-01&to=2026-10-31&managerId=m3"))
            #expect((one["items"] as? [[String: Any]])?.count == 1)
            let csv = try await service.client.send(
                .get, "/managers/scorecard?from=2026-10-01&to=2026-10-31&managerId=m1", headers: [.accept: "text/csv"])
            #expect(String(buffer: csv.body).contains("\r\nm1,Ivan,150,80,2,50.0,1,2,2,22,"))

            // c2 merged into c1: m1's September clients are one client, bought again in October.
            var merge = TopicFeed()
            try merge.event(CounterpartyEvent.merged(CounterpartyMerge(mergedId: "c2", survivorId: "c1")))
            try await service.feed(merge)
            let merged = try object(
                try await service.client.send(.get, "/managers/scorecard?from=2026-10-01&to=2026-10-31&managerId=m1"))
            let m1Merged = (merged["items"] as? [[String: Any]])?.first
            #expect(m1Merged?["cohortClients"] as? Int == 1 && m1Merged?["retainedClients"] as? Int == 1)

            // Ids longer than 15 bytes are counted by number, each period numbering its own: m3 sold
            // to two such clients in September and to one of them again in October.
            var long = TopicFeed()
            long.sale("o-6", customer: "a-customer-with-a-long-id-1", on: "2026-09-10", amount: "5", manager: "m3")
            long.sale("o-7", customer: "a-customer-with-a-long-id-2", on: "2026-09-11", amount: "5", manager: "m3")
            long.sale("o-8", customer: "a-customer-with-a-long-id-2", on: "2026-10-11", amount: "5", manager: "m3")
            try await service.feed(long)
            let m3 = try object(try await service.client.send(.get, "/managers/scorecard?from=2026-10-01&to=2026-10-31&managerId=m3"))
            let m3Item = (m3["items"] as? [[String: Any]])?.first
            #expect(m3Item?["cohortClients"] as? Int == 2 && m3Item?["retainedClients"] as? Int == 1)
        }
    }

    /// Completeness is kept per counterparty as its record, its persons and its merges change; each
    /// step's figures by hand (a counterparty's percent is whole: 3 of 9 items is 33).
    @Test func completenessFollowsContactPersonsAndMerges() async throws {
        try await withService(AnalyticsService.self) { service in
            try await service.feed(try Self.feed())
            func m1() async throws -> (completeness: Double?, counterparties: Int?) {
                let card = try object(
                    try await service.client.send(.get, "/managers/scorecard?from=2026-10-01&to=2026-10-31&managerId=m1"))
                let item = (card["items"] as? [[String: Any]])?.first
                return (item?["completeness"] as? Double, item?["counterparties"] as? Int)
            }
            func step(_ events: [CounterpartyEvent]) async throws {
                var feed = TopicFeed()
                for event in events { try feed.event(event) }
                try await service.feed(feed)
            }
            #expect(try await m1() == (22, 2))  // k1 33, k2 11

            // A reachable person with a birthday gives k2 three more items: 44.
            let p1 = ContactPerson(id: "p1", counterpartyId: "k2", name: "Pavel", phones: ["+79001112233"], birthday: "1980-02-03")
            try await step([.contactPersonAdded(p1)])
            #expect(try await m1() == (38.5, 2))

            // k4 (m1's too), with a reachable person, merged into k1: k1 gains two items (56); k4 is
            // merged away and counts no more.
            try await step([
                .registered(
                    CounterpartyRecord(id: "k4", kind: .organization, roles: [.customer], legalName: "K4", responsibleManagerId: "m1")),
                .contactPersonAdded(ContactPerson(id: "p2", counterpartyId: "k4", name: "Vera", emails: ["vera@k4.example"])),
                .merged(CounterpartyMerge(mergedId: "k4", survivorId: "k1")),
            ])
            #expect(try await m1() == (50, 2))

            // p1 moves from k2 to k1: k2 is back to 11, k1 has a birthday too (67).
            var moved = p1
            moved.counterpartyId = "k1"
            try await step([.contactPersonUpdated(moved)])
            #expect(try await m1() == (39, 2))

            // p1 removed: k1 56 again.
            try await step([.contactPersonRemoved(ContactPersonReference(id: "p1", counterpartyId: "k1"))])
            #expect(try await m1() == (33.5, 2))

            // The merge undone: k1 33, and k4 counts again with its own person (33).
            try await step([.mergeUndone(CounterpartyMerge(mergedId: "k4", survivorId: "k1"))])
            #expect(try await m1() == (25.7, 3))

            // Merged again, with a person moved to k2: a rebuild (a bulk load, which computes every
            // client's completeness in one pass at its end) gives what the batches kept.
            var p3 = ContactPerson(id: "p3", counterpartyId: "k4", name: "Ilya", phones: ["+79004445566"], birthday: "1990-01-01")
            try await step([.contactPersonAdded(p3), .merged(CounterpartyMerge(mergedId: "k4", survivorId: "k1"))])
            p3.counterpartyId = "k2"
            try await step([.contactPersonUpdated(p3)])
            let (served, dumped, _) = try await service.dumpsServedAndRebuilt(settings: AnalyticsSettings())
            #expect(dumped == served, "a rebuilt store dumps identically")
            #expect(served.contains { $0.contains(#""completeness":44"#) && $0.contains(#""id":"k2""#) }, "k2 gained p3's three items")
        }
    }

    @Test func campaignsAndInquiriesConvertOnTheirCohort() async throws {
        try await withService(AnalyticsService.self) { service in
            try await service.feed(try Self.feed())
            let report = try object(try await service.client.send(.get, "/campaigns/effectiveness?from=2026-10-01&to=2026-10-31"))
            let rows = report["items"] as? [[String: Any]] ?? []
            let campaign = try #require(rows.first { $0["campaignId"] as? String == "cmp-1" })
            // q-1 converted (c3's first sale 3 days later); q-2 never bought; q-4's client bought before.
            #expect(campaign["name"] as? String == "Autumn mail" && campaign["inquiries"] as? Int == 3)
            #expect(campaign["attractedClients"] as? Int == 1 && campaign["conversionPercent"] as? Double == 33.333333)
            #expect(campaign["medianDaysToFirstSale"] as? Double == 3)
            #expect(
                campaign["revenue"] as? String == "50" && campaign["grossProfit"] as? String == "40" && campaign["cost"] as? String == "150"
            )
            #expect(campaign["costPerInquiry"] as? String == "50" && campaign["costPerAttractedClient"] as? String == "150")
            #expect(campaign["roiPercent"] as? String == "-73.3333" && campaign["roas"] as? String == "0.3333")
            let fair = try #require(rows.first { $0["source"] as? String == "fair" })
            #expect(
                fair["attractedClients"] as? Int == 1 && fair["revenue"] as? String == "300"
                    && fair["medianDaysToFirstSale"] as? Double == 19)
            #expect(
                fair["cost"] is NSNull && fair["roiPercent"] is NSNull && fair["costPerInquiry"] is NSNull, "no cost: null, never a crash")

            let conversion = try object(
                try await service.client.send(.get, "/inquiries/conversion?from=2026-10-01&to=2026-10-31&groupBy=channel"))
            let channels = Dictionary(
                uniqueKeysWithValues: (conversion["items"] as? [[String: Any]] ?? []).map { ($0["group"] as! String, $0) })
            #expect(channels["email"]?["inquiries"] as? Int == 3 && channels["email"]?["converted"] as? Int == 1)
            #expect(channels["visit"]?["conversionPercent"] as? Double == 100)
            #expect((conversion["total"] as? [String: Any])?["conversionPercent"] as? Double == 50)
            // A horizon of 2 days: c3's first sale came 3 days after its inquiry.
            let short = try object(try await service.client.send(.get, "/inquiries/conversion?from=2026-10-01&to=2026-10-31&horizonDays=2"))
            #expect((short["total"] as? [String: Any])?["converted"] as? Int == 0)
            try expectProblem(try await service.client.send(.get, "/inquiries/conversion?groupBy=colour"), .badRequest)
        }
    }

    @Test func regularClientsPastTheirUsualGapAreAtRisk() async throws {
        try await withService(AnalyticsService.self) { service in
            var feed = TopicFeed()
            // w: a sale every 30 days from 10 Jan to 9 Jun 2026 → median gap 30; 159 days silent by 15 Nov.
            let first = CalendarDate("2026-01-10")!.dayNumber
            for index in 0..<6 {
                feed.sale("w-\(index)", customer: "w", on: CalendarDate(dayNumber: first + 30 * index).description, amount: "100")
            }
            // v: 20 Sep and 10 Oct → gap 20; 36 days silent: not past 2 × 20.
            feed.sale("v-1", customer: "v", on: "2026-09-20", amount: "5000")
            feed.sale("v-2", customer: "v", on: "2026-10-10", amount: "5000")
            try await service.feed(feed)
            let report = try object(try await service.client.send(.get, "/clients/at-risk?asOf=2026-11-15"))
            let items = report["items"] as? [[String: Any]] ?? []
            #expect(items.count == 1 && items.first?["clientId"] as? String == "w")
            #expect(items.first?["daysSinceLastSale"] as? Int == 159 && items.first?["medianGapDays"] as? Double == 30)
            #expect(items.first?["revenueAtRisk"] as? String == "600")
            let tighter = try object(try await service.client.send(.get, "/clients/at-risk?asOf=2026-11-15&factor=1.5"))
            #expect(
                (tighter["items"] as? [[String: Any]])?.compactMap { $0["clientId"] as? String } == ["v", "w"], "largest revenue first")
            try expectProblem(try await service.client.send(.get, "/clients/at-risk?factor=-1"), .badRequest)
        }
    }
}
