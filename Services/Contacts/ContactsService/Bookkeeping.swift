import Foundation
import GRDB
import WireFormat
import WireSchema

/// What every stored entity carries besides its record: a version counting its events, and who
/// changed it when (from the events, so a rebuilt store has the same values).
public struct Bookkeeping: Sendable, Equatable {
    public var version: Int
    public var createdAt: Date
    public var createdBy: String?
    public var updatedAt: Date
    public var updatedBy: String?

    static let columns = "version, created_at, created_by, updated_at, updated_by"

    init(row: Row) {
        version = row["version"]
        createdAt = Timestamp.parse(row["created_at"]) ?? Date(timeIntervalSince1970: 0)
        createdBy = row["created_by"]
        updatedAt = Timestamp.parse(row["updated_at"]) ?? Date(timeIntervalSince1970: 0)
        updatedBy = row["updated_by"]
    }

    var etag: String { "\"\(version)\"" }

    enum Keys: String, CodingKey { case version, createdAt, createdBy, updatedAt, updatedBy }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(version, forKey: .version)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(createdBy, forKey: .createdBy)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(updatedBy, forKey: .updatedBy)
    }
}

/// An applied event's time, actor and id, as the projection stamps them on rows.
struct EventStamp {
    let time: String
    let actor: String?
    let eventId: String
}

/// A stored JSON record column decoded with the wire decoder (fields this version does not know are
/// simply not shown).
func decodeStoredRecord<T: Decodable>(_ type: T.Type, _ row: Row, column: String = "record") throws -> T {
    let text: String = row[column]
    return try WireDecoder.decode(type, from: Array(text.utf8))
}

func encodedRecord<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try WireEncoder.encode(value), as: UTF8.self)
}
