import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a ``MotoServer`` could not be started.
public enum MotoServerError: Error, CustomStringConvertible, Sendable {
    /// `moto_server` is not on `PATH`.
    case notInstalled(searchedPath: String)
    /// The process exited or did not answer in time; `log` is the tail of its output.
    case didNotStart(reason: String, log: String)
    /// No free TCP port could be found.
    case noFreePort(String)

    public var description: String {
        switch self {
        case .notInstalled(let path):
            return "moto_server is not on PATH (searched: \(path)). Install it with: pip install 'moto[server]'"
        case .didNotStart(let reason, let log):
            return "moto_server did not start: \(reason). Last output:\n\(log)"
        case .noFreePort(let reason):
            return "no free 127.0.0.1 port for moto_server: \(reason)"
        }
    }
}

/// A `moto_server` process on a free 127.0.0.1 port, for tests.
///
/// ``start(environment:timeout:)`` binds port 0 to find a free port, launches
/// `moto_server -H 127.0.0.1 -p PORT` (with extra environment such as `INITIAL_NO_AUTH_ACTION_COUNT`), and waits
/// until the port accepts connections (bounded by `timeout`). ``stop()`` (also called on deinit) sends SIGTERM,
/// then SIGKILL after 3 s, so the server is never left running.
public final class MotoServer: @unchecked Sendable {
    /// `http://127.0.0.1:PORT`.
    public let endpoint: URL
    public let port: Int
    /// File receiving the server's stdout and stderr.
    public let logFile: URL
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    private init(endpoint: URL, port: Int, logFile: URL, process: Process) {
        self.endpoint = endpoint
        self.port = port
        self.logFile = logFile
        self.process = process
    }

    deinit { stop() }

    /// Full path of `moto_server` on `PATH`, or `nil`.
    public static func findExecutable(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String?
    {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/moto_server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Launches a fresh server and waits until it accepts connections.
    ///
    /// - Parameters:
    ///   - environment: extra environment variables for the server, e.g. `["INITIAL_NO_AUTH_ACTION_COUNT": "3"]`.
    ///   - timeout: seconds to wait for the port to open (moto imports slowly: over 20 s on a loaded machine).
    /// - Throws: ``MotoServerError`` (``MotoServerError/notInstalled(searchedPath:)`` when not on PATH).
    public static func start(environment: [String: String] = [:], timeout: TimeInterval = 90) async throws
        -> MotoServer
    {
        // The port is free when chosen but not held until moto binds it: another server started meanwhile (tests
        // run in parallel) can take it, and moto then exits at once. Such an early exit is retried on a new port.
        var attempt = 1
        while true {
            do {
                return try await startOnce(environment: environment, timeout: timeout)
            } catch MotoServerError.didNotStart(let reason, _) where reason.hasPrefix("process exited") && attempt < 3 {
                attempt += 1
            }
        }
    }

    private static func startOnce(environment: [String: String], timeout: TimeInterval) async throws -> MotoServer {
        var env = ProcessInfo.processInfo.environment
        guard let executable = findExecutable(environment: env) else {
            throw MotoServerError.notInstalled(searchedPath: env["PATH"] ?? "")
        }
        let port = try freePort()
        let logFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("moto_server-\(port)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        for (k, v) in environment { env[k] = v }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw MotoServerError.didNotStart(reason: "cannot launch \(executable): \(error)", log: "")
        }
        try? handle.close()
        let server = MotoServer(
            endpoint: URL(string: "http://127.0.0.1:\(port)")!, port: port, logFile: logFile,
            process: process)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw MotoServerError.didNotStart(
                    reason: "process exited with status \(process.terminationStatus)",
                    log: server.logTail())
            }
            if canConnect(port: port) { return server }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        server.stop()
        throw MotoServerError.didNotStart(reason: "port \(port) not open after \(timeout) s", log: server.logTail())
    }

    /// Terminates the server (SIGTERM, then SIGKILL after 3 s) and waits for it. Idempotent.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        // If Process put the child in its own process group, signal the group (covers wrapper scripts).
        let target: pid_t = getpgid(pid) == pid ? -pid : pid
        kill(target, SIGTERM)
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(target, SIGKILL) }
        process.waitUntilExit()
    }

    /// Whether the process is still alive.
    public var isRunning: Bool { process.isRunning }

    /// The last `maxBytes` of the server's output.
    public func logTail(maxBytes: Int = 4000) -> String {
        guard let data = try? Data(contentsOf: logFile) else { return "" }
        return String(decoding: data.suffix(maxBytes), as: UTF8.self)
    }

    /// Binds 127.0.0.1:0 and returns the port the kernel chose.
    public static func freePort() throws -> Int {
        let (fd, port) = try boundLoopbackSocket(listening: false)
        close(fd)
        return port
    }

    /// A TCP socket bound to 127.0.0.1 on a port the kernel picks (listening with a backlog of 128 when
    /// `listening`), and that port. The caller owns (and closes) the descriptor.
    /// - Throws: ``MotoServerError/noFreePort(_:)`` naming the call that failed and errno.
    public static func boundLoopbackSocket(listening: Bool) throws -> (fd: Int32, port: Int) {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw MotoServerError.noFreePort("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, !listening || listen(fd, 128) == 0 else {
            let failure = "bind/listen failed: errno \(errno)"
            close(fd)
            throw MotoServerError.noFreePort(failure)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let failure = "getsockname() failed: errno \(errno)"
            close(fd)
            throw MotoServerError.noFreePort(failure)
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// Whether a TCP connection to 127.0.0.1:`port` succeeds right now.
    public static func canConnect(port: Int) -> Bool {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
