import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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
/// get one (connection refused, timeout, DNS) throw.
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

/// ``HTTPTransport`` over Foundation's `URLSession` (FoundationNetworking on Linux).
public final class URLSessionTransport: HTTPTransport {
    private let session: URLSession

    /// - Parameters:
    ///   - session: defaults to an ephemeral session without caching or cookies.
    ///   - maximumConnectionsPerHost: for the default session: connections kept per host (a concurrent consumer
    ///     needs one per request in flight); nil keeps Foundation's default.
    public init(session: URLSession? = nil, maximumConnectionsPerHost: Int? = nil) {
        if let session {
            self.session = session
        } else {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
            configuration.httpCookieStorage = nil
            configuration.httpShouldSetCookies = false
            // No cookie storage anyway; `.never` also spares FoundationNetworking parsing every response header
            // line for Set-Cookie (7% of consume's user-space instructions).
            configuration.httpCookieAcceptPolicy = .never
            configuration.urlCache = nil
            configuration.timeoutIntervalForResource = 15 * 60
            if let maximumConnectionsPerHost { configuration.httpMaximumConnectionsPerHost = maximumConnectionsPerHost }
            self.session = URLSession(configuration: configuration)
        }
    }

    deinit { session.finishTasksAndInvalidate() }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var urlRequest = URLRequest(
            url: request.url, cachePolicy: .reloadIgnoringLocalCacheData,
            timeoutInterval: request.timeout)
        urlRequest.httpMethod = request.method
        if let fields = Self.plainHeaderFields(request.headers) {
            urlRequest.allHTTPHeaderFields = fields
        } else {
            for (name, value) in request.headers where name.lowercased() != "host" {
                urlRequest.addValue(value, forHTTPHeaderField: name)
            }
        }
        if !request.body.isEmpty || request.method == "POST" { urlRequest.httpBody = request.body }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: urlRequest)
        } catch {
            if Task.isCancelled || (error as? URLError)?.code == .cancelled { throw CancellationError() }
            throw AWSTransportError(endpoint: request.url, reason: Self.describe(error))
        }
        guard let http = response as? HTTPURLResponse else {
            throw AWSTransportError(endpoint: request.url, reason: "not an HTTP response")
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            headers[String(describing: key)] = String(describing: value)
        }
        return HTTPResponse(status: http.statusCode, headers: headers, body: data)
    }

    /// The headers (without `Host`) as one dictionary, when `addValue` would store each exactly as given: names
    /// already capitalised (`X-Amz-Date`: dash-separated words, an uppercase letter then lowercase letters or
    /// digits), distinct, values of printable ASCII or tabs; nil otherwise (then `addValue` adds them one by one).
    /// `addValue` checks every character of every value through `Character` (20 µs for a signed request's four
    /// headers on Linux, against 1 µs for the dictionary).
    static func plainHeaderFields(_ headers: [(name: String, value: String)]) -> [String: String]? {
        var fields: [String: String] = [:]
        fields.reserveCapacity(headers.count)
        for (name, value) in headers {
            var start = true
            var empty = true
            for b in name.utf8 {
                empty = false
                switch b {
                case UInt8(ascii: "-"):
                    if start { return nil }
                    start = true
                case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    guard start else { return nil }
                    start = false
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if start { return nil }
                default:
                    return nil
                }
            }
            if empty || start { return nil }
            if name == "Host" { continue }
            for b in value.utf8 where !(b == 0x09 || (0x20...0x7E).contains(b)) { return nil }
            if fields.updateValue(value, forKey: name) != nil { return nil }
        }
        return fields
    }

    private static func describe(_ error: Error) -> String {
        if let urlError = error as? URLError {
            switch urlError.code {
            case .cannotConnectToHost: return "connection refused"
            case .timedOut: return "timed out"
            case .cannotFindHost: return "host not found"
            case .networkConnectionLost: return "connection lost"
            default: return urlError.localizedDescription
            }
        }
        return error.localizedDescription
    }
}
