import Foundation
import Kafka
import WireFormat
import WireSchema

/// Publishes this service's events as CloudEvents (binary mode), keyed by the id of their subject.
public final class EventPublisher: Sendable {
    public let producer: KafkaProducer
    public let source: String
    private let log: PublishedEventLog?

    /// - Parameter log: a file to append every event to as it is published (`CRM_PUBLISHED_EVENTS_LOG`).
    public init(producer: KafkaProducer, source: String, log: String? = nil) {
        self.producer = producer
        self.source = source
        self.log = log.map(PublishedEventLog.init(path:))
    }

    public func publish(
        topic: String, key: String, type: String, data: [UInt8], actor: ActingUser?, eventId: String? = nil
    ) async throws -> DeliveryReport {
        try await producer.send(record(topic: topic, key: key, type: type, data: data, actor: actor, eventId: eventId))
    }

    /// The record `publish` would send, for callers that publish in bulk.
    public func record(
        topic: String, key: String, type: String, data: [UInt8], actor: ActingUser?, eventId: String? = nil
    ) -> OutgoingRecord {
        let time = Date()
        let attributes = CloudEventAttributes(
            id: eventId ?? TimeOrderedID.make(now: time), type: type, source: source, time: time, subject: key,
            actor: actor?.id)
        log?.append(topic: topic, key: key, attributes: attributes, data: data)
        return OutgoingRecord(
            topic: topic, key: Array(key.utf8), value: data, headers: attributes.headers, timestampMs: Timestamp.milliseconds(time))
    }

    /// The record of an event, for callers that publish in bulk (an import, per row: inlinable, so
    /// it is specialised for the caller's events).
    @inlinable
    public func record(_ event: some TopicEvents, actor: ActingUser?) throws -> OutgoingRecord {
        record(topic: type(of: event).topic, key: event.key, type: event.type, data: try event.encodeData(), actor: actor)
    }
}

/// Every event a process publishes, appended to a file as JSON lines (`topic`, `key`, `headers`,
/// `data`): the contract tests validate what the test suites published against the JSON Schemas of
/// `topics/asyncapi.yaml`, and an operator can see exactly what a service sent.
final class PublishedEventLog: Sendable {
    private let descriptor: Int32

    /// Opened for appending: several publishers and processes may share the file, and each line
    /// (one `write`) lands whole at its end.
    init(path: String) {
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    func append(topic: String, key: String, attributes: CloudEventAttributes, data: [UInt8]) {
        guard descriptor >= 0 else { return }
        let headers = attributes.headers.map { ($0.name, $0.value.map { JSONValue.string(String(decoding: $0, as: UTF8.self)) } ?? .null) }
        let line = JSONValue.object([
            ("topic", .string(topic)), ("key", .string(key)), ("headers", .object(headers)),
            ("data", (try? JSONParser.parse(data)) ?? .string(String(decoding: data, as: UTF8.self))),
        ])
        var writer = JSONWriter()
        writer.value(line)
        let bytes = writer.bytes + [0x0A]
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
