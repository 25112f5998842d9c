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

    /// `line` as it goes to stderr, with its newline: text made safe for a terminal (paths, SQLite and server error
    /// text may carry control bytes; line breaks and tabs are kept), or a JSON object (label `ordlog`, the message
    /// without its `ordlog: ` prefix, JSON-escaped).
    static func render(_ line: String, level: Logger.Level) -> String {
        guard json else { return terminalSafeBlock(line) + "\n" }
        let message = line.hasPrefix("ordlog: ") ? String(line.dropFirst(8)) : line
        return JSONLogHandler.line(
            timestamp: JSONLogHandler.timestamp(), level: level, label: "ordlog", message: message, source: "ordlog",
            error: nil, metadata: [:])
    }
}

/// Writes a diagnostic line to stderr (as JSON with `--log-format json`).
/// A POSIX write that ignores errors: a closed stderr must not trap (Foundation's `FileHandle.write(_:)` does), least of
/// all on the way out of a signal handler that still has scratch files to remove.
func err(_ line: String, level: Logger.Level = .notice) {
    var bytes = Array(Diagnostics.render(line, level: level).utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
    }
}

