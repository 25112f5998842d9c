import Foundation

/// A source of AWS credentials: environment variables, a profile, STS, a container endpoint, instance metadata…
///
/// ``credentials()`` returns the current credentials, fetching them if needed. A source that is not
/// configured where ordlog runs throws ``CredentialSourceNotApplicable`` (the chain then tries the next one);
/// any other error means the source applies but failed, and the chain stops there, as the AWS SDKs do.
public protocol CredentialProvider: Sendable, CustomStringConvertible {
    func credentials() async throws -> AWSCredentials
    /// Forgets cached credentials, so the next ``credentials()`` fetches new ones (after a service said they
    /// expired). Providers without a cache do nothing.
    func invalidate() async
}

extension CredentialProvider {
    public func invalidate() async {}
}

/// Thrown by a provider whose source is not configured here (e.g. `AWS_ACCESS_KEY_ID` not set).
public struct CredentialSourceNotApplicable: Error, Sendable, Equatable, CustomStringConvertible {
    /// Short name of the source, e.g. `environment`, `web identity`, `profile 'dev'`.
    public var source: String
    /// Why it does not apply, e.g. `AWS_ACCESS_KEY_ID not set`.
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

/// A source that applies but could not hand out credentials (STS refused, the endpoint failed, a token expired).
/// ``description`` names the source and what to do; it never holds a secret.
public struct CredentialSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "Cannot get AWS credentials from \(source): \(reason)" }
}

/// No source in the chain applied; lists each one and why.
public struct NoCredentialsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var skipped: [CredentialSourceNotApplicable]

    public init(skipped: [CredentialSourceNotApplicable]) { self.skipped = skipped }

    public var description: String {
        "No AWS credentials found. Tried, in order: "
            + skipped.map(\.description).joined(separator: "; ")
            + ". Export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile with --profile / AWS_PROFILE "
            + "(`aws configure`, `aws configure sso`), or run where a task role, IRSA or an instance profile "
            + "provides them."
    }
}

/// Credentials known up front (explicit keys, or a profile's static keys). Never expire.
public struct StaticCredentialProvider: CredentialProvider {
    public let staticCredentials: AWSCredentials

    public init(_ credentials: AWSCredentials) { self.staticCredentials = credentials }

    public func credentials() async throws -> AWSCredentials { staticCredentials }

    public var description: String { staticCredentials.source }
}

/// What the providers share: the environment, how to reach HTTP endpoints, the clock, where STS is.
public struct CredentialContext: Sendable {
    public var environment: [String: String]
    public var transport: any HTTPTransport
    /// Region for STS calls (the resolved region).
    public var region: String
    /// STS endpoint (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, `--endpoint-url`, profile `endpoint_url`, or
    /// `https://sts.<region>.amazonaws.com`).
    public var stsEndpoint: URL
    public var now: @Sendable () -> Date

    public init(
        environment: [String: String], transport: any HTTPTransport = CurlTransport.shared, region: String,
        stsEndpoint: URL? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.environment = environment
        self.transport = transport
        self.region = region
        self.stsEndpoint = stsEndpoint ?? AWSService.sts.defaultEndpoint(region: region)
        self.now = now
    }

    /// A non-empty, trimmed environment value.
    public func env(_ key: String) -> String? {
        guard let v = environment[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        return v
    }

    /// An STS client signed by `credentials` (nil: unsigned, for AssumeRoleWithWebIdentity).
    func sts(_ credentials: (any CredentialProvider)?) -> STSClient {
        STSClient(
            client: AWSClient(
                service: .sts, credentialProvider: credentials, region: region, endpoint: stsEndpoint,
                transport: transport, retryPolicy: .standard, now: now))
    }
}

/// Parses the timestamps credential sources use: RFC 3339 with or without fractional seconds, `Z`, `UTC` or
/// an offset (`2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.123456Z`, `2026-01-01T00:00:00+00:00`,
/// `2026-01-01T00:00:00UTC` as old AWS CLI SSO caches have it).
public func parseAWSTimestamp(_ text: String) -> Date? {
    var s = text.trimmingCharacters(in: .whitespaces)
    if s.hasSuffix("UTC") { s = String(s.dropLast(3)) + "Z" }
    var fraction = 0.0
    if let t = s.firstIndex(of: "T"), let dot = s[t...].firstIndex(of: ".") {
        var end = s.index(after: dot)
        while end < s.endIndex, s[end].isNumber { end = s.index(after: end) }
        fraction = Double("0" + s[dot..<end]) ?? 0
        s.removeSubrange(dot..<end)
    }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    guard let date = formatter.date(from: s) else { return nil }
    return date.addingTimeInterval(fraction)
}

/// `2026-01-01T00:00:00Z`.
public func formatAWSTimestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}

extension AWSCredentials {
    /// Credentials from a decoded JSON document of the shape the container endpoints, instance metadata and
    /// `credential_process` share: `AccessKeyId`, `SecretAccessKey` (both non-empty), a session token under
    /// `sessionTokenKey` (`Token` or `SessionToken`) and an optional RFC 3339 `Expiration`.
    /// - Throws: ``CredentialSourceError`` naming `source`; `subject` ("the answer", "its output") starts its reason.
    init(documentedJSON o: [String: Any], sessionTokenKey: String, source: String, subject: String) throws {
        guard let keyId = o["AccessKeyId"] as? String, !keyId.isEmpty,
            let secret = o["SecretAccessKey"] as? String, !secret.isEmpty
        else {
            throw CredentialSourceError(source: source, reason: "\(subject) has no AccessKeyId and SecretAccessKey")
        }
        var expiration: Date?
        if let text = o["Expiration"] as? String {
            guard let date = parseAWSTimestamp(text) else {
                throw CredentialSourceError(
                    source: source, reason: "\(subject) has an Expiration '\(text)' that is not an RFC 3339 time")
            }
            expiration = date
        }
        self.init(
            accessKeyId: keyId, secretAccessKey: secret, sessionToken: o[sessionTokenKey] as? String, source: source,
            expiration: expiration)
    }
}
