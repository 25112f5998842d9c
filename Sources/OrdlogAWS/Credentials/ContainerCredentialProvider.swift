import Foundation

/// The container credentials endpoint: ECS task roles (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, against
/// `http://169.254.170.2`), EKS Pod Identity and others (`AWS_CONTAINER_CREDENTIALS_FULL_URI`: HTTPS, or HTTP
/// only to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23). The full URI is sent
/// `Authorization: <token>` from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on every fetch; preferred) or
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`. The answer is the documented JSON:
/// `{"AccessKeyId","SecretAccessKey","Token","Expiration"}`.
public struct ContainerCredentialProvider: CredentialProvider {
    public static let ecsHost = URL(string: "http://169.254.170.2")!
    public let context: CredentialContext
    /// Where a relative URI is resolved; only tests change it (never 169.254.x from a test).
    public let relativeURIBase: URL
    public let timeout: TimeInterval
    public let attempts: Int

    public init(
        context: CredentialContext, relativeURIBase: URL = ContainerCredentialProvider.ecsHost,
        timeout: TimeInterval = 2, attempts: Int = 3
    ) {
        self.context = context
        self.relativeURIBase = relativeURIBase
        self.timeout = timeout
        self.attempts = attempts
    }

    public var description: String { "container" }

    /// Whether `url` may be fetched over plain HTTP: loopback, or the ECS / EKS Pod Identity agent addresses.
    public static func isAllowedHTTPHost(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" || h == "169.254.170.2" || h == "169.254.170.23" || h == "fd00:ec2::23" {
            return true
        }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    public func credentials() async throws -> AWSCredentials {
        let url: URL
        var authorization: String?
        if let relative = context.env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            guard let u = URL(string: relativeURIBase.absoluteString + (relative.hasPrefix("/") ? "" : "/") + relative)
            else {
                throw CredentialSourceError(
                    source: "container credentials", reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path")
            }
            url = u
        } else if let full = context.env("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard let u = URL(string: full), let scheme = u.scheme?.lowercased(), let host = u.host else {
                throw CredentialSourceError(
                    source: "container credentials", reason: "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
            }
            guard scheme == "https" || (scheme == "http" && Self.isAllowedHTTPHost(host)) else {
                throw CredentialSourceError(
                    source: "container credentials (\(Self.redacted(u)))",
                    reason: "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address, "
                        + "169.254.170.2, 169.254.170.23 or fd00:ec2::23")
            }
            url = u
            if let file = context.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
                do {
                    authorization = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw CredentialSourceError(
                        source: "container credentials (\(Self.redacted(u)))",
                        reason: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file): "
                            + error.localizedDescription)
                }
            } else {
                authorization = context.env("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            }
            if let a = authorization, a.contains("\r") || a.contains("\n") {
                throw CredentialSourceError(
                    source: "container credentials (\(Self.redacted(u)))",
                    reason: "the authorization token holds a line break")
            }
        } else {
            throw CredentialSourceNotApplicable(
                source: "container",
                reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set")
        }
        let label = "container credentials (\(Self.redacted(url)))"
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let authorization, !authorization.isEmpty { headers.append(("Authorization", authorization)) }
        let request = HTTPRequest(method: "GET", url: url, headers: headers, timeout: timeout)
        var lastProblem = ""
        for attempt in 1...max(attempts, 1) {
            do {
                let response = try await context.transport.send(request)
                if response.status == 200 {
                    return try Self.decode(response.body, source: label)
                }
                lastProblem = "HTTP \(response.status)" + Self.errorSummary(response.body)
                if response.status < 500 && response.status != 429 { break }
            } catch let e as AWSTransportError {
                lastProblem = "no answer (\(e.reason))"
            }
            if attempt < attempts { try await Task.sleep(nanoseconds: 100_000_000 * UInt64(attempt)) }
        }
        throw CredentialSourceError(source: label, reason: lastProblem)
    }

    /// `scheme://host[:port]/path`, without query or user info.
    static func redacted(_ url: URL) -> String {
        var c = URLComponents(url: url, resolvingAgainstBaseURL: false)
        c?.query = nil
        c?.user = nil
        c?.password = nil
        c?.fragment = nil
        return c?.string ?? url.absoluteString
    }

    /// ` (Code: message)` from an error JSON body, if it has one.
    static func errorSummary(_ body: Data) -> String {
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return "" }
        let code = (o["code"] ?? o["Code"]) as? String
        let message = (o["message"] ?? o["Message"]) as? String
        let parts = [code, message].compactMap { $0 }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: ": ").prefix(200)))"
    }

    /// Decodes `{"AccessKeyId","SecretAccessKey","Token","Expiration"}` (ECS, EKS Pod Identity, IMDS roles).
    static func decode(_ body: Data, source: String) throws -> AWSCredentials {
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw CredentialSourceError(source: source, reason: "the answer is not a JSON object")
        }
        if let code = o["Code"] as? String, code != "Success" {
            throw CredentialSourceError(source: source, reason: "the answer's Code is \(code), not Success")
        }
        return try AWSCredentials(
            documentedJSON: o, sessionTokenKey: "Token", source: source, subject: "the answer")
    }
}
