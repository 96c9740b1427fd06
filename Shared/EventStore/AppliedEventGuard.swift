import GRDB

/// How an event id is stored in the redelivery guard: a canonical (lowercase, hyphenated) UUID as its
/// 16 bytes, which keeps the guard's index small and its comparisons short; any other id as its text.
/// The two never collide: the column has no affinity, and SQLite never finds a blob equal to a text.
/// Parsed when the event is decoded (off the write transaction), bound on the writer thread.
public enum AppliedEventKey: Sendable, Hashable {
    case uuid(UInt64, UInt64)
    case text(String)

    public init(_ id: String) {
        var id = id
        if let uuid = id.withUTF8({ Self.parseCanonicalUUID($0) }) {
            self = .uuid(uuid.0, uuid.1)
        } else {
            self = .text(id)
        }
    }

    /// Runs `statement` with the key bound at `index`; the rows it changed.
    func execute(_ statement: RawStatement, boundAt index: Int32) throws -> Int {
        switch self {
        case .uuid(let high, let low):
            return try withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { try statement.execute(bindingBlob: $0, at: index) }
        case .text(let id):
            statement.bind(index, id)
            return try statement.execute()
        }
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lowercase hex, as two big-endian halves; nil otherwise.
    static func parseCanonicalUUID(_ text: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard text.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for (position, byte) in text.enumerated() {
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            if digits < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
            digits += 1
        }
        return (high, low)
    }
}

/// The redelivery guard: remembers applied event ids, refusing one seen before. Prepare it once per
/// transaction (it holds a prepared statement of that connection). During a bulk load it asks the
/// ids the load holds in memory instead of the table (`BulkLoadEventIds`).
public struct AppliedEventGuard {
    private let insert: RawStatement?
    private let bulkLoad: BulkLoadEventIds?

    public init(_ db: Database) throws {
        insert = try RawStatement(db, sql: "INSERT INTO crm_applied_events(event_id) VALUES (?) ON CONFLICT DO NOTHING")
        bulkLoad = nil
    }

    private init(holding ids: BulkLoadEventIds) {
        ids.beginBatch()
        insert = nil
        bulkLoad = ids
    }

    /// The guard of a batch transaction: the bulk load's ids while it holds them, the table otherwise.
    static func forBatch(_ db: Database, bulkLoad ids: BulkLoadEventIds?) throws -> AppliedEventGuard {
        if let ids, ids.isHolding { return AppliedEventGuard(holding: ids) }
        return try AppliedEventGuard(db)
    }

    /// Records the event as applied; false when it already was (a redelivery to skip).
    public func markNew(_ key: AppliedEventKey) throws -> Bool {
        if let bulkLoad { return bulkLoad.markNew(key) }
        return try key.execute(insert!, boundAt: 1) > 0
    }

    /// The event's savepoint was rolled back: it was not applied after all.
    func rolledBack(_ key: AppliedEventKey) {
        bulkLoad?.forget(key)
    }

    /// Last in the batch transaction: stores what the bulk load holds in memory.
    func finishBatch(_ db: Database) throws {
        try bulkLoad?.writeBatch(db)
    }
}
