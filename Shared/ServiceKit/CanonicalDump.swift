import GRDB
import WireFormat

/// Writes a store as canonical JSON lines, one entity per line: `{"<entity>": {...}}` with sorted
/// keys. A service's `dump` emits its tables in a fixed order, each in key order.
public struct CanonicalDump {
    private let output: (String) -> Void

    public init(output: @escaping (String) -> Void) {
        self.output = output
    }

    public func emit(_ entity: String, _ resource: some Encodable) throws {
        output(String(decoding: try WireEncoder.encode(Line(entity: entity, resource: resource)), as: UTF8.self))
    }

    /// Every row of a stored record's table, in id order, as its resource (record and bookkeeping).
    public func emitAll<Record: StoredRecord>(_ entity: String, _: Record.Type, in db: Database) throws {
        let rows = try StoredEntity<Record>.all(db)
        while let row = try rows.next() { try emit(entity, EntityResource(stored: try StoredEntity<Record>(row: row))) }
    }

    /// Every row of a plain table, in the order given (its key), as an object of its columns:
    /// for tables that hold no stored record, only values the events determine. `excluding` names
    /// columns that record the order this store applied events in (sequence numbers), which a
    /// replay may interleave differently across topics.
    public func emitTable(_ table: String, orderBy: String, excluding: Set<String> = [], in db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(table) ORDER BY \(orderBy)")
        while let row = try rows.next() {
            let columns = row.columnNames.filter { !excluding.contains($0) }.map { name -> (String, JSONValue) in
                let value: JSONValue =
                    switch row[name] as DatabaseValue? ?? .null {
                    case let value where value.isNull: .null
                    case let value:
                        (Int64.fromDatabaseValue(value).map { .number(String($0)) })
                            ?? .string(String.fromDatabaseValue(value) ?? "")
                    }
                return (name, value)
            }
            try emit(table, JSONValue.object(columns.sorted { $0.0 < $1.0 }))
        }
    }

    private struct Line<Resource: Encodable>: Encodable {
        let entity: String
        let resource: Resource

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(resource, forKey: Key(stringValue: entity))
        }
    }
}
