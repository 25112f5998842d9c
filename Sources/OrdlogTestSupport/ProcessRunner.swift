import Foundation

/// What a child process did: its exit status and everything it wrote.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdoutBytes: Data
    public var stderrBytes: Data
    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
}

/// Runs child processes for tests.
public enum ProcessRunner {
    /// Runs `executable` with `arguments` and waits for it (a ``TestProcess`` run to its end).
    ///
    /// - Parameters:
    ///   - environment: entries added to (or replacing those of) this process's environment.
    ///   - stdin: bytes written to its standard input, which is then closed (empty input if `nil`).
    ///   - cwd: its working directory.
    /// Both output pipes are read concurrently, so a child that fills one never blocks.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil,
        cwd: URL? = nil
    ) throws -> ProcessResult {
        try TestProcess(executable, arguments, environment: environment, stdin: .data(stdin ?? Data()), cwd: cwd)
            .result(timeout: nil)
    }

    /// Runs a program found on `PATH` (through `/usr/bin/env`).
    public static func run(
        program: String, _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil,
        cwd: URL? = nil
    ) throws -> ProcessResult {
        try run(
            URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments, environment: environment, stdin: stdin,
            cwd: cwd)
    }

    /// Runs the `sqlite3` shell on `db` with `sql` (bypassing ordlog, as an attacker or a careless admin would).
    public static func sqlite3(_ db: String, _ sql: String) throws -> ProcessResult {
        try run(program: "sqlite3", [db, sql])
    }
}
