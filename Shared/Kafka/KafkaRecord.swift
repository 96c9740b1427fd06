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
    /// A slice, so that headers made from one buffer can share it.
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
    /// The headers as they arrived, in one buffer (see `ConsumedHeaders`).
    public let headerBlock: ConsumedHeaders
    public let timestampMs: Int64

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headerBlock: ConsumedHeaders, timestampMs: Int64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headerBlock = headerBlock
        self.timestampMs = timestampMs
    }

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader], timestampMs: Int64
    ) {
        self.init(
            topic: topic, partition: partition, offset: offset, key: key, value: value,
            headerBlock: ConsumedHeaders(headers), timestampMs: timestampMs)
    }

    public var headers: [KafkaHeader] { headerBlock.list }

    /// The first header of that name.
    public func header(_ name: String) -> KafkaHeader? {
        let wanted = Array(name.utf8)
        var found: KafkaHeader?
        headerBlock.visit { headerName, value in
            guard headerName.elementsEqual(wanted) else { return true }
            found = KafkaHeader(name, value.map { Array($0) })
            return false
        }
        return found
    }

    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// A consumed record's headers in one buffer, in order: per header a 4-byte name length, a 4-byte
/// value length (-1 for a header without a value; both little-endian), the name and the value.
/// One allocation per record, and nothing retained per header, where an array of `KafkaHeader`
/// took two allocations and a retain and release of the shared value buffer per header.
public struct ConsumedHeaders: Sendable, Equatable {
    public let bytes: [UInt8]
    public let count: Int

    public init(_ headers: [KafkaHeader]) {
        var bytes: [UInt8] = []
        for header in headers {
            let name = Array(header.name.utf8)
            Self.appendPrefix(nameCount: name.count, valueCount: header.value?.count, to: &bytes)
            bytes += name
            if let value = header.value { bytes += value }
        }
        self.init(bytes: bytes, count: headers.count)
    }

    /// Bytes laid out as described above, holding `count` headers (only `KafkaConsumer` lays them out).
    init(bytes: [UInt8], count: Int) {
        self.bytes = bytes
        self.count = count
    }

    /// The two lengths before each header's name.
    static let prefixSize = 8

    /// Space a header takes in the buffer.
    static func size(nameCount: Int, valueCount: Int?) -> Int { prefixSize + nameCount + (valueCount ?? 0) }

    /// Writes a header's two lengths.
    static func writePrefix(nameCount: Int, valueCount: Int?, to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: UInt32(nameCount).littleEndian, as: UInt32.self)
        (pointer + 4).storeBytes(of: Int32(valueCount ?? -1).littleEndian, as: Int32.self)
    }

    private static func appendPrefix(nameCount: Int, valueCount: Int?, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: prefixSize, alignment: 1) { prefix in
            writePrefix(nameCount: nameCount, valueCount: valueCount, to: prefix.baseAddress!)
            bytes += prefix
        }
    }

    /// Calls `body` with each header's name and value (nil: no value) in order, until it returns false.
    /// The buffers are valid only during the call.
    public func visit(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> Bool) rethrows {
        try bytes.withUnsafeBytes { buffer in
            var at = 0
            for _ in 0..<count {
                let nameCount = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                let valueCount = Int(Int32(littleEndian: buffer.loadUnaligned(fromByteOffset: at + 4, as: Int32.self)))
                at += Self.prefixSize
                let name = UnsafeRawBufferPointer(rebasing: buffer[at..<(at + nameCount)])
                at += nameCount
                var value: UnsafeRawBufferPointer?
                if valueCount >= 0 {
                    value = UnsafeRawBufferPointer(rebasing: buffer[at..<(at + valueCount)])
                    at += valueCount
                }
                if try !body(name, value) { return }
            }
        }
    }

    /// The headers as a list (names and values copied out).
    public var list: [KafkaHeader] {
        var list: [KafkaHeader] = []
        list.reserveCapacity(count)
        visit { name, value in
            list.append(KafkaHeader(String(decoding: name, as: UTF8.self), value.map { Array($0) }))
            return true
        }
        return list
    }
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
