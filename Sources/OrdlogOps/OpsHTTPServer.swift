import Foundation
import OrdlogShared

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why the operations listener could not start.
public enum OpsHTTPServerError: Error, CustomStringConvertible, Sendable {
    /// The address is not `HOST:PORT`.
    case badAddress(String, reason: String)
    /// The socket could not be bound or listened on (in use, not a local address, permission).
    case cannotListen(String, reason: String)

    public var description: String {
        switch self {
        case .badAddress(let address, let reason):
            return "bad listen address \(address): \(reason) (expected HOST:PORT, e.g. 127.0.0.1:9464, "
                + "0.0.0.0:9464 or [::1]:9464)"
        case .cannotListen(let address, let reason):
            return "cannot listen on \(address): \(reason)"
        }
    }
}

/// A listen address: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for every interface.
public struct OpsListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; the host may be a name (`localhost`), an IPv4 or a bracketed IPv6 address.
    public static func parse(_ text: String) throws -> OpsListenAddress {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw OpsHTTPServerError.badAddress(text, reason: "an IPv6 address is written [ADDRESS]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw OpsHTTPServerError.badAddress(text, reason: "no port")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw OpsHTTPServerError.badAddress(text, reason: "an IPv6 address is written [ADDRESS]:PORT")
            }
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw OpsHTTPServerError.badAddress(text, reason: "the port must be a number from 0 to 65535")
        }
        return OpsListenAddress(host: host.isEmpty ? "0.0.0.0" : String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// What `/healthz` answers: 200 with `ok`, or 503 with the reason.
public struct OpsHealthStatus: Sendable, Equatable {
    public var healthy: Bool
    public var reason: String

    public init(healthy: Bool, reason: String) {
        self.healthy = healthy
        self.reason = reason
    }
}

/// The operations listener of a long-running command: `GET /metrics` (Prometheus text format 0.0.4) and
/// `GET /healthz`, over plain POSIX sockets.
///
/// Deliberately small: one accept thread, each connection answered on a bounded pool (at most
/// ``maxConcurrentConnections`` at once; further connections wait in the listen backlog), one request per
/// connection (`Connection: close`), request head at most ``maxRequestBytes``, every connection closed after
/// ``requestTimeout`` seconds whatever the client does. Garbage gets a 400 and a closed connection; nothing a
/// client sends can stop the listener. Methods: GET and HEAD; other paths are 404, other methods 405.
public final class OpsHTTPServer: @unchecked Sendable {
    public static let maxRequestBytes = 8192
    public static let maxConcurrentConnections = 8
    /// Seconds a client has to send its request head; also the send timeout.
    public static let requestTimeout: Double = 5

    /// The address as bound; ``port`` is the real port when 0 was asked for.
    public let address: OpsListenAddress
    public var port: Int { address.port }

    private let listenFD: Int32
    private let metrics: @Sendable () -> [UInt8]
    private let health: @Sendable () -> OpsHealthStatus
    private struct State {
        var stopped = false
        var acceptThread: Thread?
    }
    private let state = Locked(State())
    private let slots = DispatchSemaphore(value: OpsHTTPServer.maxConcurrentConnections)
    private let finished = DispatchSemaphore(value: 0)

    /// Binds and listens at once (so a bad or busy address fails here, before any work starts); serving starts
    /// with ``start()``.
    /// - Parameters:
    ///   - metrics: the `/metrics` body, rendered per request.
    ///   - health: the `/healthz` state, read per request.
    /// - Throws: ``OpsHTTPServerError``.
    public init(
        address text: String, metrics: @escaping @Sendable () -> [UInt8],
        health: @escaping @Sendable () -> OpsHealthStatus
    ) throws {
        let wanted = try OpsListenAddress.parse(text)
        let (fd, port) = try Self.listen(on: wanted, text: text)
        self.listenFD = fd
        self.address = OpsListenAddress(host: wanted.host, port: port)
        self.metrics = metrics
        self.health = health
    }

    deinit { stop() }

    /// Starts the accept thread. Idempotent.
    public func start() {
        state.withLock { state in
            guard state.acceptThread == nil, !state.stopped else { return }
            let thread = Thread { [self] in acceptLoop() }
            thread.name = "ordlog-ops-http"
            state.acceptThread = thread
            thread.start()
        }
    }

    /// Stops accepting and closes the listening socket (connections being answered finish). Idempotent.
    public func stop() {
        let (wasStopped, started) = state.withLock { state in
            defer { state.stopped = true }
            return (state.stopped, state.acceptThread != nil)
        }
        guard !wasStopped else { return }
        if started {
            finished.wait()  // the accept loop polls every 100 ms and closes the socket itself
        } else {
            close(listenFD)
        }
    }

    private var isStopped: Bool {
        state.withLock { $0.stopped }
    }

    // MARK: Socket setup

    private static func listen(on address: OpsListenAddress, text: String) throws -> (Int32, Int) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw OpsHTTPServerError.cannotListen(text, reason: "cannot resolve \(address.host): \(gaiMessage(rc))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let ai = info {
            info = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = errnoMessage()
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            #if canImport(Darwin)
                setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0, systemListen(fd, 64) == 0 else {
                lastError = errnoMessage()
                close(fd)
                continue
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            var port = address.port
            if named == 0 {
                port = withUnsafePointer(to: &storage) { p -> Int in
                    if Int32(p.pointee.ss_family) == AF_INET6 {
                        return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                            Int(UInt16(bigEndian: $0.pointee.sin6_port))
                        }
                    }
                    return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        Int(UInt16(bigEndian: $0.pointee.sin_port))
                    }
                }
            }
            return (fd, port)
        }
        throw OpsHTTPServerError.cannotListen(text, reason: lastError)
    }

    private static func errnoMessage() -> String { String(cString: strerror(errno)) }
    private static func gaiMessage(_ rc: Int32) -> String { String(cString: gai_strerror(rc)) }

    // MARK: Serving

    private func acceptLoop() {
        defer {
            close(listenFD)
            finished.signal()
        }
        while !isStopped {
            var p = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 100)
            if ready <= 0 { continue }  // timeout, or EINTR
            let client = accept(listenFD, nil, nil)
            if client < 0 { continue }  // ECONNABORTED, EMFILE…: keep listening
            Self.setTimeouts(client)
            slots.wait()
            DispatchQueue.global().async { [self] in
                defer { slots.signal() }
                serve(client)
            }
        }
    }

    private static func setTimeouts(_ fd: Int32) {
        var tv = timeval(tv_sec: 1, tv_usec: 0)  // per recv/send; the whole request head is bounded below
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        tv.tv_sec = Int(requestTimeout)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private func serve(_ fd: Int32) {
        defer {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
        let response: Response
        switch readRequestHead(fd) {
        case .head(let head): response = respond(to: head)
        case .tooLarge: response = Response(status: 431, reason: "Request Header Fields Too Large", body: "too large\n")
        case .timedOut: response = Response(status: 408, reason: "Request Timeout", body: "timed out\n")
        case .closed: return
        }
        sendAll(fd, response.bytes)
    }

    enum ReadResult {
        case head(String)
        case tooLarge
        case timedOut
        case closed
    }

    private func readRequestHead(_ fd: Int32) -> ReadResult {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        let deadline = Date().addingTimeInterval(Self.requestTimeout)
        while true {
            if let end = Self.headEnd(buffer) {
                return .head(String(decoding: buffer[..<end], as: UTF8.self))
            }
            if buffer.count >= Self.maxRequestBytes { return .tooLarge }
            if Date() >= deadline { return buffer.isEmpty ? .closed : .timedOut }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
            } else if n == 0 {
                // The client closed its side; a head without the blank line is still answered if complete enough.
                if buffer.isEmpty { return .closed }
                return .head(String(decoding: buffer, as: UTF8.self))
            } else if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
                return .closed
            }
        }
    }

    /// The index of the blank line ending the head (`\r\n\r\n` or a bare `\n\n`), if present.
    static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 2 else { return nil }
        for i in 1..<b.count where b[i] == 0x0A {
            if b[i - 1] == 0x0A { return i - 1 }
            if i >= 3, b[i - 1] == 0x0D, b[i - 2] == 0x0A, b[i - 3] == 0x0D { return i - 3 }
        }
        return nil
    }

    struct Response {
        var status: Int
        var reason: String
        var contentType = "text/plain; charset=utf-8"
        var extraHeaders: [String] = []
        var body: [UInt8]
        var headOnly = false

        init(status: Int, reason: String, body: String) {
            self.status = status
            self.reason = reason
            self.body = Array(body.utf8)
        }

        var bytes: [UInt8] {
            var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\n"
            head += "Content-Length: \(body.count)\r\nCache-Control: no-store\r\nConnection: close\r\n"
            for h in extraHeaders { head += h + "\r\n" }
            head += "\r\n"
            return Array(head.utf8) + (headOnly ? [] : body)
        }
    }

    /// The response to one request head (the part before the blank line).
    func respond(to head: String) -> Response {
        // Split on the byte \n: as Characters, "\r\n" is one grapheme and never equals "\n".
        let firstLine = head.utf8.split(separator: 0x0A, maxSplits: 1, omittingEmptySubsequences: false).first
        let requestLine = firstLine.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let parts = requestLine.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") else {
            return Response(status: 400, reason: "Bad Request", body: "bad request\n")
        }
        let method = parts[0]
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        var response: Response
        switch path {
        case "/metrics":
            response = Response(status: 200, reason: "OK", body: "")
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            if method == "GET" || method == "HEAD" { response.body = metrics() }
        case "/healthz":
            let state = health()
            response =
                state.healthy
                ? Response(status: 200, reason: "OK", body: "ok\n")
                : Response(status: 503, reason: "Service Unavailable", body: state.reason + "\n")
        default:
            return Response(status: 404, reason: "Not Found", body: "not found: GET /metrics or /healthz\n")
        }
        guard method == "GET" || method == "HEAD" else {
            var r = Response(status: 405, reason: "Method Not Allowed", body: "method not allowed\n")
            r.extraHeaders = ["Allow: GET, HEAD"]
            return r
        }
        response.headOnly = method == "HEAD"
        return response
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
        #else
            let flags: Int32 = 0
        #endif
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, flags) }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return  // peer gone or send timeout
            }
        }
    }
}

#if canImport(Glibc)
    private func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 { Glibc.listen(fd, backlog) }
#else
    private func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 { Darwin.listen(fd, backlog) }
#endif
