import Foundation

/// STS over the query protocol (`Action=…&Version=2011-06-15`, XML response): AssumeRole,
/// AssumeRoleWithWebIdentity (sent unsigned, as the SDKs do) and GetCallerIdentity.
public struct STSClient: Sendable {
    public static let version = "2011-06-15"
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// A client for STS from a resolved configuration.
    public init(
        configuration: AWSConfiguration, transport: any HTTPTransport = CurlTransport.shared,
        retryPolicy: RetryPolicy = .standard
    ) {
        self.init(
            client: AWSClient(
                service: .sts, configuration: configuration, transport: transport, retryPolicy: retryPolicy))
    }

    /// Temporary credentials and the assumed role's ARN.
    public struct AssumedRole: Sendable {
        public var credentials: AWSCredentials
        public var assumedRoleArn: String?
    }

    public func assumeRole(
        roleArn: String, sessionName: String, externalId: String? = nil, durationSeconds: Int? = nil,
        source: String
    ) async throws -> AssumedRole {
        var parameters = [("RoleArn", roleArn), ("RoleSessionName", sessionName)]
        if let externalId { parameters.append(("ExternalId", externalId)) }
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        let (root, response) = try await client.queryCall(
            operation: "AssumeRole", version: Self.version, parameters: parameters)
        return try Self.assumedRole(root, response: response, result: "AssumeRoleResult", source: source)
    }

    public func assumeRoleWithWebIdentity(
        roleArn: String, sessionName: String, webIdentityToken: String, durationSeconds: Int? = nil,
        source: String
    ) async throws -> AssumedRole {
        var parameters = [
            ("RoleArn", roleArn), ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken),
        ]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        let (root, response) = try await client.queryCall(
            operation: "AssumeRoleWithWebIdentity", version: Self.version, parameters: parameters)
        return try Self.assumedRole(
            root, response: response, result: "AssumeRoleWithWebIdentityResult", source: source)
    }

    /// Who the credentials belong to. Needs no IAM permission.
    public struct CallerIdentity: Sendable, Equatable {
        public var account: String
        public var arn: String
        public var userId: String
    }

    public func getCallerIdentity() async throws -> CallerIdentity {
        let (root, response) = try await client.queryCall(
            operation: "GetCallerIdentity", version: Self.version, parameters: [])
        guard let result = root.child("GetCallerIdentityResult"),
            let account = result.child("Account")?.text, let arn = result.child("Arn")?.text
        else {
            throw AWSResponseDecodingError(
                service: "STS", operation: "GetCallerIdentity", reason: "no GetCallerIdentityResult/Account/Arn",
                bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return CallerIdentity(account: account, arn: arn, userId: result.child("UserId")?.text ?? "")
    }

    static func assumedRole(_ root: XMLElementNode, response: HTTPResponse, result: String, source: String) throws
        -> AssumedRole
    {
        guard let node = root.child(result), let c = node.child("Credentials"),
            let keyId = c.child("AccessKeyId")?.text, !keyId.isEmpty,
            let secret = c.child("SecretAccessKey")?.text, !secret.isEmpty
        else {
            // No excerpt: a partial body could hold a secret.
            throw AWSResponseDecodingError(
                service: "STS", operation: String(result.dropLast("Result".count)),
                reason: "no \(result)/Credentials with AccessKeyId and SecretAccessKey", bodyExcerpt: "")
        }
        return AssumedRole(
            credentials: AWSCredentials(
                accessKeyId: keyId, secretAccessKey: secret, sessionToken: c.child("SessionToken")?.text,
                source: source, expiration: c.child("Expiration").flatMap { parseAWSTimestamp($0.text) }),
            assumedRoleArn: node.path("AssumedRoleUser", "Arn")?.text)
    }
}

/// A role session name from the environment's `AWS_ROLE_SESSION_NAME` or `ordlog-<unix seconds>`.
func defaultRoleSessionName(_ now: Date) -> String { "ordlog-\(Int(now.timeIntervalSince1970))" }

/// STS AssumeRole with credentials from `source` (a source profile, or a `credential_source`).
public struct AssumeRoleCredentialProvider: CredentialProvider {
    public let roleArn: String
    public let sessionName: String?
    public let externalId: String?
    public let durationSeconds: Int?
    public let sourceProvider: any CredentialProvider
    public let context: CredentialContext
    /// How this role was configured, e.g. `profile 'ops'`.
    public let origin: String

    public init(
        roleArn: String, sessionName: String? = nil, externalId: String? = nil, durationSeconds: Int? = nil,
        source: any CredentialProvider, context: CredentialContext, origin: String
    ) {
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.externalId = externalId
        self.durationSeconds = durationSeconds
        self.sourceProvider = source
        self.context = context
        self.origin = origin
    }

    public var description: String { "assume role \(roleArn) (\(origin))" }

    public func credentials() async throws -> AWSCredentials {
        let sourceCredentials: AWSCredentials
        do {
            sourceCredentials = try await sourceProvider.credentials()
        } catch let e as CredentialSourceNotApplicable {
            throw CredentialSourceError(
                source: description, reason: "its source credentials are not available (\(e))")
        }
        let label = "role \(roleArn) assumed with \(sourceCredentials.source) (\(origin))"
        do {
            let assumed = try await context.sts(StaticCredentialProvider(sourceCredentials)).assumeRole(
                roleArn: roleArn, sessionName: sessionName ?? defaultRoleSessionName(context.now()),
                externalId: externalId, durationSeconds: durationSeconds, source: label)
            return assumed.credentials
        } catch let e as AWSServiceError {
            throw CredentialSourceError(source: description, reason: "\(e)")
        } catch let e as AWSTransportError {
            throw CredentialSourceError(source: description, reason: "STS AssumeRole: \(e)")
        }
    }
}
