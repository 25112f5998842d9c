import Foundation
import OrdlogAWS
import Testing

/// A temporary HOME with optional ~/.aws/credentials and ~/.aws/config; removed on deinit.
final class TempHome {
    let url: URL
    var path: String { url.path }

    init(credentials: String? = nil, config: String? = nil) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ordlog-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: url.appendingPathComponent(".aws"),
            withIntermediateDirectories: true)
        if let credentials { try write(".aws/credentials", credentials) }
        if let config { try write(".aws/config", config) }
    }

    func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(relative))
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

@Suite("credentials, region and endpoint resolution")
struct ConfigurationTests {
    static let credentialsFile = """
        [default]
        aws_access_key_id = AKIADEFAULT
        aws_secret_access_key = default-secret

        # a comment
        [dev]
        aws_access_key_id=AKIADEV
        aws_secret_access_key=dev-secret
        aws_session_token = dev-token
        [broken]
        aws_access_key_id = AKIABROKEN
        """
    static let configFile = """
        [default]
        region = eu-west-1
        [profile dev]
        region = ap-southeast-2
        endpoint_url = http://localhost:4566
        s3 =
          addressing_style = path
        [profile cfgonly]
        region = us-west-2
        aws_access_key_id = AKIACFG
        aws_secret_access_key = cfg-secret
        """

    @Test func environmentVariablesWin() async throws {
        let home = try TempHome(credentials: Self.credentialsFile, config: Self.configFile)
        let c = try AWSConfiguration.resolve(environment: [
            "HOME": home.path, "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret",
            "AWS_SESSION_TOKEN": "env-token", "AWS_PROFILE": "dev", "AWS_REGION": "us-east-2",
        ])
        #expect(try await c.credentials().accessKeyId == "AKIAENV")
        #expect(try await c.credentials().secretAccessKey == "env-secret")
        #expect(try await c.credentials().sessionToken == "env-token")
        #expect(try await c.credentials().source == "environment variables")
        #expect(c.region == "us-east-2")
        #expect(c.regionSource == "AWS_REGION")
        // AWS_PROFILE=dev still supplies endpoint_url from the config file.
        #expect(c.endpoint(for: .sqs).absoluteString == "http://localhost:4566")
    }

    @Test func invalidRegionIsRefusedUpFront() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"]
        #expect(throws: AWSConfigurationError.invalidRegion("not a region!", source: "--region")) {
            try AWSConfiguration.resolve(
                environment: env, overrides: AWSConfigurationOverrides(region: "not a region!"))
        }
        #expect(
            try AWSConfiguration.resolve(environment: env, overrides: .init(region: "eu-west-3")).region == "eu-west-3")
    }

    @Test func defaultProfileFromFiles() async throws {
        let home = try TempHome(credentials: Self.credentialsFile, config: Self.configFile)
        let c = try AWSConfiguration.resolve(environment: ["HOME": home.path])
        #expect(try await c.credentials().accessKeyId == "AKIADEFAULT")
        #expect(try await c.credentials().secretAccessKey == "default-secret")
        #expect(try await c.credentials().sessionToken == nil)
        #expect(try await c.credentials().source == "profile 'default' in \(home.path)/.aws/credentials")
        #expect(c.region == "eu-west-1")
        #expect(c.regionSource == "profile 'default' in \(home.path)/.aws/config")
        #expect(c.endpoint(for: .sqs).absoluteString == "https://sqs.eu-west-1.amazonaws.com")
        #expect(c.endpoint(for: .dynamodb).absoluteString == "https://dynamodb.eu-west-1.amazonaws.com")
    }

    @Test func awsProfileAndDefaultRegionOrder() async throws {
        let home = try TempHome(credentials: Self.credentialsFile, config: Self.configFile)
        let c = try AWSConfiguration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "dev"])
        #expect(try await c.credentials().accessKeyId == "AKIADEV")
        #expect(try await c.credentials().sessionToken == "dev-token")
        #expect(try await c.credentials().source == "profile 'dev' in \(home.path)/.aws/credentials")
        #expect(c.region == "ap-southeast-2")
        #expect(c.profile == "dev")
        let d = try AWSConfiguration.resolve(environment: [
            "HOME": home.path, "AWS_PROFILE": "dev",
            "AWS_DEFAULT_REGION": "sa-east-1",
        ])
        #expect(d.region == "sa-east-1")
        #expect(d.regionSource == "AWS_DEFAULT_REGION")
        let e = try AWSConfiguration.resolve(environment: [
            "HOME": home.path, "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "sa-east-1",
        ])
        #expect(e.region == "us-east-1")
    }

    @Test("--profile ignores env keys; credentials can come from the config file")
    func explicitProfile() async throws {
        let home = try TempHome(credentials: Self.credentialsFile, config: Self.configFile)
        let c = try AWSConfiguration.resolve(
            environment: ["HOME": home.path, "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s"],
            overrides: .init(profile: "cfgonly", region: "eu-central-1", endpointURL: "http://127.0.0.1:5000"))
        #expect(try await c.credentials().accessKeyId == "AKIACFG")
        #expect(try await c.credentials().source == "profile 'cfgonly' in \(home.path)/.aws/config")
        #expect(c.region == "eu-central-1")
        #expect(c.regionSource == "--region")
        for service in [AWSService.sqs, .sns, .dynamodb] {
            #expect(c.endpoint(for: service).absoluteString == "http://127.0.0.1:5000")
        }
    }

    @Test("AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE are honoured")
    func customFileLocations() async throws {
        let home = try TempHome()
        try home.write("creds.ini", "[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = ci-secret\n")
        try home.write("conf.ini", "[profile ci]\nregion = ca-central-1\n")
        let c = try AWSConfiguration.resolve(environment: [
            "HOME": home.path, "AWS_PROFILE": "ci",
            "AWS_SHARED_CREDENTIALS_FILE": "\(home.path)/creds.ini", "AWS_CONFIG_FILE": "\(home.path)/conf.ini",
        ])
        #expect(try await c.credentials().accessKeyId == "AKIACI")
        #expect(try await c.credentials().source == "profile 'ci' in \(home.path)/creds.ini")
        #expect(c.region == "ca-central-1")
    }

    @Test("per-service endpoint variables beat AWS_ENDPOINT_URL; --endpoint-url beats both")
    func endpoints() throws {
        let env = [
            "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": "http://general:1", "AWS_ENDPOINT_URL_SQS": "http://sqs-only:2",
            "AWS_ENDPOINT_URL_DYNAMODB": "http://ddb-only:3",
        ]
        let c = try AWSConfiguration.resolve(environment: env)
        #expect(c.endpoint(for: .sqs).absoluteString == "http://sqs-only:2")
        #expect(c.endpoint(for: .dynamodb).absoluteString == "http://ddb-only:3")
        #expect(c.endpoint(for: .sns).absoluteString == "http://general:1")
        let o = try AWSConfiguration.resolve(environment: env, overrides: .init(endpointURL: "http://flag:4"))
        #expect(o.endpoint(for: .sqs).absoluteString == "http://flag:4")
        var ignoring = env
        ignoring["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        #expect(
            try AWSConfiguration.resolve(environment: ignoring).endpoint(for: .sns).absoluteString
                == "https://sns.us-east-1.amazonaws.com")
        #expect(throws: AWSConfigurationError.invalidEndpointURL("localhost:4566", source: "AWS_ENDPOINT_URL")) {
            try AWSConfiguration.resolve(environment: [
                "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "localhost:4566",
            ])
        }
    }

    @Test("errors say what is missing and how to fix it")
    func errors() async throws {
        let home = try TempHome(credentials: Self.credentialsFile, config: Self.configFile)
        let empty = try TempHome()
        do {
            // Credentials are fetched on first use; the chain ends at instance metadata, off here.
            _ = try await AWSConfiguration.resolve(environment: [
                "HOME": empty.path, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            ]).credentials()
            Issue.record("expected an error")
        } catch let e as NoCredentialsError {
            #expect(e.description.contains("No AWS credentials found"))
            #expect(e.description.contains("AWS_ACCESS_KEY_ID"))
            #expect(e.description.contains("\(empty.path)/.aws/credentials"))
            #expect(e.description.contains("aws configure"))
        }
        #expect(
            throws: AWSConfigurationError.profileNotFound(
                profile: "nope", searched: ["\(home.path)/.aws/credentials", "\(home.path)/.aws/config"])
        ) {
            try AWSConfiguration.resolve(environment: ["HOME": home.path], overrides: .init(profile: "nope"))
        }
        #expect(throws: AWSConfigurationError.self) {
            try AWSConfiguration.resolve(environment: [
                "HOME": home.path, "AWS_PROFILE": "nope",
                "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                "AWS_REGION": "us-east-1",
            ])
        }
        do {
            _ = try AWSConfiguration.resolve(environment: [
                "HOME": home.path, "AWS_PROFILE": "broken",
                "AWS_REGION": "us-east-1",
            ])
            Issue.record("expected an error")
        } catch let e as AWSConfigurationError {
            #expect(e.description.contains("aws_secret_access_key is missing"))
            #expect(e.description.contains("profile 'broken' in \(home.path)/.aws/credentials"))
        }
        do {
            _ = try AWSConfiguration.resolve(environment: ["AWS_ACCESS_KEY_ID": "AKIA", "AWS_REGION": "us-east-1"])
            Issue.record("expected an error")
        } catch let e as AWSConfigurationError {
            #expect(e.description.contains("AWS_SECRET_ACCESS_KEY is missing"))
        }
        do {
            _ = try AWSConfiguration.resolve(environment: ["AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"])
            Issue.record("expected an error")
        } catch let e as AWSConfigurationError {
            #expect(e.description.contains("No AWS region"))
            #expect(e.description.contains("--region"))
            #expect(e.description.contains("AWS_REGION"))
        }
    }
}
