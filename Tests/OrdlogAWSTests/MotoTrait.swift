import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

// The trait itself (`.motoServer()`, `MotoContext`) is in OrdlogTestSupport, shared with the CLI tests.

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
