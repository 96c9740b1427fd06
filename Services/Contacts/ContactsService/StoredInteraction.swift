import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

extension StoredEntity where Record == Interaction {
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
    ) throws -> (items: [Self], more: Bool) {
        var conditions = ["counterparty_id IN (SELECT value FROM json_each(?))"]
        var arguments: StatementArguments = [try encodedRecord(counterpartyIds)]
        if !filter.kinds.isEmpty {
            conditions.append("kind IN (SELECT value FROM json_each(?))")
            arguments += [try encodedRecord(filter.kinds.map(\.rawValue))]
        }
        if let from = filter.from {
            conditions.append("occurred_at >= ?")
            arguments += [Timestamp.format(from)]
        }
        if let to = filter.to {
            conditions.append("occurred_at < ?")
            arguments += [Timestamp.format(to)]
        }
        if let after {
            conditions.append("(occurred_at < ? OR (occurred_at = ? AND id < ?))")
            arguments += [after.occurredAt, after.occurredAt, after.id]
        }
        arguments += [limit + 1]
        let rows = try Row.fetchAll(
            try db.cachedStatement(
                sql: """
                    SELECT \(columns), occurred_at AS position_time FROM interaction WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY occurred_at DESC, id DESC LIMIT ?
                    """), arguments: arguments)
        return (try rows.prefix(limit).map(Self.init(row:)), rows.count > limit)
    }

    var position: Position { Position(occurredAt: Timestamp.format(record.occurredAt), id: record.id) }
}
