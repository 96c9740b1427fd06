import DealsService
import EventStore
import Foundation
import HummingbirdTesting
import Kafka
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

@Suite(.serialized) struct SalesConditionsTests {
    static func classified(
        _ feed: inout TopicFeed, _ clientId: String, _ abc: String?, _ xyz: String?, _ status: ClientClassification.Status
    ) throws {
        try feed.event(
            SegmentEvent.clientClassified(
                ClientClassification(
                    clientId: clientId, runId: "run-1", asOf: CalendarDate("2026-12-01")!, abcClass: abc, xyzClass: xyz, status: status,
                    previousAbcClass: nil, previousXyzClass: nil, previousStatus: nil, parameters: nil)))
    }

    /// Every `SalesConditionsAssigned` on the topic so far, oldest first per client.
    static func assigned(_ service: ServiceUnderTest<DealsService>) async throws -> [String: [SalesConditions]] {
        let history = try await service.host.store.database.read { db in
            try String.fetchAll(db, sql: "SELECT record FROM conditions_history ORDER BY client_id, assigned_at, event_id")
        }
        var byClient: [String: [SalesConditions]] = [:]
        for text in history {
            let conditions = try WireDecoder.decode(SalesConditions.self, from: Array(text.utf8))
            byClient[conditions.clientId, default: []].append(conditions)
        }
        return byClient
    }

    static let rules = """
        {"rules": [
            {"match": {"abcClass": "A", "status": "regular"}, "conditions": {"priceType": "wholesale", "discountPercent": "7.5", "deferralDays": 30, "reservationAllowed": true, "reservationDays": 10, "creditLimit": "500000"}},
            {"match": {"abcClass": ["A", "B"]}, "conditions": {"priceType": "wholesale", "discountPercent": 3, "prepaymentPercent": 50}},
            {"match": {"status": "lost"}, "conditions": {"priceType": "retail", "prepaymentPercent": 100}}
         ],
         "default": {"priceType": "retail", "prepaymentPercent": 100}}
        """

    @Test func conditionsFollowTheRulesOverridesAndRuleChanges() async throws {
        try await withService(DealsService.self) { service in
            var feed = try contactsFeed(counterparties: ["a1", "b1"])
            try Self.classified(&feed, "a1", "A", "X", .regular)
            try Self.classified(&feed, "a2", "A", "Z", .oneTime)  // classified before its counterparty exists
            try Self.classified(&feed, "b1", "B", "Y", .regular)
            try Self.classified(&feed, "c1", "C", "Z", .lost)
            try Self.classified(&feed, "c2", "C", nil, .potential)
            try await service.feed(feed)
            let client = service.client
            try expectProblem(try await client.send(.get, "/clients/a1/sales-conditions"), .notFound, containing: "no rules")

            // A rule no client can reach is refused, saying which rule shadows it.
            try expectProblem(
                try await client.send(
                    .put, "/sales-conditions/rules",
                    #"{"rules": [{"match": {}, "conditions": {"priceType": "x"}}, {"match": {"abcClass": "A"}, "conditions": {"priceType": "y"}}], "default": {"priceType": "z"}}"#
                ),
                .unprocessableContent, containing: "rules[1] can never apply")
            try expectProblem(
                try await client.send(
                    .put, "/sales-conditions/rules",
                    #"{"rules": [{"match": {"abcClass": "D"}, "conditions": {"priceType": "x"}}], "default": {"priceType": "z"}}"#),
                .unprocessableContent, containing: "'D'")

            let set = try await client.send(.put, "/sales-conditions/rules", Self.rules)
            #expect(set.status == .ok)
            let expected: [String: (String, Int?)] = [
                "a1": ("wholesale", 0), "a2": ("wholesale", 1), "b1": ("wholesale", 1), "c1": ("retail", 2), "c2": ("retail", nil),
            ]
            try await eventually("every classified client has conditions") { try await Self.assigned(service).count == 5 }
            var assigned = try await Self.assigned(service)
            for (clientId, (priceType, ruleIndex)) in expected {
                let latest = try #require(assigned[clientId]?.last)
                #expect(latest.priceType == priceType && latest.ruleIndex == ruleIndex, "\(clientId)")
                #expect(latest.source == (ruleIndex == nil ? .default : .rule), "\(clientId)")
            }
            #expect(assigned["a1"]?.last?.discountPercent == Amount(Decimal(string: "7.5")!))
            #expect(assigned["a1"]?.last?.rank == "AX-regular")
            let a1 = try object(try await client.send(.get, "/clients/a1/sales-conditions"))
            #expect(a1["published"] as? Bool == true && a1["source"] as? String == "rule" && a1["since"] is String)

            // Only the clients whose conditions change get new ones: B loses its discount; a1's rule is
            // re-ordered but says the same.
            let changed = Self.rules.replacingOccurrences(of: #"["A", "B"]"#, with: #""A""#)
            _ = try await client.send(.put, "/sales-conditions/rules", changed)
            try await eventually("b1 gets the default") { try await Self.assigned(service)["b1"]?.count == 2 }
            try await Task.sleep(for: .milliseconds(600))
            assigned = try await Self.assigned(service)
            #expect(assigned.mapValues(\.count) == ["a1": 1, "a2": 1, "b1": 2, "c1": 1, "c2": 1])
            #expect(assigned["b1"]?.last?.source == .default)

            // An override wins until it ends, then the rules' conditions return by themselves.
            // Long enough to be published before it ends on a machine busy with every other suite.
            let until = Timestamp.format(Date().addingTimeInterval(8))
            let override = try await client.send(
                .put, "/clients/c1/sales-conditions/override",
                #"{"conditions": {"priceType": "wholesale", "deferralDays": 14}, "until": "\#(until)", "reason": "new contract"}"#)
            #expect(override.status == .ok)
            try await eventually("c1 has the override") { try await Self.assigned(service)["c1"]?.last?.source == .override }
            #expect(try await Self.assigned(service)["c1"]?.last?.deferralDays == 14)
            try await eventually("the override ends") { try await Self.assigned(service)["c1"]?.last?.source == .rule }
            #expect(try await Self.assigned(service)["c1"]?.map(\.priceType) == ["retail", "wholesale", "retail"])
            let history = try object(try await client.send(.get, "/clients/c1/sales-conditions/history"))
            #expect((history["items"] as? [[String: Any]])?.count == 3)
            try expectProblem(try await client.send(.delete, "/clients/c1/sales-conditions/override/x"), .notFound)

            // A new classification moves a client to other conditions; the same one sends nothing.
            var reclassified = TopicFeed()
            try Self.classified(&reclassified, "c2", "A", "X", .regular)
            try Self.classified(&reclassified, "a2", "A", "Y", .oneTime)
            try await service.feed(reclassified)
            try await eventually("c2 is wholesale") { try await Self.assigned(service)["c2"]?.last?.priceType == "wholesale" }
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await Self.assigned(service)["a2"]?.count == 1, "a new rank with the same conditions sends nothing")

            // An override removed before it ends gives the rules' conditions back at once.
            _ = try await client.send(
                .put, "/clients/b1/sales-conditions/override",
                #"{"conditions": {"priceType": "vip"}, "until": "2030-01-01T00:00:00Z", "reason": "key account"}"#)
            try await eventually("b1 is vip") { try await Self.assigned(service)["b1"]?.last?.priceType == "vip" }
            let removed = try await client.send(.delete, "/clients/b1/sales-conditions/override")
            #expect(removed.status == .noContent)
            try await eventually("b1 is back to the default") { try await Self.assigned(service)["b1"]?.last?.source == .default }
            try expectProblem(try await client.send(.delete, "/clients/b1/sales-conditions/override"), .notFound)
            try expectProblem(try await client.send(.get, "/clients/b1/sales-conditions?asOf=2020-01-01"), .notFound)
        }
    }
}
