import Foundation
import OrdlogOps
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The /metrics and /healthz listener on a free loopback port, spoken to with URLSession and with raw sockets.
@Suite struct OpsHTTPServerTests {
    final class State: @unchecked Sendable {
        let lock = NSLock()
        var healthy = true
        var metricsBody = "# TYPE ordlog_messages_received_total counter\nordlog_messages_received_total 7\n"
        var isHealthy: Bool {
            get { lock.withLock { healthy } }
            set { lock.withLock { healthy = newValue } }
        }
    }

    static func start(_ state: State) throws -> OpsHTTPServer {
        let server = try OpsHTTPServer(
            address: "127.0.0.1:0", metrics: { Array(state.lock.withLock { state.metricsBody }.utf8) },
            health: { OpsHealthStatus(healthy: state.isHealthy, reason: "unhealthy: 3 receives failed") })
        server.start()
        return server
    }

    static func get(_ port: Int, _ path: String, method: String = "GET") async throws -> (Int, String, String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 5
        let (data, response) = try await URLSession(configuration: .ephemeral).data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "Content-Type"))
    }

    /// Sends `bytes` on a raw connection and returns what came back before the server closed it.
    static func raw(_ port: Int, _ bytes: [UInt8], closeWrite: Bool = true) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard ok == 0 else { return "connect failed" }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { break }
            offset += n
        }
        if closeWrite { shutdown(fd, Int32(SHUT_WR)) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test("GET /metrics is the registry's text with the Prometheus content type; /healthz is 200 ok, then 503")
    func metricsAndHealth() async throws {
        let state = State()
        let server = try Self.start(state)
        defer { server.stop() }
        #expect(server.port > 0)
        let (status, body, type) = try await Self.get(server.port, "/metrics")
        #expect(status == 200)
        #expect(body.contains("ordlog_messages_received_total 7"))
        #expect(type == "text/plain; version=0.0.4; charset=utf-8")
        let ok = try await Self.get(server.port, "/healthz")
        #expect(ok.0 == 200 && ok.1 == "ok\n")
        state.isHealthy = false
        let bad = try await Self.get(server.port, "/healthz?verbose=1")
        #expect(bad.0 == 503)
        #expect(bad.1.contains("3 receives failed"))
        let missing = try await Self.get(server.port, "/nope")
        #expect(missing.0 == 404)
        let post = try await Self.get(server.port, "/metrics", method: "POST")
        #expect(post.0 == 405)
    }

    @Test("garbage, oversized, silent and half-sent requests get an error or a closed socket; the server keeps serving")
    func garbage() async throws {
        let server = try Self.start(State())
        defer { server.stop() }
        #expect(Self.raw(server.port, Array("hello\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400"))
        #expect(Self.raw(server.port, [0, 255, 13, 10, 13, 10, 0x80]).hasPrefix("HTTP/1.1 400"))
        #expect(Self.raw(server.port, Array(repeating: 0x41, count: 100_000)).hasPrefix("HTTP/1.1 431"))
        #expect(Self.raw(server.port, Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8)).hasPrefix("HTTP/1.1 200"))
        #expect(Self.raw(server.port, []) == "")
        // A client that connects and sends nothing is dropped after the request timeout, not served forever.
        let started = Date()
        _ = Self.raw(server.port, Array("GET /metr".utf8), closeWrite: false)
        #expect(Date().timeIntervalSince(started) < OpsHTTPServer.requestTimeout + 3)
        // Many at once (more than the connection pool) all get answers.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await Self.get(server.port, "/healthz").0 } }
            for try await status in group { #expect(status == 200) }
        }
        let (status, _, _) = try await Self.get(server.port, "/metrics")
        #expect(status == 200)
    }

    @Test("a port in use and a malformed address are errors that say so")
    func bindErrors() throws {
        let server = try Self.start(State())
        defer { server.stop() }
        #expect {
            try OpsHTTPServer(
                address: "127.0.0.1:\(server.port)", metrics: { [] }, health: { .init(healthy: true, reason: "") })
        } throws: { "\($0)".contains("cannot listen on 127.0.0.1:\(server.port)") && "\($0)".contains("in use") }
        #expect(throws: OpsHTTPServerError.self) { try OpsListenAddress.parse("9464") }
        #expect(throws: OpsHTTPServerError.self) { try OpsListenAddress.parse("127.0.0.1:http") }
        #expect(throws: OpsHTTPServerError.self) { try OpsListenAddress.parse("::1:9464") }
        #expect(try OpsListenAddress.parse("[::1]:9464") == OpsListenAddress(host: "::1", port: 9464))
        #expect(try OpsListenAddress.parse(":9464") == OpsListenAddress(host: "0.0.0.0", port: 9464))
        #expect(try OpsListenAddress.parse("0.0.0.0:9464").description == "0.0.0.0:9464")
    }
}
