import EventStore
import Foundation
import GRDB
import Hummingbird
import Kafka
import Platform
import ServiceLifecycle
import WireFormat
import WireSchema

/// What a service's handlers work with: the store they read and validate against, the gateway
/// they publish through, the service's settings and projection, and the request limits. Services
/// add their own lookups in constrained extensions (`extension ServiceContext where Service == …`).
public struct ServiceContext<Service: ServiceDefinition>: Sendable {
    public let store: ServiceStore
    public let commands: CommandGateway
    public let configuration: ServiceConfiguration
    public let settings: Service.Settings
    public let projection: Service.ReadModel
    /// Commands whose checks must see each other's effect hold keys here (see `CommandLock`).
    public let commandLocks = CommandLock()

    public init(
        store: ServiceStore, commands: CommandGateway, configuration: ServiceConfiguration, settings: Service.Settings,
        projection: Service.ReadModel
    ) {
        self.store = store
        self.commands = commands
        self.configuration = configuration
        self.settings = settings
        self.projection = projection
    }

    /// The largest request body a handler reads (413 past it).
    public var maxBodyBytes: Int { configuration.maxRequestBodyBytes }
    /// The projector's progress: a bulk command waits on it for everything it published.
    public var status: ProjectorStatus { commands.status }

    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await store.database.read(body)
    }

    /// The stored entity with this id, or 404 naming `what` ("deal 'D-1'"); given the request, its
    /// `If-Match` is checked too (412 when the entity has moved on).
    public func existing<Record: StoredRecord>(
        _: Record.Type, _ id: String, what: String, ifMatch request: Request? = nil
    ) async throws -> StoredEntity<Record> {
        guard let stored = try await read({ db in try StoredEntity<Record>.fetch(db, id: id) }) else {
            throw Problem.notFound("no \(what) '\(id)'")
        }
        if let request { try checkIfMatch(request, stored.bookkeeping, "\(what) '\(id)'") }
        return stored
    }

    /// Publishes an event as `user` and waits until this service has applied it (503 when Kafka
    /// or the projector does not manage within the command timeout); returns the event's id, so
    /// the caller can tell whether a stored change is its own.
    @discardableResult
    public func publish(_ event: some TopicEvents, by user: ActingUser) async throws -> String {
        let eventId = TimeOrderedID.make()
        try await commands.execute(
            topic: type(of: event).topic, key: event.key, type: event.type, data: try event.encodeData(), actor: user,
            eventId: eventId)
        return eventId
    }

    /// The usual command: publish, wait until applied, and read back what the event wrote.
    /// `isOwnChange` tells, from what is stored and this event's id, whether the stored state is
    /// this event's doing; when it is not (nothing stored, or another request changed the same
    /// thing first and this event was refused or overtaken) the answer is `conflict` (409).
    public func publish<Stored: Sendable>(
        _ event: some TopicEvents, by user: ActingUser,
        readBack: @escaping @Sendable (Database) throws -> Stored?,
        isOwnChange: (_ stored: Stored, _ eventId: String) -> Bool,
        conflict: @autoclosure () -> Problem
    ) async throws -> Stored {
        let eventId = try await publish(event, by: user)
        guard let stored = try await read(readBack), isOwnChange(stored, eventId) else { throw conflict() }
        return stored
    }

    /// The same for a stored entity, whose own change is the one whose event it last applied.
    public func publish<Record: StoredRecord>(
        _ event: some TopicEvents, by user: ActingUser, readBack id: String, conflict: @autoclosure () -> Problem
    ) async throws -> StoredEntity<Record> {
        try await publish(
            event, by: user, readBack: { db in try StoredEntity<Record>.fetch(db, id: id) },
            isOwnChange: { stored, eventId in stored.lastEventId == eventId }, conflict: conflict())
    }

    /// Publishes many events of one topic at once (as fast as the producer takes them, on a thread
    /// of its own) and waits until this service has applied every one: a bulk command's
    /// read-your-writes. 503 when Kafka refuses them or they are not applied within `timeout`.
    public func publishAll<Event: TopicEvents>(_ events: [Event], by user: ActingUser?, timeout: Duration? = nil) async throws {
        try await waitUntilApplied(try await sendAll(events, by: user), timeout: timeout)
    }

    /// The first half of `publishAll`: sends the events and returns, per partition, the offset of
    /// the last one, for `waitUntilApplied`. A caller that sends in chunks can keep a bounded number
    /// in flight (send the next chunk, then wait for the one before it), so the projector never
    /// has more of them queued ahead of a command's event than that.
    public func sendAll<Event: TopicEvents>(_ events: [Event], by user: ActingUser?) async throws -> [TopicPartition: Int64] {
        if events.isEmpty { return [:] }
        if let failure = status.failure {
            throw Problem.unavailable("the service's store has stopped applying events: \(failure)")
        }
        let publisher = commands.publisher
        do {
            // Encoding is work by the thousand too: both stay off the cooperative pool that serves requests.
            return try await runOnThread(name: "publish-all") {
                let records = try events.map { try publisher.record($0, actor: user) }
                return try publisher.producer.sendAllReportingBlocking(records, topic: Event.topic)
            }
        } catch let error as KafkaError {
            throw Problem.unavailable("Kafka did not accept the events (\(error.message)). Retry later; reads still work.")
        }
    }

    /// Waits until this service has applied everything up to these offsets (503 past `timeout`).
    public func waitUntilApplied(_ offsets: [TopicPartition: Int64], timeout: Duration? = nil) async throws {
        for (partition, offset) in offsets {
            guard await status.waitUntilApplied(partition, offset: offset, timeout: timeout ?? commands.timeout) else {
                throw Problem.unavailable("the events were published but not applied yet; they will be as the service catches up")
            }
        }
    }

    /// For background work that follows what the projector applies: waits until it commits a batch
    /// after the `commits`-th (`commitCount` read before the work's pass), not before `pause` and
    /// at most `timeout`, or until graceful shutdown begins (the work's loop then ends).
    public func waitForCommit(after commits: Int64, pause: Duration, timeout: Duration) async {
        await cancelWhenGracefulShutdown { [status] in
            _ = await status.waitForCommit(after: commits, pause: pause, timeout: timeout)
        }
    }
}
