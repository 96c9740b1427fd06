import CRdKafka
import Logging

/// A topic as the contracts in `topics/` describe it.
public struct TopicSpec: Sendable, Equatable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    public var config: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int32, config: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.config = config
    }
}

/// Creates topics on a real cluster through the Admin API (the mock has no CreateTopics).
public final class KafkaAdmin: @unchecked Sendable {
    // librdkafka handles are thread-safe.
    private let handle: OpaquePointer
    private let contextPointer: UnsafeMutableRawPointer

    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        (handle, contextPointer) = try makeClient(
            type: RD_KAFKA_PRODUCER, properties: configuration.properties, name: "admin", logger: logger)
    }

    deinit {
        rd_kafka_destroy(handle)
        releaseContext(contextPointer)
    }

    public enum Outcome: Sendable, Equatable {
        case created
        case alreadyExists
        case failed(String)
    }

    /// Creates each topic; one that exists already is reported as such, not as a failure.
    public func createTopics(_ specs: [TopicSpec], timeoutMs: Int32 = 30_000) throws -> [String: Outcome] {
        if specs.isEmpty { return [:] }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in specs {
            guard
                let topic = rd_kafka_NewTopic_new(
                    spec.name, spec.partitions, spec.replicationFactor, &errorBuffer, errorBuffer.count)
            else {
                throw KafkaError(message: "topic \(spec.name): \(errorString(errorBuffer))")
            }
            newTopics.append(topic)
            for (name, value) in spec.config.sorted(by: { $0.key < $1.key }) {
                let err = rd_kafka_NewTopic_set_config(topic, name, value)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "topic \(spec.name) config \(name)") }
            }
        }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errorBuffer, errorBuffer.count)
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 5000) else {
            throw KafkaError(code: .timedOut, message: "CreateTopics timed out")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(
                code: KafkaErrorCode(eventError), message: "CreateTopics: \(String(cString: rd_kafka_event_error_string(event)))")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(message: "CreateTopics returned no result")
        }
        var count = 0
        guard let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
        var outcomes: [String: Outcome] = [:]
        for index in 0..<count {
            let topic = topics[index]
            let name = String(cString: rd_kafka_topic_result_name(topic))
            let err = rd_kafka_topic_result_error(topic)
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR: outcomes[name] = .created
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcomes[name] = .alreadyExists
            default:
                let text = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) } ?? "\(err)"
                outcomes[name] = .failed(text)
            }
        }
        return outcomes
    }

    public func partitionCounts(_ topics: [String], timeoutMs: Int32 = 10_000) throws -> [String: Int32] {
        try fetchPartitionCounts(handle: handle, topics: topics, timeoutMs: timeoutMs)
    }
}
