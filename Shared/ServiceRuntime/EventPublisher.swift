import Foundation
import Kafka
import WireFormat
import WireSchema

/// Publishes this service's events as CloudEvents (binary mode), keyed by the id of their subject.
public final class EventPublisher: Sendable {
    public let producer: KafkaProducer
    public let source: String

    public init(producer: KafkaProducer, source: String) {
        self.producer = producer
        self.source = source
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
        return OutgoingRecord(
            topic: topic, key: Array(key.utf8), value: data, headers: attributes.headers, timestampMs: Timestamp.milliseconds(time))
    }
}
