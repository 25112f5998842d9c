import Foundation

/// An AWS access key pair (plus optional session token) and where it came from.
///
/// ``description`` and `debugDescription` show the access key id and the ``source`` but never the
/// secret key or session token, so credentials can be logged and put into error messages.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Access key id, e.g. `AKIAIOSFODNN7EXAMPLE`.
    public var accessKeyId: String
    /// Secret access key. Never printed.
    public var secretAccessKey: String
    /// Session token of temporary credentials (`AWS_SESSION_TOKEN` / `aws_session_token`), sent as
    /// `X-Amz-Security-Token`. Never printed.
    public var sessionToken: String?
    /// Human-readable origin, e.g. `environment variables` or `profile 'dev' in /root/.aws/credentials`.
    public var source: String
    /// When temporary credentials stop working (nil: they do not expire).
    public var expiration: Date?

    public init(
        accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil,
        source: String = "explicit", expiration: Date? = nil
    ) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.source = source
        self.expiration = expiration
    }

    /// `…WXYZ`: the last 4 characters of the access key id, the part safe to show anywhere.
    public var accessKeyIdSuffix: String { "…" + accessKeyId.suffix(4) }

    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secret: <redacted>"
            + (sessionToken == nil ? "" : ", sessionToken: <redacted>") + ", source: \(source)"
            + (expiration.map { ", expires: \(formatAWSTimestamp($0))" } ?? "") + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self, children: ["accessKeyId": accessKeyId, "source": source, "expiration": expiration as Any],
            displayStyle: .struct)
    }
}

/// What the CLI passes in from `--profile`, `--region` and `--endpoint-url`; each wins over the
/// environment and the config files.
public struct AWSConfigurationOverrides: Sendable, Equatable {
    public var profile: String?
    public var region: String?
    public var endpointURL: String?

    public init(profile: String? = nil, region: String? = nil, endpointURL: String? = nil) {
        self.profile = profile
        self.region = region
        self.endpointURL = endpointURL
    }
}

/// An AWS service as this layer needs it: SigV4 signing name, display name, endpoint env-var suffix.
public struct AWSService: Sendable, Hashable, CustomStringConvertible {
    /// The signing name in the credential scope and the endpoint prefix (`sqs`, `sns`, `dynamodb`).
    public var signingName: String
    /// Display name used in errors (`SQS`, `SNS`, `DynamoDB`).
    public var displayName: String

    public init(signingName: String, displayName: String) {
        self.signingName = signingName
        self.displayName = displayName
    }

    public static let sqs = AWSService(signingName: "sqs", displayName: "SQS")
    public static let sns = AWSService(signingName: "sns", displayName: "SNS")
    public static let dynamodb = AWSService(signingName: "dynamodb", displayName: "DynamoDB")
    /// IAM (query protocol, version 2010-05-08); used by tests to provision keys in moto.
    public static let iam = AWSService(signingName: "iam", displayName: "IAM")
    /// STS (query protocol, version 2011-06-15): AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity.
    public static let sts = AWSService(signingName: "sts", displayName: "STS")

    /// The services whose endpoints ``AWSConfiguration/resolve(environment:overrides:transport:)`` resolves.
    /// Amazon S3 (signing name `s3`; the event log's sealed segments, ``S3Client``).
    public static let s3 = AWSService(signingName: "s3", displayName: "S3")

    public static let configurable: [AWSService] = [.sqs, .sns, .dynamodb, .iam, .sts, .s3]

    public var description: String { displayName }

    /// `AWS_ENDPOINT_URL_<SUFFIX>` per the
    /// [service-specific endpoints](https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html) table.
    public var endpointEnvironmentVariable: String { "AWS_ENDPOINT_URL_\(signingName.uppercased())" }

    /// The default public endpoint in `region`, e.g. `https://sqs.eu-west-1.amazonaws.com`.
    public func defaultEndpoint(region: String) -> URL {
        if signingName == "iam" { return URL(string: "https://iam.amazonaws.com")! }
        return URL(string: "https://\(signingName).\(region).amazonaws.com")!
    }
}

/// A fully resolved configuration: where credentials come from, region and one endpoint per service.
public struct AWSConfiguration: Sendable {
    /// Hands out the current credentials (refreshing temporary ones); every request is signed with them.
    public var credentialProvider: any CredentialProvider
    public var region: String
    /// Human-readable origin of ``region``, e.g. `AWS_REGION` or `profile 'dev' in /root/.aws/config`.
    public var regionSource: String
    /// The profile name that was used for file lookups (`default` unless set).
    public var profile: String
    /// Endpoint per service; services absent here use ``AWSService/defaultEndpoint(region:)``.
    public var endpointOverrides: [AWSService: URL]

    /// Static credentials (wrapped in a ``StaticCredentialProvider``).
    public init(
        credentials: AWSCredentials, region: String, regionSource: String = "explicit",
        profile: String = "default", endpointOverrides: [AWSService: URL] = [:]
    ) {
        self.init(
            credentialProvider: StaticCredentialProvider(credentials), region: region, regionSource: regionSource,
            profile: profile, endpointOverrides: endpointOverrides)
    }

    public init(
        credentialProvider: any CredentialProvider, region: String, regionSource: String = "explicit",
        profile: String = "default", endpointOverrides: [AWSService: URL] = [:]
    ) {
        self.credentialProvider = credentialProvider
        self.region = region
        self.regionSource = regionSource
        self.profile = profile
        self.endpointOverrides = endpointOverrides
    }

    /// The endpoint for `service`: the override if any, else `https://<service>.<region>.amazonaws.com`.
    public func endpoint(for service: AWSService) -> URL {
        endpointOverrides[service] ?? service.defaultEndpoint(region: region)
    }

    /// The current credentials from ``credentialProvider`` (their ``AWSCredentials/source`` says where from).
    public func credentials() async throws -> AWSCredentials { try await credentialProvider.credentials() }

    /// ``resolve(environment:overrides:transport:)``, and when nothing names a region, the EC2 instance's
    /// region from instance metadata (`/latest/meta-data/placement/region`, 1 s timeout; skipped when
    /// `AWS_EC2_METADATA_DISABLED=true`).
    public static func load(
        environment: [String: String], overrides: AWSConfigurationOverrides = .init(),
        transport: any HTTPTransport = CurlTransport.shared
    ) async throws -> AWSConfiguration {
        do {
            return try resolve(environment: environment, overrides: overrides, transport: transport)
        } catch AWSConfigurationError.noRegion(let profile) {
            guard let imds = InstanceMetadataClient(environment: environment, transport: transport),
                let region = await imds.region()
            else { throw AWSConfigurationError.noRegion(profile: profile) }
            return try resolve(
                environment: environment, overrides: overrides, transport: transport, instanceMetadataRegion: region)
        }
    }

    /// Resolves configuration the way the AWS CLI does, reading only `environment` and the files it names.
    /// Makes no network call: credentials are fetched on first use, by ``credentialProvider``.
    ///
    /// Credentials: a chain (``CredentialProviderChain``) in the order of the AWS SDKs' standardized
    /// credential providers; each step is skipped when it does not apply, the first that answers wins and is
    /// kept, and expiring credentials are refreshed 5 minutes before they expire (``RotatingCredentialProvider``):
    /// 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) — not with `overrides.profile`
    ///    (`--profile` ignores env keys, as in the CLI);
    /// 2. web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` → STS AssumeRoleWithWebIdentity;
    /// 3. profile `--profile` / `AWS_PROFILE` (or `default`) from the shared credentials file
    ///    (`AWS_SHARED_CREDENTIALS_FILE`, default `$HOME/.aws/credentials`, section `[name]`) and the config file
    ///    (`AWS_CONFIG_FILE`, default `$HOME/.aws/config`, section `[profile name]`, or `[default]`): `role_arn`
    ///    (→ STS AssumeRole), SSO, static keys, `credential_process` (``ProfileCredentialProvider``); a profile
    ///    named by `--profile`/`AWS_PROFILE` that exists in neither file is an error;
    /// 4. the container endpoint (``ContainerCredentialProvider``);
    /// 5. EC2 instance metadata, IMDSv2 (``InstanceMetadataCredentialProvider``).
    ///
    /// Region: `overrides.region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, profile `region` in the config file,
    /// then `instanceMetadataRegion` (see ``load(environment:overrides:transport:)``).
    ///
    /// Endpoints: `overrides.endpointURL` (all services), `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`,
    /// profile `endpoint_url`; none of the environment/profile ones when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`. See
    /// [Config and credential files](https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html)
    /// and [Environment variables](https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html).
    ///
    /// - Throws: ``AWSConfigurationError`` naming what is missing and how to provide it.
    public static func resolve(
        environment: [String: String],
        overrides: AWSConfigurationOverrides = .init(),
        transport: any HTTPTransport = CurlTransport.shared,
        instanceMetadataRegion: String? = nil
    ) throws -> AWSConfiguration {
        func env(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let home = env("HOME")
        func expand(_ path: String) -> String {
            if path == "~" { return home ?? path }
            if path.hasPrefix("~/"), let home { return home + path.dropFirst(1) }
            return path
        }
        let credentialsPath =
            env("AWS_SHARED_CREDENTIALS_FILE").map(expand)
            ?? home.map { $0 + "/.aws/credentials" }
        let configPath = env("AWS_CONFIG_FILE").map(expand) ?? home.map { $0 + "/.aws/config" }
        let credentialsFile = try credentialsPath.flatMap { try INIFile.load(path: $0) }
        let configFile = try configPath.flatMap { try INIFile.load(path: $0) }

        let explicitProfile = overrides.profile.flatMap { $0.isEmpty ? nil : $0 }
        let profile = explicitProfile ?? env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE") ?? "default"
        let credentialsSection = credentialsFile?.sections[profile]
        let configSection =
            configFile?.sections[profile == "default" ? "default" : "profile \(profile)"]
            ?? (profile == "default" ? configFile?.sections["profile default"] : nil)
        let profileExists = credentialsSection != nil || configSection != nil
        let searched = [credentialsPath, configPath].compactMap { $0 }
        // Like the CLI: a named profile that does not exist is an error even if env keys are set.
        if explicitProfile != nil || env("AWS_PROFILE") != nil, profile != "default", !profileExists {
            throw AWSConfigurationError.profileNotFound(profile: profile, searched: searched)
        }

        // Environment keys: a half pair is an error up front (the chain would stop there anyway).
        let useEnvironment = explicitProfile == nil
        if useEnvironment, env("AWS_ACCESS_KEY_ID") != nil, env("AWS_SECRET_ACCESS_KEY") == nil {
            throw AWSConfigurationError.incompleteCredentials(
                source: "environment variables", missing: "AWS_SECRET_ACCESS_KEY",
                hint: "export AWS_SECRET_ACCESS_KEY, or unset AWS_ACCESS_KEY_ID to use a profile")
        } else if useEnvironment, env("AWS_ACCESS_KEY_ID") == nil, env("AWS_SECRET_ACCESS_KEY") != nil {
            throw AWSConfigurationError.incompleteCredentials(
                source: "environment variables", missing: "AWS_ACCESS_KEY_ID",
                hint: "export AWS_ACCESS_KEY_ID as well as AWS_SECRET_ACCESS_KEY")
        }
        let files = ProfileFiles(
            credentialsPath: credentialsPath, configPath: configPath, credentials: credentialsFile,
            config: configFile, home: home)

        // Region.
        let region: String
        let regionSource: String
        if let r = overrides.region, !r.isEmpty {
            (region, regionSource) = (r, "--region")
        } else if let r = env("AWS_REGION") {
            (region, regionSource) = (r, "AWS_REGION")
        } else if let r = env("AWS_DEFAULT_REGION") {
            (region, regionSource) = (r, "AWS_DEFAULT_REGION")
        } else if let r = configSection?["region"], let configPath {
            (region, regionSource) = (r, "profile '\(profile)' in \(configPath)")
        } else if let r = instanceMetadataRegion {
            (region, regionSource) = (r, "EC2 instance metadata")
        } else {
            throw AWSConfigurationError.noRegion(profile: profile)
        }
        // A region goes into host names and the signing scope: letters, digits and dashes only (us-east-1).
        guard !region.isEmpty,
            region.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
        else { throw AWSConfigurationError.invalidRegion(region, source: regionSource) }

        // Endpoints.
        var endpoints: [AWSService: URL] = [:]
        let ignoreConfigured = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.lowercased() == "true"
        for service in AWSService.configurable {
            var chosen: (String, String)?
            if let e = overrides.endpointURL, !e.isEmpty {
                chosen = (e, "--endpoint-url")
            } else if !ignoreConfigured {
                if let e = env(service.endpointEnvironmentVariable) {
                    chosen = (e, service.endpointEnvironmentVariable)
                } else if let e = env("AWS_ENDPOINT_URL") {
                    chosen = (e, "AWS_ENDPOINT_URL")
                } else if let e = configSection?["endpoint_url"], let configPath {
                    chosen = (e, "endpoint_url of profile '\(profile)' in \(configPath)")
                }
            }
            guard let (text, source) = chosen else { continue }
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https", url.host != nil
            else {
                throw AWSConfigurationError.invalidEndpointURL(text, source: source)
            }
            endpoints[service] = url
        }
        // The chain. A profile that is configured wrongly is an error now, not at the first call.
        let context = CredentialContext(
            environment: environment, transport: transport, region: region, stsEndpoint: endpoints[.sts])
        let profileProvider = ProfileCredentialProvider(profile: profile, files: files, context: context)
        if !(useEnvironment && env("AWS_ACCESS_KEY_ID") != nil) {
            do { _ = try profileProvider.provider() } catch is CredentialSourceNotApplicable {}
        }
        var providers: [any CredentialProvider] = []
        if useEnvironment { providers.append(EnvironmentCredentialProvider(environment: environment)) }
        providers += [
            WebIdentityCredentialProvider(environmentOf: context), profileProvider,
            ContainerCredentialProvider(context: context), InstanceMetadataCredentialProvider(context: context),
        ]
        return AWSConfiguration(
            credentialProvider: RotatingCredentialProvider(CredentialProviderChain(providers)), region: region,
            regionSource: regionSource, profile: profile, endpointOverrides: endpoints)
    }
}

/// A configuration that cannot be resolved; ``description`` says what is missing and how to fix it.
public enum AWSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No credentials anywhere in the chain.
    case noCredentials(profile: String, searched: [String])
    /// `--profile`/`AWS_PROFILE` names a profile found in neither file.
    case profileNotFound(profile: String, searched: [String])
    /// One half of a key pair was found at `source`.
    case incompleteCredentials(source: String, missing: String, hint: String)
    /// No region in overrides, environment or profile.
    case noRegion(profile: String)
    /// A region name that is not lowercase letters, digits and dashes.
    case invalidRegion(String, source: String)
    /// An endpoint URL that is not an absolute http(s) URL.
    case invalidEndpointURL(String, source: String)
    /// A config/credentials file exists but could not be read.
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .noCredentials(let profile, let searched):
            return "No AWS credentials found: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and profile "
                + "'\(profile)' has no aws_access_key_id/aws_secret_access_key in "
                + (searched.isEmpty ? "(no HOME, so no files)" : searched.joined(separator: " or "))
                + ". Export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws configure"
                + (profile == "default" ? "" : " --profile \(profile)") + "`."
        case .profileNotFound(let profile, let searched):
            return "AWS profile '\(profile)' not found in "
                + (searched.isEmpty ? "(no HOME, so no files)" : searched.joined(separator: " or "))
                + ". Add a [\(profile)] section to the credentials file (or [profile \(profile)] to the config"
                + " file), or choose another profile with --profile / AWS_PROFILE."
        case .incompleteCredentials(let source, let missing, let hint):
            return "Incomplete AWS credentials from \(source): \(missing) is missing; \(hint)."
        case .noRegion(let profile):
            return "No AWS region configured: pass --region, export AWS_REGION (or AWS_DEFAULT_REGION), or add "
                + "`region = …` to profile '\(profile)' in the config file."
        case .invalidRegion(let text, let source):
            return "Invalid AWS region '\(text)' from \(source): expected a region name such as us-east-1 "
                + "(lowercase letters, digits and dashes)."
        case .invalidEndpointURL(let text, let source):
            return "Invalid endpoint URL '\(text)' from \(source): expected an absolute http:// or https:// URL, "
                + "e.g. http://127.0.0.1:5000."
        case .unreadableFile(let path, let reason):
            return "Cannot read AWS config file \(path): \(reason)."
        }
    }
}

/// A minimal INI reader for `~/.aws/credentials` and `~/.aws/config`: `[section]` headers, `key = value`
/// lines, `#`/`;` comment lines. Indented lines (nested sub-settings such as `s3 =\n  key = v`) are ignored.
struct INIFile: Sendable, Equatable {
    struct Section: Sendable, Equatable {
        var values: [String: String] = [:]
        subscript(key: String) -> String? {
            guard let v = values[key], !v.isEmpty else { return nil }
            return v
        }
    }

    var sections: [String: Section] = [:]

    /// Returns `nil` if the file does not exist.
    static func load(path: String) throws -> INIFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw AWSConfigurationError.unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
    }

    static func parse(_ text: String) -> INIFile {
        var file = INIFile()
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if let first = rawLine.first, first == " " || first == "\t" { continue }
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().split(separator: " ", omittingEmptySubsequences: true)
                    .joined(separator: " ")
                current = name
                if file.sections[name] == nil { file.sections[name] = Section() }
                continue
            }
            guard let current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // Inline comments need a preceding space, as in botocore.
            if let hash = value.range(of: " #") ?? value.range(of: " ;") {
                value = String(value[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
            file.sections[current]?.values[key] = value
        }
        return file
    }
}
