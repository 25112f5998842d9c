import Foundation

/// `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`, `AWS_CREDENTIAL_EXPIRATION`).
public struct EnvironmentCredentialProvider: CredentialProvider {
    public static let sourceName = "environment variables"
    public let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    public var description: String { "environment" }

    public func credentials() async throws -> AWSCredentials {
        func env(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        guard let keyId = env("AWS_ACCESS_KEY_ID") else {
            if env("AWS_SECRET_ACCESS_KEY") != nil {
                throw CredentialSourceError(
                    source: Self.sourceName, reason: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
            }
            throw CredentialSourceNotApplicable(source: "environment", reason: "AWS_ACCESS_KEY_ID not set")
        }
        guard let secret = env("AWS_SECRET_ACCESS_KEY") else {
            throw CredentialSourceError(
                source: Self.sourceName, reason: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        return AWSCredentials(
            accessKeyId: keyId, secretAccessKey: secret, sessionToken: env("AWS_SESSION_TOKEN"),
            source: Self.sourceName, expiration: env("AWS_CREDENTIAL_EXPIRATION").flatMap(parseAWSTimestamp))
    }
}
