import Foundation

/// The shared config and credentials files as read once at start-up.
struct ProfileFiles: Sendable {
    var credentialsPath: String?
    var configPath: String?
    var credentials: INIFile?
    var config: INIFile?
    var home: String?

    func credentialsSection(_ profile: String) -> INIFile.Section? { credentials?.sections[profile] }

    func configSection(_ profile: String) -> INIFile.Section? {
        config?.sections[profile == "default" ? "default" : "profile \(profile)"]
            ?? (profile == "default" ? config?.sections["profile default"] : nil)
    }

    func exists(_ profile: String) -> Bool { credentialsSection(profile) != nil || configSection(profile) != nil }

    var searched: [String] { [credentialsPath, configPath].compactMap { $0 } }

    func expand(_ path: String) -> String {
        if path == "~" { return home ?? path }
        if path.hasPrefix("~/"), let home { return home + path.dropFirst(1) }
        return path
    }
}

/// A profile in the shared files, in the order botocore tries them: `role_arn` (with `source_profile`,
/// `credential_source` or `web_identity_token_file`) → STS; `sso_session` / `sso_*` → SSO; static keys
/// (credentials file, then config file); `credential_process`.
public struct ProfileCredentialProvider: CredentialProvider {
    public let profile: String
    let files: ProfileFiles
    let context: CredentialContext

    init(profile: String, files: ProfileFiles, context: CredentialContext) {
        self.profile = profile
        self.files = files
        self.context = context
    }

    public var description: String { "profile '\(profile)'" }

    public func credentials() async throws -> AWSCredentials {
        try await provider().credentials()
    }

    /// The provider this profile configures. Throws ``CredentialSourceNotApplicable`` when the profile does
    /// not exist or configures no credentials, ``AWSConfigurationError`` / ``CredentialSourceError`` when it
    /// is configured wrongly.
    func provider() throws -> any CredentialProvider { try provider(for: profile, via: []) }

    private func provider(for name: String, via chain: [String]) throws -> any CredentialProvider {
        let label = "profile '\(name)'"
        let credentialsSection = files.credentialsSection(name)
        let configSection = files.configSection(name)
        guard credentialsSection != nil || configSection != nil else {
            if let parent = chain.last {
                throw CredentialSourceError(
                    source: "profile '\(parent)'",
                    reason: "its source_profile '\(name)' is in neither " + files.searched.joined(separator: " nor "))
            }
            throw CredentialSourceNotApplicable(
                source: label,
                reason: files.searched.isEmpty
                    ? "no HOME, so no config files"
                    : "no such profile in " + files.searched.joined(separator: " or "))
        }
        func value(_ key: String) -> String? { credentialsSection?[key] ?? configSection?[key] }

        if let roleArn = value("role_arn") {
            if value("mfa_serial") != nil {
                throw CredentialSourceError(
                    source: label,
                    reason: "role_arn with mfa_serial needs an MFA code, and ordlog cannot prompt for one; "
                        + "run `eval \"$(aws configure export-credentials --profile \(name) --format env)\"` first, "
                        + "or use a profile without mfa_serial")
            }
            let duration = value("duration_seconds").flatMap { Int($0) }
            let source: any CredentialProvider
            if let sourceProfile = value("source_profile") {
                if sourceProfile == name {
                    guard let keys = try staticKeys(name, credentialsSection, configSection) else {
                        throw CredentialSourceError(
                            source: label, reason: "source_profile names itself but it has no static keys")
                    }
                    source = keys
                } else if chain.contains(sourceProfile) || sourceProfile == profile {
                    throw CredentialSourceError(
                        source: label,
                        reason: "source_profile loop: " + (chain + [name, sourceProfile]).joined(separator: " → "))
                } else {
                    source = try provider(for: sourceProfile, via: chain + [name])
                }
            } else if let credentialSource = value("credential_source") {
                switch credentialSource {
                case "Environment": source = EnvironmentCredentialProvider(environment: context.environment)
                case "Ec2InstanceMetadata": source = InstanceMetadataCredentialProvider(context: context)
                case "EcsContainer": source = ContainerCredentialProvider(context: context)
                default:
                    throw CredentialSourceError(
                        source: label,
                        reason: "credential_source '\(credentialSource)' is not Environment, Ec2InstanceMetadata "
                            + "or EcsContainer")
                }
            } else if let tokenFile = value("web_identity_token_file") {
                return WebIdentityCredentialProvider(
                    tokenFile: files.expand(tokenFile), roleArn: roleArn, sessionName: value("role_session_name"),
                    durationSeconds: duration, context: context, origin: label)
            } else {
                throw CredentialSourceError(
                    source: label,
                    reason: "role_arn needs source_profile, credential_source or web_identity_token_file")
            }
            return AssumeRoleCredentialProvider(
                roleArn: roleArn, sessionName: value("role_session_name"), externalId: value("external_id"),
                durationSeconds: duration, source: source, context: context, origin: label)
        }

        if let session = value("sso_session") {
            guard let s = files.config?.sections["sso-session \(session)"] else {
                throw CredentialSourceError(
                    source: label, reason: "sso_session '\(session)' has no [sso-session \(session)] section")
            }
            guard let startURL = s["sso_start_url"], let region = s["sso_region"] else {
                throw CredentialSourceError(
                    source: label, reason: "[sso-session \(session)] needs sso_start_url and sso_region")
            }
            return try sso(name, session: session, startURL: startURL, region: region, value)
        }
        if let startURL = value("sso_start_url") {
            guard let region = value("sso_region") else {
                throw CredentialSourceError(source: label, reason: "sso_start_url needs sso_region")
            }
            return try sso(name, session: nil, startURL: startURL, region: region, value)
        }
        if let keys = try staticKeys(name, credentialsSection, configSection) { return keys }
        if let command = value("credential_process") {
            return ProcessCredentialProvider(command: command, origin: label, environment: context.environment)
        }
        if chain.isEmpty {
            throw CredentialSourceNotApplicable(
                source: label,
                reason: "no aws_access_key_id, role_arn, sso_session or credential_process in "
                    + files.searched.joined(separator: " or "))
        }
        throw CredentialSourceError(
            source: "profile '\(chain.last!)'", reason: "its source_profile '\(name)' has no credentials")
    }

    private func sso(
        _ name: String, session: String?, startURL: String, region: String, _ value: (String) -> String?
    ) throws -> any CredentialProvider {
        guard let account = value("sso_account_id"), let role = value("sso_role_name") else {
            throw CredentialSourceError(
                source: "profile '\(name)'", reason: "an SSO profile needs sso_account_id and sso_role_name")
        }
        return SSOCredentialProvider(
            profile: name, sessionName: session, startURL: startURL, ssoRegion: region, accountId: account,
            roleName: role, cacheDirectory: (files.home ?? "~") + "/.aws/sso/cache",
            endpoint: context.env("AWS_ENDPOINT_URL_SSO").flatMap { URL(string: $0) }, context: context)
    }

    /// Static keys: the credentials file's section first, then the config file's.
    private func staticKeys(_ name: String, _ credentialsSection: INIFile.Section?, _ configSection: INIFile.Section?)
        throws -> (any CredentialProvider)?
    {
        let candidates: [(INIFile.Section?, String?)] = [
            (credentialsSection, files.credentialsPath), (configSection, files.configPath),
        ]
        for (section, path) in candidates {
            guard let section, let path else { continue }
            let keyId = section["aws_access_key_id"]
            let secret = section["aws_secret_access_key"]
            if keyId == nil && secret == nil { continue }
            let source = "profile '\(name)' in \(path)"
            guard let keyId else {
                throw AWSConfigurationError.incompleteCredentials(
                    source: source, missing: "aws_access_key_id", hint: "add aws_access_key_id to that section")
            }
            guard let secret else {
                throw AWSConfigurationError.incompleteCredentials(
                    source: source, missing: "aws_secret_access_key", hint: "add aws_secret_access_key to that section")
            }
            return StaticCredentialProvider(
                AWSCredentials(
                    accessKeyId: keyId, secretAccessKey: secret, sessionToken: section["aws_session_token"],
                    source: source))
        }
        return nil
    }
}
