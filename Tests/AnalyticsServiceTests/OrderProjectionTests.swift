import AnalyticsService
import Foundation
import TestSupport
import Testing
import WireSchema

@Suite struct OrderProjectionTests {
    /// The rows of `table` in a canonical dump, by the value of `key`.
    func rows(_ dump: [String], _ table: String, by key: String) throws -> [String: [String: Any]] {
        var rows: [String: [String: Any]] = [:]
        for line in dump where line.hasPrefix(#"{"\#(table)":"#) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [String: Any]]
            if let row = object?[table], let id = row[key] as? String { rows[id] = row }
        }
        return rows
    }

    /// Within a batch an order's later events use what its earlier ones wrote, a refusal retries the
    /// batch from the store, and the next batch reads what this one committed. A client's order
    /// manager is that of its latest order event by the ERP's time, whatever order the partitions
    /// were applied in.
    @Test func ordersAndClientsWrittenEarlierInABatchAreWhatItsLaterEventsSee() async throws {
        try await withService(AnalyticsService.self) { service in
            var first = TopicFeed()
            first.order("OrderPlaced", "h-1", customer: "h", at: "2026-03-02T09:00:00Z", manager: "m1", lines: [("2", "10", "6")])
            first.order("OrderCompleted", "h-1", customer: "h", at: "2026-03-02T15:00:00Z", manager: "m2")
            // Another order of the client, on another partition: its completion is the latest event.
            first.order("OrderPlaced", "h-2", customer: "h", at: "2026-03-03T09:00:00Z", lines: [("1", "5", nil)])
            first.order("OrderCompleted", "h-2", customer: "h", at: "2026-03-04T15:00:00Z", manager: "m5")
            // Placed again with new lines after completing (refused: a completed order is not placed again).
            first.order("OrderPlaced", "h-1", customer: "h", at: "2026-03-05T09:00:00Z", lines: [("1", "1", nil)])
            first.order("OrderPlaced", "k-1", customer: "k", at: "2026-03-05T09:00:00Z", manager: "m3", lines: [("1", "7", nil)])
            first.order("OrderPlaced", "k-1", customer: "k", at: "2026-03-05T10:00:00Z", lines: [("1", "8", nil)])
            // Placed for p, then for q (the ERP corrected it): p stays a known client, with m7.
            first.order("OrderPlaced", "p-1", customer: "p", at: "2026-03-06T09:00:00Z", manager: "m7", lines: [("1", "3", nil)])
            first.order("OrderPlaced", "p-1", customer: "q", at: "2026-03-06T10:00:00Z", manager: "m8", lines: [("1", "3", nil)])
            try await service.feed(first)
            #expect(service.host.projector.status.deadLetterCount == 1)

            var second = TopicFeed()
            second.order("OrderCancelled", "h-1", customer: "h", at: "2026-03-10T09:00:00Z", reason: "returned")
            // Applied last but earlier by the ERP's time: not the client's order manager.
            second.order("OrderPlaced", "h-3", customer: "h", at: "2026-02-01T09:00:00Z", manager: "m6", lines: [("1", "1", nil)])
            second.order("OrderCompleted", "k-1", customer: "k", at: "2026-03-10T09:00:00Z", manager: "m4")
            // Earlier by the ERP's time than its placing: the order's manager, not q's order manager.
            second.order("OrderCompleted", "p-1", customer: "q", at: "2026-03-06T08:00:00Z", manager: "m9")
            try await service.feed(second)

            let (served, rebuilt, report) = try await service.dumpsServedAndRebuilt(settings: AnalyticsSettings(), bulkLoading: true)
            #expect(report.deadLettered == 1)
            #expect(rebuilt == served, "a bulk load dumps what the batches kept")
            let orders = try rows(served, "erp_order", by: "id")
            #expect(orders["h-1"]?["state"] as? String == "reversed" && orders["h-1"]?["revenue"] as? String == "20")
            #expect(orders["h-1"]?["manager_id"] as? String == "m2" && orders["h-1"]?["cost"] as? String == "12")
            #expect(orders["h-2"]?["state"] as? String == "completed" && orders["h-2"]?["manager_id"] as? String == "m5")
            #expect(orders["k-1"]?["state"] as? String == "completed" && orders["k-1"]?["revenue"] as? String == "8")
            #expect(orders["k-1"]?["manager_id"] as? String == "m4" && orders["k-1"]?["placed_on"] as? Int != nil)
            let clients = try rows(served, "client", by: "id")
            #expect(clients["h"]?["order_manager_id"] as? String == "m5", "the latest order event that names a manager")
            #expect(clients["k"]?["order_manager_id"] as? String == "m4")
            #expect(clients["p"]?["mentioned"] as? Int == 1 && clients["p"]?["order_manager_id"] as? String == "m7")
            #expect(clients["q"]?["order_manager_id"] as? String == "m8" && orders["p-1"]?["manager_id"] as? String == "m9")
            let months = try rows(served, "client_month", by: "client_id")
            #expect(months["h"]?["revenue"] as? String == "5", "h-1 reversed: only h-2 is a sale of March")
            #expect(months["k"]?["revenue"] as? String == "8")
        }
    }
}
