import AnalyticsService
import Foundation
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

// Reference cases computed by hand. As of 2026-11-15 with 12 months, the window is 2025-11-01 …
// 2026-10-31.

@Suite(.serialized) struct ClassificationReferenceTests {
    /// Five buying clients with revenue a 600, e 200, t1 100, f 50, t2 50 (total 1000), in that
    /// order (f before t2: equal measure, client id decides). Shares before each: a 0 %, e 60 %,
    /// t1 exactly 80 % (so B), f 90 % (B), t2 exactly 95 % (so C).
    static func referenceFeed() throws -> TopicFeed {
        var feed = TopicFeed()
        // a: 50 in each of the 12 months → regular, CV 0 → X.
        for month in 0..<12 {
            let date = CalendarDate(dayNumber: PeriodKind.month.firstDay(ofPeriod: 2025 * 12 + 10 + month) + 9)
            feed.sale("a-\(month)", customer: "a", on: date.description, amount: "50", manager: "m1")
        }
        // The ERP redelivers a's last completion (same eventId): it counts once.
        feed.order("OrderCompleted", "a-11", customer: "a", at: "2026-10-10T15:00:00Z", eventId: "a-11-OrderCompleted-24")
        // e: one sale of 200 → one-time.
        feed.sale("e-1", customer: "e", on: "2026-03-03", amount: "200")
        // t1: two sales of 50 in two months → regular; values 50, 50 and ten zeros → CV > 25 → Z.
        feed.sale("t1-1", customer: "t1", on: "2026-01-05", amount: "50")
        feed.sale("t1-2", customer: "t1", on: "2026-02-05", amount: "50")
        // f and t2: one sale of 50 each (quantity 2 × 25 for f: amounts are exact products).
        feed.order("OrderPlaced", "f-1", customer: "f", at: "2026-04-01T10:00:00Z", lines: [("2", "25", "20")])
        feed.order("OrderCompleted", "f-1", customer: "f", at: "2026-04-02T10:00:00Z")
        feed.sale("t2-1", customer: "t2", on: "2026-05-01", amount: "50")
        // l: sales only before the window → lost.
        feed.sale("l-1", customer: "l", on: "2025-06-01", amount: "999")
        // p: only a cancelled order → potential.
        feed.order("OrderPlaced", "p-1", customer: "p", at: "2026-06-01T10:00:00Z", lines: [("1", "70", nil)])
        feed.order("OrderCancelled", "p-1", customer: "p", at: "2026-06-02T10:00:00Z", reason: "price")
        // r: an order completed, then cancelled after completion → its sale is reversed → potential.
        feed.sale("r-1", customer: "r", on: "2026-07-01", amount: "5000")
        feed.order("OrderCancelled", "r-1", customer: "r", at: "2026-07-20T10:00:00Z", reason: "returned")
        // s: sales only after the window (this month) → not counted as of 2026-11-15.
        feed.sale("s-1", customer: "s", on: "2026-11-02", amount: "10")
        // q: a registered customer with no orders → potential.
        try feed.event(
            CounterpartyEvent.registered(CounterpartyRecord(id: "q", kind: .organization, roles: [.customer], legalName: "Q LLC")))
        return feed
    }

    @Test func abcXyzAndStatusesFollowTheDefinitions() async throws {
        try await withService(AnalyticsService.self) { service in
            try await service.feed(try Self.referenceFeed())
            let run = try await createRun(service.client, #"{"asOf": "2026-11-15"}"#)
            #expect(run["windowStart"] as? String == "2025-11-01" && run["windowEnd"] as? String == "2026-10-31")
            #expect(run["published"] as? Bool == false, "a run for a past date is not published by default")
            let clients = try await runClients(service.client, run["id"] as! String)
            func expectClient(_ id: String, _ abc: String?, _ xyz: String?, _ status: String, measure: String, sales: Int) {
                let client = clients[id]
                #expect(client?["abcClass"] as? String == abc, "\(id) abc")
                #expect(client?["xyzClass"] as? String == xyz, "\(id) xyz")
                #expect(client?["status"] as? String == status, "\(id) status")
                #expect(client?["measure"] as? String == measure, "\(id) measure")
                #expect(client?["sales"] as? Int == sales, "\(id) sales")
            }
            expectClient("a", "A", "X", "regular", measure: "600", sales: 12)
            expectClient("e", "A", nil, "one-time", measure: "200", sales: 1)
            expectClient("t1", "B", "Z", "regular", measure: "100", sales: 2)
            expectClient("f", "B", nil, "one-time", measure: "50", sales: 1)
            expectClient("t2", "C", nil, "one-time", measure: "50", sales: 1)
            expectClient("l", nil, nil, "lost", measure: "0", sales: 0)
            expectClient("p", nil, nil, "potential", measure: "0", sales: 0)
            expectClient("r", nil, nil, "potential", measure: "0", sales: 0)
            expectClient("s", nil, nil, "potential", measure: "0", sales: 0)
            expectClient("q", nil, nil, "potential", measure: "0", sales: 0)
            #expect(clients.count == 10)
            #expect(clients["t1"]?["cumulativeShareBefore"] as? Double == 80)
            #expect(clients["t2"]?["cumulativeShareBefore"] as? Double == 95)
            #expect(clients["a"]?["share"] as? Double == 60 && clients["a"]?["cv"] as? Double == 0)
            #expect(clients["e"]?["cv"] is NSNull, "cv is null unless regular")

            let counts = try #require(run["counts"] as? [String: [String: Int]])
            #expect(counts["abc"] == ["A": 2, "B": 2, "C": 1, "none": 5])
            #expect(counts["status"] == ["regular": 2, "one-time": 3, "lost": 1, "potential": 4])

            // Filters, the matrix and CSV.
            #expect(try await runClients(service.client, run["id"] as! String, query: "&abcClass=B").keys.sorted() == ["f", "t1"])
            #expect(try await runClients(service.client, run["id"] as! String, query: "&managerId=m1").keys.sorted() == ["a"])
            let matrix = try object(try await service.client.send(.get, "/classification-runs/\(run["id"]!)/matrix"))
            let cells = matrix["cells"] as? [[String: Any]] ?? []
            let ax = cells.first { $0["abcClass"] as? String == "A" && $0["xyzClass"] as? String == "X" }
            #expect(ax?["count"] as? Int == 1 && ax?["measure"] as? String == "600")
            #expect(matrix["total"] as? String == "1000")
            let csv = try await service.client.send(
                .get, "/classification-runs/\(run["id"]!)/clients?status=regular", headers: [.accept: "text/csv"])
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let lines = String(buffer: csv.body).split(separator: "\r\n", omittingEmptySubsequences: true)
            #expect(lines.count == 3 && lines[0].hasPrefix("clientId,managerId,abcClass") && lines[1].hasPrefix("a,m1,A,X,regular,600,"))

            // Failures and volume over the same orders.
            let failures = try object(try await service.client.send(.get, "/orders/failures?from=2026-01-01&to=2026-12-31"))
            #expect(failures["failedOrders"] as? Int == 1 && failures["reversedOrders"] as? Int == 1)
            #expect((failures["reasons"] as? [[String: Any]])?.first?["reason"] as? String == "price")
            #expect((failures["reasons"] as? [[String: Any]])?.first?["lostRevenue"] as? String == "70")
            let closed = failures["closedOrders"] as? [String: Any]
            // 2026 sales: a's ten months Jan–Oct (500), e 200, t1 100, f 50 (gross profit 10), t2 50, s 10.
            #expect(closed?["count"] as? Int == 16 && closed?["revenue"] as? String == "910")
            #expect(closed?["grossProfit"] as? String == "870")
            #expect(failures["completionRate"] as? Double == 94.117647)
            let volume = try object(try await service.client.send(.get, "/orders/volume?from=2026-04-01&to=2026-06-30&periodKind=quarter"))
            let quarter = (volume["items"] as? [[String: Any]])?.first
            #expect(quarter?["period"] as? String == "2026-Q2" && quarter?["completedOrders"] as? Int == 5)
            #expect(quarter?["revenue"] as? String == "250" && quarter?["failedOrders"] as? Int == 1)
        }
    }

    /// A bulk load leaves the monthly and daily sums to one pass over the orders at its end: it
    /// must give what the batches kept sale by sale, reversals, redeliveries and refusals included.
    @Test func aBulkLoadComputesTheSumsTheBatchesKeep() async throws {
        try await withService(AnalyticsService.self) { service in
            var feed = try Self.referenceFeed()
            // Two more sales in one month and one day for one customer and manager, one reversed,
            // one with a cost; and an order completed twice (the second is refused and dead-lettered).
            feed.sale("t1-3", customer: "t1", on: "2026-02-20", amount: "12.5", manager: "m1")
            feed.sale("t1-4", customer: "t1", on: "2026-02-20", amount: "0.75", manager: "m1")
            feed.order("OrderCancelled", "t1-4", customer: "t1", at: "2026-02-21T10:00:00Z", reason: "returned")
            feed.order("OrderPlaced", "g-1", customer: "g", at: "2026-02-01T10:00:00Z", lines: [("3", "33.33", "20.1")])
            feed.order("OrderCompleted", "g-1", customer: "g", at: "2026-02-20T11:00:00Z", manager: "m1")
            feed.order("OrderCompleted", "g-1", customer: "g", at: "2026-02-22T11:00:00Z")
            // An order placed again with other lines (the second is no first event: it is read and updated).
            feed.order("OrderPlaced", "g-2", customer: "g", at: "2026-02-03T10:00:00Z", lines: [("1", "10", nil)])
            feed.order("OrderPlaced", "g-2", customer: "g", at: "2026-02-04T10:00:00Z", manager: "m2", lines: [("2", "10.05", "4")])
            feed.order("OrderCompleted", "g-2", customer: "g", at: "2026-02-20T12:00:00Z")
            try await service.feed(feed)
            let (served, rebuilt, report) = try await service.dumpsServedAndRebuilt(settings: AnalyticsSettings(), bulkLoading: true)
            #expect(report.deadLettered == 1)
            #expect(rebuilt == served, "a bulk load dumps what the batches kept")
            #expect(served.contains { $0.contains(#""client_id":"t1""#) && $0.contains(#""revenue":"62.5""#) }, "50 + 12.5 in February")
            #expect(
                served.contains { $0.contains(#""client_id":"g""#) && $0.contains(#""revenue":"120.09""#) },
                "99.99 + 20.1 in February: the second placing's lines count")
        }
    }

    @Test func grossProfitCoefficientsOfExactlyTenAndTwentyFivePercentAndQuarters() async throws {
        try await withService(AnalyticsService.self) { service in
            var feed = TopicFeed()
            // Revenue 200 every month; gross profit alternates 90/110 (x10: CV exactly 10 %) and
            // 75/125 (y25: CV exactly 25 %). By revenue both are flat (CV 0).
            for month in 0..<12 {
                let day = CalendarDate(dayNumber: PeriodKind.month.firstDay(ofPeriod: 2025 * 12 + 10 + month) + 14).description
                feed.sale("x-\(month)", customer: "x10", on: day, amount: "200", cost: month % 2 == 0 ? "110" : "90")
                feed.sale("y-\(month)", customer: "y25", on: day, amount: "200", cost: month % 2 == 0 ? "125" : "75")
            }
            try await service.feed(feed)
            let byProfit = try await createRun(service.client, #"{"asOf": "2026-11-15", "measure": "grossProfit"}"#)
            let clients = try await runClients(service.client, byProfit["id"] as! String)
            #expect(clients["x10"]?["xyzClass"] as? String == "X" && clients["x10"]?["cv"] as? Double == 10)
            #expect(clients["y25"]?["xyzClass"] as? String == "Y" && clients["y25"]?["cv"] as? Double == 25)
            #expect(clients["x10"]?["measure"] as? String == "1200" && clients["y25"]?["measure"] as? String == "1200")
            // Equal measure: x10 first by id (before 0 %), y25 before exactly 50 %: both A.
            #expect(clients["y25"]?["cumulativeShareBefore"] as? Double == 50 && clients["y25"]?["abcClass"] as? String == "A")
            let parameters = byProfit["parameters"] as? [String: Any]
            #expect(parameters?["measure"] as? String == "grossProfit" && parameters?["abcCuts"] as? [Int] == [80, 95])

            // Tighter bands move them: X up to 9 %, Y up to 10 %.
            let tight = try await createRun(service.client, #"{"asOf": "2026-11-15", "measure": "grossProfit", "xyzCuts": [9, 10]}"#)
            let tightClients = try await runClients(service.client, tight["id"] as! String)
            #expect(tightClients["x10"]?["xyzClass"] as? String == "Y" && tightClients["y25"]?["xyzClass"] as? String == "Z")

            // Quarters: as of 2026-11-15 the 4 complete quarters are 2025-Q4 … 2026-Q3; each holds
            // three months of 200 revenue → flat → X.
            let quarters = try await createRun(service.client, #"{"asOf": "2026-11-15", "periodKind": "quarter", "periods": 4}"#)
            #expect(quarters["windowStart"] as? String == "2025-10-01" && quarters["windowEnd"] as? String == "2026-09-30")
            let quarterClients = try await runClients(service.client, quarters["id"] as! String)
            #expect(quarterClients["x10"]?["measure"] as? String == "2200", "Nov 2025 … Sep 2026: eleven months of 200")
            #expect(quarterClients["x10"]?["sales"] as? Int == 11)
            // 2025-Q4 holds only Nov and Dec (400), the others 600: CV = sqrt(((400-550)^2 + 3·50^2)/4)/550.
            #expect(quarterClients["x10"]?["xyzClass"] as? String == "Y")
            // Weeks: the window is 12 ISO weeks before the week of 2026-11-15 (Sunday of week 46).
            let weeks = try await createRun(service.client, #"{"asOf": "2026-11-15", "periodKind": "week"}"#)
            #expect(weeks["windowStart"] as? String == "2026-08-17" && weeks["windowEnd"] as? String == "2026-11-08")
            let weekClients = try await runClients(service.client, weeks["id"] as! String)
            #expect(weekClients["x10"]?["sales"] as? Int == 2, "15 Aug is before the window and 15 Nov after it")
        }
    }

    @Test func badParametersAreNamed() async throws {
        try await withService(AnalyticsService.self) { service in
            for (body, text) in [
                (#"{"measure": "margin"}"#, "measure"), (#"{"periodKind": "year"}"#, "periodKind"), (#"{"periods": 0}"#, "periods"),
                (#"{"oneTimeMax": 0}"#, "oneTimeMax"), (#"{"abcCuts": [95, 80]}"#, "abcCuts"), (#"{"xyzCuts": [10]}"#, "xyzCuts"),
                (#"{"asOf": "2026-02-30"}"#, "asOf"), (#"{"publish": "yes"}"#, "publish"), (#"{"colour": 1}"#, "colour"),
            ] {
                try expectProblem(
                    try await service.client.send(.post, "/classification-runs", body), .unprocessableContent, containing: text)
            }
            try expectProblem(try await service.client.send(.post, "/classification-runs", "{"), .badRequest)
            try expectProblem(try await service.client.send(.get, "/classification-runs/nope"), .notFound)
            try expectProblem(try await service.client.send(.get, "/classification-runs/latest"), .notFound)
            try expectProblem(try await service.client.send(.get, "/orders/failures?from=2026-02-01&to=2026-01-01"), .badRequest)
            #expect(throws: ConfigurationError.self) { try AnalyticsSettings(environment: ["CRM_ANALYTICS_ABC_CUTS": "80"]) }
            #expect(throws: ConfigurationError.self) { try AnalyticsSettings(environment: ["CRM_ANALYTICS_SCHEDULE": "25:00"]) }
            let settings = try AnalyticsSettings(environment: ["CRM_ANALYTICS_PERIODS": "6", "CRM_ANALYTICS_SCHEDULE": "off"])
            #expect(settings.classification.periods == 6 && settings.scheduleMinute == nil)
        }
    }
}
