import GRDB
import GRDBSQLite

/// Binds and steps a GRDB statement with the C API. Only for the replay hot path: building
/// `StatementArguments` for every row costs more than SQLite's own work on small statements.
/// Bind by 1-based index, then `execute()`, which resets the statement for the next row.
public struct RawStatement {
    private let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    // SQLITE_TRANSIENT does not import into Swift: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    // SQLITE_STATIC: SQLite uses the caller's bytes until the statement is reset or rebound.
    private static let `static`: sqlite3_destructor_type? = nil

    public init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection!
    }

    public func bind(_ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(handle, index)
            return
        }
        if text.isEmpty {
            sqlite3_bind_text(handle, index, "", 0, Self.transient)
            return
        }
        text.withUTF8 { utf8 in
            _ = sqlite3_bind_text(
                handle, index, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self),
                Int32(utf8.count), Self.transient)
        }
    }

    /// Runs the statement (`execute()`) with UTF-8 bytes (already validated, e.g. by the JSON parser)
    /// bound as TEXT at `index`, without making a String and without SQLite copying them: they need
    /// to live only while the statement steps, which this call spans. A replay binds hundreds of MB
    /// of JSON, and Debian's SQLite (no lookaside) would allocate and copy for each.
    @discardableResult
    public func execute(bindingUTF8 bytes: [UInt8], at index: Int32) throws -> Int {
        try bytes.withUnsafeBytes { try execute(bindingUTF8: $0, at: index) }
    }

    /// `execute(bindingUTF8:at:)` with bytes that live elsewhere.
    @discardableResult
    public func execute(bindingUTF8 bytes: UnsafeRawBufferPointer, at index: Int32) throws -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            sqlite3_bind_text(handle, index, "", 0, Self.transient)
            return try execute()
        }
        sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.static)
        return try execute()
    }

    /// Runs the statement with `bytes` bound as a BLOB at `index`, not copied (as `execute(bindingUTF8:at:)`).
    @discardableResult
    public func execute(bindingBlob bytes: UnsafeRawBufferPointer, at index: Int32) throws -> Int {
        if let base = bytes.baseAddress {
            sqlite3_bind_blob(handle, index, base, Int32(bytes.count), Self.static)
        } else {
            sqlite3_bind_zeroblob(handle, index, 0)  // a NULL pointer would bind SQL NULL, not an empty blob
        }
        return try execute()
    }

    public func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
    /// NULL for nil.
    public func bind(_ index: Int32, _ value: Int?) {
        if let value { sqlite3_bind_int64(handle, index, Int64(value)) } else { sqlite3_bind_null(handle, index) }
    }
    public func bind(_ index: Int32, _ value: Bool) { sqlite3_bind_int64(handle, index, value ? 1 : 0) }

    /// Runs the statement to completion; returns the number of rows it changed.
    @discardableResult
    public func execute() throws -> Int {
        let code = sqlite3_step(handle)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        guard code == SQLITE_DONE || code == SQLITE_ROW else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                sql: String(cString: sqlite3_sql(handle)))
        }
        return Int(sqlite3_changes(connection))
    }
}

extension RawStatement {
    /// Steps a query to its end, handing `body` each row while it is current (bind first). For
    /// reports that read hundreds of thousands of small rows, where GRDB's `Row` costs more than
    /// SQLite's own work.
    public func forEachRow(_ body: (RawRow) throws -> Void) throws {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                    sql: String(cString: sqlite3_sql(handle)))
            }
            try body(RawRow(handle: handle))
        }
    }
}

/// The current row of `RawStatement.forEachRow`, its columns by 0-based index.
public struct RawRow {
    fileprivate let handle: OpaquePointer

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// The column as text; nil when NULL.
    public func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The column's bytes as a BLOB (empty when NULL), valid while the row is current.
    public func blob(_ column: Int32) -> UnsafeRawBufferPointer {
        guard let bytes = sqlite3_column_blob(handle, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column)))
    }

    /// The column's UTF-8 bytes, valid while the row is current; nil when NULL.
    public func utf8(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column)))
    }
}

/// Text as a dictionary key that is cheap to make, copy and hash: up to 15 UTF-8 bytes (most ids)
/// are kept in two words with their length, and longer text is numbered by the `TextKeys` that made
/// the key. For reports that count hundreds of thousands of ids read by `RawRow`, where making and
/// hashing a `String` per row was most of the time.
public struct TextKey: Hashable, Sendable {
    fileprivate var low: UInt64 = 0
    fileprivate var high: UInt64 = 0  // its last byte: the length, or 0xFF for a numbered long text

    /// A long text, numbered by its `TextKeys`: only they can tell its text.
    public var isNumbered: Bool { high >> 56 == 0xFF }
}

/// Makes `TextKey`s and turns them back into text.
public struct TextKeys: Sendable {
    private var numbers: [String: UInt64] = [:]
    private var texts: [String] = []

    public init() {}

    public mutating func key(_ bytes: UnsafeBufferPointer<UInt8>) -> TextKey {
        var key = TextKey()
        if bytes.count <= 15 {
            withUnsafeMutableBytes(of: &key) { packed in
                packed.copyMemory(from: UnsafeRawBufferPointer(bytes))
                packed[15] = UInt8(bytes.count)
            }
            return key
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let number = numbers[text] {
            key.low = number
        } else {
            key.low = UInt64(texts.count)
            numbers[text] = key.low
            texts.append(text)
        }
        key.high = 0xFF << 56
        return key
    }

    public mutating func key(_ text: String) -> TextKey {
        var text = text
        return text.withUTF8 { key($0) }
    }

    public func text(_ key: TextKey) -> String {
        if key.isNumbered { return texts[Int(key.low)] }
        return withUnsafeBytes(of: key) { packed in String(decoding: packed.prefix(Int(packed[15])), as: UTF8.self) }
    }
}
