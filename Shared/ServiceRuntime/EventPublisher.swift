import Foundation
import Kafka
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
        let time = Date()
        let attributes = CloudEventAttributes(
            id: eventId ?? TimeOrderedID.make(now: time), type: type, source: source, time: time, subject: key,
            actor: actor?.id)
        return try await producer.send(OutgoingRecord(
            topic: topic, key: Array(key.utf8), value: data, headers: attributes.headers,
            timestampMs: Timestamp.milliseconds(time)))
    }
}
