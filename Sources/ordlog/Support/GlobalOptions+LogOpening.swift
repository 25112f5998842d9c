import ArgumentParser
import Foundation
import Logging
import OrdlogAWS
import OrdlogCore
import OrdlogOps

extension GlobalOptions {
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
    /// log as it is, several (or one sealed segment) merged into a scratch file in a new ``TempDir`` named
    /// `scratchPrefix` (none is made for one log). With `project`, a merged log's local projection is built from it
    /// (``Reprojector``), for commands that read the projection too (orders, report); one log's own projection is
    /// read as it is.
    /// Keep the returned value alive while the log is read: its scratch folder goes with it.
    func openVerifiedLog(scratchPrefix: String, project: Bool = false) throws -> VerifiedLog {
        let set = try openLogSet()
        let progress = Progress(label: "verify")
        let report = try set.requireVerified { url, seq in
            progress.update("\(url.lastPathComponent): verified through seq \(seq)")
        }
        progress.finish()
        let scratch = set.isOneLogWithItsProjection ? nil : try TempDir(scratchPrefix)
        let log = try set.readableLog(scratchPath: scratch!.path("merged.db"))
        if project, !set.isOneLogWithItsProjection {
            _ = try Reprojector(log: log).run(.all, startedAt: ProcessingStep.systemClockMs())
        }
        return VerifiedLog(set: set, log: log, report: report, scratch: scratch)
    }

    /// Takes the writer lock of the --db log (``WriterLock``) for the rest of this process, before the log is
    /// opened: `consume` refuses a second consumer on its log before it touches SQS. Opening the log for writing
    /// (``openLog(create:write:newFilePageSize:)``, ``EventLog/init(path:logger:readOnly:writer:newFilePageSize:)``)
    /// takes the same lock, reentrantly. A log in a missing directory takes no lock here: opening it reports that.
    func lockForWriting() throws {
        let dir = URL(fileURLWithPath: dbPath).deletingLastPathComponent().path
        guard LogSources.isDirectory(dir) else { return }
        try WriterLock.acquire(forLog: dbPath)  // WriterLockError: exit 70 (CommandFailure's table)
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
        // A writer must not turn another SQLite file (a `reproject --into` projection, say) into an empty log by
        // migrating it.
        if !create, fm.fileExists(atPath: path) { try LogSources.checkIsLog(path) }
        do {
            return try EventLog(
                path: path, logger: makeLogger("ordlog.eventlog"), writer: write, newFilePageSize: newFilePageSize)
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

