import CRdKafka
import Logging

/// librdkafka's in-process mock Kafka cluster. Any client in any process can connect to
/// `bootstrapServers`; it lives exactly as long as this object (and its process).
public final class MockCluster: @unchecked Sendable {
    // The mock cluster API is thread-safe (it posts operations to the cluster's own thread).
    private let owner: OpaquePointer
    private let cluster: OpaquePointer
    private let contextPointer: UnsafeMutableRawPointer
    /// A client connected to the cluster, for queries (the owner handle has no bootstrap servers).
    private let queryClient: KafkaProducer
    public let bootstrapServers: String
    public let brokerCount: Int32

    /// Kafka protocol API keys, for request-error injection.
    public enum API: Int16, Sendable, CaseIterable {
        case produce = 0, fetch = 1, listOffsets = 2, metadata = 3, initProducerId = 22
    }

    public init(brokers: Int32 = 3, logger: Logger = Logger(label: "crm.mock-cluster")) throws {
        brokerCount = brokers
        (owner, contextPointer) = try makeClient(
            type: RD_KAFKA_PRODUCER, properties: ["client.id": "crm-mock-cluster-owner"], name: "mock-cluster", logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(owner, Int32(brokers)) else {
            rd_kafka_destroy(owner)
            releaseContext(contextPointer)
            throw KafkaError(message: "cannot start the mock Kafka cluster")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        queryClient = try KafkaProducer(
            configuration: KafkaConfiguration(brokers: bootstrapServers), name: "mock-cluster-query", logger: logger)
    }

    deinit {
        queryClient.close(flushTimeoutMs: 0)
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
        releaseContext(contextPointer)
    }

    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 3) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, min(replicationFactor, brokerCount))
        try check(err, "create topic \(name)")
    }

    /// Disconnects a broker and refuses new connections until `setBrokerUp`.
    public func setBrokerDown(_ broker: Int32) throws {
        try check(rd_kafka_mock_broker_set_down(cluster, broker), "broker \(broker) down")
    }

    public func setBrokerUp(_ broker: Int32) throws {
        try check(rd_kafka_mock_broker_set_up(cluster, broker), "broker \(broker) up")
    }

    public var brokerIds: [Int32] { Array(1...brokerCount) }

    /// Adds latency to every response of a broker.
    public func setRoundTripTime(_ broker: Int32, milliseconds: Int32) throws {
        try check(rd_kafka_mock_broker_set_rtt(cluster, broker, milliseconds), "broker \(broker) rtt")
    }

    /// Moves a partition's leadership (a broker set down does not do that by itself).
    public func setLeader(topic: String, partition: Int32, broker: Int32) throws {
        try check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker), "leader of \(topic)[\(partition)]")
    }

    /// Makes the next `count` requests of an API fail with a Kafka error code.
    public func pushRequestErrors(api: API, count: Int, error: Int32) {
        var errors = [rd_kafka_resp_err_t](repeating: rd_kafka_resp_err_t(rawValue: error), count: count)
        rd_kafka_mock_push_request_errors_array(cluster, api.rawValue, count, &errors)
    }

    public func clearRequestErrors(api: API) {
        rd_kafka_mock_clear_request_errors(cluster, api.rawValue)
    }

    /// Watermarks as a client sees them, asked through the owner handle.
    public func watermarks(_ tp: TopicPartition, timeoutMs: Int32 = 5000) throws -> (low: Int64, high: Int64) {
        try queryClient.watermarks(tp, timeoutMs: timeoutMs)
    }

    private func check(_ err: rd_kafka_resp_err_t, _ what: String) throws {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: what) }
    }
}
