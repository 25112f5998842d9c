import Crypto
import Foundation

/// An HTTP request as the SigV4 signer sees it: the parts that go into the canonical request.
///
/// Follows the *canonical request* definition of
/// [Create a signed AWS API request](https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
public struct SigV4Request: Sendable, Equatable {
    /// One header, in the order given. Names are case-insensitive; duplicates are allowed and are
    /// joined with `,` in the canonical form, in their original order.
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// One query parameter, **decoded** (the signer percent-encodes it).
    public struct QueryItem: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// HTTP method, e.g. `POST`.
    public var method: String
    /// The **decoded** path, e.g. `/` or `/example space/`. The signer normalises (if asked) and encodes it.
    public var path: String
    /// Decoded query parameters.
    public var query: [QueryItem]
    /// Headers to sign. Must include `host`. Every header given here is signed.
    public var headers: [Header]
    /// The request payload (empty for GET).
    public var body: Data

    public init(method: String, path: String = "/", query: [QueryItem] = [], headers: [Header], body: Data = Data()) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// Every intermediate and final product of signing one request, so each step can be checked against
/// the AWS test suite.
public struct SigV4Signature: Sendable, Equatable {
    /// The canonical request (task 1), lines joined with `\n`.
    public var canonicalRequest: String
    /// The string to sign (task 2).
    public var stringToSign: String
    /// The lowercase hex HMAC-SHA256 signature (task 3).
    public var signature: String
    /// `;`-separated lowercase names of the signed headers, e.g. `content-type;host;x-amz-date`.
    public var signedHeaders: String
    /// The credential scope, `<yyyyMMdd>/<region>/<service>/aws4_request`.
    public var credentialScope: String
    /// The value of the `Authorization` header.
    public var authorization: String
    /// Headers the caller must add to the request it sends: `X-Amz-Date`, `Authorization`, and,
    /// when applicable, `X-Amz-Security-Token` and `X-Amz-Content-Sha256`.
    public var headersToAdd: [SigV4Request.Header]
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) request signer: a pure value, no clock, no I/O.
///
/// Implements [SigV4 signing](https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
/// and is tested against the official SigV4 test suite (`aws-c-auth` layout). Each step is exposed
/// (``canonicalRequest(for:date:)``, ``stringToSign(canonicalRequest:date:)``,
/// ``signature(stringToSign:date:)``) and ``sign(_:date:)`` runs them all.
///
/// The path is taken decoded and encoded once (the suite's convention); the secret key never
/// appears in ``description`` or in any error.
public struct SigV4Signer: Sendable, CustomStringConvertible {
    /// Options that differ between services and call sites.
    public struct Options: Sendable, Equatable {
        /// Remove `.`/`..` segments and repeated slashes from the path (all services but S3).
        public var normalizePath: Bool
        /// Add and sign `x-amz-content-sha256: <hex sha256 of body>` (S3 style).
        public var signPayloadHashHeader: Bool
        /// Add `x-amz-security-token` *after* signing instead of signing it (some STS-era services).
        public var omitSessionTokenFromSignature: Bool

        public init(
            normalizePath: Bool = true, signPayloadHashHeader: Bool = false,
            omitSessionTokenFromSignature: Bool = false
        ) {
            self.normalizePath = normalizePath
            self.signPayloadHashHeader = signPayloadHashHeader
            self.omitSessionTokenFromSignature = omitSessionTokenFromSignature
        }
    }

    public static let algorithm = "AWS4-HMAC-SHA256"

    public var credentials: AWSCredentials
    /// Region in the scope, e.g. `us-east-1`.
    public var region: String
    /// Signing name of the service in the scope, e.g. `sqs`, `sns`, `dynamodb`.
    public var service: String
    public var options: Options

    public init(credentials: AWSCredentials, region: String, service: String, options: Options = Options()) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options
    }

    public var description: String {
        "SigV4Signer(service: \(service), region: \(region), credentials: \(credentials))"
    }

    // MARK: Steps

    /// Signs `request` at `date` and returns all intermediate products plus the headers to add.
    public func sign(_ request: SigV4Request, date: Date) -> SigV4Signature {
        let prepared = preparedHeaders(for: request, date: date)
        let (canonical, signedHeaders) = Self.canonicalRequest(
            request, headers: prepared.signed,
            normalizePath: options.normalizePath)
        let sts = stringToSign(canonicalRequest: canonical, date: date)
        let sig = signature(stringToSign: sts, date: date)
        let scope = credentialScope(date: date)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(sig)"
        var add = prepared.added
        add.append(.init("Authorization", authorization))
        return SigV4Signature(
            canonicalRequest: canonical, stringToSign: sts, signature: sig,
            signedHeaders: signedHeaders, credentialScope: scope,
            authorization: authorization, headersToAdd: add)
    }

    /// Task 1: the canonical request, including the signer-added headers (`x-amz-date`, …).
    public func canonicalRequest(for request: SigV4Request, date: Date) -> String {
        let prepared = preparedHeaders(for: request, date: date)
        return Self.canonicalRequest(request, headers: prepared.signed, normalizePath: options.normalizePath).0
    }

    /// Task 2: `AWS4-HMAC-SHA256\n<amzdate>\n<scope>\n<hex sha256(canonicalRequest)>`.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [
            Self.algorithm, Self.amzDate(date), credentialScope(date: date),
            Self.hexSHA256(Data(canonicalRequest.utf8)),
        ].joined(separator: "\n")
    }

    /// Task 3: the hex HMAC-SHA256 of `stringToSign` under the derived signing key.
    public func signature(stringToSign: String, date: Date) -> String {
        let key = signingKey(date: date)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key)
        return Self.hex(Data(mac))
    }

    /// `<yyyyMMdd>/<region>/<service>/aws4_request`.
    public func credentialScope(date: Date) -> String {
        "\(Self.shortDate(date))/\(region)/\(service)/aws4_request"
    }

    private func signingKey(date: Date) -> SymmetricKey {
        let day = Self.shortDate(date)
        let cacheKey = SigningKeyCache.Key(
            secret: credentials.secretAccessKey, day: day, region: region, service: service)
        if let cached = SigningKeyCache.shared.key(for: cacheKey) { return cached }
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] { key = hmac(key, part) }
        SigningKeyCache.shared.store(key, for: cacheKey)
        return key
    }

    private func preparedHeaders(for request: SigV4Request, date: Date)
        -> (signed: [SigV4Request.Header], added: [SigV4Request.Header])
    {
        var signed = request.headers.filter { header in
            let n = header.name.lowercased()
            return n != "authorization" && n != "x-amz-date" && n != "x-amz-security-token"
        }
        var added: [SigV4Request.Header] = [.init("X-Amz-Date", Self.amzDate(date))]
        if options.signPayloadHashHeader {
            signed.removeAll { $0.name.lowercased() == "x-amz-content-sha256" }
            added.append(.init("X-Amz-Content-Sha256", Self.hexSHA256(request.body)))
        }
        signed += added
        if let token = credentials.sessionToken, !token.isEmpty {
            let header = SigV4Request.Header("X-Amz-Security-Token", token)
            if !options.omitSessionTokenFromSignature { signed.append(header) }
            added.append(header)
        }
        return (signed, added)
    }

    // MARK: Canonical forms (static, usable on their own)

    static func canonicalRequest(
        _ request: SigV4Request, headers: [SigV4Request.Header],
        normalizePath: Bool
    ) -> (String, String) {
        // Names lowercased, sorted by their bytes (stable: duplicates keep their order), values joined with `,`.
        let lowered = headers.enumerated().map { (i, h) in (name: h.name.lowercased(), index: i, value: h.value) }
        let sorted = lowered.sorted { a, b in
            a.name == b.name ? a.index < b.index : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var canonicalHeaders = ""
        var signedHeaders = ""
        canonicalHeaders.reserveCapacity(256)
        for (i, h) in sorted.enumerated() {
            let continues = i > 0 && sorted[i - 1].name == h.name
            if continues {
                canonicalHeaders += ","
            } else {
                if i > 0 {
                    canonicalHeaders += "\n"
                    signedHeaders += ";"
                }
                canonicalHeaders += h.name
                canonicalHeaders += ":"
                signedHeaders += h.name
            }
            canonicalHeaders += canonicalHeaderValue(h.value)
        }
        if !sorted.isEmpty { canonicalHeaders += "\n" }
        var out = request.method.uppercased()
        out += "\n"
        out += canonicalPath(request.path, normalize: normalizePath)
        out += "\n"
        out += canonicalQuery(request.query)
        out += "\n"
        out += canonicalHeaders
        out += "\n"
        out += signedHeaders
        out += "\n"
        out += hexSHA256(request.body)
        return (out, signedHeaders)
    }

    /// The canonical URI: optionally dot-segment/slash normalised, each segment URI-encoded once.
    public static func canonicalPath(_ path: String, normalize: Bool) -> String {
        if path == "/" || path.isEmpty { return "/" }  // what the general case gives for them, without the work
        var p = path.isEmpty ? "/" : path
        if normalize {
            var out: [Substring] = []
            for segment in p.split(separator: "/", omittingEmptySubsequences: true) {
                if segment == "." { continue }
                if segment == ".." {
                    _ = out.popLast()
                    continue
                }
                out.append(segment)
            }
            let trailing = p.hasSuffix("/") && !out.isEmpty
            p = "/" + out.joined(separator: "/") + (trailing ? "/" : "")
        }
        return p.split(separator: "/", omittingEmptySubsequences: false)
            .map { uriEncode(String($0)) }
            .joined(separator: "/")
    }

    /// The canonical query string: names and values encoded, sorted by name then value.
    public static func canonicalQuery(_ items: [SigV4Request.QueryItem]) -> String {
        items.map { (uriEncode($0.name), uriEncode($0.value)) }
            .sorted { a, b in
                a.0 == b.0
                    ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
                    : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Trims a header value and collapses internal runs of whitespace to one space.
    public static func canonicalHeaderValue(_ value: String) -> String {
        if value.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII: each Character is one byte, but for "\r\n", a separator either way — the same result on bytes.
            var out: [UInt8] = []
            out.reserveCapacity(value.utf8.count)
            var pendingSpace = false
            for b in value.utf8 {
                if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
                    pendingSpace = !out.isEmpty
                    continue
                }
                if pendingSpace {
                    out.append(0x20)
                    pendingSpace = false
                }
                out.append(b)
            }
            return String(decoding: out, as: UTF8.self)
        }
        return value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            .joined(separator: " ")
    }

    /// RFC 3986 percent-encoding of everything except the unreserved set `A-Z a-z 0-9 - _ . ~`.
    public static func uriEncode(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Helpers

    static func hexSHA256(_ data: Data) -> String { hex(Data(SHA256.hash(data: data))) }

    static func hex(_ data: Data) -> String { Hex.encode(data) }

    private static func utcCalendar() -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, the `X-Amz-Date` format.
    ///
    /// Plain arithmetic on the Unix time (proleptic Gregorian calendar, seconds truncated towards the past, as
    /// `Calendar` does): creating a `Calendar` and its `TimeZone` per call cost more than the rest of signing.
    public static func amzDate(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        let seconds = Int64(t.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = CivilTime.civil(fromDays: days)
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        func put(_ n: Int64, _ width: Int) {
            if n < 0 || (width == 4 && n > 9999) {
                // Outside 0…9999: as the Calendar-based form did (digits, zero-padded to the width).
                let s = String(n)
                bytes += Array(repeating: UInt8(ascii: "0"), count: max(0, width - s.utf8.count))
                bytes += Array(s.utf8)
                return
            }
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var v = n
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(v / divisor))
                v %= divisor
                divisor /= 10
            }
        }
        put(year, 4)
        put(month, 2)
        put(day, 2)
        bytes.append(UInt8(ascii: "T"))
        put(secondOfDay / 3600, 2)
        put(secondOfDay / 60 % 60, 2)
        put(secondOfDay % 60, 2)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `yyyyMMdd` in UTC, the date in the credential scope.
    public static func shortDate(_ date: Date) -> String {
        String(amzDate(date).prefix(8))
    }

    /// Parses an `X-Amz-Date` value (`20150830T123600Z`) or an ISO-8601 UTC timestamp
    /// (`2015-08-30T12:36:00Z`); `nil` if malformed.
    public static func parseAmzDate(_ text: String) -> Date? {
        let digits = Array(text.filter(\.isASCII).filter(\.isNumber))
        guard digits.count == 14, text.hasSuffix("Z") else { return nil }
        func num(_ from: Int, _ len: Int) -> Int { Int(String(digits[from..<from + len]))! }
        return utcCalendar().date(
            from: DateComponents(
                year: num(0, 4), month: num(4, 2), day: num(6, 2),
                hour: num(8, 2), minute: num(10, 2), second: num(12, 2)))
    }
}

/// Derived SigV4 signing keys by (secret, day, region, service): the key changes once a day, and deriving it
/// is four HMACs per request otherwise. Process-wide, a handful of entries, behind a lock.
final class SigningKeyCache: Sendable {
    struct Key: Hashable {
        var secret: String
        var day: String
        var region: String
        var service: String
    }

    static let shared = SigningKeyCache()
    private let keys = Locked<[Key: SymmetricKey]>([:])

    func key(for key: Key) -> SymmetricKey? { keys.withLock { $0[key] } }

    func store(_ value: SymmetricKey, for key: Key) {
        keys.withLock { keys in
            if keys.count >= 32 { keys.removeAll() }
            keys[key] = value
        }
    }
}
