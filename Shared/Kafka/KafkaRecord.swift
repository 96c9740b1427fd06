/// A record to publish. `value == nil` is a tombstone; `partition == nil` lets the partitioner
/// (murmur2_random, as Java clients) choose from the key.
public struct OutgoingRecord: Sendable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    public var timestampMs: Int64?

    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestampMs: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    public init(topic: String, key: String, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers)
    }
}

public struct KafkaHeader: Sendable, Equatable {
    public var name: String
    /// A slice, so the headers of a consumed record can share one buffer (one allocation, not one
    /// per header, on the replay hot path).
    public var value: ArraySlice<UInt8>?

    public init(_ name: String, _ value: [UInt8]?) {
        self.name = name
        self.value = value.map { $0[...] }
    }

    public init(_ name: String, slice: ArraySlice<UInt8>?) {
        self.name = name
        self.value = slice
    }

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = ArraySlice(value.utf8)
    }

    public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }

    public static func == (lhs: KafkaHeader, rhs: KafkaHeader) -> Bool {
        lhs.name == rhs.name && lhs.value.map(Array.init) == rhs.value.map(Array.init)
    }
}

/// Where a record landed.
public struct DeliveryReport: Sendable, Equatable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
}

/// A record read from a partition.
public struct ConsumedRecord: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]?
    public let headers: [KafkaHeader]
    public let timestampMs: Int64

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader], timestampMs: Int64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    public func header(_ name: String) -> KafkaHeader? { headers.first { $0.name == name } }
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}
