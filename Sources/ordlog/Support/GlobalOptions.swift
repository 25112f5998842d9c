import ArgumentParser
import Foundation
import Logging
import OrdlogAWS
import OrdlogCore
import OrdlogOps

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The event log file (also holds the local projection). Env: ORDLOG_DB. Commands that read logs (verify, "
                + "history, inspect-dlq, replay, export, orders, report, reproject --into) take it repeated, a folder "
                + "(its *.db files), a glob or s3://BUCKET/PREFIX (sealed segments), read a sealed log with its "
                + "sealed segments, and read the logs as one, verified: see `ordlog verify --help`.",
            valueName: "path"))
    var db: [String] = []

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
            "Where segments read from s3:// are kept. Env: ORDLOG_CACHE, else "
                + "$XDG_CACHE_HOME/ordlog, else ~/.cache/ordlog.", valueName: "dir"))
    var cache: String?

    /// The database path: --db, else $ORDLOG_DB, else ./ordlog.db. A command that works on one log refuses
    /// several (``openLog(create:)``).
    var dbPath: String { db.last ?? ProcessInfo.processInfo.environment["ORDLOG_DB"] ?? "ordlog.db" }

    /// The sources named by --db (repeated), else ``dbPath``.
    var sources: [String] { db.isEmpty ? [dbPath] : db }

    /// Opens every log named by --db as one ``LogSet``, the library's one read path (paths, folders, globs,
    /// `s3://BUCKET/PREFIX`, a sealed log with its sealed segments; each file opened for reading only). Says on
    /// stderr what the set read once (a copy proven the same) and what a reader should know (an S3 object not
    /// trusted, a log read from a private copy).
    /// - Throws: ``LogSourceError`` (mapped to an exit code by ``runReportingErrors(_:)``), ``SQLiteError``.
    func openLogSet() throws -> LogSet {
        let progress = Progress(label: "verify")
        defer { progress.finish() }
        let set = try LogSet.open(
            sources,
            options: LogSet.OpenOptions(
                cache: cache.flatMap { $0.isEmpty ? nil : $0 }, logger: makeLogger("ordlog.eventlog"),
                note: { err("ordlog: " + $0) },
                progress: { url, seq in progress.update("\(url.lastPathComponent): through seq \(seq)") }))
        for line in set.readOnce { err("ordlog: " + line) }
        return set
    }

    /// The logs named by --db, every chain verified (a set that does not verify is refused with exit 1, naming the
    /// files: ``LogSetBroken``), as one log to read every record from (``LogSet/readableLog(scratchPath:)``): one
    /// log as it is, several merged into a scratch file in a new ``TempDir`` named `scratchPrefix` (none is made
    /// for one log). With `project`, a merged log's local projection is built from it (``Reprojector``), for
    /// commands that read the projection too (orders, report); one log's own projection is read as it is.
    /// Keep the returned value alive while the log is read: its scratch folder goes with it.
    func openVerifiedLog(scratchPrefix: String, project: Bool = false) throws -> VerifiedLog {
        let set = try openLogSet()
        let progress = Progress(label: "verify")
        let report = try set.requireVerified { url, seq in
            progress.update("\(url.lastPathComponent): verified through seq \(seq)")
        }
        progress.finish()
        let scratch = set.members.count > 1 ? try TempDir(scratchPrefix) : nil
        let log = try set.readableLog(scratchPath: scratch!.path("merged.db"))
        if project, set.members.count > 1 {
            _ = try Reprojector(log: log).run(.all, startedAt: Pipeline.systemClockMs())
        }
        return VerifiedLog(set: set, log: log, report: report, scratch: scratch)
    }

    /// Records who is about to write `log` (a hash-chained identity record, when it differs from the log's
    /// latest): `--consumer-id`, else the environment (ECS task, Kubernetes pod), else the id already in the log,
    /// else a generated one. Returns the identity in force.
    func recordIdentity(_ log: EventLog, consumerId: String?, queue: String) throws -> ConsumerIdentity {
        let environment = ProcessInfo.processInfo.environment
        // After a seal the live file starts without an identity record: its segment start carries the id on.
        let stored = try log.latestIdentity()?.identity.consumerId ?? log.segmentStart?.consumerId
        let id = ConsumerIdentity.resolveConsumerId(
            explicit: consumerId, environment: environment, hostName: ConsumerIdentity.localHostName(),
            stored: stored, taskMetadata: fetchTaskMetadata)
        let identity = ConsumerIdentity(consumerId: id, ordlogVersion: Ordlog.configuration.version, queue: queue)
        let now = Pipeline.systemClockMs()
        try log.write { _ = try log.appendIdentity(identity, recordedAt: now) }
        return identity
    }

    /// --log-format, else $LOG_FORMAT, else text.
    var jsonLogs: Bool {
        (logFormat ?? ProcessInfo.processInfo.environment["LOG_FORMAT"] ?? "text").lowercased() == "json"
    }

    mutating func validate() throws {
        if let logFormat, !["text", "json"].contains(logFormat.lowercased()) {
            throw ValidationError("--log-format must be text or json")
        }
        if let levelText = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"],
            Logger.Level(rawValue: levelText.lowercased()) == nil
        {
            let source = logLevel == nil ? "LOG_LEVEL" : "--log-level"
            throw ValidationError(
                "\(source) \"\(levelText)\" is not a log level: use trace, debug, info, notice, warning, error or critical")
        }
        Diagnostics.json = jsonLogs
    }

    func makeLogger(_ label: String = "ordlog") -> Logger {
        let levelText = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "warning"
        let level = Logger.Level(rawValue: levelText.lowercased()) ?? .warning  // validated in validate()
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

    /// Takes the writer lock of the --db log (``WriterLock``) for the rest of this process: one writer per log.
    /// A log in a missing directory takes no lock here: opening it reports that.
    func lockForWriting() throws {
        let dir = URL(fileURLWithPath: dbPath).deletingLastPathComponent().path
        guard LogSources.isDirectory(dir) else { return }
        do { try WriterLock.acquire(forLog: dbPath) } catch let e as WriterLockError {
            throw CLIError(code: .storage, message: "\(e)")
        }
    }

    /// Opens the event log for writing (ingest, consume, redrive, seal, an in-place reproject), turning failures
    /// into exit code 70 with a message that says what to do. Commands that read open the logs as a set
    /// (``openLogSet()``), for reading only.
    /// - Parameter create: create the file when missing (ingest, consume). The other writers refuse a missing
    ///   file, so a mistyped --db is an error rather than a new, empty log.
    /// - Parameter write: the command appends to the log or rewrites it: take the log's ``WriterLock`` first, for
    ///   the rest of the run, refusing with exit 70 when another process holds it. False for a dry run.
    /// - Parameter newFilePageSize: the page size when this creates the file (``EventLog/bulkPageSize`` for ingest).
    func openLog(create: Bool = false, write: Bool = false, newFilePageSize: Int? = nil) throws -> EventLog {
        let path = dbPath
        if db.count > 1 || (db.count == 1 && (LogSources.isDirectory(path) || path.contains(where: { "*?[".contains($0) })))
        {
            throw CLIError(
                code: .usage,
                message: "this command writes one log: give one --db file (verify, history, inspect-dlq, replay, export, "
                    + "orders, report and reproject --into read several as one)")
        }
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard create else { throw CLIError(LogSourceError(source: path, message: "no such file", kind: .missing)) }
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError(
                    code: .storage, message: "cannot create event log \(path): directory \(dir) does not exist")
            }
        }
        if !create, fm.fileExists(atPath: path), try !Self.hasTable("receives", at: path) {
            // A writer must not turn another SQLite file (a `reproject --into` projection, say) into an empty log
            // by migrating it.
            throw CLIError(LogSourceError(source: path, message: "no receives table", kind: .notALog))
        }
        if write { try lockForWriting() }
        do {
            return try EventLog(path: path, logger: makeLogger("ordlog.eventlog"), newFilePageSize: newFilePageSize)
        } catch let error as SQLiteError {
            throw CLIError(LogSourceError(source: path, message: LogSources.openProblem(error), kind: .unreadable))
        }
    }
}

/// The logs a read command reads, verified, as one log (``GlobalOptions/openVerifiedLog(scratchPrefix:project:)``).
struct VerifiedLog {
    let set: LogSet
    let log: EventLog
    /// The verification the set passed.
    let report: LogSet.VerifyReport
    /// Where a merge of several logs is kept; nil for one log.
    let scratch: TempDir?
}

/// GET `url` with a 1 s timeout (the ECS task metadata endpoint, a link-local address) through the one HTTP
/// transport (``CurlTransport``); nil on any failure or a status other than 200.
func fetchTaskMetadata(_ url: URL) -> [UInt8]? {
    let response = try? Blocking.wait {
        try await CurlTransport.shared.send(HTTPRequest(method: "GET", url: url, timeout: 1))
    }
    guard let response, response.status == 200 else { return nil }
    return Array(response.body)
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

extension CLIError {
    /// A source that cannot be read, with what to do.
    init(_ e: LogSourceError) {
        switch e.kind {
        case .missing:
            self.init(
                code: .storage,
                message: "no event log at \(e.source) (set it with --db or ORDLOG_DB; default ./ordlog.db). Create "
                    + "one with `ordlog ingest FILE` or `ordlog consume`.")
        case .notALog:
            self.init(
                code: .storage,
                message: "\(e.source) is not an ordlog event log (it has no receives table). A projection written "
                    + "with --into is read with `ordlog orders --db \(e.source)`; other commands need the log itself "
                    + "(--db / ORDLOG_DB).")
        case .unreadable:
            self.init(code: .storage, message: "cannot open event log \(e.source): \(e.message). Check --db / ORDLOG_DB.")
        case .notFound: self.init(code: .storage, message: "\(e)")
        case .brokenChain: self.init(code: .checkFailed, message: "\(e)")
        case .aws: self.init(code: .aws, message: "\(e)")
        case .usage: self.init(code: .usage, message: "\(e)")
        }
    }
}

/// Runs `body`, mapping ``CLIError`` and storage errors to exit codes with a message on stderr.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as LogSourceError {
        try runReportingErrors { throw CLIError(error) }
    } catch let error as LogSetBroken {
        try runReportingErrors { throw CLIError(code: .checkFailed, message: "\(error)") }
    } catch let error as EventLogCopyError {
        try runReportingErrors { throw CLIError(code: .storage, message: "\(error)") }
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
    writeStdout(line + "\n")
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

/// `--consumer-id` of the commands that write a log (ingest, consume): one text for both.
let consumerIdHelp = ArgumentHelp(
    "Who writes this log, recorded in it (a hash-chained identity record) when it changes. Default: the host "
        + "name with the ECS task id (ECS_CONTAINER_METADATA_URI_V4) or the pod name (POD_NAME, or HOSTNAME "
        + "on Kubernetes), else the id already recorded in the log, else a generated HOST-XXXXXXXX.",
    valueName: "id")

/// The --help paragraph of the commands that read several logs as one (one text, so the merge order is stated
/// once; ``LogSet`` implements it).
let severalLogsHelp = """
    The logs (one file, repeated --db, a folder of *.db files, a glob, a sealed log with its segments, or \
    s3://BUCKET/PREFIX) are verified first, every chain walked, one log too: a log that does not verify is \
    refused, exit 1, naming the file. Several are read as one log merged in the documented order: each \
    consumer's records in log order (seq), between consumers by SQS SentTimestamp, then MessageId, then receive \
    count, then consumer id, then seq (`ordlog verify --help`); a receive without ApproximateReceiveCount is \
    counted among the merged receives of its message.
    """
