import ArgumentParser
import Foundation
import Logging
import OrdlogOps

/// `--log-level` and `--log-format`, which every command takes (README: "Commands that use the log take …
/// `--log-level` … and `--log-format text|json`"): part of ``GlobalOptions``, and on their own for the AWS commands
/// that have no log (setup, publish, whoami). Validating them also sets how the command's own stderr lines are
/// written (``Diagnostics/json``).
struct LoggingOptions: ParsableArguments {
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

    /// True when --log-level, --log-format, LOG_LEVEL or LOG_FORMAT says how to log; without any, the AWS commands
    /// that have no log (setup, publish, whoami) leave their clients' loggers as they were.
    var isSet: Bool {
        let env = ProcessInfo.processInfo.environment
        return logLevel != nil || logFormat != nil || env["LOG_LEVEL"] != nil || env["LOG_FORMAT"] != nil
    }

    /// The logger for an AWS client labelled `label`: ``makeLogger(_:)`` when ``isSet``, else swift-log's default.
    func awsLogger(_ label: String) -> Logger { isSet ? makeLogger(label) : Logger(label: label) }

    /// A logger at --log-level (else $LOG_LEVEL, else warning) writing to stderr as text or JSON lines.
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
}
