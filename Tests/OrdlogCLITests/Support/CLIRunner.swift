import Foundation
import OrdlogTestSupport

/// Runs the built `ordlog` binary (next to the test bundle in the build folder).
enum CLI {
    static let binary: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("ordlog")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return exe.deletingLastPathComponent().appendingPathComponent("ordlog")
    }()

    static var packageRoot: URL { TestFixtures.packageRoot }

    typealias Result = ProcessResult

    /// Runs ordlog with `args`; `env` entries are added to the environment.
    static func run(_ args: [String], env: [String: String] = [:], stdin: Data? = nil, cwd: URL? = nil) throws -> Result
    {
        try ProcessRunner.run(binary, args, environment: env, stdin: stdin, cwd: cwd)
    }

    /// Starts ordlog with `args` and returns at once, for a test that watches, signals and waits for it.
    static func start(
        _ args: [String], env: [String: String] = [:], stdin: TestProcess.Input = .none,
        stdout: TestProcess.Output = .captured, stderr: TestProcess.Output = .captured
    ) throws -> TestProcess {
        try TestProcess(binary, args, environment: env, stdin: stdin, stdout: stdout, stderr: stderr)
    }

    /// A fresh temporary directory, removed when the test process exits.
    static func tempDir() -> URL { TemporaryDirectory.forTestProcess("ordlog-cli") }

    static func sample(_ name: String) -> String { TestFixtures.sample(name) }
}
