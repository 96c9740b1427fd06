import AnalyticsService
import EventStore
import Foundation
import HummingbirdTesting
import Kafka
import Platform
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

/// Records for the analytics service's topics, written as the ERP and the other services would.
struct TopicFeed {
    var records: [OutgoingRecord] = []
    private var sequence = 0

    /// An ERP order event; `lines` are (quantity, price, cost) as decimal text.
    mutating func order(
        _ type: String, _ orderId: String, customer: String, at time: String, manager: String? = nil,
        lines: [(String, String, String?)]? = nil, reason: String? = nil, eventId: String? = nil
    ) {
        sequence += 1
        var fields = [
            #""eventId":"\#(eventId ?? "\(orderId)-\(type)-\(sequence)")""#, #""type":"\#(type)""#, #""occurredAt":"\#(time)""#,
            #""orderId":"\#(orderId)""#, #""customerId":"\#(customer)""#,
        ]
        if let manager { fields.append(#""managerId":"\#(manager)""#) }
        if let reason { fields.append(#""reason":"\#(reason)""#) }
        if let lines {
            let items = lines.enumerated().map { index, line in
                #"{"sku":"SKU-\#(index)","quantity":"\#(line.0)","price":"\#(line.1)""# + (line.2.map { #","cost":"\#($0)""# } ?? "") + "}"
            }
            fields.append(#""lines":[\#(items.joined(separator: ","))]"#)
        }
        raw(Topics.erpOrders, key: orderId, "{" + fields.joined(separator: ",") + "}")
    }

    /// An order placed and completed the same day, of one line (revenue `amount`, cost `cost`).
    mutating func sale(_ orderId: String, customer: String, on day: String, amount: String, cost: String? = nil, manager: String? = nil) {
        order("OrderPlaced", orderId, customer: customer, at: "\(day)T09:00:00Z", manager: manager, lines: [("1", amount, cost)])
        order("OrderCompleted", orderId, customer: customer, at: "\(day)T15:00:00Z", manager: manager)
    }

    mutating func raw(_ topic: String, key: String, _ value: String, headers: [KafkaHeader] = []) {
        records.append(OutgoingRecord(topic: topic, key: key, value: Array(value.utf8), headers: headers))
    }

    /// A CRM event, as its writing service publishes it (CloudEvents headers).
    mutating func event(_ event: some TopicEvents, time: Date = Date()) throws {
        let attributes = CloudEventAttributes(
            id: TimeOrderedID.make(), type: event.type, source: "crm-test", time: time, subject: event.key, actor: "tester")
        records.append(
            OutgoingRecord(topic: type(of: event).topic, key: event.key, value: try event.encodeData(), headers: attributes.headers))
    }

    /// A CRM event from its JSON data (for data types built from JSON in tests).
    mutating func event<E: TopicEvents>(_: E.Type, _ type: String, _ data: String) throws {
        try event(try E.decode(type: type, data: Array(data.utf8)))
    }
}

extension ServiceUnderTest {
    /// Produces the records and waits until the service has applied every one.
    func feed(_ feed: TopicFeed) async throws {
        let producer = host.producer
        var highest: [TopicPartition: Int64] = [:]
        for topic in Set(feed.records.map(\.topic)) {
            let records = feed.records.filter { $0.topic == topic }
            let offsets = try await runOnThread(name: "test-feed") { try producer.sendAllReportingBlocking(records, topic: topic) }
            highest.merge(offsets) { max($0, $1) }
        }
        for (partition, offset) in highest {
            #expect(await host.projector.status.waitUntilApplied(partition, offset: offset, timeout: .seconds(20)))
        }
    }
}

/// A run's clients by id, all pages.
func runClients(_ client: any TestClientProtocol, _ runId: String, query: String = "") async throws -> [String: [String: Any]] {
    var clients: [String: [String: Any]] = [:]
    var cursor: String?
    repeat {
        let page = try object(
            try await client.send(
                .get, "/classification-runs/\(runId)/clients?limit=2\(query)" + (cursor.map { "&cursor=\($0)" } ?? "")))
        for item in page["items"] as? [[String: Any]] ?? [] { clients[item["clientId"] as! String] = item }
        cursor = page["nextCursor"] as? String
    } while cursor != nil
    return clients
}

func createRun(_ client: any TestClientProtocol, _ body: String, sourceLocation: SourceLocation = #_sourceLocation) async throws
    -> [String: Any]
{
    try await client.created("/classification-runs", body, sourceLocation: sourceLocation)
}
