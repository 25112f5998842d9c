import Crypto
import Foundation

/// IAM Identity Center (SSO) role credentials for a profile with `sso_session` (and an `[sso-session NAME]`
/// section with `sso_start_url`, `sso_region`) or the legacy `sso_start_url` / `sso_region`, plus
/// `sso_account_id` and `sso_role_name`.
///
/// Uses the access token the AWS CLI cached at `~/.aws/sso/cache/<sha1 hex of the session name, or of the
/// start URL for legacy profiles>.json` (`accessToken`, `expiresAt`) and calls `GetRoleCredentials`
/// (`GET https://portal.sso.<region>.amazonaws.com/federation/credentials?role_name=…&account_id=…`, header
/// `x-amz-sso_bearer_token`; `AWS_ENDPOINT_URL_SSO` overrides the endpoint). ordlog never opens a browser nor
/// refreshes the token: when it is missing or expired, the error says to run `aws sso login`.
public struct SSOCredentialProvider: CredentialProvider {
    public let profile: String
    public let sessionName: String?
    public let startURL: String
    public let ssoRegion: String
    public let accountId: String
    public let roleName: String
    public let cacheDirectory: String
    public let endpoint: URL?
    public let context: CredentialContext

    public init(
        profile: String, sessionName: String?, startURL: String, ssoRegion: String, accountId: String,
        roleName: String, cacheDirectory: String, endpoint: URL?, context: CredentialContext
    ) {
        self.profile = profile
        self.sessionName = sessionName
        self.startURL = startURL
        self.ssoRegion = ssoRegion
        self.accountId = accountId
        self.roleName = roleName
        self.cacheDirectory = cacheDirectory
        self.endpoint = endpoint
        self.context = context
    }

    public var description: String { "SSO (profile '\(profile)')" }

    /// `<sha1 hex of key>.json`.
    public static func cacheFileName(_ key: String) -> String {
        Insecure.SHA1.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined() + ".json"
    }

    public func credentials() async throws -> AWSCredentials {
        let login = "aws sso login --profile \(profile)"
        let label = "SSO (profile '\(profile)', account \(accountId), role \(roleName))"
        let path = cacheDirectory + "/" + Self.cacheFileName(sessionName ?? startURL)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialSourceError(source: label, reason: "no cached SSO token at \(path); run `\(login)`")
        }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let token = o["accessToken"] as? String, !token.isEmpty,
            let expiresText = o["expiresAt"] as? String, let expiresAt = parseAWSTimestamp(expiresText)
        else {
            throw CredentialSourceError(
                source: label, reason: "the cached SSO token \(path) has no accessToken/expiresAt; run `\(login)`")
        }
        guard expiresAt > context.now() else {
            throw CredentialSourceError(
                source: label, reason: "the cached SSO token expired at \(expiresText); run `\(login)`")
        }
        let base = endpoint?.absoluteString ?? "https://portal.sso.\(ssoRegion).amazonaws.com"
        var components = URLComponents(string: base.hasSuffix("/") ? String(base.dropLast()) : base)
        components?.path += "/federation/credentials"
        components?.queryItems = [
            URLQueryItem(name: "role_name", value: roleName), URLQueryItem(name: "account_id", value: accountId),
        ]
        guard let url = components?.url else {
            throw CredentialSourceError(source: label, reason: "bad SSO endpoint \(base)")
        }
        let response: HTTPResponse
        do {
            response = try await context.transport.send(
                HTTPRequest(
                    method: "GET", url: url, headers: [("x-amz-sso_bearer_token", token)], timeout: 10))
        } catch let e as AWSTransportError {
            throw CredentialSourceError(source: label, reason: "GetRoleCredentials: \(e)")
        }
        if response.status == 401 || response.status == 403 {
            throw CredentialSourceError(
                source: label,
                reason: "GetRoleCredentials refused the cached token (HTTP \(response.status)"
                    + ContainerCredentialProvider.errorSummary(response.body) + "); run `\(login)`")
        }
        guard response.status == 200 else {
            throw CredentialSourceError(
                source: label,
                reason: "GetRoleCredentials: HTTP \(response.status)"
                    + ContainerCredentialProvider.errorSummary(response.body))
        }
        guard let top = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
            let rc = top["roleCredentials"] as? [String: Any],
            let keyId = rc["accessKeyId"] as? String, !keyId.isEmpty,
            let secret = rc["secretAccessKey"] as? String, !secret.isEmpty
        else {
            throw CredentialSourceError(source: label, reason: "GetRoleCredentials answered without roleCredentials")
        }
        let expiration = (rc["expiration"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue / 1000) }
        return AWSCredentials(
            accessKeyId: keyId, secretAccessKey: secret, sessionToken: rc["sessionToken"] as? String,
            source: label, expiration: expiration)
    }
}
