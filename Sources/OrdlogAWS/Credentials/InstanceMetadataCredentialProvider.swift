import Foundation

/// The EC2 instance metadata service, IMDSv2: `PUT /latest/api/token` (header
/// `X-aws-ec2-metadata-token-ttl-seconds`), then GETs with `X-aws-ec2-metadata-token`. Falls back to IMDSv1
/// (no token) when the PUT is answered 403/404/405, unless `AWS_EC2_METADATA_V1_DISABLED=true`.
///
/// Endpoint: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `http://169.254.169.254`
/// (`http://[fd00:ec2::254]` with `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`). Turned off by
/// `AWS_EC2_METADATA_DISABLED=true`. One attempt with a 1 s timeout, so that a laptop never hangs on it.
public struct InstanceMetadataClient: Sendable {
    public let endpoint: URL
    public let transport: any HTTPTransport
    public let timeout: TimeInterval
    public let allowV1: Bool

    /// nil when `AWS_EC2_METADATA_DISABLED=true`.
    public init?(environment: [String: String], transport: any HTTPTransport, timeout: TimeInterval = 1) {
        func env(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        if env("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" { return nil }
        var text =
            env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            ?? (env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")?.lowercased() == "ipv6"
                ? "http://[fd00:ec2::254]" : "http://169.254.169.254")
        while text.hasSuffix("/") { text.removeLast() }
        self.endpoint = URL(string: text) ?? URL(string: "http://169.254.169.254")!
        self.transport = transport
        self.timeout = timeout
        self.allowV1 = env("AWS_EC2_METADATA_V1_DISABLED")?.lowercased() != "true"
    }

    /// Why a metadata call got nothing.
    public enum Failure: Error, Sendable {
        /// No answer (not on EC2, or metadata blocked): the source does not apply.
        case unreachable(String)
        /// The service answered with an error status.
        case status(Int, path: String)
    }

    /// The session token, or nil for IMDSv1.
    public func token() async throws -> String? {
        let request = HTTPRequest(
            method: "PUT", url: URL(string: endpoint.absoluteString + "/latest/api/token")!,
            headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], timeout: timeout)
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let e as AWSTransportError {
            throw Failure.unreachable(
                "no answer from \(endpoint.host ?? endpoint.absoluteString) within "
                    + "\(Self.seconds(timeout)) (\(e.reason))")
        }
        if response.status == 200 { return String(decoding: response.body, as: UTF8.self) }
        if [403, 404, 405].contains(response.status), allowV1 { return nil }
        throw Failure.status(response.status, path: "/latest/api/token")
    }

    /// GET `/latest/<path>` with the token; the body as text.
    public func get(_ path: String, token: String?) async throws -> String {
        var headers: [(name: String, value: String)] = []
        if let token { headers.append(("X-aws-ec2-metadata-token", token)) }
        let request = HTTPRequest(
            method: "GET", url: URL(string: endpoint.absoluteString + "/latest/" + path)!, headers: headers,
            timeout: timeout)
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let e as AWSTransportError {
            throw Failure.unreachable("no answer from \(endpoint.host ?? "") (\(e.reason))")
        }
        guard response.status == 200 else { throw Failure.status(response.status, path: "/latest/" + path) }
        return String(decoding: response.body, as: UTF8.self)
    }

    /// The instance's region from `/latest/meta-data/placement/region`, or nil when there is no answer.
    public func region() async -> String? {
        guard let token = try? await token(),
            let region = try? await get("meta-data/placement/region", token: token)
        else { return nil }
        let r = region.trimmingCharacters(in: .whitespacesAndNewlines)
        return r.isEmpty ? nil : r
    }

    static func seconds(_ t: TimeInterval) -> String { t == t.rounded() ? "\(Int(t)) s" : "\(t) s" }
}

/// Credentials of the instance profile's role from EC2 instance metadata
/// (`/latest/meta-data/iam/security-credentials/` then `/<role>`).
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    public let context: CredentialContext
    public let timeout: TimeInterval

    public init(context: CredentialContext, timeout: TimeInterval = 1) {
        self.context = context
        self.timeout = timeout
    }

    public var description: String { "instance metadata" }

    public func credentials() async throws -> AWSCredentials {
        guard
            let imds = InstanceMetadataClient(
                environment: context.environment, transport: context.transport, timeout: timeout)
        else {
            throw CredentialSourceNotApplicable(source: "instance metadata", reason: "AWS_EC2_METADATA_DISABLED=true")
        }
        let host = imds.endpoint.host ?? imds.endpoint.absoluteString
        do {
            let token = try await imds.token()
            let roles: String
            do {
                roles = try await imds.get("meta-data/iam/security-credentials/", token: token)
            } catch InstanceMetadataClient.Failure.status(404, _) {
                throw CredentialSourceNotApplicable(
                    source: "instance metadata", reason: "\(host) answers but no IAM role is attached to this instance")
            }
            guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
                throw CredentialSourceNotApplicable(
                    source: "instance metadata", reason: "\(host) lists no IAM role for this instance")
            }
            let body = try await imds.get("meta-data/iam/security-credentials/\(role)", token: token)
            return try ContainerCredentialProvider.decode(
                Data(body.utf8), source: "EC2 instance metadata (role \(role) via \(host))")
        } catch InstanceMetadataClient.Failure.unreachable(let reason) {
            throw CredentialSourceNotApplicable(source: "instance metadata", reason: reason)
        } catch InstanceMetadataClient.Failure.status(let status, let path) {
            throw CredentialSourceError(
                source: "EC2 instance metadata (\(host))", reason: "HTTP \(status) from \(path)")
        }
    }
}
