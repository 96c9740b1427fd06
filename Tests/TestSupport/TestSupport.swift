import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import ServiceKit
import Testing
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
