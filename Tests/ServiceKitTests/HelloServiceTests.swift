import EventStore
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

// A whole service written with the kit alone: one topic, one table, two routes. If the kit lacked
// anything a service needs to serve, rebuild or dump, this would not compile or would fail.

/// The greeting a `POST /greetings` publishes.
struct Greeting: StoredRecord {
    static let table = "greeting"
    var id: String
    var text: String
    var queryColumns: [(name: String, value: (any DatabaseValueConvertible)?)] { [] }
}

/// The hello service's one topic and its one message.
enum GreetingEvent: TopicEvents, Equatable {
    case said(Greeting)

    static let topic = "hello.greetings.v1"

    enum Message: String, CaseIterable, Sendable {
        case said = "GreetingSaid"
    }

    var message: Message { .said }
    var key: String {
        switch self {
        case .said(let greeting): greeting.id
        }
    }

    static func decode(_ message: Message, data: [UInt8]) throws -> GreetingEvent {
        switch message {
        case .said: .said(try WireDecoder.decode(Greeting.self, from: data))
        }
    }

    func encodeData() throws -> [UInt8] {
        switch self {
        case .said(let greeting): try WireEncoder.encode(greeting)
        }
    }
}

struct GreetingProjection: Projection {
    let exclamation: String
    var name: String { "hello" }
    var topics: [String] { [GreetingEvent.topic] }

    func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<GreetingEvent> {
        try decodeCloudEvent(record) { type, data in try GreetingEvent.decode(type: type, data: data) }
    }

    func apply(_ event: ProjectedEvent<GreetingEvent>, in db: Database) throws {
        switch event.event {
        case .said(var greeting):
            greeting.text += exclamation
            guard try StoredEntity.insert(greeting, stamp: EventStamp(event), db) else {
                throw ProjectionRejection("greeting '\(greeting.id)' was said already")
            }
        }
    }
}

/// Settings through the kit's hook: `HELLO_EXCLAMATION` is appended to every greeting stored.
struct HelloSettings: ServiceSettings {
    var exclamation = "!"
    init() {}
    init(environment: [String: String]) throws {
        if let text = environment["HELLO_EXCLAMATION"] {
            guard text.count <= 3 else { throw ConfigurationError("HELLO_EXCLAMATION is at most 3 characters") }
            exclamation = text
        }
    }
}

enum HelloService: ServiceDefinition {
    static let name = "hello"
    static let defaultPort = 8099

    static func openStore(path: String, logger: Logger) throws -> ServiceStore {
        try ServiceStore(path: path, projectionVersion: 1, logger: logger) { migrator in
            migrator.registerMigration("hello-v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE greeting (
                            id TEXT NOT NULL UNIQUE, record TEXT NOT NULL, version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL)
                        """)
            }
        }
    }

    static func makeProjection(settings: HelloSettings) -> GreetingProjection {
        GreetingProjection(exclamation: settings.exclamation)
    }

    static func addRoutes(to api: RouterGroup<CRMRequestContext>, context: ServiceContext<HelloService>) {
        api.post("/greetings") { request, requestContext in
            var request = request
            let greeting = try await request.decodeJSON(Greeting.self, maxBytes: context.maxBodyBytes)
            try Validation.validateId(greeting.id)
            let stored: StoredEntity<Greeting> = try await context.publish(
                GreetingEvent.said(greeting), by: try requestContext.requireUser(), readBack: greeting.id,
                conflict: Problem.conflict("greeting '\(greeting.id)' was said already"))
            return try resourceResponse(EntityResource(stored: stored), stored.bookkeeping, status: .created)
        }
        api.get("/greetings/{id}") { _, requestContext in
            let id = try requestContext.parameters.require("id")
            guard let stored = try await context.read({ db in try StoredEntity<Greeting>.fetch(db, id: id) }) else {
                throw Problem.notFound("no greeting '\(id)'")
            }
            return try resourceResponse(EntityResource(stored: stored), stored.bookkeeping)
        }
    }

    static func dump(_ db: Database, into dump: CanonicalDump) throws {
        try dump.emitAll("greeting", Greeting.self, in: db)
    }
}

@Suite(.serialized) struct HelloServiceTests {
    @Test func aServiceWrittenWithTheKitServesRebuildsAndDumps() async throws {
        let settings = try HelloSettings(environment: ["HELLO_EXCLAMATION": "!!"])
        // Its topic is no contract's: its events are not recorded for the contract tests.
        try await withService(
            HelloService.self, settings: settings, tokens: ["t0ken": "alice"], recordsPublishedEvents: false
        ) { service in
            let auth: HTTPFields = [.contentType: "application/json", .authorization: "Bearer t0ken"]
            let created = try await service.client.send(.post, "/greetings", #"{"id":"g1","text":"hello"}"#, headers: auth)
            #expect(created.status == .created)
            let body = try object(created)
            #expect(body["text"] as? String == "hello!!", "the projection applied the event with the service's settings")
            #expect(body["createdBy"] as? String == "alice")
            #expect(created.headers[.eTag] == "\"1\"")
            _ = try await service.client.send(.post, "/greetings", #"{"id":"g2","text":"hi"}"#, headers: auth)
            try expectProblem(
                try await service.client.send(.post, "/greetings", #"{"id":"g1","text":"again"}"#, headers: auth), .conflict,
                containing: "said already")
            try expectProblem(try await service.client.send(.get, "/greetings/g1"), .unauthorized)
            try expectProblem(try await service.client.send(.get, "/greetings/nobody", headers: auth), .notFound)
            #expect(try await service.client.send(.get, "/health/ready").status == .ok)
            let status = try object(try await service.client.send(.get, "/health/status"))
            #expect(status["service"] as? String == "hello" && status["state"] as? String == "ready" && status["ready"] as? Bool == true)
            #expect(status["appliedRecords"] as? Int == 2 && status["deadLetters"] as? Int == 1, "the repeated greeting was dead-lettered")
            #expect((status["storeBytes"] as? Int ?? 0) > 0 && status["failure"] == nil)
            #expect((status["lag"] as? [String: Int])?.values.allSatisfy { $0 == 0 } == true)
            // Idle, the consumer stops fetching; a command's own event still comes back.
            let deadline = ContinuousClock.now + .seconds(60)
            var fetching = status["fetching"] as? String
            while fetching != "paused" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                fetching = try object(try await service.client.send(.get, "/health/status"))["fetching"] as? String
            }
            #expect(fetching == "paused")
            #expect(
                String(buffer: try await service.client.send(.get, "/metrics").body).contains(
                    #"crm_consumer_fetch_paused{service="hello"} 1"#))
            let afterIdle = try await service.client.send(.post, "/greetings", #"{"id":"g3","text":"hey"}"#, headers: auth)
            #expect(afterIdle.status == .created)
            #expect(try object(afterIdle)["text"] as? String == "hey!!")
            #expect(
                String(buffer: try await service.client.send(.get, "/metrics").body).contains(
                    #"crm_records_applied_total{service="hello"} 3"#))

            nonisolated(unsafe) var served: [String] = []
            try HelloService.dump(service.host.configuration) { served.append($0) }
            #expect(served.count == 3)
            #expect(served[0].hasPrefix(#"{"greeting":{"createdAt":"#) && served[0].contains(#""text":"hello!!""#))

            var rebuilt = service.host.configuration
            rebuilt.dataDirectory += "-rebuilt"
            defer { try? FileManager.default.removeItem(atPath: rebuilt.dataDirectory) }
            let report = try await HelloService.rebuild(rebuilt, settings: settings, logger: quietLogger)
            #expect(report.applied == 3 && report.deadLettered == 1, "the repeated greeting is dead-lettered on replay too")
            nonisolated(unsafe) var dumped: [String] = []
            try HelloService.dump(rebuilt) { dumped.append($0) }
            #expect(dumped == served, "a rebuilt store dumps identically")
        }
    }

    @Test func settingsComeThroughTheHookAndBadOnesNameTheVariable() throws {
        #expect(try HelloSettings(environment: [:]).exclamation == "!")
        #expect(throws: ConfigurationError.self) { try HelloSettings(environment: ["HELLO_EXCLAMATION": "!!!!"]) }
    }
}
