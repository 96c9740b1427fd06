import Foundation
import GRDB
import WireFormat

/// What every stored entity carries besides its record: a version counting its events, and who
/// changed it when (from the events, so a rebuilt store has the same values). Its columns are
/// `version, created_at, created_by, updated_at, updated_by`.
public struct Bookkeeping: Sendable, Equatable {
    public var version: Int
    public var createdAt: Date
    public var createdBy: String?
    public var updatedAt: Date
    public var updatedBy: String?

    public static let columns = "version, created_at, created_by, updated_at, updated_by"

    public init(row: Row) {
        version = row["version"]
        createdAt = Timestamp.parse(row["created_at"]) ?? Date(timeIntervalSince1970: 0)
        createdBy = row["created_by"]
        updatedAt = Timestamp.parse(row["updated_at"]) ?? Date(timeIntervalSince1970: 0)
        updatedBy = row["updated_by"]
    }

    /// The version as an HTTP entity tag: `"3"`.
    public var etag: String { "\"\(version)\"" }

    enum Keys: String, CodingKey { case version, createdAt, createdBy, updatedAt, updatedBy }

    /// Adds the bookkeeping fields to a resource's JSON object.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(version, forKey: .version)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(createdBy, forKey: .createdBy)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(updatedBy, forKey: .updatedBy)
    }
}

/// An applied event's time, actor and id, as a projection stamps them on the rows it writes.
public struct EventStamp: Sendable {
    public let time: String
    public let actor: String?
    public let eventId: String

    public init(time: String, actor: String?, eventId: String) {
        self.time = time
        self.actor = actor
        self.eventId = eventId
    }
}

/// A stored JSON record column decoded with the wire decoder (fields this version does not know are
/// simply not shown).
public func decodeStoredRecord<T: Decodable>(_ type: T.Type, _ row: Row, column: String = "record") throws -> T {
    let text: String = row[column]
    return try WireDecoder.decode(type, from: Array(text.utf8))
}

/// A record as its JSON column stores it.
public func encodedRecord<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try WireEncoder.encode(value), as: UTF8.self)
}
