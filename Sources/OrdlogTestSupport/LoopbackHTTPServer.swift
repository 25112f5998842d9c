import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A tiny HTTP/1.1 server on a free 127.0.0.1 port, for tests that need an endpoint of their own (container
/// credentials, SSO, IMDS shapes moto lacks, the HTTP transport). By default one connection at a time,
/// `Connection: close`; with `keepAlive` each connection gets a thread of its own and serves requests until the
/// client closes it. Every request is recorded with the number of the connection it came on. ``stop()`` (also
/// on deinit) closes the listening socket and ends the accept thread.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: Data
        /// The header lines exactly as received (`Name: value`), in order.
        public var headerLines: [String] = []
        /// Which accepted connection (1, 2, …) the request came on.
        public var connection: Int = 0
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        /// Send the body with `Transfer-Encoding: chunked` in chunks of this many bytes (nil: `Content-Length`).
        public var chunkSize: Int?
        public init(status: Int = 200, headers: [String: String] = [:], body: Data = Data(), chunkSize: Int? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.chunkSize = chunkSize
        }
        public static func json(_ text: String, status: Int = 200) -> Response {
            Response(status: status, headers: ["Content-Type": "application/json"], body: Data(text.utf8))
        }
        public static func text(_ text: String, status: Int = 200) -> Response {
            Response(status: status, headers: ["Content-Type": "text/plain"], body: Data(text.utf8))
        }
    }

    public let port: Int
    /// `http://127.0.0.1:PORT`.
    public var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }
    private let fd: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private let keepAlive: Bool
    private var recorded: [Request] = []
    private var accepted = 0
    private var open: Set<Int32> = []
    private var stopped = false

    public var requests: [Request] { lock.withLock { recorded } }
    /// How many connections were accepted so far.
    public var connections: Int { lock.withLock { accepted } }

    public init(keepAlive: Bool = false, handler: @escaping @Sendable (Request) -> Response) throws {
        let (fd, port) = try MotoServer.boundLoopbackSocket(listening: true)
        self.fd = fd
        self.port = port
        self.handler = handler
        self.keepAlive = keepAlive
        let thread = Thread { [self] in self.acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    public func stop() {
        let wasStopped = lock.withLock {
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        // Keep-alive connections still open: their threads' recv returns, and they close them.
        lock.withLock { for client in open { shutdown(client, Int32(SHUT_RDWR)) } }
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { return }
                if errno == EINTR { continue }
                return
            }
            let number = lock.withLock {
                accepted += 1
                if keepAlive { open.insert(client) }
                return accepted
            }
            if keepAlive {
                Thread { [self] in
                    var buffer = Data()
                    while serve(client, connection: number, buffer: &buffer) {}
                    lock.withLock {
                        open.remove(client)
                        close(client)
                    }
                }.start()
            } else {
                var buffer = Data()
                _ = serve(client, connection: number, buffer: &buffer)
                close(client)
            }
        }
    }

    /// Serves one request from `client` (`buffer`: bytes already read past the previous request); true when the
    /// connection stays open for another.
    private func serve(_ client: Int32, connection: Int, buffer: inout Data) -> Bool {
        var timeout = timeval(tv_sec: keepAlive ? 60 : 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 65536)
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd = buffer.range(of: separator)
        while headerEnd == nil {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            headerEnd = buffer.range(of: separator)
        }
        let head = String(decoding: buffer[..<headerEnd!.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return false }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var rest = Data(buffer[headerEnd!.upperBound...])
        while rest.count < length {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return false }
            rest.append(contentsOf: chunk[0..<n])
        }
        let body = Data(rest.prefix(length))
        buffer = Data(rest.dropFirst(length))
        let request = Request(
            method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body,
            headerLines: lines.filter { !$0.isEmpty }, connection: connection)
        lock.withLock { recorded.append(request) }
        let response = handler(request)
        var text = "HTTP/1.1 \(response.status) X\r\n"
        text += response.chunkSize == nil ? "Content-Length: \(response.body.count)\r\n" : "Transfer-Encoding: chunked\r\n"
        if !keepAlive { text += "Connection: close\r\n" }
        for (k, v) in response.headers { text += "\(k): \(v)\r\n" }
        text += "\r\n"
        var out = Data(text.utf8)
        if let size = response.chunkSize {
            var offset = 0
            while offset < response.body.count {
                let piece = response.body[(response.body.startIndex + offset)...].prefix(max(1, size))
                out.append(Data((String(piece.count, radix: 16) + "\r\n").utf8))
                out.append(piece)
                out.append(Data("\r\n".utf8))
                offset += piece.count
            }
            out.append(Data("0\r\n\r\n".utf8))
        } else {
            out.append(response.body)
        }
        let complete = out.withUnsafeBytes { raw -> Bool in
            var sent = 0
            while sent < raw.count {
                let n = send(client, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
        return complete && keepAlive
    }
}
