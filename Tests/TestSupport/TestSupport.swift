import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Platform
import ServiceKit
import Testing
import WireFormat
import WireSchema

/// A logger that says nothing below critical: tests assert on behaviour, not on log lines.
public let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// A fresh directory under the system's temporary one, removed by `removeTemporaryDirectory`.
public func makeTemporaryDirectory(_ prefix: String) -> String {
    NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
}

/// An in-process mock Kafka cluster (one broker) with these topics and their partition counts,
/// and the dead-letter topic.
public func makeMockCluster(topics: [String: Int32]) throws -> MockCluster {
    let cluster = try MockCluster(brokers: 1, logger: quietLogger)
    for (topic, partitions) in topics.merging([Topics.deadLetter: 1], uniquingKeysWith: { mine, _ in mine }) {
        try cluster.createTopic(topic, partitions: partitions)
    }
    return cluster
}

/// A running service as a test sees it: its client (through the production application's router),
/// its host (store, projector, configuration) and the cluster it is attached to.
public struct ServiceUnderTest<Service: ServiceDefinition>: Sendable {
    public let client: any TestClientProtocol
    public let host: ServiceHost<Service>
    public let cluster: MockCluster
}

extension ServiceUnderTest {
    /// The running store's canonical dump, and that of a store rebuilt from the topics beside it
    /// (removed afterwards), with the rebuild's report: a test expects the two dumps equal. A test's
    /// few events rebuild batch by batch; `bulkLoading` rebuilds as a bulk load instead.
    public func dumpsServedAndRebuilt(settings: Service.Settings, bulkLoading: Bool = false) async throws -> (
        served: [String], rebuilt: [String], report: RebuildReport
    ) {
        var options = Service.projectorOptions
        if bulkLoading { options.bulkLoadThreshold = 1 }
        nonisolated(unsafe) var served: [String] = []
        try Service.dump(host.configuration) { served.append($0) }
        var rebuilt = host.configuration
        rebuilt.dataDirectory += "-rebuilt"
        defer { try? FileManager.default.removeItem(atPath: rebuilt.dataDirectory) }
        let report = try await Service.rebuild(rebuilt, settings: settings, options: options, logger: quietLogger)
        nonisolated(unsafe) var dumped: [String] = []
        try Service.dump(rebuilt) { dumped.append($0) }
        return (served, dumped, report)
    }
}

/// Runs `body` against `Service` as `buildApplication` makes it (the same router, middleware,
/// producer and projector as `serve`), on a mock cluster with every topic its projection reads,
/// a store in a temporary directory, and the caught-up projector. The events it publishes are
/// appended to `CRM_PUBLISHED_EVENTS_LOG` when that is set (the contract tests validate them
/// against `topics/asyncapi.yaml`), unless `recordsPublishedEvents` is false (a service whose
/// topics the contract does not describe).
public func withService<Service: ServiceDefinition>(
    _ service: Service.Type, settings: Service.Settings? = nil, tokens: [String: String] = [:],
    authenticator: (any Authenticator)? = nil, partitions: Int32 = 4, maxRequestBodyBytes: Int = 64 * 1024,
    recordsPublishedEvents: Bool = true, _ body: @Sendable (ServiceUnderTest<Service>) async throws -> Void
) async throws {
    let settings = try settings ?? Service.Settings(environment: [:])
    let topics = Service.makeProjection(settings: settings).topics
    let cluster = try makeMockCluster(topics: Dictionary(uniqueKeysWithValues: topics.map { ($0, partitions) }))
    let directory = makeTemporaryDirectory(Service.name)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var configuration = ServiceConfiguration(
        serviceName: Service.name, httpPort: 0, dataDirectory: directory,
        kafka: KafkaConfiguration(brokers: cluster.bootstrapServers), tokens: tokens, commandTimeout: .seconds(5),
        logLevel: .critical, maxRequestBodyBytes: maxRequestBodyBytes)
    if recordsPublishedEvents {
        configuration.publishedEventLog = ProcessInfo.processInfo.environment["CRM_PUBLISHED_EVENTS_LOG"]
    }
    let host = try ServiceHost<Service>(
        configuration: configuration, settings: settings, authenticator: authenticator, logger: quietLogger)
    try await host.buildApplication().test(.router) { client in
        #expect(await host.projector.status.waitUntilReady(timeout: .seconds(20)), "the projector caught up")
        try await body(ServiceUnderTest(client: client, host: host, cluster: cluster))
    }
}

/// Polls until `condition` holds (for work a service does in the background, every 200 ms or so).
public func eventually(
    _ what: String, timeout: Duration = .seconds(15), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
}

// MARK: Requests and answers

public func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
public let jsonHeaders: HTTPFields = [.contentType: "application/json"]

/// The response body as a JSON object (a failed expectation if it is not one).
public func object(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
}

/// An RFC 9457 problem document with this status (and, if given, a detail containing `text`).
public func expectProblem(
    _ response: TestResponse, _ status: HTTPResponse.Status, containing text: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(response.status == status, sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
    let body = try object(response)
    #expect(body["status"] as? Int == Int(status.code), sourceLocation: sourceLocation)
    let detail = body["detail"] as? String ?? ""
    if let text { #expect(detail.contains(text), "detail was: \(detail)", sourceLocation: sourceLocation) }
}

extension TestClientProtocol {
    /// A request with a JSON body (or none).
    @discardableResult
    public func send(
        _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, headers: HTTPFields = jsonHeaders
    ) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: headers, body: body.map(json))
    }

    /// POSTs and expects 201; the created resource.
    public func created(_ uri: String, _ body: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let response = try await send(.post, uri, body)
        #expect(response.status == .created, "POST \(uri): \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return try object(response)
    }

    /// The `id`s of a page of items.
    public func ids(_ uri: String) async throws -> [String] {
        let page = try object(try await send(.get, uri))
        return (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }
}

// MARK: Records from elsewhere

/// Records for a service's topics, written as the ERP and the other services would.
public struct TopicFeed {
    public var records: [OutgoingRecord] = []

    public init() {}
    private var sequence = 0

    /// An ERP order event; `lines` are (quantity, price, cost) as decimal text.
    public mutating func order(
        _ type: String, _ orderId: String, customer: String, at time: String, manager: String? = nil,
        lines: [(String, String, String?)]? = nil, reason: String? = nil, eventId: String? = nil, dealId: String? = nil,
        currency: String? = nil
    ) {
        sequence += 1
        var fields = [
            #""eventId":"\#(eventId ?? "\(orderId)-\(type)-\(sequence)")""#, #""type":"\#(type)""#, #""occurredAt":"\#(time)""#,
            #""orderId":"\#(orderId)""#, #""customerId":"\#(customer)""#,
        ]
        if let manager { fields.append(#""managerId":"\#(manager)""#) }
        if let reason { fields.append(#""reason":"\#(reason)""#) }
        if let dealId { fields.append(#""dealId":"\#(dealId)""#) }
        if let currency { fields.append(#""currency":"\#(currency)""#) }
        if let lines {
            let items = lines.enumerated().map { index, line in
                #"{"sku":"SKU-\#(index)","quantity":"\#(line.0)","price":"\#(line.1)""# + (line.2.map { #","cost":"\#($0)""# } ?? "") + "}"
            }
            fields.append(#""lines":[\#(items.joined(separator: ","))]"#)
        }
        raw(Topics.erpOrders, key: orderId, "{" + fields.joined(separator: ",") + "}")
    }

    /// An order placed and completed the same day, of one line (revenue `amount`, cost `cost`).
    public mutating func sale(
        _ orderId: String, customer: String, on day: String, amount: String, cost: String? = nil, manager: String? = nil
    ) {
        order("OrderPlaced", orderId, customer: customer, at: "\(day)T09:00:00Z", manager: manager, lines: [("1", amount, cost)])
        order("OrderCompleted", orderId, customer: customer, at: "\(day)T15:00:00Z", manager: manager)
    }

    /// An ERP purchase event; `lines` are (sku, quantity, rejected quantity) as decimal text.
    public mutating func purchase(
        _ type: String, _ purchaseOrderId: String, supplier: String, at time: String, promised: String? = nil,
        lines: [(String, String, String?)] = [], reason: String? = nil, eventId: String? = nil
    ) {
        sequence += 1
        var fields = [
            #""eventId":"\#(eventId ?? "\(purchaseOrderId)-\(type)-\(sequence)")""#, #""type":"\#(type)""#, #""occurredAt":"\#(time)""#,
            #""purchaseOrderId":"\#(purchaseOrderId)""#, #""supplierId":"\#(supplier)""#,
        ]
        if let promised { fields.append(#""promisedDate":"\#(promised)""#) }
        if let reason { fields.append(#""reason":"\#(reason)""#) }
        if !lines.isEmpty {
            let items = lines.map { line in
                #"{"sku":"\#(line.0)","quantity":"\#(line.1)""# + (line.2.map { #","rejectedQuantity":"\#($0)""# } ?? "") + "}"
            }
            fields.append(#""lines":[\#(items.joined(separator: ","))]"#)
        }
        raw(Topics.erpPurchases, key: purchaseOrderId, "{" + fields.joined(separator: ",") + "}")
    }

    public mutating func raw(_ topic: String, key: String, _ value: String, headers: [KafkaHeader] = []) {
        records.append(OutgoingRecord(topic: topic, key: key, value: Array(value.utf8), headers: headers))
    }

    /// A CRM event, as its writing service publishes it (CloudEvents headers).
    public mutating func event(_ event: some TopicEvents, time: Date = Date()) throws {
        let attributes = CloudEventAttributes(
            id: TimeOrderedID.make(), type: event.type, source: "crm-test", time: time, subject: event.key, actor: "tester")
        records.append(
            OutgoingRecord(topic: type(of: event).topic, key: event.key, value: try event.encodeData(), headers: attributes.headers))
    }

    /// A CRM event from its JSON data (for data types built from JSON in tests).
    public mutating func event<E: TopicEvents>(_: E.Type, _ type: String, _ data: String) throws {
        try event(try E.decode(type: type, data: Array(data.utf8)))
    }
}

extension ServiceUnderTest {
    /// Produces the records and waits until the service has applied every one.
    public func feed(_ feed: TopicFeed) async throws {
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
