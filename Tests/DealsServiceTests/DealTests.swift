import DealsService
import EventStore
import Foundation
import GRDB
import HummingbirdTesting
import Kafka
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

/// Staff and counterparties as the contacts service publishes them: what deals may name.
func contactsFeed(counterparties: [String] = ["c1", "c2", "c3"]) throws -> TopicFeed {
    var feed = TopicFeed()
    for member in [
        StaffMember(id: "boss", name: "Olga Head"), StaffMember(id: "m1", name: "Ivan", supervisorId: "boss"),
        StaffMember(id: "m2", name: "Anna", supervisorId: "m1"), StaffMember(id: "m3", name: "Petr"),
    ] {
        try feed.event(StaffEvent.registered(member))
    }
    for id in counterparties {
        try feed.event(
            CounterpartyEvent.registered(CounterpartyRecord(id: id, kind: .organization, roles: [.customer], legalName: "\(id) LLC")))
    }
    return feed
}

@Suite(.serialized) struct DealTests {
    static func deal(
        _ id: String, owner: String = "m1", amount: String = "1000", stage: String? = nil, close: String = "2026-12-20",
        counterparty: String = "c1"
    ) -> String {
        #"{"id": "\#(id)", "counterpartyId": "\#(counterparty)", "title": "Deal \#(id)", "expectedAmount": "\#(amount)", "currency": "EUR", "expectedCloseDate": "\#(close)", "ownerId": "\#(owner)""#
            + (stage.map { #", "stage": "\#($0)""# } ?? "") + "}"
    }

    @Test func aDealGoesThroughEveryStageAndIsWonByTheERPOrderCarryingItsId() async throws {
        try await withService(DealsService.self) { service in
            try await service.feed(try contactsFeed())
            let client = service.client
            try expectProblem(
                try await client.send(.post, "/deals", Self.deal("d1", counterparty: "nobody")), .unprocessableContent,
                containing: "counterpartyId")
            try expectProblem(
                try await client.send(.post, "/deals", Self.deal("d1", owner: "ghost")), .unprocessableContent, containing: "ownerId")
            try expectProblem(
                try await client.send(.post, "/deals", Self.deal("d1", stage: "won")), .unprocessableContent,
                containing: "not an open stage")

            let opened = try await client.created("/deals", Self.deal("d1"))
            #expect(opened["stage"] as? String == "qualification" && opened["probability"] as? Int == 10)
            for stage in ["needs-analysis", "proposal", "negotiation"] {
                let moved = try object(try await client.send(.post, "/deals/d1/stage", #"{"stage": "\#(stage)"}"#))
                #expect(moved["stage"] as? String == stage)
            }
            try expectProblem(
                try await client.send(.post, "/deals/d1/stage", #"{"stage": "won"}"#), .unprocessableContent, containing: "close")
            let stale = try await client.send(.patch, "/deals/d1", #"{"nextStep": "call"}"#, headers: jsonHeaders + [.ifMatch: "\"1\""])
            try expectProblem(stale, .preconditionFailed)
            let patched = try object(
                try await client.send(
                    .patch, "/deals/d1", #"{"nextStep": "send the contract"}"#, headers: jsonHeaders + [.ifMatch: "\"4\""]))
            #expect(patched["nextStep"] as? String == "send the contract" && patched["version"] as? Int == 5)

            // The ERP completes an order naming the deal: the deal is won with the order's amount, by the ERP.
            var erp = TopicFeed()
            erp.order(
                "OrderPlaced", "o-1", customer: "c1", at: "2026-12-01T10:00:00Z", lines: [("2", "600.50", nil)], dealId: "d1",
                currency: "EUR")
            erp.order("OrderCompleted", "o-1", customer: "c1", at: "2026-12-02T10:00:00Z")
            try await service.feed(erp)
            try await eventually("the deal is won") {
                try object(try await client.send(.get, "/deals/d1"))["stage"] as? String == "won"
            }
            let won = try object(try await client.send(.get, "/deals/d1"))
            let closing = won["closing"] as? [String: Any]
            #expect(closing?["amount"] as? String == "1201" && closing?["wonByOrderId"] as? String == "o-1")
            let history = (won["stageHistory"] as? [[String: Any]] ?? []).map { $0["stage"] as? String ?? "" }
            #expect(history == ["qualification", "needs-analysis", "proposal", "negotiation", "won"])
            #expect((won["stageHistory"] as? [[String: Any]])?.last?["enteredBy"] as? String == "erp")
            #expect((won["orders"] as? [[String: Any]])?.first?["state"] as? String == "completed")
            let orders = try object(try await client.send(.get, "/counterparties/c1/orders?state=completed"))
            #expect((orders["items"] as? [[String: Any]])?.map { $0["id"] as? String } == ["o-1"])

            // Reopened, it returns to its last open stage; lost needs a reason.
            let reopened = try object(try await client.send(.post, "/deals/d1/reopen"))
            #expect(reopened["stage"] as? String == "negotiation" && reopened["closing"] == nil)
            try expectProblem(
                try await client.send(.post, "/deals/d1/close", #"{"outcome": "lost"}"#), .unprocessableContent, containing: "reason")
            let lost = try object(try await client.send(.post, "/deals/d1/close", #"{"outcome": "lost", "reason": "price"}"#))
            #expect(lost["stage"] as? String == "lost" && (lost["closing"] as? [String: Any])?["reason"] as? String == "price")
            try expectProblem(try await client.send(.post, "/deals/d1/close", #"{"outcome": "won"}"#), .conflict)
        }
    }

    @Test func theAnalysisAddsUpWhatTheDealsSay() async throws {
        try await withService(DealsService.self) { service in
            try await service.feed(try contactsFeed())
            let client = service.client
            // (id, owner, amount, stage, expected close)
            let open: [(String, String, Decimal, String, String)] = [
                ("a", "m1", 1000, "qualification", "2026-12-20"), ("b", "m1", Decimal(string: "2500.5")!, "proposal", "2027-01-10"),
                ("c", "m2", 400, "proposal", "2026-11-01"), ("d", "m3", 10000, "negotiation", "2027-01-31"),
            ]
            for (id, owner, amount, stage, close) in open {
                _ = try await client.created("/deals", Self.deal(id, owner: owner, amount: "\(amount)", stage: stage, close: close))
            }
            for (id, owner) in [("w1", "m1"), ("w2", "m2"), ("l1", "m1"), ("l2", "m2"), ("l3", "m2")] {
                _ = try await client.created("/deals", Self.deal(id, owner: owner, amount: "300"))
            }
            _ = try await client.send(.post, "/deals/w1/close", #"{"outcome": "won", "amount": "350"}"#)
            _ = try await client.send(.post, "/deals/w2/close", #"{"outcome": "won"}"#)
            _ = try await client.send(.post, "/deals/l1/close", #"{"outcome": "lost", "reason": "price"}"#)
            _ = try await client.send(.post, "/deals/l2/close", #"{"outcome": "lost", "reason": "price"}"#)
            _ = try await client.send(.post, "/deals/l3/close", #"{"outcome": "lost", "reason": "went silent"}"#)

            let asOf = CalendarDate(utc: Date()).description
            let report = try object(try await client.send(.get, "/deals/analysis?asOf=\(asOf)"))
            let probability = ["qualification": 10, "needs-analysis": 25, "proposal": 50, "negotiation": 75]
            var expected: [String: (Int, Decimal, Decimal)] = [:]
            for (_, _, amount, stage, _) in open {
                let current = expected[stage] ?? (0, 0, 0)
                expected[stage] = (current.0 + 1, current.1 + amount, current.2 + amount * Decimal(probability[stage]!) / 100)
            }
            for entry in report["byStage"] as? [[String: Any]] ?? [] {
                let stage = entry["stage"] as! String
                let (count, amount, weighted) = expected[stage] ?? (0, 0, 0)
                #expect(entry["count"] as? Int == count, "\(stage)")
                #expect(Decimal(string: (entry["amount"] as? [String: String])?["EUR"] ?? "0") == amount, "\(stage)")
                #expect(Decimal(string: (entry["weightedAmount"] as? [String: String])?["EUR"] ?? "0") == weighted, "\(stage)")
            }
            #expect(report["won"] as? Int == 2 && report["lost"] as? Int == 3)
            #expect(Decimal(string: "\(report["winRate"]!)") == Decimal(string: "0.4"))
            #expect((report["wonAmount"] as? [String: String])?["EUR"] == "650")
            let reasons = (report["lostReasons"] as? [[String: Any]] ?? []).map { "\($0["reason"]!)=\($0["count"]!)" }
            #expect(reasons == ["price=2", "went silent=1"])
            #expect((report["overdue"] as? [String: Any])?["count"] as? Int == 1, "c closes in the past")

            // m1's team is m2: only m2's deals.
            let team = try object(try await client.send(.get, "/deals/analysis?supervisorId=m1"))
            #expect(team["ownerIds"] as? [String] == ["m2"])
            #expect(team["won"] as? Int == 1 && team["lost"] as? Int == 2)
            #expect(((team["byOwner"] as? [[String: Any]])?.map { $0["ownerId"] as? String }) == ["m2"])

            // Before today nothing had closed yet (the closed figures then come from the deals themselves).
            let yesterday = CalendarDate(dayNumber: CalendarDate(utc: Date()).dayNumber - 1).description
            let before = try object(try await client.send(.get, "/deals/analysis?asOf=\(yesterday)"))
            #expect(before["won"] as? Int == 0 && before["lost"] as? Int == 0 && (before["lostReasons"] as? [Any])?.isEmpty == true)
            #expect((before["open"] as? [String: Any])?["count"] as? Int == 4)

            // Live: a change shows as soon as its command has answered.
            _ = try await client.send(.post, "/deals/a/stage", #"{"stage": "negotiation"}"#)
            let after = try object(try await client.send(.get, "/deals/analysis"))
            let negotiation = (after["byStage"] as? [[String: Any]])?.first { $0["stage"] as? String == "negotiation" }
            #expect(negotiation?["count"] as? Int == 2)
            _ = try await client.send(.post, "/deals/l1/reopen")
            _ = try await client.send(.patch, "/deals/w2", #"{"ownerId": "m3"}"#)
            try await Self.expectTotalsMatchTheDeals(service)
        }
    }

    static func values(_ row: Row) -> String { row.databaseValues.map(\.description).joined(separator: ", ") }

    /// The totals the projection keeps equal the sums over the deals themselves.
    static func expectTotalsMatchTheDeals(_ service: ServiceUnderTest<DealsService>, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let (kept, summed) = try await service.host.store.database.read { db in
            (
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT stage, owner_id, currency, month, deals, amount_high * 100000000 + amount_low,
                            weighted_high * 100000000 + weighted_low FROM deal_open_totals ORDER BY 1, 2, 3, 4
                        """
                ).map(Self.values)
                    + (try Row.fetchAll(
                        db,
                        sql: """
                            SELECT outcome, owner_id, currency, reason, deals, amount_high * 100000000 + amount_low, cycle_seconds
                            FROM deal_closed_totals ORDER BY 1, 2, 3, 4
                            """
                    ).map(Self.values))
                    + (try Row.fetchAll(db, sql: "SELECT kind, day, owner_id, deals FROM deal_open_days ORDER BY 1, 2, 3").map(Self.values)),
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT stage, owner_id, currency, substr(expected_close_date, 1, 7), COUNT(*), SUM(amount_minor),
                            SUM(amount_minor * probability) FROM deal WHERE open = 1 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
                        """
                ).map(Self.values)
                    + (try Row.fetchAll(
                        db,
                        sql: """
                            SELECT outcome, owner_id, currency, COALESCE(close_reason, ''), COUNT(*), COALESCE(SUM(closed_amount_minor), 0),
                                SUM(cycle_seconds) FROM deal WHERE open = 0 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
                            """
                    ).map(Self.values))
                    + (try Row.fetchAll(
                        db,
                        sql: """
                            SELECT 'change', substr(updated_at, 1, 10), owner_id, COUNT(*) FROM deal WHERE open = 1 GROUP BY 2, 3
                            UNION ALL
                            SELECT 'close', expected_close_date, owner_id, COUNT(*) FROM deal WHERE open = 1 GROUP BY 2, 3
                            ORDER BY 1, 2, 3
                            """
                    ).map(Self.values))
            )
        }
        #expect(kept == summed, sourceLocation: sourceLocation)
        #expect(!kept.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func campaignsInquiriesAndTheirResults() async throws {
        try await withService(DealsService.self) { service in
            try await service.feed(try contactsFeed())
            let client = service.client
            try expectProblem(
                try await client.send(
                    .post, "/campaigns",
                    #"{"name": "X", "channel": "web", "startsOn": "2026-12-10", "endsOn": "2026-12-01", "budget": "10", "currency": "EUR"}"#
                ),
                .unprocessableContent, containing: "endsOn")
            _ = try await client.created(
                "/campaigns",
                #"{"id": "winter", "name": "Winter mailing", "channel": "email", "startsOn": "2026-12-01", "endsOn": "2026-12-31", "budget": "5000", "currency": "EUR"}"#
            )
            _ = try await client.send(.post, "/campaigns/winter/costs", #"{"amount": "1200.25", "incurredOn": "2026-12-02"}"#)
            let costed = try object(try await client.send(.post, "/campaigns/winter/costs", #"{"amount": "99.75", "note": "print"}"#))
            #expect(costed["costToDate"] as? String == "1300" && costed["budgetRemaining"] as? String == "3700")
            try expectProblem(
                try await client.send(.post, "/campaigns/winter/costs", #"{"amount": "1", "currency": "USD"}"#), .unprocessableContent,
                containing: "currency")

            try expectProblem(
                try await client.send(.post, "/inquiries", #"{"channel": "call", "subject": "prices", "managerId": "m1"}"#),
                .unprocessableContent, containing: "counterpartyId or prospect")
            let prospect = try await client.created(
                "/inquiries",
                #"{"id": "i1", "channel": "email", "campaignId": "winter", "subject": "bulk prices", "managerId": "m1", "prospect": {"name": "Petrov", "company": "New Co", "email": "p@new.example"}}"#
            )
            #expect(prospect["prospectName"] as? String == "Petrov")
            _ = try await client.created(
                "/inquiries", #"{"id": "i2", "channel": "call", "subject": "delivery", "managerId": "m2", "counterpartyId": "c2"}"#)
            #expect(try await client.ids("/inquiries?linked=false") == ["i1"])
            try expectProblem(
                try await client.send(.post, "/inquiries/i1/link", #"{"counterpartyId": "nobody"}"#), .unprocessableContent,
                containing: "counterpartyId")
            let linked = try object(try await client.send(.post, "/inquiries/i1/link", #"{"counterpartyId": "c3"}"#))
            #expect(linked["counterpartyId"] as? String == "c3")
            #expect(try await client.ids("/inquiries?campaignId=winter&linked=true") == ["i1"])

            // A deal from the inquiry takes its campaign; won, it counts for the campaign.
            let deal = try await client.created(
                "/deals",
                #"{"id": "d-w", "counterpartyId": "c3", "title": "Bulk", "expectedAmount": "800", "currency": "EUR", "expectedCloseDate": "2026-12-30", "ownerId": "m1", "inquiryId": "i1"}"#
            )
            #expect(deal["campaignId"] as? String == "winter")
            _ = try await client.send(.post, "/deals/d-w/close", #"{"outcome": "won", "amount": "820"}"#)
            let campaign = try object(try await client.send(.get, "/campaigns/winter"))
            #expect(campaign["inquiries"] as? Int == 1 && campaign["deals"] as? Int == 1 && campaign["dealsWon"] as? Int == 1)
            #expect((campaign["wonAmount"] as? [String: String])?["EUR"] == "820")
        }
    }

    @Test func aRebuildDumpsIdentically() async throws {
        try await withService(DealsService.self) { service in
            try await service.feed(try contactsFeed())
            let client = service.client
            _ = try await client.created("/deals", Self.deal("r1"))
            _ = try await client.send(.post, "/deals/r1/stage", #"{"stage": "proposal"}"#)
            _ = try await client.send(.post, "/deals/r1/close", #"{"outcome": "lost", "reason": "timing"}"#)
            _ = try await client.created(
                "/campaigns",
                #"{"id": "k", "name": "K", "channel": "web", "startsOn": "2026-12-01", "endsOn": "2026-12-31", "budget": "1", "currency": "EUR"}"#
            )
            _ = try await client.send(
                .put, "/pipeline",
                #"{"stages": [{"id": "lead", "name": "Lead", "probability": 5}, {"id": "proposal", "name": "Proposal", "probability": 40}]}"#
            )

            let (served, dumped, _) = try await service.dumpsServedAndRebuilt(settings: NoSettings())
            #expect(dumped == served, "a rebuilt store dumps identically")
            #expect(dumped.contains { $0.hasPrefix(#"{"deal""#) })
        }
    }

    @Test func aPipelineCannotDropAStageOpenDealsAreAt() async throws {
        try await withService(DealsService.self) { service in
            try await service.feed(try contactsFeed())
            _ = try await service.client.created("/deals", Self.deal("p1", stage: "proposal"))
            try expectProblem(
                try await service.client.send(.put, "/pipeline", #"{"stages": [{"id": "lead", "name": "Lead", "probability": 5}]}"#),
                .conflict, containing: "proposal (1 open deals)")
            try expectProblem(
                try await service.client.send(.put, "/pipeline", #"{"stages": [{"id": "won", "name": "Won", "probability": 100}]}"#),
                .unprocessableContent, containing: "terminal")
        }
    }
}
