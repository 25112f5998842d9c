/// The exit statuses ordlog documents (README "Exit codes", `ordlog --help`), one case each: the one list a command,
/// the signal handling and the output writer end the process with.
///
/// Errors reach a status through one table, ``CommandFailure/init(_:)``: a command throws, the table says which
/// status and which line on stderr.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    /// The command did its job.
    case success = 0
    /// A check found differences or damage, or a read command refused logs that do not verify.
    case checkFailed = 1
    /// What was asked for is not there (`orders ID`, `history ID`, `inspect-dlq ID`, `redrive --message-id ID`).
    case notFound = 2
    /// Some messages were dead-lettered in this run.
    case deadLettered = 3
    /// Bad input: a file could not be read or is not recorded SQS traffic.
    case badInput = 4
    /// An AWS call failed (credentials, permissions, endpoint, throttling after retries).
    case aws = 5
    /// A usage error (bad flags or arguments).
    case usage = 64
    /// The event log or projection could not be opened, read or written, or another process is writing it.
    case storage = 70
    /// Standard output could not be written (`EX_IOERR`).
    case outputFailed = 74
    /// Ended by SIGHUP (128 + 1).
    case hangup = 129
    /// Ended by SIGINT (128 + 2), or a graceful stop after it or SIGTERM.
    case interrupted = 130
    /// Ended by SIGTERM (128 + 15).
    case terminated = 143

    /// The status of a process ended by `signal` (128 + the signal number), when documented.
    public init?(signal: Int32) { self.init(rawValue: 128 + signal) }

    /// True for the statuses a command reaches by throwing an error (through ``CommandFailure/init(_:)``); false for
    /// success, a failed stdout and the signals, which the process reaches by other ways.
    public var isReachedByError: Bool {
        switch self {
        case .success, .outputFailed, .hangup, .terminated: false
        default: true
        }
    }
}

/// An error that ends a command with a documented exit status and a line for stderr (empty: nothing more to say,
/// what went wrong was printed already).
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    /// The status names, as `CommandFailure.Code.storage`.
    public typealias Code = ExitStatus
    public var code: ExitStatus
    public var message: String
    public var description: String { message }

    public init(code: ExitStatus, message: String) {
        self.code = code
        self.message = message
    }
}
