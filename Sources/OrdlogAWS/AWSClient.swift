import Foundation
import Logging

/// A 2xx response whose body could not be decoded into the expected shape.
public struct AWSResponseDecodingError: Error, Sendable, CustomStringConvertible {
    public var service: String
    public var operation: String
    public var reason: String
    /// The first 300 bytes of the body, as text.
    public var bodyExcerpt: String

    public init(service: String, operation: String, reason: String, bodyExcerpt: String) {
        self.service = service
        self.operation = operation
        self.reason = reason
        self.bodyExcerpt = bodyExcerpt
    }

    public var description: String {
        "\(service) \(operation): unexpected response (\(reason)): \(bodyExcerpt)"
    }
}

/// The shared core of the service clients: signs with SigV4, sends through an ``HTTPTransport``,
/// decodes errors into ``AWSServiceError`` and retries according to a ``RetryPolicy``.
///
/// Speaks the two wire protocols used here:
/// - [AWS JSON 1.0](https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html): `POST /`,
///   `X-Amz-Target: <prefix>.<Operation>`, `Content-Type: application/x-amz-json-1.0`, JSON body;
/// - [AWS query](https://smithy.io/2.0/aws/protocols/aws-query-protocol.html): `POST /`,
///   `Content-Type: application/x-www-form-urlencoded; charset=utf-8`, `Action=…&Version=…&…`, XML response.
public struct AWSClient: Sendable {
    public let service: AWSService
    /// Where each request's credentials come from (asked before every attempt, so refreshed credentials are
    /// used as soon as they exist); nil sends requests unsigned (STS AssumeRoleWithWebIdentity).
    public let credentialProvider: (any CredentialProvider)?
    public let region: String
    /// The endpoint URL requests are POSTed to, e.g. `http://127.0.0.1:5000` or `https://sqs.us-east-1.amazonaws.com`.
    public let endpoint: URL
    public let transport: any HTTPTransport
    public let retryPolicy: RetryPolicy
    public let logger: Logger
    /// Signing clock; injectable for tests.
    public let now: @Sendable () -> Date

    /// A client signing with fixed credentials.
    public init(
        service: AWSService, credentials: AWSCredentials, region: String, endpoint: URL,
        transport: any HTTPTransport = CurlTransport.shared, retryPolicy: RetryPolicy = .standard,
        logger: Logger = Logger(label: "ordlog.aws"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(
            service: service, credentialProvider: StaticCredentialProvider(credentials), region: region,
            endpoint: endpoint, transport: transport, retryPolicy: retryPolicy, logger: logger, now: now)
    }

    /// A client signing with `credentialProvider`'s current credentials (nil: unsigned requests).
    public init(
        service: AWSService, credentialProvider: (any CredentialProvider)?, region: String, endpoint: URL,
        transport: any HTTPTransport = CurlTransport.shared, retryPolicy: RetryPolicy = .standard,
        logger: Logger = Logger(label: "ordlog.aws"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.service = service
        self.credentialProvider = credentialProvider
        self.region = region
        self.endpoint = endpoint
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.now = now
    }

    /// A client for `service` from a resolved configuration.
    public init(
        service: AWSService, configuration: AWSConfiguration,
        transport: any HTTPTransport = CurlTransport.shared, retryPolicy: RetryPolicy = .standard,
        logger: Logger = Logger(label: "ordlog.aws")
    ) {
        self.init(
            service: service, credentialProvider: configuration.credentialProvider, region: configuration.region,
            endpoint: configuration.endpoint(for: service), transport: transport,
            retryPolicy: retryPolicy, logger: logger)
    }

    /// The `Host` header value for ``endpoint``: host, plus `:port` when not the scheme default.
    public var hostHeader: String {
        let host = endpoint.host ?? ""
        let scheme = endpoint.scheme?.lowercased()
        guard let port = endpoint.port,
            !(scheme == "http" && port == 80), !(scheme == "https" && port == 443)
        else { return host }
        return "\(host):\(port)"
    }

    /// Builds and signs a `POST` to ``endpoint`` with the given extra headers and body.
    ///
    /// - Parameter credentials: the credentials to sign with; nil uses the client's own when they are static
    ///   (``StaticCredentialProvider``), else the request is unsigned.
    public func signedRequest(
        headers extra: [(name: String, value: String)], body: Data,
        timeout: TimeInterval = 60, date: Date? = nil, credentials: AWSCredentials? = nil
    ) -> HTTPRequest {
        signedRequest(
            AWSRequest(method: "POST", path: endpoint.path, headers: extra, body: body), timeout: timeout, date: date,
            credentials: credentials)
    }

    /// Builds and signs `request` against ``endpoint`` (or `request.host` on the endpoint's scheme and port).
    public func signedRequest(
        _ request: AWSRequest, timeout: TimeInterval = 60, date: Date? = nil, credentials: AWSCredentials? = nil
    ) -> HTTPRequest {
        let path = request.path.isEmpty ? "/" : request.path
        var host = hostHeader
        if let override = request.host {
            host = endpoint.port.map { hostHeader.hasSuffix(":\($0)") ? "\(override):\($0)" : override } ?? override
        }
        var headers: [SigV4Request.Header] = [.init("Host", host)]
        headers += request.headers.map { SigV4Request.Header($0.name, $0.value) }
        var all = headers.map { (name: $0.name, value: $0.value) }
        if let credentials = credentials ?? (credentialProvider as? StaticCredentialProvider)?.staticCredentials {
            let signer = SigV4Signer(
                credentials: credentials, region: region, service: service.signingName, options: request.signerOptions)
            let signature = signer.sign(
                SigV4Request(
                    method: request.method, path: path, query: request.query, headers: headers, body: request.body),
                date: date ?? now())
            all = (headers + signature.headersToAdd).map { (name: $0.name, value: $0.value) }
        }
        var url = endpoint
        if request.host == nil && request.path == endpoint.path && request.query.isEmpty {
            if endpoint.path.isEmpty { url = endpoint.appendingPathComponent("/") }
        } else {
            var text = (endpoint.scheme ?? "https") + "://" + host
            text += path.split(separator: "/", omittingEmptySubsequences: false).map {
                SigV4Signer.uriEncode(String($0))
            }.joined(separator: "/")
            if !request.query.isEmpty { text += "?" + SigV4Signer.canonicalQuery(request.query) }
            url = URL(string: text) ?? endpoint
        }
        return HTTPRequest(method: request.method, url: url, headers: all, body: request.body, timeout: timeout)
    }

    /// Sends a signed request (re-signed on each attempt) with retries; returns the 2xx response.
    ///
    /// - Throws: ``AWSServiceError`` for non-2xx responses, ``AWSTransportError`` if no response arrived,
    ///   `CancellationError` (never retried) if the task is cancelled.
    public func send(
        operation: String, headers: [(name: String, value: String)], body: Data,
        timeout: TimeInterval = 60
    ) async throws -> HTTPResponse {
        try await send(
            operation: operation, AWSRequest(method: "POST", path: endpoint.path, headers: headers, body: body),
            timeout: timeout)
    }

    /// Sends `request` (signed again on each attempt) with retries; returns the 2xx response (or, for
    /// `acceptStatus`, that status too: S3's `HeadObject` 404, say).
    ///
    /// - Throws: ``AWSServiceError`` for non-2xx responses, ``AWSTransportError`` if no response arrived,
    ///   `CancellationError` (never retried) if the task is cancelled.
    public func send(
        operation: String, _ awsRequest: AWSRequest, timeout: TimeInterval = 60, acceptStatus: Set<Int> = []
    ) async throws -> HTTPResponse {
        var attempt = 0
        var refetched = false
        while true {
            attempt += 1
            try Task.checkCancellation()
            let credentials = try await credentialProvider?.credentials()
            let request = signedRequest(awsRequest, timeout: timeout, credentials: credentials)
            let error: Error
            do {
                let response = try await transport.send(request)
                if (200..<300).contains(response.status) || acceptStatus.contains(response.status) { return response }
                error = AWSServiceError.decode(
                    service: service.displayName, operation: operation,
                    response: response, credentialSource: credentials?.source)
            } catch let transportError as AWSTransportError {
                var e = transportError
                e.attempts = attempt
                error = e
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                var e = AWSTransportError(endpoint: endpoint, reason: "\(error)")
                e.attempts = attempt
                throw e
            }
            // Credentials the service calls expired (clock skew, a revoked session): fetch new ones, once.
            if let e = error as? AWSServiceError, AWSServiceError.Code.expired.contains(e.errorCode),
                !refetched, let credentialProvider, credentials?.expiration != nil
            {
                refetched = true
                await credentialProvider.invalidate()
                logger.debug(
                    "credentials expired early; fetching new ones", metadata: ["source": "\(e.credentialSource ?? "")"])
                continue
            }
            guard retryPolicy.shouldRetry(error, attempt: attempt) else { throw error }
            let delay = retryPolicy.delay(afterAttempt: attempt)
            logger.debug(
                "retrying AWS call",
                metadata: [
                    "service": "\(service.displayName)", "operation": "\(operation)", "attempt": "\(attempt)",
                    "delay_s": "\(delay)", "error": "\(error)",
                ])
            if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000)) }
        }
    }

    // MARK: AWS JSON 1.0

    /// JSON encoder used for request bodies: sorted keys, `/` not escaped.
    public static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Calls an AWS JSON 1.0 operation with a raw JSON body; returns the raw 2xx response.
    public func jsonCall(
        targetPrefix: String, operation: String, body: Data,
        timeout: TimeInterval = 60
    ) async throws -> HTTPResponse {
        try await send(
            operation: operation,
            headers: [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "\(targetPrefix).\(operation)"),
            ], body: body, timeout: timeout)
    }

    /// Calls an AWS JSON 1.0 operation, encoding `input` and decoding the response as `Output`.
    ///
    /// - Returns: the decoded output and the raw response (body bytes exactly as received).
    public func jsonCall<Input: Encodable, Output: Decodable>(
        targetPrefix: String, operation: String, input: Input, output: Output.Type = Output.self,
        timeout: TimeInterval = 60
    ) async throws -> (Output, HTTPResponse) {
        let body = try Self.jsonEncoder().encode(input)
        let response = try await jsonCall(
            targetPrefix: targetPrefix, operation: operation, body: body,
            timeout: timeout)
        let data = response.body.isEmpty ? Data("{}".utf8) : response.body
        do {
            return (try JSONDecoder().decode(Output.self, from: data), response)
        } catch {
            throw AWSResponseDecodingError(
                service: service.displayName, operation: operation,
                reason: "\(error)",
                bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
        }
    }

    // MARK: Query protocol

    /// `application/x-www-form-urlencoded` body: RFC 3986 unreserved characters kept, a space as `+`, every
    /// other UTF-8 byte as `%XX` — byte for byte what botocore sends (Python's `urlencode`).
    ///
    /// AWS decodes `+` and `%20` alike, but moto's SigV4 check re-encodes the parsed form the Python way,
    /// so `%20` would fail there with `SignatureDoesNotMatch`.
    public static func formEncode(_ parameters: [(String, String)]) -> Data {
        func encode(_ text: String) -> String { SigV4Signer.uriEncode(text).replacingOccurrences(of: "%20", with: "+") }
        return Data(parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&").utf8)
    }

    /// Calls a query-protocol operation: `Action=<operation>&Version=<version>&<parameters>`.
    ///
    /// - Returns: the root element of the XML response (e.g. `<CreateTopicResponse>`) and the raw response.
    public func queryCall(
        operation: String, version: String, parameters: [(String, String)],
        timeout: TimeInterval = 60
    ) async throws -> (XMLElementNode, HTTPResponse) {
        let body = Self.formEncode([("Action", operation), ("Version", version)] + parameters)
        let response = try await send(
            operation: operation,
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            ], body: body, timeout: timeout)
        guard let root = XMLElementNode.parse(response.body) else {
            throw AWSResponseDecodingError(
                service: service.displayName, operation: operation,
                reason: "not well-formed XML",
                bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return (root, response)
    }
}

/// One request to an AWS endpoint in REST style (S3): method, decoded path, query, headers and body; how it is
/// signed (`signerOptions`: S3 signs `x-amz-content-sha256` and does not normalise paths).
public struct AWSRequest: Sendable {
    public var method: String
    /// The `Host` to send to instead of the endpoint's (S3 virtual-hosted style: `BUCKET.s3.REGION.amazonaws.com`).
    public var host: String?
    /// The path, not percent-encoded (it is encoded once, per segment, for the URL and the signature).
    public var path: String
    public var query: [SigV4Request.QueryItem]
    public var headers: [(name: String, value: String)]
    public var body: Data
    public var signerOptions: SigV4Signer.Options

    public init(
        method: String, host: String? = nil, path: String, query: [SigV4Request.QueryItem] = [],
        headers: [(name: String, value: String)] = [], body: Data = Data(),
        signerOptions: SigV4Signer.Options = SigV4Signer.Options()
    ) {
        self.method = method
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.signerOptions = signerOptions
    }
}

/// An `Encodable` with no fields, encoded as `{}`.
struct EmptyJSON: Codable, Sendable {}
