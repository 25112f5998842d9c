import Foundation
import Logging

/// A log that needed a private copy to be read (left mid-write, or written by an older ordlog) could not be copied
/// or the copy could not be opened.
public struct EventLogCopyError: Error, Sendable, CustomStringConvertible {
    /// The log that was to be read.
    public var path: String
    /// Why a copy was needed: "was left mid-write by an interrupted writer" or "was written by an older ordlog".
    public var reason: String
    /// What failed (the underlying error's description).
    public var failure: String

    public var description: String {
        "\(path) \(reason) and cannot be read in place, and a private copy of it could not be made: \(failure). "
            + "Free space in $TMPDIR (or point TMPDIR elsewhere), or run a writer (`ordlog ingest` or `consume`) on "
            + "it, which recovers or migrates the file itself."
    }
}

extension EventLog {
    /// Opens the log at `path` for a command that only reads it, never changing the bytes of the file or of its
    /// `-journal` and `-wal` side files.
    ///
    /// ```swift
    /// let log = try EventLog.openForReading(path: "ordlog.db", logger: logger) { note in
    ///     FileHandle.standardError.write(Data("ordlog: \(note)\n".utf8))
    /// }
    /// ```
    ///
    /// - A log that reads as it is: opened read-only (`EventLog(path:logger:readOnly:)` with `readOnly: true`).
    /// - A log written by an older ordlog (``EventLogNeedsMigration``): a migrated copy (`VACUUM INTO`, then
    ///   migrated) in `scratch` is read, and `note` says so.
    /// - A log left mid-write by a writer that was killed, which SQLite can only recover on a connection that
    ///   writes: a hot rollback journal (`SQLITE_READONLY_ROLLBACK`; `ordlog seal` writes in rollback-journal
    ///   mode), or a WAL whose index cannot be rebuilt read-only (`SQLITE_READONLY_RECOVERY`, `…_CANTINIT`,
    ///   `…_CANTLOCK`, or `SQLITE_CANTOPEN` with a `-wal` left: a read-only directory without the `-shm`). The file
    ///   and its `-journal` / `-wal` (not the `-shm`) are copied into `scratch` (side files first, so that a
    ///   writer recovering the original meanwhile cannot give the copy a database without its journal; the copy is
    ///   made again, up to three times, when a file changes while it is copied), the copy is opened read-write so
    ///   SQLite rolls its journal back or replays its WAL there, and `note` says so. The original stays as it is
    ///   until the next writer recovers it.
    ///
    /// A copy is opened read-write (it is private): the returned log can be appended to, but nothing it writes
    /// reaches `path`. Copies live until `scratch` is removed (``ScratchSpace/removeAll()``, at exit for
    /// ``ScratchSpace/shared``).
    ///
    /// - Parameters:
    ///   - path: the log file.
    ///   - logger: the log's logger.
    ///   - scratch: where copies are made.
    ///   - note: called (at most once, before this returns) with one sentence for the user, without a prefix,
    ///     when a copy is read instead of `path`.
    /// - Returns: the opened log.
    /// - Throws: ``SQLiteError`` when the file cannot be opened or read (missing, not a SQLite database,
    ///   unreadable); ``EventLogCopyError`` when a copy was needed and could not be made or opened.
    public static func openForReading(
        path: String,
        logger: Logger = Logger(label: "ordlog.eventlog", factory: { _ in SwiftLogNoOpLogHandler() }),
        scratch: ScratchSpace = .shared,
        note: (String) -> Void = { _ in }
    ) throws -> EventLog {
        do {
            return try EventLog(path: path, logger: logger, readOnly: true)
        } catch let old as EventLogNeedsMigration {
            let reason = "was written by an older ordlog"
            let log = try copying(path, reason: reason) {
                let copy = try scratch.makeDirectory(prefix: "migrated") + "/" + fileName(path)
                try SQLiteConnection(path: path, readOnly: true)
                    .execute("VACUUM INTO '\(copy.replacingOccurrences(of: "'", with: "''"))'")
                return try EventLog(path: copy, logger: logger)
            }
            note(
                "\(path) \(reason) (migrations \(old.pending.joined(separator: ", ")) not applied): reading a "
                    + "migrated copy; the file is left as it is (ingest or consume migrate it)")
            return log
        } catch let error as SQLiteError where needsWritingRecovery(error, path: path) {
            let journal = fileSize(path + "-journal") > 0
            let reason = "was left mid-write by an interrupted writer"
            var pending: [String] = []
            let log = try copying(path, reason: reason) {
                let copy = try recoveredCopy(of: path, in: scratch)
                pending = try Migrations.pending(SQLiteConnection(path: copy))
                return try EventLog(path: copy, logger: logger)
            }
            let what = journal ? "a hot journal" : "a WAL that needs recovery"
            let older =
                pending.isEmpty
                ? ""
                : " and migrated (it was written by an older ordlog: migrations \(pending.joined(separator: ", ")))"
            note(
                "\(path) \(reason) (\(what)): reading a recovered private copy\(older); the file is left as it is "
                    + "(the next writer recovers it)")
            return log
        }
    }

    /// True when `error`, from opening `path` read-only, means SQLite must write to recover the file: a hot
    /// rollback journal, or a WAL index that cannot be rebuilt read-only.
    static func needsWritingRecovery(_ error: SQLiteError, path: String) -> Bool {
        switch error.extendedCode {
        case SQLiteResultCode.readOnlyRollback, SQLiteResultCode.readOnlyRecovery, SQLiteResultCode.readOnlyCantInit,
            SQLiteResultCode.readOnlyCantLock:
            return true
        default:
            // A WAL without its -shm in a directory this process cannot write: no index can be made.
            return error.code == SQLiteResultCode.cantOpen && FileManager.default.fileExists(atPath: path)
                && fileSize(path + "-wal") > 0
        }
    }

    /// Copies `path` with its `-journal` and `-wal` into a new directory in `scratch`, under the same file name,
    /// and lets SQLite recover the copy (a connection that may write rolls back a hot journal and rebuilds a WAL's
    /// index on its first read). Returns the copy's path.
    /// - Throws: ``RecoveredCopyUnstable`` when the file or its side files changed during each of three copies.
    static func recoveredCopy(of path: String, in scratch: ScratchSpace) throws -> String {
        let fm = FileManager.default
        let sides = ["-journal", "-wal"]
        var attempt = 0
        while true {
            attempt += 1
            let before = sides.map { state(path + $0) } + [state(path)]
            let dir = try scratch.makeDirectory(prefix: "recovered")
            let copy = dir + "/" + fileName(path)
            // Side files first: see openForReading.
            var copied: [String] = []
            for side in sides where fm.fileExists(atPath: path + side) {
                try fm.copyItem(atPath: path + side, toPath: copy + side)
                copied.append(copy + side)
            }
            try fm.copyItem(atPath: path, toPath: copy)
            copied.append(copy)
            // The copies keep the originals' modes: a read-only log would give a copy SQLite cannot recover.
            for file in copied { try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file) }
            let after = sides.map { state(path + $0) } + [state(path)]
            if before != after {
                try? fm.removeItem(atPath: dir)
                // A writer is at work on the file: a copy taken now may pair a file with the wrong journal.
                guard attempt < 3 else { throw RecoveredCopyUnstable() }
                continue
            }
            let connection = try SQLiteConnection(path: copy)
            _ = try connection.scalarInt("SELECT count(*) FROM sqlite_master")
            return copy
        }
    }

    /// Runs `body`, turning what it throws into ``EventLogCopyError``.
    private static func copying<T>(_ path: String, reason: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw EventLogCopyError(path: path, reason: reason, failure: "\(error)")
        }
    }

    private static func fileName(_ path: String) -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        return name.isEmpty ? "log.db" : name
    }

    /// Size in bytes, 0 for a missing file.
    private static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Size and modification time (nil for a missing file), to see a file change while it is copied.
    private static func state(_ path: String) -> [Double]? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return [
            (a[.size] as? NSNumber)?.doubleValue ?? -1,
            (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1,
        ]
    }
}

/// The log kept changing while it was copied for recovery (three times): a writer is at work on it.
struct RecoveredCopyUnstable: Error, CustomStringConvertible {
    var description: String { "it kept changing while it was copied (a writer is at work on it); try again" }
}
