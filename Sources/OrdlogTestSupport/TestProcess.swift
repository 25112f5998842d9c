import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process a test starts, watches, signals and waits for: the one way the tests run a program they do not
/// just run to the end (``ProcessRunner`` runs to the end through it too).
///
/// Its standard output and error are read as they come, on threads of their own, into buffers the test reads at
/// any time (``stdout``, ``stderr``) — a child that fills a pipe never blocks unless the test asks for a pipe it
/// reads itself (``Output/unread``). A process still running when the handle is released is killed (SIGKILL) and
/// reaped, so a test that fails half-way leaves nothing behind.
///
/// ```swift
/// let p = try TestProcess(CLI.binary, ["consume", "--db", db, "--queue", "OrderQueue"], environment: env)
/// try waitUntil(60, "consume is receiving") { p.stderr.contains("ordlog: consuming") }
/// p.signal(SIGTERM)
/// let end = try p.wait(timeout: 20)
/// #expect(end.status == 0, "\(p.stderr)")
/// ```
public final class TestProcess: @unchecked Sendable {
    /// What the child reads on standard input.
    public enum Input: Sendable {
        /// `/dev/null`.
        case none
        /// These bytes, then end of input.
        case data(Data)
        /// A pipe left open: the test writes with ``write(stdin:)`` and ends it with ``closeStdin()``.
        case open
    }

    /// Where a child's standard output or error goes.
    public enum Output: Sendable {
        /// Read as it comes into ``stdout`` / ``stderr``.
        case captured
        /// `/dev/null`.
        case discarded
        /// A pipe nobody reads until the test does, through ``stdoutPipe``: the child blocks once it is full
        /// (``isStdoutPipeFull``). Standard output only.
        case unread
    }

    /// How a child ended.
    public struct Termination: Sendable, Equatable, CustomStringConvertible {
        /// The exit status, or the signal number when ``reason`` is `.uncaughtSignal`.
        public var status: Int32
        public var reason: Process.TerminationReason
        /// Whether it died of signal `sig` (rather than exiting).
        public func killed(by sig: Int32) -> Bool { reason == .uncaughtSignal && status == sig }
        public var description: String { reason == .exit ? "exit \(status)" : "killed by signal \(status)" }
    }

    /// The program and its arguments, as one line for messages.
    public let commandLine: String
    private let process = Process()
    private let stdinPipe: Pipe?
    /// The read end of standard output when it is ``Output/unread``.
    public let stdoutPipe: FileHandle?
    private let outBuffer = OutputBuffer()
    private let errBuffer = OutputBuffer()
    private let exited = DispatchGroup()
    private let drained = DispatchGroup()

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: entries added to (or replacing those of) this process's environment.
    ///   - stdin: what it reads (nothing by default).
    ///   - stdout: where its standard output goes (captured by default).
    ///   - stderr: where its standard error goes (captured by default; ``Output/unread`` is for stdout only).
    ///   - cwd: its working directory.
    /// - Throws: what `Process.run()` throws when the program cannot be started.
    public init(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], stdin: Input = .none,
        stdout: Output = .captured, stderr: Output = .captured, cwd: URL? = nil
    ) throws {
        precondition(stderr != .unread, "TestProcess: stderr is captured or discarded")
        commandLine = ([executable.path] + arguments).joined(separator: " ")
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let cwd { process.currentDirectoryURL = cwd }
        switch stdin {
        case .none:
            stdinPipe = nil
            process.standardInput = FileHandle.nullDevice
        case .data, .open:
            let pipe = Pipe()
            stdinPipe = pipe
            process.standardInput = pipe
        }
        let outPipe = stdout == .discarded ? nil : Pipe()
        let errPipe = stderr == .discarded ? nil : Pipe()
        process.standardOutput = outPipe ?? FileHandle.nullDevice
        process.standardError = errPipe ?? FileHandle.nullDevice
        stdoutPipe = stdout == .unread ? outPipe?.fileHandleForReading : nil
        exited.enter()
        process.terminationHandler = { [exited] _ in exited.leave() }
        do {
            try process.run()
        } catch {
            exited.leave()
            throw error
        }
        if stdout == .captured, let outPipe { read(outPipe, into: outBuffer) }
        if let errPipe { read(errPipe, into: errBuffer) }
        if case .data(let bytes) = stdin {
            write(stdin: bytes)
            closeStdin()
        }
    }

    /// Starts a program found on `PATH` (through `/usr/bin/env`); the parameters are ``init(_:_:environment:stdin:stdout:stderr:cwd:)``'s.
    public convenience init(
        program: String, _ arguments: [String], environment: [String: String] = [:], stdin: Input = .none,
        stdout: Output = .captured, stderr: Output = .captured, cwd: URL? = nil
    ) throws {
        try self.init(
            URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments, environment: environment, stdin: stdin,
            stdout: stdout, stderr: stderr, cwd: cwd)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? stdinPipe?.fileHandleForWriting.close()
    }

    /// Reads `pipe` to its end on a thread of its own (not the task pool, which a busy suite can starve). The
    /// thread holds the buffer, not the handle, so that releasing the handle kills the child.
    private func read(_ pipe: Pipe, into buffer: OutputBuffer) {
        drained.enter()
        let handle = pipe.fileHandleForReading
        let thread = Thread { [drained] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
            }
            drained.leave()
        }
        thread.start()
    }

    /// The child's process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether the child has not ended yet.
    public var isRunning: Bool { process.isRunning }

    /// Sends `sig` (e.g. `SIGTERM`, `SIGKILL`) to the child, if it is still running.
    public func signal(_ sig: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, sig)
    }

    /// Writes `bytes` to the child's standard input (``Input/open`` or ``Input/data(_:)`` only).
    public func write(stdin bytes: Data) {
        guard let stdinPipe else { preconditionFailure("TestProcess: \(commandLine) has no stdin pipe") }
        // A child that has exited (or closed its input) makes this fail with EPIPE; the test sees that in its exit.
        try? stdinPipe.fileHandleForWriting.write(contentsOf: bytes)
    }

    /// Ends the child's standard input. Idempotent.
    public func closeStdin() {
        try? stdinPipe?.fileHandleForWriting.close()
    }

    /// What the child has written to standard output so far (all of it once ``wait(timeout:)`` returned).
    public var stdoutBytes: Data { outBuffer.data }
    /// What the child has written to standard error so far (all of it once ``wait(timeout:)`` returned).
    public var stderrBytes: Data { errBuffer.data }
    /// ``stdoutBytes`` as UTF-8 (invalid bytes replaced).
    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    /// ``stderrBytes`` as UTF-8 (invalid bytes replaced).
    public var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }

    /// Whether standard output (``Output/unread``) holds as many unread bytes as the pipe can: the child's next
    /// write blocks.
    public var isStdoutPipeFull: Bool {
        guard let fd = stdoutPipe?.fileDescriptor else { return false }
        var unread: Int32 = 0
        #if os(Linux)
            let request = UInt(FIONREAD)
            let capacity = fcntl(fd, 1032)  // F_GETPIPE_SZ
        #else
            let request: UInt = 0x4004_667F  // FIONREAD
            let capacity: Int32 = 16384  // a macOS pipe's buffer before it grows
        #endif
        guard withUnsafeMutablePointer(to: &unread, { ioctl(fd, request, $0) }) == 0 else { return false }
        return capacity > 0 && unread >= capacity
    }

    /// Waits for the child to end, and for its captured output to be read to the end.
    ///
    /// - Parameter timeout: seconds to wait; `nil` waits as long as it takes.
    /// - Returns: how it ended.
    /// - Throws: ``TestProcessError/timedOut(_:seconds:stderr:)`` when it is still running after `timeout` (it is
    ///   then killed, so that the test fails instead of hanging).
    @discardableResult
    public func wait(timeout: Double? = 120) throws -> Termination {
        let deadline: DispatchTime = timeout.map { .now() + $0 } ?? .distantFuture
        if exited.wait(timeout: deadline) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = drained.wait(timeout: .now() + 5)
            throw TestProcessError.timedOut(commandLine, seconds: timeout ?? 0, stderr: String(stderr.suffix(2000)))
        }
        process.waitUntilExit()
        // A grandchild that kept the pipes open must not hang the test: what was read by then is the output.
        _ = drained.wait(timeout: .now() + 10)
        return Termination(status: process.terminationStatus, reason: process.terminationReason)
    }

    /// ``wait(timeout:)``, then the exit status and the whole output as a ``ProcessResult``.
    public func result(timeout: Double? = 120) throws -> ProcessResult {
        let end = try wait(timeout: timeout)
        return ProcessResult(status: end.status, stdoutBytes: stdoutBytes, stderrBytes: stderrBytes)
    }
}

/// Bytes a reader thread appends and the test reads.
private final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()
    func append(_ chunk: Data) { lock.withLock { bytes.append(chunk) } }
    var data: Data { lock.withLock { bytes } }
}

/// Why a ``TestProcess`` wait failed.
public enum TestProcessError: Error, CustomStringConvertible {
    /// The process was still running after the timeout (and was killed).
    case timedOut(_ commandLine: String, seconds: Double, stderr: String)

    public var description: String {
        switch self {
        case .timedOut(let command, let seconds, let stderr):
            "\(command) still running after \(seconds) s (killed); its stderr ends: \(stderr)"
        }
    }
}
