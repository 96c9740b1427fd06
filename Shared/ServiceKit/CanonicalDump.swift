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
