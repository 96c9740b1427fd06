import AnalyticsService
import EventStore
import Foundation
import HummingbirdTesting
import Kafka
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

@Suite(.serialized) struct ClassificationRunTests {
    /// Records on `crm.segments.v1`, all partitions together.
    func segmentRecords(_ service: ServiceUnderTest<AnalyticsService>) throws -> Int64 {
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(brokers: service.cluster.bootstrapServers), logger: quietLogger)
        defer { consumer.close() }
        let marks = try consumer.watermarks((0..<4).map { TopicPartition(Topics.segments, $0) })
        return marks.values.reduce(0) { $0 + $1.high - $1.low }
    }

    @Test func publishedRunsSendOnlyChangesAndRebuildsRestoreHistoryWithoutPublishing() async throws {
        try await withService(AnalyticsService.self) { service in
            try await service.feed(try ClassificationReferenceTests.referenceFeed())
            let first = try await createRun(service.client, #"{"asOf": "2026-11-15", "publish": true}"#)
            #expect((first["timings"] as? [String: Any])?["segmentsPublished"] as? Int == 10, "the first run sends every client")
            #expect(first["transitions"] as? Int == 0, "a first classification is no transition")
            #expect(try segmentRecords(service) == 10)
            let published = try object(try await service.client.send(.get, "/clients/t1/classification"))
            #expect((published["published"] as? [String: Any])?["abcClass"] as? String == "B")

            let same = try await createRun(service.client, #"{"asOf": "2026-11-15", "publish": true}"#)
            #expect((same["timings"] as? [String: Any])?["segmentsPublished"] as? Int == 0, "nothing changed, nothing sent")

            // e buys again: one-time → regular (and gets an XYZ class); nobody else changes class.
            var more = TopicFeed()
            more.sale("e-2", customer: "e", on: "2026-09-09", amount: "100")
            try await service.feed(more)
            let unpublished = try await createRun(service.client, #"{"asOf": "2026-11-15"}"#)
            #expect((unpublished["timings"] as? [String: Any])?["segmentsPublished"] as? Int == 0)
            #expect(unpublished["transitions"] as? Int == 1, "against the previous published run")
            let third = try await createRun(service.client, #"{"asOf": "2026-11-15", "publish": true}"#)
            #expect((third["timings"] as? [String: Any])?["segmentsPublished"] as? Int == 1)
            #expect(try segmentRecords(service) == 11)
            let transitions = try object(try await service.client.send(.get, "/classification-runs/\(third["id"]!)/transitions"))
            let item = (transitions["items"] as? [[String: Any]])?.first
            #expect(transitions["count"] as? Int == 1 && item?["clientId"] as? String == "e")
            #expect(item?["previousStatus"] as? String == "one-time" && item?["status"] as? String == "regular")
            #expect(item?["transition"] as? String == "none→Z, one-time→regular")

            let history = try object(try await service.client.send(.get, "/clients/e/classification"))
            #expect((history["history"] as? [[String: Any]])?.count == 4)
            #expect(((history["latest"] as? [String: Any])?["result"] as? [String: Any])?["status"] as? String == "regular")
            let runs = try object(try await service.client.send(.get, "/classification-runs?limit=3"))
            let runIds = (runs["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(runIds == [third["id"] as! String, unpublished["id"] as! String, same["id"] as! String], "newest first")
            let latest = try object(try await service.client.send(.get, "/classification-runs/latest?published=true"))
            #expect(latest["id"] as? String == third["id"] as? String)

            // A rebuild restores every run and publishes nothing.
            let (served, dumped, _) = try await service.dumpsServedAndRebuilt(settings: AnalyticsSettings())
            #expect(dumped == served, "a rebuilt store dumps identically")
            #expect(dumped.filter { $0.hasPrefix(#"{"classification_run""#) }.count == 4)
            #expect(try segmentRecords(service) == 11)
        }
    }

    @Test func badAndContradictoryOrderRecordsAreDeadLetteredAndTheServiceMovesOn() async throws {
        try await withService(AnalyticsService.self) { service in
            var feed = TopicFeed()
            feed.raw(Topics.erpOrders, key: "o-1", #"{"eventId": "x", "type": "OrderPlaced""#)
            feed.raw(
                Topics.erpOrders, key: "o-2",
                #"{"eventId":"y","type":"OrderPlaced","occurredAt":"2026-01-01T00:00:00Z","orderId":"o-2","customerId":"c"}"#)
            feed.sale("o-3", customer: "c", on: "2026-01-02", amount: "10")
            feed.order("OrderCompleted", "o-3", customer: "c", at: "2026-01-03T00:00:00Z")
            feed.raw(
                Topics.erpOrders, key: "o-4",
                #"{"eventId":"z","type":"OrderPlaced","occurredAt":"2026-01-01T00:00:00Z","orderId":"o-5","customerId":"c","lines":[{"sku":"s","quantity":1,"price":1}]}"#
            )
            feed.sale("o-6", customer: "c", on: "2026-01-04", amount: "1e1")
            try await service.feed(feed)
            #expect(service.host.projector.status.deadLetterCount == 4, "unparsable, no lines, a second completion, a wrong key")
            let volume = try object(try await service.client.send(.get, "/orders/volume?from=2026-01-01&to=2026-01-31"))
            let january = (volume["items"] as? [[String: Any]])?.first
            #expect(january?["completedOrders"] as? Int == 2 && january?["revenue"] as? String == "20")
        }
    }
}
