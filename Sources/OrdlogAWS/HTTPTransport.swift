import Foundation

/// An HTTP request ready to send. Headers keep their order; `Host` may be present (it is signed) but
/// transports derive the wire `Host` from ``url``.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: URL
    public var headers: [(name: String, value: String)]
    public var body: Data
    /// Per-request timeout in seconds (long polls need more than `WaitTimeSeconds`).
    public var timeout: TimeInterval

    public init(
        method: String, url: URL, headers: [(name: String, value: String)] = [], body: Data = Data(),
        timeout: TimeInterval = 60
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.url == b.url && a.body == b.body && a.timeout == b.timeout
            && a.headers.map { [$0.name, $0.value] } == b.headers.map { [$0.name, $0.value] }
    }
}

/// An HTTP response: status, headers (names as received), and the body bytes exactly as received.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        if let v = headers[name] { return v }
        return headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// Sends one HTTP request and returns the response. Any HTTP status is a *response*; only failures to
/// get one (connection refused, timeout, DNS) throw. ``CurlTransport`` is the one implementation ordlog ships;
/// tests wrap or fake it.
public protocol HTTPTransport: Sendable {
    /// - Throws: ``AWSTransportError`` (or any error) when no HTTP response was received.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// A failure to get any HTTP response from an endpoint.
public struct AWSTransportError: Error, Sendable, CustomStringConvertible {
    /// The URL that was being called.
    public var endpoint: URL
    /// The underlying error's text.
    public var reason: String
    /// How many attempts were made (filled in by the client after retries).
    public var attempts: Int

    public init(endpoint: URL, reason: String, attempts: Int = 1) {
        self.endpoint = endpoint
        self.reason = reason
        self.attempts = attempts
    }

    public var description: String {
        "Cannot reach \(endpoint.absoluteString) (\(reason))"
            + (attempts > 1 ? " after \(attempts) attempts" : "")
            + ". Check the endpoint URL (--endpoint-url / AWS_ENDPOINT_URL) and that the service is running."
    }
}
