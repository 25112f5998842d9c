import ArgumentParser
import Foundation
import Logging
import OrdlogCore
import OrdlogOps

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The event log file (also holds the local projection). Env: ORDLOG_DB.", valueName: "path"))
    var db: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Log level on stderr: trace, debug, info, notice, warning, error, critical. Env: LOG_LEVEL.",
            valueName: "level"))
    var logLevel: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Diagnostics on stderr as text, or json: one JSON object per line (timestamp, level, label, message, "
                + "source, metadata), for CloudWatch Logs and other collectors. Env: LOG_FORMAT.",
            valueName: "text|json"))
    var logFormat: String?

    @Flag(name: .long, help: "Print machine-readable JSON on stdout instead of a table.")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where segments read from s3:// and assembled chains are kept. Env: ORDLOG_CACHE, else "
                + "$XDG_CACHE_HOME/ordlog, else ~/.cache/ordlog.", valueName: "dir"))
    var cache: String?

    /// The database path: --db, else $ORDLOG_DB, else ./ordlog.db.
    var dbPath: String { db ?? ProcessInfo.processInfo.environment["ORDLOG_DB"] ?? "ordlog.db" }

    /// --log-format, else $LOG_FORMAT, else text.
    var jsonLogs: Bool {
        (logFormat ?? ProcessInfo.processInfo.environment["LOG_FORMAT"] ?? "text").lowercased() == "json"
    }

    mutating func validate() throws {
        if let logFormat, !["text", "json"].contains(logFormat.lowercased()) {
            throw ValidationError("--log-format must be text or json")
        }
        Diagnostics.json = jsonLogs
    }

    func makeLogger(_ label: String = "ordlog") -> Logger {
        let levelText = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "warning"
        let level = Logger.Level(rawValue: levelText.lowercased()) ?? .warning
        let json = jsonLogs
        var logger = Logger(label: label) { label in
            json
                ? JSONLogHandler.standardError(label: label) as any LogHandler
                : StreamLogHandler.standardError(label: label)
        }
        logger.logLevel = level
        return logger
    }

    /// True when the SQLite file at `path` has a table `name` (false for any file that cannot be read).
    static func hasTable(_ name: String, at path: String) throws -> Bool {
        guard let probe = try? SQLiteConnection(path: path, readOnly: true),
            let n = try? probe.scalarInt(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                [.text(name)])
        else { return true }  // unreadable: let the real open report why
        return n > 0
    }

    /// Opens the event log, turning failures into exit code 70 with a message that says what to do.
    /// - Parameter create: create the file when missing (ingest, consume). Commands that only read a log refuse
    ///   a missing file, so a mistyped --db is an error rather than a new, empty log that "verifies".
    func openLog(create: Bool = false) throws -> EventLog {
        let path = dbPath
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard create else {
                throw CLIError(
                    code: .storage,
                    message: "no event log at \(path) (set it with --db or ORDLOG_DB; default "
                        + "./ordlog.db). Create one with `ordlog ingest FILE` or `ordlog consume`.")
            }
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError(
                    code: .storage, message: "cannot create event log \(path): directory \(dir) does not exist")
            }
        }
        if !create, fm.fileExists(atPath: path), try !Self.hasTable("receives", at: path) {
            // A read-only command must not turn another SQLite file (a `reproject --into` projection, say) into
            // an empty log by migrating it.
            throw CLIError(
                code: .storage,
                message: "\(path) is not an ordlog event log (it has no receives table). "
                    + "A projection written with --into is read with `ordlog orders --db \(path)`; other commands need "
                    + "the log itself (--db / ORDLOG_DB).")
        }
        do {
            return try EventLog(path: path, logger: makeLogger("ordlog.eventlog"))
        } catch let error as SQLiteError {
            let hint =
                error.code == 26
                ? "it is not a SQLite database"
                : error.code == 8
                    ? "the file or its directory is read-only"
                    : error.code == 14
                        ? "the file cannot be opened (permissions?)"
                        : error.message
            throw CLIError(code: .storage, message: "cannot open event log \(path): \(hint). Check --db / ORDLOG_DB.")
        }
    }
}

/// An error that ends the command with a documented exit code.
struct CLIError: Error, CustomStringConvertible {
    enum Code: Int32 {
        case checkFailed = 1
        case deadLettered = 3
        case badInput = 4
        case aws = 5
        case usage = 64
        case storage = 70
        case interrupted = 130
    }
    var code: Code
    var message: String
    var description: String { message }
}

/// Runs `body`, mapping ``CLIError`` and storage errors to exit codes with a message on stderr.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CLIError {
        if !error.message.isEmpty { err("ordlog: \(error.message)", level: .error) }
        throw ExitCode(error.code.rawValue)
    } catch let error as SQLiteError {
        err("ordlog: \(storageMessage(error))", level: .error)
        throw ExitCode(CLIError.Code.storage.rawValue)
    }
}

/// Writes a line to stdout.
func out(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// How the command's own stderr lines are written: as text, or (`--log-format json` / `LOG_FORMAT=json`) as one JSON
/// object per line in the log handler's shape, so that every stderr line of a run parses as JSON.
enum Diagnostics {
    /// Set from the global options when they are validated; before that (or for commands without them), from
    /// `LOG_FORMAT`.
    nonisolated(unsafe) static var json = ProcessInfo.processInfo.environment["LOG_FORMAT"]?.lowercased() == "json"

    /// `line` as it goes to stderr, with its newline: text as given, or a JSON object (label `ordlog`, the message
    /// without its `ordlog: ` prefix).
    static func render(_ line: String, level: Logger.Level) -> String {
        guard json else { return line + "\n" }
        let message = line.hasPrefix("ordlog: ") ? String(line.dropFirst(8)) : line
        return JSONLogHandler.line(
            timestamp: JSONLogHandler.timestamp(), level: level, label: "ordlog", message: message, source: "ordlog",
            error: nil, metadata: [:])
    }
}

/// Writes a diagnostic line to stderr (as JSON with `--log-format json`).
func err(_ line: String, level: Logger.Level = .notice) {
    FileHandle.standardError.write(Data(Diagnostics.render(line, level: level).utf8))
}

/// A storage error said for a user: what failed and what to check, with SQLite's code for reference.
func storageMessage(_ error: SQLiteError) -> String {
    switch error.code {
    case 8:
        return
            "cannot write the event log: it is read-only (SQLite error 8). Check that the file and its directory are writable."
    case 13: return "cannot write the event log: the disk is full (SQLite error 13)."
    case 5, 6:
        return "the event log is locked by another process (SQLite error \(error.code)); try again when it finishes."
    case 10: return "I/O error on the event log (SQLite error 10): \(error.message)"
    case 11, 26:
        return "the event log is damaged or not an ordlog database (SQLite error \(error.code)): \(error.message)"
    default: return "event log error: \(error)"
    }
}
