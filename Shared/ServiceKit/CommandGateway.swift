import EventStore
import Foundation
import Kafka
import WireFormat
import WireSchema

/// The write path: publish the event, then answer only once this service's own projector has
/// applied it, so the response shows the caller its write (read-your-writes).
public struct CommandGateway: Sendable {
    public let publisher: EventPublisher
    public let status: ProjectorStatus
    public let timeout: Duration

    public init(publisher: EventPublisher, status: ProjectorStatus, timeout: Duration) {
        self.publisher = publisher
        self.status = status
        self.timeout = timeout
    }

    @discardableResult
    public func execute(
        topic: String, key: String, type: String, data: [UInt8], actor: ActingUser, eventId: String? = nil
    ) async throws -> DeliveryReport {
        if let failure = status.failure {
            throw Problem.unavailable("the service's store has stopped applying events: \(failure)")
        }
        let report: DeliveryReport
        do {
            report = try await publisher.publish(topic: topic, key: key, type: type, data: data, actor: actor, eventId: eventId)
        } catch let error as KafkaError {
            throw Problem.unavailable(
                "Kafka did not accept the command within \(timeout) (\(error.message)). Retry later; reads still work.")
        }
        let applied = await status.waitUntilApplied(
            TopicPartition(report.topic, report.partition), offset: report.offset, timeout: timeout)
        guard applied else {
            throw Problem.unavailable(
                "the command was accepted (\(report.topic)[\(report.partition)]@\(report.offset)) but not applied within "
                    + "\(timeout); it will be applied when the service catches up")
        }
        return report
    }
}
