import Foundation

/// STS AssumeRoleWithWebIdentity (EKS IRSA): a token file (re-read on every refresh, the kubelet rotates it)
/// and a role, from `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`), or from a
/// profile's `web_identity_token_file` + `role_arn` (+ `role_session_name`). The call is unsigned.
public struct WebIdentityCredentialProvider: CredentialProvider {
    /// nil: read from the environment at call time.
    public let tokenFile: String?
    public let roleArn: String?
    public let sessionName: String?
    public let durationSeconds: Int?
    public let context: CredentialContext
    public let origin: String

    /// From `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`.
    public init(environmentOf context: CredentialContext) {
        self.tokenFile = nil
        self.roleArn = nil
        self.sessionName = nil
        self.durationSeconds = nil
        self.context = context
        self.origin = "environment"
    }

    public init(
        tokenFile: String, roleArn: String, sessionName: String?, durationSeconds: Int? = nil,
        context: CredentialContext, origin: String
    ) {
        self.tokenFile = tokenFile
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.durationSeconds = durationSeconds
        self.context = context
        self.origin = origin
    }

    public var description: String { "web identity" + (origin == "environment" ? "" : " (\(origin))") }

    public func credentials() async throws -> AWSCredentials {
        let file: String
        let role: String
        if let tokenFile, let roleArn {
            (file, role) = (tokenFile, roleArn)
        } else {
            guard let f = context.env("AWS_WEB_IDENTITY_TOKEN_FILE") else {
                throw CredentialSourceNotApplicable(
                    source: "web identity", reason: "AWS_WEB_IDENTITY_TOKEN_FILE not set")
            }
            guard let r = context.env("AWS_ROLE_ARN") else {
                throw CredentialSourceError(
                    source: "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)",
                    reason: "AWS_ROLE_ARN is not set; IRSA sets both, export the role ARN the token may assume")
            }
            (file, role) = (f, r)
        }
        let token: String
        do {
            token = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw CredentialSourceError(
                source: "web identity", reason: "cannot read the token file \(file): \(error.localizedDescription)")
        }
        guard !token.isEmpty else {
            throw CredentialSourceError(source: "web identity", reason: "the token file \(file) is empty")
        }
        let session = sessionName ?? (tokenFile == nil ? context.env("AWS_ROLE_SESSION_NAME") : nil)
        let label = "web identity: role \(role) with the token in \(file)"
        do {
            return try await context.sts(nil).assumeRoleWithWebIdentity(
                roleArn: role, sessionName: session ?? defaultRoleSessionName(context.now()),
                webIdentityToken: token, durationSeconds: durationSeconds, source: label
            ).credentials
        } catch let e as AWSServiceError {
            throw CredentialSourceError(source: label, reason: "\(e)")
        } catch let e as AWSTransportError {
            throw CredentialSourceError(source: label, reason: "STS AssumeRoleWithWebIdentity: \(e)")
        }
    }
}
