import Foundation
import Kafka

/// The dev broker's on-disk copy of every record, one append-only file per partition, so local
/// data survives a restart of the in-memory mock cluster.
///
/// Record layout (little-endian): u32 length of the rest · i64 offset · i64 timestamp ms ·
/// i32 key length (-1 = null) · key · i32 value length (-1 = null) · value · u16 header count ·
/// per header: u16 name length · name · i32 value length (-1 = null) · value.
public final class Journal: @unchecked Sendable {
    // Used by one thread at a time: restore, then the journaling loop.
    public let directory: URL
    private var handles: [TopicPartition: FileHandle] = [:]
    private var pending: [TopicPartition: Data] = [:]
    public private(set) var bytes: [TopicPartition: Int64] = [:]
    public private(set) var counts: [TopicPartition: Int64] = [:]

    public init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func fileURL(_ tp: TopicPartition) -> URL {
        directory.appendingPathComponent(tp.topic, isDirectory: true).appendingPathComponent("\(tp.partition).log")
    }

    /// Reads every journaled record of a partition, in order. A torn last record (crash mid-write)
    /// is cut off, so the file stays appendable.
    public func read(_ tp: TopicPartition) throws -> [ConsumedRecord] {
        let url = fileURL(tp)
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        var records: [ConsumedRecord] = []
        var reader = ByteReader(data: data)
        var validLength = 0
        while reader.remaining >= 4 {
            let start = reader.position
            guard let length = reader.u32(), reader.remaining >= Int(length), let record = reader.record(tp, length: Int(length))
            else {
                reader.position = start
                break
            }
            records.append(record)
            validLength = reader.position
        }
        if validLength < data.count {
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: UInt64(validLength))
            try handle.close()
        }
        bytes[tp] = Int64(validLength)
        counts[tp] = Int64(records.count)
        return records
    }

    public func append(_ record: ConsumedRecord) {
        var body = Data()
        body.appendLE(record.offset)
        body.appendLE(record.timestampMs)
        body.appendBlob(record.key)
        body.appendBlob(record.value)
        body.appendLE(UInt16(record.headers.count))
        for header in record.headers {
            let name = Array(header.name.utf8)
            body.appendLE(UInt16(name.count))
            body.append(contentsOf: name)
            body.appendBlob(header.value.map(Array.init))
        }
        let tp = TopicPartition(record.topic, record.partition)
        pending[tp, default: Data()].appendLE(UInt32(body.count))
        pending[tp, default: Data()].append(body)
        bytes[tp, default: 0] += Int64(body.count + 4)
        counts[tp, default: 0] += 1
    }

    /// Writes buffered records and, if asked, forces them to disk.
    public func flush(sync: Bool) throws {
        for (tp, data) in pending where !data.isEmpty {
            let handle = try handle(for: tp)
            try handle.write(contentsOf: data)
            if sync { try handle.synchronize() }
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func handle(for tp: TopicPartition) throws -> FileHandle {
        if let handle = handles[tp] { return handle }
        let url = fileURL(tp)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path),
            !FileManager.default.createFile(atPath: url.path, contents: nil)
        {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        handles[tp] = handle
        return handle
    }

    public func close() throws {
        try flush(sync: true)
        for handle in handles.values { try handle.close() }
        handles.removeAll()
    }
}

struct ByteReader {
    let data: Data
    var position: Int

    init(data: Data) {
        self.data = data
        self.position = data.startIndex
    }

    var remaining: Int { data.endIndex - position }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return Array(data[position..<(position + count)])
    }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        guard let raw = bytes(MemoryLayout<T>.size) else { return nil }
        var value: T = 0
        for (index, byte) in raw.enumerated() { value |= T(truncatingIfNeeded: byte) << (8 * index) }
        return value
    }

    mutating func u32() -> UInt32? { integer(UInt32.self) }

    mutating func blob() -> [UInt8]?? {
        guard let length = integer(Int32.self) else { return nil }
        if length < 0 { return .some(nil) }
        guard let value = bytes(Int(length)) else { return nil }
        return .some(value)
    }

    mutating func record(_ tp: TopicPartition, length: Int) -> ConsumedRecord? {
        let end = position + length
        guard let offset = integer(Int64.self), let timestamp = integer(Int64.self),
            let key = blob(), let value = blob(), let headerCount = integer(UInt16.self)
        else { return nil }
        var headers: [KafkaHeader] = []
        for _ in 0..<headerCount {
            guard let nameLength = integer(UInt16.self), let name = bytes(Int(nameLength)), let headerValue = blob() else { return nil }
            headers.append(KafkaHeader(String(decoding: name, as: UTF8.self), headerValue))
        }
        guard position == end else { return nil }
        return ConsumedRecord(
            topic: tp.topic, partition: tp.partition, offset: offset, key: key, value: value,
            headers: headers, timestampMs: timestamp)
    }
}

extension Data {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        var little = value.littleEndian
        Swift.withUnsafeBytes(of: &little) { append(contentsOf: $0) }
    }

    mutating func appendBlob(_ bytes: [UInt8]?) {
        guard let bytes else {
            appendLE(Int32(-1))
            return
        }
        appendLE(Int32(bytes.count))
        append(contentsOf: bytes)
    }
}
