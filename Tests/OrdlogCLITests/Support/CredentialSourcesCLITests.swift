import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// setup, publish, consume and whoami through the binary with no static keys anywhere, once per credential source,
/// against one moto_server (and the tests' own loopback endpoints for container credentials and SSO).
/// Instance metadata is off (or pointed at moto) in every run: nothing leaves 127.0.0.1.
@Suite(.serialized) struct CredentialSourcesCLITests {
    static let order =
        #"{"orderId":"ord-c1","userId":"u-1","itemName":"Kettle","quantity":1,"status":"PAID","timestamp":"2026-01-01T10:00:00Z"}"#

    /// No keys, no profile, no web identity, no container, metadata off; files under `home`.
    static func baseEnv(_ server: MotoServer, home: String) -> [String: String] {
        [
            "HOME": home, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint.absoluteString,
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
            "AWS_DEFAULT_REGION": "", "AWS_CONFIG_FILE": "", "AWS_SHARED_CREDENTIALS_FILE": "",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "",
        ]
    }

    static func json(_ text: String) throws -> JSONObject {
        try #require(try JSONParser.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
    }

    /// Runs setup, publish, consume (trace logging) and whoami --json; checks each succeeds, the start-up
    /// lines name `source`, and no `secrets` appear anywhere. Returns whoami's JSON.
    @discardableResult
    static func pipeline(env: [String: String], source: String, secrets: [String], dir: URL) throws -> JSONObject {
        let file = dir.appendingPathComponent("orders.jsonl")
        try (order + "\n").write(to: file, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("c-\(UUID().uuidString).db").path
        let runs: [(String, [String], Int32)] = [
            ("setup", ["setup", "--json"], 0),
            ("publish", ["publish", "--topic", "OrderTopic", file.path], 0),
            (
                "consume",
                [
                    "consume", "--db", db, "--queue", "OrderQueue", "--table", "Orders", "--until-empty",
                    "--wait-time", "1", "--json", "--log-level", "trace",
                ], 0
            ),
            ("whoami", ["whoami", "--json"], 0),
            ("whoami text", ["whoami"], 0),
        ]
        var whoami: JSONObject?
        for (name, args, status) in runs {
            let r = try CLI.run(args, env: env)
            #expect(r.status == status, "\(name) with \(source): \(r.stderr)")
            if name == "setup" || name == "consume" {
                #expect(r.stderr.contains("ordlog: credentials from \(source)"), "\(name): \(r.stderr)")
            }
            for secret in secrets {
                #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret), "\(name) printed a secret")
            }
            if name == "whoami" { whoami = try json(r.stdout) }
            if name == "whoami text" {
                #expect(r.stdout.contains("source:        \(source)"), "\(r.stdout)")
            }
        }
        let w = try #require(whoami)
        #expect(w["source"] == .string(source))
        #expect(w["account"] == .string("123456789012"))
        return w
    }

    @Test("web identity (EKS IRSA), assume-role profile, credential_process, container, instance metadata, SSO")
    func everySource() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let dir = CLI.tempDir()
        let home = dir.path
        try FileManager.default.createDirectory(atPath: "\(home)/.aws/sso/cache", withIntermediateDirectories: true)
        let base = Self.baseEnv(server, home: home)

        // 1. Web identity.
        let tokenFile = dir.appendingPathComponent("irsa-token")
        let webToken = "IRSA-TOKEN-\(UUID().uuidString)"
        try webToken.write(to: tokenFile, atomically: true, encoding: .utf8)
        var env = base
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = tokenFile.path
        env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/irsa"
        env["AWS_ROLE_SESSION_NAME"] = "pod-7"
        var w = try Self.pipeline(
            env: env,
            source: "web identity: role arn:aws:iam::123456789012:role/irsa with the token in \(tokenFile.path)",
            secrets: [webToken], dir: dir)
        #expect(w["arn"] == .string("arn:aws:sts::123456789012:assumed-role/irsa/pod-7"))
        #expect(w["expires"]?.stringValue != nil)

        // 2. credential_process, with a known secret and session token.
        let secret = "PROC-SECRET-\(UUID().uuidString)"
        let token = "PROC-TOKEN-\(UUID().uuidString)"
        let script = dir.appendingPathComponent("creds.sh")
        try """
        #!/bin/sh
        printf '{"Version": 1, "AccessKeyId": "AKIAPROCESS0001", "SecretAccessKey": "\(secret)", "SessionToken": "\(token)", "Expiration": "2099-01-01T00:00:00Z"}'
        """.write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        let sourceSecret = "BASE-SECRET-\(UUID().uuidString)"
        try """
        [default]
        credential_process = \(script.path) --profile default
        [profile ops]
        role_arn = arn:aws:iam::123456789012:role/ops
        source_profile = base
        role_session_name = ops-session
        [profile base]
        aws_access_key_id = AKIABASE00000001
        aws_secret_access_key = \(sourceSecret)
        [profile sso]
        sso_session = corp
        sso_account_id = 123456789012
        sso_role_name = OrdlogRole
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = us-east-1
        """.write(toFile: "\(home)/.aws/config", atomically: true, encoding: .utf8)
        w = try Self.pipeline(
            env: base, source: "credential_process `\(script.path)` (profile 'default')", secrets: [secret, token],
            dir: dir)
        #expect(w["accessKeyIdLast4"] == .string("0001"))
        #expect(w["expires"] == .string("2099-01-01T00:00:00Z"))

        // 3. Assume role from a source profile.
        env = base
        env["AWS_PROFILE"] = "ops"
        w = try Self.pipeline(
            env: env,
            source:
                "role arn:aws:iam::123456789012:role/ops assumed with profile 'base' in \(home)/.aws/config (profile 'ops')",
            secrets: [sourceSecret], dir: dir)
        #expect(w["arn"] == .string("arn:aws:sts::123456789012:assumed-role/ops/ops-session"))

        // 4. Container credentials (EKS Pod Identity style: full URI on loopback, token file).
        let containerSecret = "CONTAINER-SECRET-\(UUID().uuidString)"
        let authToken = "POD-AUTH-\(UUID().uuidString)"
        let container = try LoopbackHTTPServer { request in
            guard request.headers["authorization"] == authToken else {
                return .json(#"{"code":"AccessDenied","message":"no token"}"#, status: 401)
            }
            let expiration = formatAWSTimestamp(Date().addingTimeInterval(3600))
            return .json(
                #"{"AccessKeyId":"ASIACONTAINER0002","SecretAccessKey":"\#(containerSecret)","Token":"\#(token)","Expiration":"\#(expiration)"}"#
            )
        }
        defer { container.stop() }
        let authFile = dir.appendingPathComponent("pod-token")
        try authToken.write(to: authFile, atomically: true, encoding: .utf8)
        env = base
        env["HOME"] = dir.appendingPathComponent("empty").path
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:\(container.port)/v1/credentials"
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = authFile.path
        w = try Self.pipeline(
            env: env, source: "container credentials (http://127.0.0.1:\(container.port)/v1/credentials)",
            secrets: [containerSecret, token, authToken], dir: dir)
        #expect(w["accessKeyIdLast4"] == .string("0002"))

        // 5. Instance metadata (moto's endpoint), and the region from it: AWS_REGION is not set.
        env = base
        env["HOME"] = dir.appendingPathComponent("empty").path
        env["AWS_REGION"] = ""
        env["AWS_EC2_METADATA_DISABLED"] = ""
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.endpoint.absoluteString
        w = try Self.pipeline(
            env: env, source: "EC2 instance metadata (role default-role via 127.0.0.1)",
            secrets: ["test-secret-key", "test-session-token"], dir: dir)
        #expect(w["regionSource"] == .string("EC2 instance metadata"))
        #expect(w["region"] == .string("us-east-1"))

        // 6. SSO, with the token the AWS CLI cached.
        let ssoSecret = "SSO-SECRET-\(UUID().uuidString)"
        let bearer = "SSO-BEARER-\(UUID().uuidString)"
        let sso = try LoopbackHTTPServer { request in
            guard request.headers["x-amz-sso_bearer_token"] == bearer else {
                return .json(#"{"message":"Session token not found or invalid"}"#, status: 401)
            }
            return .json(
                #"{"roleCredentials":{"accessKeyId":"ASIASSO000000003","secretAccessKey":"\#(ssoSecret)","sessionToken":"\#(token)","expiration":4070908800000}}"#
            )
        }
        defer { sso.stop() }
        try #"{"accessToken":"\#(bearer)","expiresAt":"2099-01-01T00:00:00Z","region":"us-east-1"}"#.write(
            toFile: "\(home)/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json", atomically: true,
            encoding: .utf8)
        env = base
        env["AWS_PROFILE"] = "sso"
        env["AWS_ENDPOINT_URL_SSO"] = sso.endpoint.absoluteString
        w = try Self.pipeline(
            env: env, source: "SSO (profile 'sso', account 123456789012, role OrdlogRole)",
            secrets: [ssoSecret, token, bearer], dir: dir)
        #expect(w["expires"] == .string("2099-01-01T00:00:00Z"))
    }

    @Test("every source fails: exit 5, one message naming each source and why")
    func noSource() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let dir = CLI.tempDir()
        let env = Self.baseEnv(server, home: dir.path)
        for args in [
            ["whoami"], ["setup"],
            ["consume", "--db", dir.appendingPathComponent("x.db").path, "--queue", "OrderQueue"],
        ] {
            let r = try CLI.run(args, env: env)
            #expect(r.status == 5, "\(args): \(r.stderr)")
            for part in [
                "No AWS credentials found. Tried, in order: environment: AWS_ACCESS_KEY_ID not set",
                "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set",
                "profile 'default': no such profile in \(dir.path)/.aws/credentials or \(dir.path)/.aws/config",
                "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set",
                "instance metadata: AWS_EC2_METADATA_DISABLED=true",
            ] {
                #expect(r.stderr.contains(part), "\(args): \(r.stderr)")
            }
        }
        // Metadata on but nothing there (a closed loopback port): skipped after its 1 s timeout.
        var on = env
        on["AWS_EC2_METADATA_DISABLED"] = ""
        on["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:\(try MotoServer.freePort())"
        let r = try CLI.run(["whoami"], env: on)
        #expect(r.status == 5)
        #expect(r.stderr.contains("instance metadata: no answer from 127.0.0.1 within 1 s"), "\(r.stderr)")
    }

    @Test("container credentials that expire every 4 s: a consume running 9 s refreshes them, and keeps working")
    func refreshDuringConsume() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let dir = CLI.tempDir()
        let container = try LoopbackHTTPServer { _ in
            let expiration = formatAWSTimestamp(Date().addingTimeInterval(4))
            return .json(
                #"{"AccessKeyId":"ASIAROTATING","SecretAccessKey":"rotating-secret","Token":"rotating-token","Expiration":"\#(expiration)"}"#
            )
        }
        defer { container.stop() }
        var env = Self.baseEnv(server, home: dir.path)
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:\(container.port)/creds"
        #expect(try CLI.run(["setup"], env: env).status == 0)
        let before = container.requests.count
        let port = try MotoServer.freePort()
        let p = try CLI.start(
            [
                "consume", "--db", dir.appendingPathComponent("r.db").path, "--queue", "OrderQueue", "--wait-time",
                "1", "--metrics-address", "127.0.0.1:\(port)", "--json",
            ], env: env)
        func receiveCalls() async -> Double {
            await ConsumeOperationsTests.get(port, "/metrics").flatMap { Self.receiveCalls($0.body) } ?? 0
        }
        // It runs until the credentials were refreshed twice (the first ones then expire), and it has completed 5
        // ReceiveMessage calls since, counted on its /metrics: at most 4 are in flight at once (--max-unlogged 40,
        // 10 messages a receive), so at least one started after the refresh.
        try await waitUntil(60, "two refreshes (stderr: \(p.stderr))", every: 0.1) {
            container.requests.count - before >= 3 || !p.isRunning
        }
        let atRefresh = await receiveCalls()
        try await waitUntil(60, "5 receives after the refresh (stderr: \(p.stderr))", every: 0.3) {
            await receiveCalls() > atRefresh + 4 || !p.isRunning
        }
        p.signal(SIGTERM)
        let end = try p.wait(timeout: 30)
        #expect(end.status == 0)
        // Fetched at start, then about every 2 s (half of a 4 s lifetime): at least 3 fetches, far fewer than the
        // receives made (4 long polls at a time, each every second).
        let fetches = container.requests.count - before
        #expect(fetches >= 3 && fetches <= 8, "\(fetches) fetches")
        let stdout = p.stdout
        #expect(try Self.json(stdout)["received"] == .number("0"))
    }

    /// How many ReceiveMessage calls a consume's /metrics body has timed.
    static func receiveCalls(_ body: String) -> Double? {
        body.split(separator: "\n").first {
            $0.hasPrefix("ordlog_aws_call_duration_seconds_count{") && $0.contains(#"service="sqs""#)
                && $0.contains(#"operation="ReceiveMessage""#)
        }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}
