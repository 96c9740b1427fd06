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
        guard !bytes.isEmpty else {
            sqlite3_bind_text(handle, index, "", 0, Self.transient)
            return try execute()
        }
        return try bytes.withUnsafeBytes { buffer in
            sqlite3_bind_text(handle, index, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(buffer.count), Self.static)
            return try execute()
        }
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
