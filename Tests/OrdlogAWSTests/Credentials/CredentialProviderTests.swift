import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

/// A provider that counts fetches, answers after a delay, and can be told to fail.
final class CountingProvider: CredentialProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var failing = false
    let lifetime: TimeInterval
    let clock: TestClock
    let delay: UInt64

    init(lifetime: TimeInterval, clock: TestClock, delayNanoseconds: UInt64 = 50_000_000) {
        self.lifetime = lifetime
        self.clock = clock
        self.delay = delayNanoseconds
    }

    var fetches: Int { lock.withLock { count } }
    func fail(_ on: Bool) { lock.withLock { failing = on } }
    var description: String { "counting" }

    func credentials() async throws -> AWSCredentials {
        try await Task.sleep(nanoseconds: delay)
        let (n, fail): (Int, Bool) = lock.withLock {
            if !failing { count += 1 }
            return (count, failing)
        }
        if fail { throw CredentialSourceError(source: "counting", reason: "refresh refused") }
        return AWSCredentials(
            accessKeyId: "ASIAKEY\(n)", secretAccessKey: "secret-\(n)", sessionToken: "token-\(n)",
            source: "counting #\(n)", expiration: clock.now().addingTimeInterval(lifetime))
    }
}

/// A settable clock.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    func now() -> Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// Where no test may send traffic: instance metadata off, container variables unset.
let offline: [String: String] = ["AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent-ordlog-home"]

@Suite("credential providers: cache and refresh, chain, container, IMDS, process, SSO")
struct CredentialProviderTests {
    @Test("refresh 5 min before expiry, one refresh in flight for 100 concurrent callers")
    func refreshUnderConcurrency() async throws {
        let clock = TestClock()
        let source = CountingProvider(lifetime: 3600, clock: clock)
        let rotating = RotatingCredentialProvider(source, now: { clock.now() })
        func burst() async throws -> Set<String> {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<100 { group.addTask { try await rotating.credentials().accessKeyId } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
        }
        #expect(try await burst() == ["ASIAKEY1"])
        #expect(source.fetches == 1)
        clock.advance(3600 - 301)  // 5 min + 1 s before expiry: still cached
        #expect(try await burst() == ["ASIAKEY1"])
        #expect(source.fetches == 1)
        clock.advance(2)  // 4 min 59 s before expiry: refreshed, once
        #expect(try await burst() == ["ASIAKEY2"])
        #expect(source.fetches == 2)
        #expect(await rotating.fetchCount == 2)

        // A failed refresh while the cached credentials still work: keep them; once expired: the error.
        clock.advance(3600 - 200)
        source.fail(true)
        #expect(try await rotating.credentials().accessKeyId == "ASIAKEY2")
        clock.advance(200)
        await #expect(throws: CredentialSourceError.self) { try await rotating.credentials() }
        source.fail(false)
        #expect(try await rotating.credentials().accessKeyId == "ASIAKEY3")
    }

    @Test("short-lived credentials are refreshed halfway through their life, not on every call")
    func shortLived() async throws {
        let clock = TestClock()
        let source = CountingProvider(lifetime: 60, clock: clock, delayNanoseconds: 0)
        let rotating = RotatingCredentialProvider(source, now: { clock.now() })
        _ = try await rotating.credentials()
        clock.advance(29)
        _ = try await rotating.credentials()
        #expect(source.fetches == 1)
        clock.advance(2)
        _ = try await rotating.credentials()
        #expect(source.fetches == 2)
    }

    @Test("every source fails: one error naming each source and why, and what to do")
    func everySourceFails() async throws {
        let config = try AWSConfiguration.resolve(environment: offline.merging(["AWS_REGION": "us-east-1"]) { $1 })
        do {
            _ = try await config.credentials()
            Issue.record("expected NoCredentialsError")
        } catch let e as NoCredentialsError {
            #expect(
                e.skipped.map(\.source) == [
                    "environment", "web identity", "profile 'default'", "container", "instance metadata",
                ])
            let text = e.description
            #expect(text.contains("environment: AWS_ACCESS_KEY_ID not set"))
            #expect(text.contains("web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set"))
            #expect(text.contains("profile 'default': no such profile in /nonexistent-ordlog-home/.aws/credentials"))
            #expect(
                text.contains(
                    "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set"))
            #expect(text.contains("instance metadata: AWS_EC2_METADATA_DISABLED=true"))
            #expect(text.contains("aws configure"))
        }
        // Metadata on, but nothing listening (a closed loopback port): skipped quickly with the reason.
        let closed = try MotoServer.freePort()
        let env = offline.merging([
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(closed)",
        ]) { $1 }
        let started = Date()
        do {
            _ = try await AWSConfiguration.resolve(environment: env).credentials()
            Issue.record("expected NoCredentialsError")
        } catch let e as NoCredentialsError {
            #expect(e.description.contains("instance metadata: no answer from 127.0.0.1 within 1 s"))
        }
        // Bounded, not hung: generous, since a loaded 2-core CI machine runs the whole suite in parallel (seen
        // 6–11 s there against 0.07 s alone); a metadata lookup that waited for the OS connect timeout takes minutes.
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test("the chain remembers the first source that answered")
    func chainRemembers() async throws {
        let clock = TestClock()
        let second = CountingProvider(lifetime: 10, clock: clock, delayNanoseconds: 0)
        let chain = CredentialProviderChain([
            EnvironmentCredentialProvider(environment: [:]), second,
        ])
        #expect(try await chain.credentials().accessKeyId == "ASIAKEY1")
        #expect(try await chain.credentials().accessKeyId == "ASIAKEY2")
        #expect(await chain.selected?.description == "counting")
    }

    @Test("container: full URI with a token file (preferred) or token, relative URI, refresh of a short Expiration")
    func container() async throws {
        let secret = "container-SECRET-\(UUID().uuidString)"
        let clock = TestClock()
        let server = try LoopbackHTTPServer { request in
            guard request.path.hasPrefix("/v1/credentials") || request.path.hasPrefix("/v2/credentials/") else {
                return .json(#"{"code":"NotFound","message":"no such path"}"#, status: 404)
            }
            if request.path.hasPrefix("/v1"), request.headers["authorization"] != "pod-identity-token" {
                return .json(#"{"code":"AccessDenied","message":"bad token"}"#, status: 401)
            }
            let expiration = formatAWSTimestamp(clock.now().addingTimeInterval(120))
            return .json(
                #"{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"\#(secret)","Token":"tok","Expiration":"\#(expiration)","RoleArn":"arn:aws:iam::123456789012:role/task"}"#
            )
        }
        defer { server.stop() }
        let home = try TempHome()
        try home.write("token", "pod-identity-token\n")
        let full = "http://127.0.0.1:\(server.port)/v1/credentials"
        func provider(_ env: [String: String]) -> ContainerCredentialProvider {
            ContainerCredentialProvider(
                context: CredentialContext(environment: env, region: "us-east-1", now: { clock.now() }),
                relativeURIBase: server.endpoint)
        }
        let withFile = try await provider([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": full,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "\(home.path)/token",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong",
        ]).credentials()
        #expect(withFile.accessKeyId == "ASIACONTAINER")
        #expect(withFile.secretAccessKey == secret)
        #expect(withFile.sessionToken == "tok")
        #expect(withFile.expiration == clock.now().addingTimeInterval(120))
        #expect(withFile.source == "container credentials (\(full))")
        #expect(server.requests.last?.headers["authorization"] == "pod-identity-token")
        let withToken = try await provider([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": full, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "pod-identity-token",
        ]).credentials()
        #expect(withToken.accessKeyId == "ASIACONTAINER")
        do {
            _ = try await provider(["AWS_CONTAINER_CREDENTIALS_FULL_URI": full]).credentials()
            Issue.record("expected a refusal without the token")
        } catch let e as CredentialSourceError {
            #expect(e.description.contains("HTTP 401 (AccessDenied: bad token)"))
        }
        let relative = try await provider(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc-123"])
            .credentials()
        #expect(relative.accessKeyId == "ASIACONTAINER")
        #expect(server.requests.last?.path == "/v2/credentials/abc-123")
        #expect(server.requests.last?.headers["authorization"] == nil)
        // Plain HTTP only to loopback and the ECS / Pod Identity addresses.
        for bad in ["http://example.com/creds", "http://10.0.0.1/creds"] {
            await #expect(throws: CredentialSourceError.self) {
                try await provider(["AWS_CONTAINER_CREDENTIALS_FULL_URI": bad]).credentials()
            }
        }
        for allowed in ["127.0.0.1", "localhost", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "[::1]"] {
            #expect(ContainerCredentialProvider.isAllowedHTTPHost(allowed), "\(allowed)")
        }
        #expect(!ContainerCredentialProvider.isAllowedHTTPHost("169.254.169.254"))

        // Refresh: 2-minute credentials are fetched again after a minute, by one of many concurrent callers.
        let rotating = RotatingCredentialProvider(
            provider(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc-123"]), now: { clock.now() })
        let before = server.requests.count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await rotating.credentials() } }
            try await group.waitForAll()
        }
        clock.advance(61)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await rotating.credentials() } }
            try await group.waitForAll()
        }
        #expect(server.requests.count - before == 2)
        #expect(!String(describing: relative).contains(secret) && !String(reflecting: relative).contains(secret))
    }

    @Test("IMDSv2 against moto_server's instance-metadata endpoint: token PUT, role, credentials, region")
    func instanceMetadataMoto() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let env = [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint.absoluteString, "HOME": "/nonexistent-ordlog-home",
        ]
        let config = try await AWSConfiguration.load(environment: env)
        #expect(config.region == "us-east-1")
        #expect(config.regionSource == "EC2 instance metadata")
        let c = try await config.credentials()
        #expect(c.accessKeyId == "test-key")  // moto's fixed instance-profile credentials
        #expect(c.sessionToken == "test-session-token")
        #expect(c.expiration != nil)
        #expect(c.source == "EC2 instance metadata (role default-role via 127.0.0.1)")
    }

    @Test("IMDSv2 wire shape (moto does not check the token): PUT with TTL, then every GET carries the token")
    func instanceMetadataShape() async throws {
        let server = try LoopbackHTTPServer { request in
            if request.method == "PUT", request.path == "/latest/api/token" {
                return request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
                    ? .text("session-token-1") : .text("", status: 400)
            }
            guard request.method == "GET", request.headers["x-aws-ec2-metadata-token"] == "session-token-1" else {
                return .text("", status: 401)
            }
            switch request.path {
            case "/latest/meta-data/iam/security-credentials/": return .text("ordlog-instance-role")
            case "/latest/meta-data/iam/security-credentials/ordlog-instance-role":
                return .json(
                    #"{"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret","Token":"imds-token","Expiration":"2099-01-01T00:00:00Z"}"#
                )
            case "/latest/meta-data/placement/region": return .text("eu-north-1")
            default: return .text("", status: 404)
            }
        }
        defer { server.stop() }
        let env = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint.absoluteString + "/"]
        let c = try await InstanceMetadataCredentialProvider(
            context: CredentialContext(environment: env, region: "eu-north-1")
        ).credentials()
        #expect(c.accessKeyId == "ASIAIMDS")
        #expect(c.expiration == parseAWSTimestamp("2099-01-01T00:00:00Z"))
        #expect(server.requests.map(\.method) == ["PUT", "GET", "GET"])
        let imds = try #require(InstanceMetadataClient(environment: env, transport: CurlTransport.shared))
        #expect(await imds.region() == "eu-north-1")
        #expect(
            InstanceMetadataClient(environment: ["AWS_EC2_METADATA_DISABLED": "true"], transport: CurlTransport.shared)
                == nil)
    }

    @Test("IMDS: a refused token PUT falls back to IMDSv1, unless AWS_EC2_METADATA_V1_DISABLED=true")
    func instanceMetadataV1() async throws {
        let server = try LoopbackHTTPServer { request in
            if request.method == "PUT" { return .text("", status: 405) }
            guard request.headers["x-aws-ec2-metadata-token"] == nil else { return .text("", status: 400) }
            switch request.path {
            case "/latest/meta-data/iam/security-credentials/": return .text("v1-role\n")
            case "/latest/meta-data/iam/security-credentials/v1-role":
                return .json(#"{"Code":"Success","AccessKeyId":"ASIAV1","SecretAccessKey":"s","Token":"t"}"#)
            default: return .text("", status: 404)
            }
        }
        defer { server.stop() }
        var env = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint.absoluteString]
        let provider = InstanceMetadataCredentialProvider(context: CredentialContext(environment: env, region: "x"))
        #expect(try await provider.credentials().accessKeyId == "ASIAV1")
        env["AWS_EC2_METADATA_V1_DISABLED"] = "true"
        await #expect(throws: CredentialSourceError.self) {
            try await InstanceMetadataCredentialProvider(context: CredentialContext(environment: env, region: "x"))
                .credentials()
        }
    }

    @Test("credential_process: the documented JSON, Expiration honoured, failures name the program, not its output")
    func credentialProcess() async throws {
        let home = try TempHome()
        let script = "\(home.path)/creds.sh"
        try home.write(
            "creds.sh",
            """
            #!/bin/sh
            case "$1" in
              ok) printf '{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "proc-SECRET", "SessionToken": "proc-token", "Expiration": "2099-01-01T00:00:00.000Z", "extra": "%s"}' "$2" ;;
              v2) echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "proc-SECRET"}' ;;
              fail) echo '{"SecretAccessKey": "proc-SECRET"}'; echo 'token expired, log in again' >&2; exit 3 ;;
              slow) sleep 120 ;;
            esac
            """)
        chmod(script, 0o755)
        func run(_ command: String, timeout: TimeInterval = 10) async throws -> AWSCredentials {
            try await ProcessCredentialProvider(
                command: command, origin: "profile 'p'", environment: ProcessInfo.processInfo.environment,
                timeout: timeout
            ).credentials()
        }
        let c = try await run("\(script) ok 'two words'")
        #expect(c.accessKeyId == "ASIAPROC")
        #expect(c.secretAccessKey == "proc-SECRET")
        #expect(c.sessionToken == "proc-token")
        #expect(c.expiration == parseAWSTimestamp("2099-01-01T00:00:00Z"))
        #expect(c.source == "credential_process `\(script)` (profile 'p')")
        do {
            _ = try await run("\(script) fail")
            Issue.record("expected an error")
        } catch let e as CredentialSourceError {
            #expect(e.description.contains("`\(script)`"))
            #expect(e.description.contains("exited with status 3; its stderr begins: token expired, log in again"))
            #expect(!e.description.contains("proc-SECRET"))
        }
        await #expect(throws: CredentialSourceError.self) { try await run("\(script) v2") }
        let started = Date()
        await #expect(throws: CredentialSourceError.self) { try await run("\(script) slow", timeout: 1) }
        // The script sleeps far longer than this bound; the slack is for a loaded machine (seen 14 s in the full suite).
        #expect(Date().timeIntervalSince(started) < 40)
        // PATH lookup without a shell.
        await #expect(throws: CredentialSourceError.self) { try await run("sh -c 'exit 7'") }
        #expect(ProcessCredentialProvider.split(#"a "b c" 'd e' f\ g "h\"i""#) == ["a", "b c", "d e", "f g", #"h"i"#])
        #expect(ProcessCredentialProvider.split("a 'b") == nil)
    }

    @Test("SSO: the cached token, GetRoleCredentials' documented shape; a missing or expired token says aws sso login")
    func sso() async throws {
        let server = try LoopbackHTTPServer { request in
            guard request.path == "/federation/credentials?role_name=OrdlogRole&account_id=111122223333",
                request.headers["x-amz-sso_bearer_token"] == "cached-access-token"
            else { return .json(#"{"message":"Session token not found or invalid"}"#, status: 401) }
            return .json(
                #"{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"sso-secret","sessionToken":"sso-token","expiration":4070908800000}}"#
            )
        }
        defer { server.stop() }
        let home = try TempHome(
            config: """
                [profile dev]
                sso_session = corp
                sso_account_id = 111122223333
                sso_role_name = OrdlogRole
                region = eu-west-1
                [sso-session corp]
                sso_start_url = https://corp.awsapps.com/start
                sso_region = eu-west-1
                """)
        try FileManager.default.createDirectory(
            atPath: "\(home.path)/.aws/sso/cache", withIntermediateDirectories: true)
        let env = offline.merging([
            "HOME": home.path, "AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": server.endpoint.absoluteString,
        ]) { $1 }
        do {
            _ = try await AWSConfiguration.resolve(environment: env).credentials()
            Issue.record("expected an error")
        } catch let e as CredentialSourceError {
            #expect(e.description.contains("run `aws sso login --profile dev`"))
        }
        // The AWS CLI names the cache file after the SHA-1 of the session name.
        #expect(SSOCredentialProvider.cacheFileName("corp") == "ee0bfd2552fbd840c02cc48b6e823320543c450f.json")
        let cache = ".aws/sso/cache/" + SSOCredentialProvider.cacheFileName("corp")
        try home.write(cache, #"{"accessToken":"cached-access-token","expiresAt":"2020-01-01T00:00:00Z"}"#)
        do {
            _ = try await AWSConfiguration.resolve(environment: env).credentials()
            Issue.record("expected an error")
        } catch let e as CredentialSourceError {
            #expect(e.description.contains("expired at 2020-01-01T00:00:00Z; run `aws sso login --profile dev`"))
        }
        try home.write(cache, #"{"accessToken":"cached-access-token","expiresAt":"2099-01-01T00:00:00UTC"}"#)
        let c = try await AWSConfiguration.resolve(environment: env).credentials()
        #expect(c.accessKeyId == "ASIASSO")
        #expect(c.expiration == Date(timeIntervalSince1970: 4_070_908_800))
        #expect(c.source == "SSO (profile 'dev', account 111122223333, role OrdlogRole)")
    }

    @Test("profile errors: mfa_serial refused, source_profile loop, bad credential_source")
    func profileErrors() async throws {
        let home = try TempHome(
            config: """
                [profile mfa]
                role_arn = arn:aws:iam::123456789012:role/r
                source_profile = base
                mfa_serial = arn:aws:iam::123456789012:mfa/me
                [profile base]
                aws_access_key_id = AKIABASE
                aws_secret_access_key = base-secret
                [profile a]
                role_arn = arn:aws:iam::123456789012:role/a
                source_profile = b
                [profile b]
                role_arn = arn:aws:iam::123456789012:role/b
                source_profile = a
                [profile odd]
                role_arn = arn:aws:iam::123456789012:role/o
                credential_source = Somewhere
                """)
        for (profile, text) in [
            ("mfa", "mfa_serial needs an MFA code, and ordlog cannot prompt for one"),
            ("a", "source_profile loop: a → b → a"),
            ("odd", "credential_source 'Somewhere' is not Environment, Ec2InstanceMetadata or EcsContainer"),
        ] {
            do {
                _ = try await AWSConfiguration.resolve(
                    // STS on a closed loopback port: should a check be missed, nothing leaves 127.0.0.1.
                    environment: offline.merging([
                        "HOME": home.path, "AWS_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL": "http://127.0.0.1:\(try MotoServer.freePort())",
                    ]) { $1 },
                    overrides: .init(profile: profile)
                ).credentials()
                Issue.record("expected an error for \(profile)")
            } catch let e as CredentialSourceError {
                #expect(e.description.contains(text), "\(e)")
            }
        }
    }

    @Test("a service saying ExpiredToken makes the client fetch new credentials and retry once, signed with them")
    func expiredTokenRefetches() async throws {
        let clock = TestClock()
        let source = CountingProvider(lifetime: 3600, clock: clock, delayNanoseconds: 0)
        let expired = HTTPResponse(
            status: 400,
            body: Data(#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"expired"}"#.utf8))
        let ok = HTTPResponse(status: 200, body: Data(#"{"QueueUrl":"http://q/1/orders"}"#.utf8))
        let transport = FakeTransport([.respond(expired), .respond(ok), .respond(expired), .respond(expired)])
        let sqs = SQSClient(
            client: AWSClient(
                service: .sqs, credentialProvider: RotatingCredentialProvider(source, now: { clock.now() }),
                region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:1")!, transport: transport,
                retryPolicy: .noDelay(maxAttempts: 3)))
        #expect(try await sqs.getQueueUrl(name: "orders") == "http://q/1/orders")
        #expect(
            transport.requests.map { $0.header("Authorization")?.contains("Credential=ASIAKEY1/") } == [true, false])
        #expect(transport.requests[1].header("Authorization")?.contains("Credential=ASIAKEY2/") == true)
        // Only once per call: a second ExpiredToken is the caller's error.
        await #expect(throws: AWSServiceError.self) { try await sqs.getQueueUrl(name: "orders") }
        #expect(transport.requestCount == 4)
    }

    @Test("timestamps as the sources write them")
    func timestamps() {
        let base = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
        #expect(parseAWSTimestamp("2026-01-01T00:00:00Z") == base)
        #expect(parseAWSTimestamp("2026-01-01T00:00:00UTC") == base)
        #expect(parseAWSTimestamp("2026-01-01T01:00:00+01:00") == base)
        #expect(parseAWSTimestamp("2026-01-01T00:00:00.250000Z") == base.addingTimeInterval(0.25))
        #expect(parseAWSTimestamp("yesterday") == nil)
    }
}
