import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

/// One case of the official SigV4 test suite (aws-c-auth layout), parsed from request.txt + context.json.
struct SigV4Case: Sendable, CustomStringConvertible {
    var name: String
    var request: SigV4Request
    var signer: SigV4Signer
    var date: Date
    var expectedCanonicalRequest: String
    var expectedStringToSign: String
    var expectedSignature: String
    var expectedAuthorization: String?

    var description: String { name }

    static let directory = "sigv4/aws-c-auth-v4"

    static func allNames() throws -> [String] {
        let root = try TestFixtures.url(directory)
        return try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
    }

    static func load(_ name: String) throws -> SigV4Case {
        let dir = try TestFixtures.url("\(directory)/\(name)")
        func text(_ file: String) throws -> String {
            try String(decoding: Data(contentsOf: dir.appendingPathComponent(file)), as: UTF8.self)
        }
        struct Context: Decodable {
            struct Credentials: Decodable {
                var access_key_id: String
                var secret_access_key: String
                var token: String?
            }
            var credentials: Credentials
            var region: String
            var service: String
            var timestamp: String
            var normalize: Bool
            var sign_body: Bool
            var omit_session_token: Bool?
        }
        let context = try JSONDecoder().decode(Context.self, from: Data(try text("context.json").utf8))
        let credentials = AWSCredentials(
            accessKeyId: context.credentials.access_key_id,
            secretAccessKey: context.credentials.secret_access_key,
            sessionToken: context.credentials.token, source: "test suite")
        let options = SigV4Signer.Options(
            normalizePath: context.normalize, signPayloadHashHeader: context.sign_body,
            omitSessionTokenFromSignature: context.omit_session_token ?? false)
        let signer = SigV4Signer(
            credentials: credentials, region: context.region, service: context.service,
            options: options)
        let date = try #require(SigV4Signer.parseAmzDate(context.timestamp))
        let authorization = try text("header-signed-request.txt").split(separator: "\n")
            .first { $0.hasPrefix("Authorization:") }
            .map { String($0.dropFirst("Authorization:".count)) }
        return SigV4Case(
            name: name, request: try parseRequest(try text("request.txt")), signer: signer, date: date,
            expectedCanonicalRequest: try text("header-canonical-request.txt"),
            expectedStringToSign: try text("header-string-to-sign.txt"),
            expectedSignature: try text("header-signature.txt")
                .trimmingCharacters(in: .whitespacesAndNewlines),
            expectedAuthorization: authorization)
    }

    /// Parses `METHOD <path>[?query] HTTP/1.1`, header lines (continuation lines folded), blank line, body.
    static func parseRequest(_ raw: String) throws -> SigV4Request {
        var lines = raw.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = requestLine.dropFirst(method.count + 1)
        let end = try #require(target.range(of: " HTTP/", options: .backwards))
        let pathAndQuery = String(target[..<end.lowerBound])
        var headers: [SigV4Request.Header] = []
        var bodyLines: [String] = []
        var inBody = false
        for line in lines {
            if inBody {
                bodyLines.append(line)
                continue
            }
            if line.isEmpty {
                inBody = true
                continue
            }
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line
                continue
            }
            let colon = try #require(line.firstIndex(of: ":"))
            headers.append(.init(String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        let path: String
        var query: [SigV4Request.QueryItem] = []
        if let q = pathAndQuery.firstIndex(of: "?") {
            path = String(pathAndQuery[..<q])
            for pair in pathAndQuery[pathAndQuery.index(after: q)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
                let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
                query.append(.init(name, value))
            }
        } else {
            path = pathAndQuery
        }
        return SigV4Request(
            method: method, path: path, query: query, headers: headers,
            body: Data(bodyLines.joined(separator: "\n").utf8))
    }
}

@Suite("SigV4 official test suite (aws-c-auth v4)")
struct SigV4SuiteTests {
    /// Cases we do not claim to support, with the reason. Currently none: every case passes.
    static let unsupported: [String: String] = [:]

    static let mustPass = [
        "get-vanilla", "post-vanilla", "post-x-www-form-urlencoded",
        "get-vanilla-with-session-token", "post-sts-header-after", "post-header-key-case",
    ]

    static func caseNames() -> [String] {
        (try? SigV4Case.allNames()) ?? ["<samples not found>"]
    }

    @Test("suite is present and has the cases ordlog relies on")
    func suitePresent() throws {
        let names = try SigV4Case.allNames()
        #expect(names.count == 38)
        for name in Self.mustPass { #expect(names.contains(name)) }
        for name in Self.unsupported.keys { #expect(!Self.mustPass.contains(name)) }
    }

    @Test("canonical request, string to sign, signature, Authorization", arguments: caseNames())
    func suiteCase(_ name: String) throws {
        if let reason = Self.unsupported[name] {
            withKnownIssue("unsupported: \(reason)") { try checkCase(name) }
            return
        }
        try checkCase(name)
    }

    private func checkCase(_ name: String) throws {
        let c = try SigV4Case.load(name)
        let signature = c.signer.sign(c.request, date: c.date)
        #expect(signature.canonicalRequest == c.expectedCanonicalRequest, "\(name): canonical request")
        #expect(c.signer.canonicalRequest(for: c.request, date: c.date) == c.expectedCanonicalRequest)
        #expect(signature.stringToSign == c.expectedStringToSign, "\(name): string to sign")
        #expect(
            c.signer.stringToSign(canonicalRequest: c.expectedCanonicalRequest, date: c.date)
                == c.expectedStringToSign)
        #expect(signature.signature == c.expectedSignature, "\(name): signature")
        #expect(c.signer.signature(stringToSign: c.expectedStringToSign, date: c.date) == c.expectedSignature)
        if let auth = c.expectedAuthorization {
            #expect(signature.authorization == auth, "\(name): Authorization header")
        }
    }

    @Test("session token is added as X-Amz-Security-Token (signed unless omitted)")
    func sessionTokenHeaders() throws {
        let signed = try SigV4Case.load("post-sts-header-before")
        let s1 = signed.signer.sign(signed.request, date: signed.date)
        #expect(s1.signedHeaders == "host;x-amz-date;x-amz-security-token")
        #expect(s1.headersToAdd.map(\.name) == ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        let omitted = try SigV4Case.load("post-sts-header-after")
        let s2 = omitted.signer.sign(omitted.request, date: omitted.date)
        #expect(s2.signedHeaders == "host;x-amz-date")
        #expect(s2.headersToAdd.contains { $0.name == "X-Amz-Security-Token" })
        #expect(s2.signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    @Test("x-amz-content-sha256 is added and signed when asked")
    func payloadHashHeader() throws {
        let c = try SigV4Case.load("post-x-www-form-urlencoded")
        let s = c.signer.sign(c.request, date: c.date)
        #expect(
            s.headersToAdd.contains(
                .init(
                    "X-Amz-Content-Sha256",
                    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")))
        #expect(s.signedHeaders.contains("x-amz-content-sha256"))
    }

    @Test("building blocks: encoding, path normalisation, header trimming, dates")
    func buildingBlocks() {
        #expect(SigV4Signer.uriEncode("a b/c~d*é") == "a%20b%2Fc~d%2A%C3%A9")
        #expect(SigV4Signer.canonicalPath("/a/./b/../c//d/", normalize: true) == "/a/c/d/")
        #expect(SigV4Signer.canonicalPath("//x//", normalize: false) == "//x//")
        #expect(SigV4Signer.canonicalPath("", normalize: true) == "/")
        #expect(SigV4Signer.canonicalHeaderValue("  a   b \t c  ") == "a b c")
        #expect(SigV4Signer.canonicalQuery([.init("b", "2"), .init("a", "z"), .init("a", "y")]) == "a=y&a=z&b=2")
        let date = SigV4Signer.parseAmzDate("20261129T123153Z")!
        #expect(SigV4Signer.amzDate(date) == "20261129T123153Z")
        #expect(SigV4Signer.shortDate(date) == "20261129")
        #expect(SigV4Signer.parseAmzDate("2015-08-30T12:36:00Z").map(SigV4Signer.amzDate) == "20150830T123600Z")
    }

    @Test("secrets never appear in descriptions")
    func redaction() {
        let creds = AWSCredentials(
            accessKeyId: "AKIDEXAMPLE", secretAccessKey: "SECRET-wJalrXUtnFEMI",
            sessionToken: "TOKEN-abc", source: "environment variables")
        let signer = SigV4Signer(credentials: creds, region: "us-east-1", service: "sqs")
        for text in [
            creds.description, String(reflecting: creds), "\(signer)", String(reflecting: signer),
            {
                var s = ""
                dump(creds, to: &s)
                return s
            }(),
        ] {
            #expect(!text.contains("SECRET"), "\(text)")
            #expect(!text.contains("TOKEN-abc"), "\(text)")
        }
        #expect(creds.description.contains("AKIDEXAMPLE"))
        #expect(creds.description.contains("environment variables"))
    }
}
