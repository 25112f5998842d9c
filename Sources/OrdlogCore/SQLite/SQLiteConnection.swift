import CSQLite
import Foundation

/// An error returned by the system libsqlite3, with the statement that caused it.
///
/// `description` names the result code, SQLite's own message and the SQL text; bound values are never
/// included, so message bodies and receipt handles stay out of error output.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_CONSTRAINT` = 19, `SQLITE_BUSY` = 5, …), see
    /// <https://www.sqlite.org/rescode.html>.
    public let code: Int32
    /// The extended result code (for example `SQLITE_CONSTRAINT_TRIGGER`).
    public let extendedCode: Int32
    /// SQLite's message (`sqlite3_errmsg`).
    public let message: String
    /// The SQL text being prepared or run, if any.
    public let sql: String?

    public init(code: Int32, extendedCode: Int32, message: String, sql: String?) {
        self.code = code
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    public var description: String {
        var text = "SQLite error \(code) (\(String(cString: sqlite3_errstr(code)))): \(message)"
        if let sql { text += " — in: \(sql.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))" }
        return text
    }
}

/// The result codes ordlog tells apart, named as in `sqlite3.h` (<https://www.sqlite.org/rescode.html>): compare a
/// ``SQLiteError``'s ``SQLiteError/code`` with the primary ones and its ``SQLiteError/extendedCode`` with the
/// extended ones (C macros that Swift does not import, so they are spelled out here as `sqlite3.h` defines them).
public enum SQLiteResultCode {
    /// `SQLITE_BUSY` (5): another connection holds a lock the statement needs.
    public static let busy: Int32 = SQLITE_BUSY
    /// `SQLITE_LOCKED` (6): a lock held within the same connection (a shared cache) conflicts.
    public static let locked: Int32 = SQLITE_LOCKED
    /// `SQLITE_IOERR` (10): the operating system reported an I/O error.
    public static let ioError: Int32 = SQLITE_IOERR
    /// `SQLITE_CORRUPT` (11): the database file is malformed.
    public static let corrupt: Int32 = SQLITE_CORRUPT
    /// `SQLITE_FULL` (13): the disk (or the temporary directory) is full.
    public static let full: Int32 = SQLITE_FULL
    /// `SQLITE_CONSTRAINT` (19): a constraint (or an append-only trigger) refused the change.
    public static let constraint: Int32 = SQLITE_CONSTRAINT
    /// `SQLITE_READONLY` (8): a write to a read-only database or connection.
    public static let readOnly: Int32 = SQLITE_READONLY
    /// `SQLITE_CANTOPEN` (14): a file cannot be opened (including a WAL's `-shm` in a read-only directory).
    public static let cantOpen: Int32 = SQLITE_CANTOPEN
    /// `SQLITE_NOTADB` (26): the file is not a SQLite database.
    public static let notADatabase: Int32 = SQLITE_NOTADB
    /// `SQLITE_READONLY_RECOVERY`: a WAL database needs recovery, which a read-only connection cannot do.
    public static let readOnlyRecovery: Int32 = SQLITE_READONLY | (1 << 8)
    /// `SQLITE_READONLY_CANTLOCK`: the WAL's shared-memory file is read-only and cannot be locked.
    public static let readOnlyCantLock: Int32 = SQLITE_READONLY | (2 << 8)
    /// `SQLITE_READONLY_ROLLBACK`: a hot rollback journal, which a read-only connection cannot roll back.
    public static let readOnlyRollback: Int32 = SQLITE_READONLY | (3 << 8)
    /// `SQLITE_READONLY_CANTINIT`: the WAL's shared-memory file is read-only and needs initialising.
    public static let readOnlyCantInit: Int32 = SQLITE_READONLY | (5 << 8)
    /// `SQLITE_READONLY_DIRECTORY`: the database's directory is read-only (a journal cannot be created in it).
    public static let readOnlyDirectory: Int32 = SQLITE_READONLY | (6 << 8)
}

/// A single connection to a SQLite database file, over the system libsqlite3.
///
/// Not thread-safe: one connection is used by one task at a time (ordlog opens one writer per file).
/// Prepared statements are cached by SQL text, so hot paths prepare once.
public final class SQLiteConnection {
    let handle: OpaquePointer
    private var cache: [String: SQLiteStatement] = [:]
    /// The file path this connection was opened on (`:memory:` for an in-memory database).
    public let path: String

    /// Opens (creating if needed) the database at `path`.
    /// - Throws: ``SQLiteError`` if the file cannot be opened.
    public init(path: String, readOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            let extended = db.map { sqlite3_extended_errcode($0) } ?? rc
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc & 0xFF, extendedCode: extended, message: "\(message) (opening \(path))", sql: nil)
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// The bytes of the main database as a file would hold them
    /// ([sqlite3_serialize](https://www.sqlite.org/c3ref/serialize.html)): an in-memory database written out
    /// without touching a disk.
    /// - Throws: ``SQLiteError`` when SQLite cannot (out of memory).
    public func serialized() throws -> [UInt8] {
        var size: sqlite3_int64 = 0
        guard let p = sqlite3_serialize(handle, "main", &size, 0) else {
            throw SQLiteError(
                code: SQLITE_NOMEM, extendedCode: SQLITE_NOMEM, message: "cannot serialize \(path)", sql: nil)
        }
        defer { sqlite3_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: Int(size)))
    }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(
            code: rc & 0xFF, extendedCode: sqlite3_extended_errcode(handle),
            message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more SQL statements that take no parameters and return no rows of interest.
    /// - Throws: ``SQLiteError``.
    public func execute(_ sql: String) throws {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errmsg)
            throw SQLiteError(
                code: rc & 0xFF, extendedCode: sqlite3_extended_errcode(handle), message: message, sql: sql)
        }
    }

    /// A prepared statement for `sql`, cached on this connection and reset before it is returned.
    /// - Throws: ``SQLiteError`` if the SQL does not compile.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        if let statement = cache[sql] {
            statement.reset()
            return statement
        }
        let statement = try SQLiteStatement(connection: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws.
    ///
    /// `IMMEDIATE` takes the write lock at once, so two ordlog processes on one file serialise instead of
    /// failing half-way. Nested calls are not allowed; use ``savepoint(_:_:)`` inside.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try step("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try step("COMMIT")
            return result
        } catch {
            try? step("ROLLBACK")
            throw error
        }
    }

    /// ``transaction(_:)`` for a body that awaits (a network call per message): the write lock is held across
    /// the awaits, so use it only on a connection no other task uses meanwhile.
    public func transaction<T>(_ body: () async throws -> T) async throws -> T {
        try step("BEGIN IMMEDIATE")
        do {
            let result = try await body()
            try step("COMMIT")
            return result
        } catch {
            try? step("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` inside a named savepoint; on a thrown error only the savepoint's work is rolled back.
    public func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try step("SAVEPOINT \(name)")
        do {
            let result = try body()
            try step("RELEASE \(name)")
            return result
        } catch {
            try? step("ROLLBACK TO \(name)")
            try? step("RELEASE \(name)")
            throw error
        }
    }

    /// Runs one parameterless statement through the statement cache (no re-parsing on hot paths).
    private func step(_ sql: String) throws {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement.handle) }
        try statement.step()
    }

    /// A statement prepared once and kept in `slot` (a stored property of the caller), reset for reuse: the
    /// hot paths' way to skip the SQL-text lookup of ``prepare(_:)``.
    public func prepared(_ slot: inout SQLiteStatement?, _ sql: String) throws -> SQLiteStatement {
        if let statement = slot {
            sqlite3_reset(statement.handle)
            return statement
        }
        let statement = try SQLiteStatement(connection: self, sql: sql)
        slot = statement
        return statement
    }

    /// The number of rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// True while a transaction is open on this connection.
    public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs a query and returns the first column of the first row as Int64 (nil when no row or NULL).
    public func scalarInt(_ sql: String, _ values: [SQLiteValue] = []) throws -> Int64? {
        let statement = try prepare(sql)
        try statement.bind(values)
        return try statement.firstRow { $0.optionalInt64(0) } ?? nil
    }

    /// Runs a query and returns the first column of the first row as text (nil when no row or NULL).
    public func scalarText(_ sql: String, _ values: [SQLiteValue] = []) throws -> String? {
        let statement = try prepare(sql)
        try statement.bind(values)
        return try statement.firstRow { $0.optionalText(0) } ?? nil
    }

    /// Runs a statement with `values` bound, stepping it to completion.
    public func run(_ sql: String, _ values: [SQLiteValue] = []) throws {
        let statement = try prepare(sql)
        try statement.bind(values)
        while try statement.step() {}
    }
}

/// A value bound to a statement parameter.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case real(Double)
}

nonisolated(unsafe) private let emptyCString: UnsafeMutablePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.pointee = 0
    return p
}()
private let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// A compiled statement. Obtain one from ``SQLiteConnection/prepare(_:)``.
public final class SQLiteStatement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection
    /// The statement's SQL text.
    public let sql: String

    init(connection: SQLiteConnection, sql: String) throws {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw connection.error(rc, sql: sql) }
        self.handle = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and clears its bindings.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters 1…n.
    public func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    /// Binds one value to the 1-based parameter `index`.
    public func bind(_ value: SQLiteValue, at index: Int32) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .real(let v): rc = sqlite3_bind_double(handle, index, v)
        case .text(let v):
            var v = v
            rc = v.withUTF8 { buf in
                buf.withMemoryRebound(to: CChar.self) { chars in
                    guard let base = chars.baseAddress else {
                        return sqlite3_bind_text(handle, index, emptyCString, 0, SQLITE_TRANSIENT)
                    }
                    return sqlite3_bind_text(handle, index, base, Int32(chars.count), SQLITE_TRANSIENT)
                }
            }
        case .blob(let v):
            rc = v.withUnsafeBytes { buf in
                if buf.count == 0 { return sqlite3_bind_zeroblob(handle, index, 0) }
                return sqlite3_bind_blob(handle, index, buf.baseAddress, Int32(buf.count), SQLITE_TRANSIENT)
            }
        }
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }

    /// Binds an Int64, or NULL for nil.
    public func bind(_ value: Int64?, at index: Int32) throws {
        try bind(value.map { .int($0) } ?? .null, at: index)
    }

    /// Binds text, or NULL for nil.
    public func bind(_ value: String?, at index: Int32) throws {
        try bind(value.map { .text($0) } ?? .null, at: index)
    }

    /// Advances to the next row. Returns true when a row is available, false when done.
    /// - Throws: ``SQLiteError`` (constraint violations, trigger aborts, I/O errors).
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Steps once and reads the first row with `read`, then resets the statement, so no read transaction
    /// is left open (an un-reset statement would pin a stale WAL snapshot). Nil when there is no row.
    public func firstRow<T>(_ read: (SQLiteStatement) throws -> T) throws -> T? {
        defer { sqlite3_reset(handle) }
        guard try step() else { return nil }
        return try read(self)
    }

    /// True when column `i` of the current row is NULL.
    public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(handle, i) == SQLITE_NULL }
    /// Column `i` as Int64.
    public func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(handle, i) }
    /// Column `i` as Int64, nil for NULL.
    public func optionalInt64(_ i: Int32) -> Int64? { isNull(i) ? nil : int64(i) }
    /// Column `i` as text (empty for NULL).
    public func text(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(handle, i) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, i))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    /// Column `i` as text, nil for NULL.
    public func optionalText(_ i: Int32) -> String? { isNull(i) ? nil : text(i) }
    /// Column `i` as bytes (empty for NULL).
    public func blob(_ i: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(handle, i))
        guard n > 0, let p = sqlite3_column_blob(handle, i) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    /// Column `i` as bytes, nil for NULL.
    public func optionalBlob(_ i: Int32) -> [UInt8]? { isNull(i) ? nil : blob(i) }
}
