import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

/// The moto_server of the enclosing suite (set by ``MotoServerTrait``).
enum MotoContext {
    @TaskLocal static var server: MotoServer?

    /// The current server, or a failure explaining that the suite lacks the trait.
    static func current() throws -> MotoServer {
        try #require(server, "no moto_server: add .motoServer() to the suite")
    }
}

/// Starts one moto_server for a whole suite and stops it when the suite ends (even on failure).
/// If moto_server is missing the suite fails with the install hint (no silent skip).
struct MotoServerTrait: SuiteTrait, TestScoping {
    var environment: [String: String]
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await MotoServer.start(environment: environment)
        defer { server.stop() }
        try await MotoContext.$server.withValue(server) { try await function() }
    }
}

extension Trait where Self == MotoServerTrait {
    /// One moto_server for the suite, with optional extra environment (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
    static func motoServer(environment: [String: String] = [:]) -> Self { MotoServerTrait(environment: environment) }
}

extension MotoServer {
    /// A configuration pointing every service at this server, with the given key pair.
    func configuration(
        accessKeyId: String = "testing", secret: String = "testing",
        source: String = "test credentials"
    ) -> AWSConfiguration {
        AWSConfiguration(
            credentials: AWSCredentials(
                accessKeyId: accessKeyId, secretAccessKey: secret,
                source: source),
            region: "us-east-1",
            endpointOverrides: [.sqs: endpoint, .sns: endpoint, .dynamodb: endpoint, .iam: endpoint])
    }
}

/// Parses JSON text into a Foundation object for shape checks.
func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}
