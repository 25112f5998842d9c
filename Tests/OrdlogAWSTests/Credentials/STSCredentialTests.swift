import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

/// Passes requests to the shared CurlTransport and records them (to check which were signed).
final class RecordingTransport: HTTPTransport, @unchecked Sendable {
    private let inner = CurlTransport.shared
    private let lock = NSLock()
    private var recorded: [HTTPRequest] = []
    var requests: [HTTPRequest] { lock.withLock { recorded } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        lock.withLock { recorded.append(request) }
        return try await inner.send(request)
    }
}

/// Body parameter `name` of a form-encoded STS request.
func formValue(_ request: HTTPRequest, _ name: String) -> String? {
    for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
        if kv.count == 2, kv[0] == name {
            return kv[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
    }
    return nil
}

@Suite(
    "assume-role against signature-checking moto_server (INITIAL_NO_AUTH_ACTION_COUNT=5)", .serialized,
    .motoServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "5"]))
struct AssumeRoleSignatureTests {
    @Test("role_arn + source_profile: STS AssumeRole signed with the source keys; later calls signed with the role's")
    func assumeRole() async throws {
        let server = try MotoContext.current()
        // Five unauthenticated calls: a user that may only call sts:AssumeRole, and a role that may do anything,
        // which trusts that user with the external id ext-42 (moto checks the trust policy and its condition).
        let iam = AWSClient(service: .iam, configuration: server.configuration(), retryPolicy: .none)
        let v = "2010-05-08"
        _ = try await iam.queryCall(operation: "CreateUser", version: v, parameters: [("UserName", "deployer")])
        _ = try await iam.queryCall(
            operation: "PutUserPolicy", version: v,
            parameters: [
                ("UserName", "deployer"), ("PolicyName", "assume-only"),
                (
                    "PolicyDocument",
                    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#
                ),
            ])
        let (keyXML, _) = try await iam.queryCall(
            operation: "CreateAccessKey", version: v, parameters: [("UserName", "deployer")])
        let key = try #require(keyXML.path("CreateAccessKeyResult", "AccessKey"))
        let userKeyId = try #require(key.child("AccessKeyId")?.text)
        let userSecret = try #require(key.child("SecretAccessKey")?.text)
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/deployer"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-42"}}}]}"#
        _ = try await iam.queryCall(
            operation: "CreateRole", version: v,
            parameters: [("RoleName", "consumer"), ("AssumeRolePolicyDocument", trust)])
        _ = try await iam.queryCall(
            operation: "PutRolePolicy", version: v,
            parameters: [
                ("RoleName", "consumer"), ("PolicyName", "all"),
                (
                    "PolicyDocument",
                    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                ),
            ])

        let home = try TempHome(
            credentials: """
                [base]
                aws_access_key_id = \(userKeyId)
                aws_secret_access_key = \(userSecret)
                """,
            config: """
                [profile consumer]
                role_arn = arn:aws:iam::123456789012:role/consumer
                source_profile = base
                external_id = ext-42
                role_session_name = ordlog-test
                duration_seconds = 900
                region = us-east-1
                """)
        let transport = RecordingTransport()
        let env = offline.merging(["HOME": home.path, "AWS_ENDPOINT_URL": server.endpoint.absoluteString]) { $1 }
        let config = try AWSConfiguration.resolve(
            environment: env, overrides: .init(profile: "consumer"), transport: transport)
        let assumed = try await config.credentials()
        #expect(assumed.accessKeyId.hasPrefix("ASIA"))
        #expect(assumed.accessKeyId != userKeyId)
        #expect(
            assumed.source
                == "role arn:aws:iam::123456789012:role/consumer assumed with profile 'base' in \(home.path)/.aws/credentials (profile 'consumer')"
        )
        let expiration = try #require(assumed.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 900) < 60)
        let call = try #require(transport.requests.first)
        #expect(formValue(call, "Action") == "AssumeRole")
        #expect(formValue(call, "RoleSessionName") == "ordlog-test")
        #expect(formValue(call, "ExternalId") == "ext-42")
        #expect(formValue(call, "DurationSeconds") == "900")
        #expect(call.header("Authorization")?.contains("Credential=\(userKeyId)/") == true)

        // Signed with the role's keys (moto checks the signature and the role's policy): allowed.
        let sqs = SQSClient(configuration: config, retryPolicy: .noDelay())
        let url = try await sqs.createQueue(name: "assumed-queue")
        #expect(url.hasSuffix("/assumed-queue"))
        let identity = try await STSClient(configuration: config).getCallerIdentity()
        #expect(identity.arn == "arn:aws:sts::123456789012:assumed-role/consumer/ordlog-test")
        #expect(identity.account == "123456789012")
        // The source profile's own keys may not call SQS: so the success above was the role's signature.
        let asUser = SQSClient(
            configuration: server.configuration(accessKeyId: userKeyId, secret: userSecret), retryPolicy: .noDelay())
        do {
            _ = try await asUser.getQueueUrl(name: "assumed-queue")
            Issue.record("expected AccessDenied for the source profile's keys")
        } catch let e as AWSServiceError {
            #expect(e.httpStatus == 403, "\(e)")
        }
    }
}

@Suite("web identity and credential_source against moto_server's STS", .serialized, .motoServer())
struct WebIdentityTests {
    @Test("AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: unsigned AssumeRoleWithWebIdentity with the file's token")
    func environment() async throws {
        let server = try MotoContext.current()
        let home = try TempHome()
        try home.write("token", "eyJhbGciOiJSUzI1NiJ9.irsa-token.sig\n")
        let transport = RecordingTransport()
        let env = offline.merging([
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_STS": server.endpoint.absoluteString,
            "AWS_WEB_IDENTITY_TOKEN_FILE": "\(home.path)/token",
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/irsa", "AWS_ROLE_SESSION_NAME": "pod-1",
        ]) { $1 }
        let config = try AWSConfiguration.resolve(environment: env, transport: transport)
        let c = try await config.credentials()
        #expect(c.accessKeyId.hasPrefix("ASIA"))
        #expect(c.sessionToken?.isEmpty == false)
        #expect(c.expiration != nil)
        #expect(
            c.source == "web identity: role arn:aws:iam::123456789012:role/irsa with the token in \(home.path)/token")
        let call = try #require(transport.requests.first)
        #expect(call.url.absoluteString == server.endpoint.absoluteString + "/")
        #expect(formValue(call, "Action") == "AssumeRoleWithWebIdentity")
        #expect(formValue(call, "WebIdentityToken") == "eyJhbGciOiJSUzI1NiJ9.irsa-token.sig")
        #expect(formValue(call, "RoleSessionName") == "pod-1")
        #expect(call.header("Authorization") == nil)
        let identity = try await STSClient(configuration: config).getCallerIdentity()
        #expect(identity.arn == "arn:aws:sts::123456789012:assumed-role/irsa/pod-1")
        // The kubelet rotates the token file: each fetch reads it again.
        try home.write("token", "rotated-token")
        _ = try await WebIdentityCredentialProvider(
            environmentOf: CredentialContext(
                environment: env, transport: transport, region: "us-east-1", stsEndpoint: server.endpoint)
        ).credentials()
        #expect(transport.requests.last.flatMap { formValue($0, "WebIdentityToken") } == "rotated-token")
    }

    @Test("a profile's web_identity_token_file, and role_arn + credential_source = Environment")
    func profiles() async throws {
        let server = try MotoContext.current()
        let home = try TempHome(
            config: """
                [profile wi]
                role_arn = arn:aws:iam::123456789012:role/wi
                web_identity_token_file = ~/token
                role_session_name = wi-session
                [profile fromenv]
                role_arn = arn:aws:iam::123456789012:role/fromenv
                credential_source = Environment
                """)
        try home.write("token", "profile-token")
        let env = offline.merging([
            "HOME": home.path, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint.absoluteString,
        ]) { $1 }
        let wi = try await AWSConfiguration.resolve(environment: env, overrides: .init(profile: "wi")).credentials()
        #expect(
            wi.source == "web identity: role arn:aws:iam::123456789012:role/wi with the token in \(home.path)/token")
        var withKeys = env
        withKeys["AWS_ACCESS_KEY_ID"] = "AKIAENVSOURCE"
        withKeys["AWS_SECRET_ACCESS_KEY"] = "env-secret"
        let fromEnv = try await AWSConfiguration.resolve(environment: withKeys, overrides: .init(profile: "fromenv"))
            .credentials()
        #expect(fromEnv.accessKeyId.hasPrefix("ASIA"))
        #expect(
            fromEnv.source.hasPrefix("role arn:aws:iam::123456789012:role/fromenv assumed with environment variables"))
        do {
            _ = try await AWSConfiguration.resolve(environment: env, overrides: .init(profile: "fromenv")).credentials()
            Issue.record("expected an error")
        } catch let e as CredentialSourceError {
            #expect(e.description.contains("its source credentials are not available"))
            #expect(e.description.contains("AWS_ACCESS_KEY_ID not set"))
        }
    }
}
