import Foundation
import GRDB
import WireSchema

public struct StoredInteraction: Sendable, Equatable {
    public var record: Interaction
    public var bookkeeping: Bookkeeping
    public var lastEventId: String

    static let columns = "record, \(Bookkeeping.columns), last_event_id"

    init(row: Row) throws {
        record = try decodeStoredRecord(Interaction.self, row)
        bookkeeping = Bookkeeping(row: row)
        lastEventId = row["last_event_id"]
    }

    public static func fetch(_ db: Database, id: String) throws -> StoredInteraction? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(columns) FROM interaction WHERE id = ?"), arguments: [id]).map(Self.init(row:))
    }

    public struct TimelineFilter: Sendable {
        public var kinds: [InteractionKind] = []
        public var from: Date?
        public var to: Date?
        public init() {}
    }

    /// Where a timeline page continues: the last item's time and id (newest first).
    public struct Position: Codable, Sendable {
        public var occurredAt: String
        public var id: String
    }

    /// A counterparty's interactions (those of counterparties merged into it included), newest first.
    public static func timeline(
        _ db: Database, counterpartyIds: [String], filter: TimelineFilter, after: Position?, limit: Int
    ) throws -> (items: [StoredInteraction], more: Bool) {
        var conditions = ["counterparty_id IN (SELECT value FROM json_each(?))"]
        var arguments: StatementArguments = [try encodedRecord(counterpartyIds)]
        if !filter.kinds.isEmpty {
            conditions.append("kind IN (SELECT value FROM json_each(?))")
            arguments += [try encodedRecord(filter.kinds.map(\.rawValue))]
        }
        if let from = filter.from { conditions.append("occurred_at >= ?"); arguments += [Timestamp.format(from)] }
        if let to = filter.to { conditions.append("occurred_at < ?"); arguments += [Timestamp.format(to)] }
        if let after {
            conditions.append("(occurred_at < ? OR (occurred_at = ? AND id < ?))")
            arguments += [after.occurredAt, after.occurredAt, after.id]
        }
        arguments += [limit + 1]
        let rows = try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT \(columns), occurred_at AS position_time FROM interaction WHERE \(conditions.joined(separator: " AND "))
            ORDER BY occurred_at DESC, id DESC LIMIT ?
            """), arguments: arguments)
        return (try rows.prefix(limit).map(Self.init(row:)), rows.count > limit)
    }

    var position: Position { Position(occurredAt: Timestamp.format(record.occurredAt), id: record.id) }
}

/// An interaction in responses: `counterpartyId` is the counterparty it belongs to now.
public struct InteractionResource: Encodable, Sendable {
    let stored: StoredInteraction
    let counterpartyId: String

    public func encode(to encoder: any Encoder) throws {
        var record = stored.record
        record.counterpartyId = counterpartyId
        try record.encode(to: encoder)
        try stored.bookkeeping.encode(to: encoder)
    }
}
