import Foundation
import Testing

/// The moto_server of the enclosing suite or test (set by ``MotoServerTrait``).
public enum MotoContext {
    @TaskLocal public static var server: MotoServer?

    /// The current server, or a failure explaining that the suite or test lacks the trait.
    public static func current() throws -> MotoServer {
        try #require(server, "no moto_server: add .motoServer() to the suite or test")
    }
}

/// Starts a moto_server and stops it when the scope ends (even on failure): on a suite, one server for the whole
/// suite; on a test, a fresh server for that test. If moto_server is missing the scope fails with the install hint
/// (no silent skip).
public struct MotoServerTrait: SuiteTrait, TestTrait, TestScoping {
    public var environment: [String: String]
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await MotoServer.start(environment: environment)
        defer { server.stop() }
        try await MotoContext.$server.withValue(server) { try await function() }
    }
}

extension Trait where Self == MotoServerTrait {
    /// A moto_server for the suite (or test), with optional extra environment (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
    public static func motoServer(environment: [String: String] = [:]) -> Self {
        MotoServerTrait(environment: environment)
    }
}
