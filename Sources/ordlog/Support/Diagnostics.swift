import ArgumentParser
import Foundation
import Logging
import OrdlogAWS
import OrdlogCore
import OrdlogOps

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

