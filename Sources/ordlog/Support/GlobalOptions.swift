import ArgumentParser
import Foundation
import Logging
import OrdlogCore

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The event log file (also holds the local projection). Env: ORDLOG_DB.", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("Log level on stderr: trace, debug, info, notice, warning, error, critical. Env: LOG_LEVEL.", valueName: "level"))
    var logLevel: String?

    @Flag(name: .long, help: "Print machine-readable JSON on stdout instead of a table.")
    var json = false

    /// The database path: --db, else $ORDLOG_DB, else ./ordlog.db.
    var dbPath: String { db ?? ProcessInfo.processInfo.environment["ORDLOG_DB"] ?? "ordlog.db" }

    func makeLogger(_ label: String = "ordlog") -> Logger {
        let levelText = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "warning"
        let level = Logger.Level(rawValue: levelText.lowercased()) ?? .warning
        var logger = Logger(label: label) { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = level
        return logger
    }

    /// Opens the event log, turning failures into exit code 70 with a message that says what to do.
    func openLog() throws -> EventLog {
        do {
            return try EventLog(path: dbPath, logger: makeLogger("ordlog.eventlog"))
        } catch {
            throw CLIError(code: .storage, message: "cannot open event log \(dbPath): \(error). Check the path (--db or ORDLOG_DB) and that it is an ordlog database.")
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
        if !error.message.isEmpty { FileHandle.standardError.write(Data("ordlog: \(error.message)\n".utf8)) }
        throw ExitCode(error.code.rawValue)
    } catch let error as SQLiteError {
        FileHandle.standardError.write(Data("ordlog: event log error: \(error)\n".utf8))
        throw ExitCode(CLIError.Code.storage.rawValue)
    }
}

/// Writes a line to stdout.
func out(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes a line to stderr.
func err(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
