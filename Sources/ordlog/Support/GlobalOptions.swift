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

    /// --log-level and --log-format, between --db and --json in the help as before.
    @OptionGroup var logging: LoggingOptions

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

    /// A logger at --log-level (else $LOG_LEVEL, else warning) writing to stderr in --log-format.
    func makeLogger(_ label: String = "ordlog") -> Logger { logging.makeLogger(label) }
}
