import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

/// CurlTransport against the test-support LoopbackHTTPServer: what goes on the wire and what comes back.
@Suite("CurlTransport")
struct CurlTransportTests {
    /// Every byte value, then a counter: a body that is not text and not periodic in 256.
    static func binary(_ count: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count { bytes[i] = i < 256 ? UInt8(i) : UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        return Data(bytes)
    }

    @Test("status, response headers as received, body bytes exact; the request's headers and body on the wire")
    func statusHeadersBody() async throws {
        let payload = Self.binary(4096)
        let server = try LoopbackHTTPServer { request in
            var body = payload
            body.append(request.body)
            return .init(
                status: 418, headers: ["X-Amzn-RequestId": "r-1", "x-lower-case": "  padded value\t", "Content-Type": "application/octet-stream"],
                body: body)
        }
        let transport = CurlTransport()
        let sent = Self.binary(300).reversed()
        let response = try await transport.send(
            HTTPRequest(
                method: "POST", url: server.endpoint.appendingPathComponent("/p/q"),
                headers: [
                    ("Host", "ignored.example"), ("Content-Type", "application/x-amz-json-1.0"),
                    ("X-Amz-Target", "DynamoDB_20120810.PutItem"), ("X-Empty", ""),
                ],
                body: Data(sent)))
        #expect(response.status == 418)
        #expect(response.headers["X-Amzn-RequestId"] == "r-1")
        #expect(response.headers["x-lower-case"] == "padded value")
        #expect(response.headers["Content-Type"] == "application/octet-stream")
        #expect(response.header("content-type") == "application/octet-stream")
        var expected = payload
        expected.append(Data(sent))
        #expect(response.body == expected)

        let seen = try #require(server.requests.first)
        #expect(seen.method == "POST")
        #expect(seen.path == "/p/q")
        #expect(seen.body == Data(sent))
        #expect(seen.headers["host"] == "127.0.0.1:\(server.port)")
        #expect(seen.headers["content-type"] == "application/x-amz-json-1.0")
        #expect(seen.headers["x-amz-target"] == "DynamoDB_20120810.PutItem")
        #expect(seen.headers["content-length"] == "300")
        #expect(seen.headers["x-empty"] == "")
        // Nothing of curl's own: no Expect: 100-continue, no Accept, no User-Agent.
        #expect(seen.headers["expect"] == nil)
        #expect(seen.headers["accept"] == nil)
        #expect(seen.headers["user-agent"] == nil)
        #expect(seen.headerLines.contains("X-Amz-Target: DynamoDB_20120810.PutItem"))
    }

    @Test("a header holding a line break is refused, not sent")
    func headerInjection() async throws {
        let server = try LoopbackHTTPServer { _ in .text("sent") }
        let transport = CurlTransport()
        for header in [("X-A", "v\r\nX-Injected: 1"), ("X-B\nX-Injected", "1"), ("X-C: d", "1")] {
            do {
                _ = try await transport.send(HTTPRequest(method: "GET", url: server.endpoint, headers: [header]))
                Issue.record("expected an error for \(header)")
            } catch let e as AWSTransportError {
                #expect(e.reason.contains("line break"), "\(e.reason)")
            }
        }
        #expect(server.requests.isEmpty)
        let ok = try await transport.send(HTTPRequest(method: "GET", url: server.endpoint, headers: [("X-D", "a:b")]))
        #expect(String(decoding: ok.body, as: UTF8.self) == "sent")
    }

    @Test("GET without a body, PUT with one, POST with an empty one")
    func methods() async throws {
        let server = try LoopbackHTTPServer { request in .text("\(request.method) \(request.body.count)") }
        let transport = CurlTransport()
        let get = try await transport.send(HTTPRequest(method: "GET", url: server.endpoint.appendingPathComponent("/a")))
        #expect(String(decoding: get.body, as: UTF8.self) == "GET 0")
        let put = try await transport.send(
            HTTPRequest(
                method: "PUT", url: server.endpoint.appendingPathComponent("/latest/api/token"),
                headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], body: Data("abc".utf8)))
        #expect(String(decoding: put.body, as: UTF8.self) == "PUT 3")
        let post = try await transport.send(HTTPRequest(method: "POST", url: server.endpoint))
        #expect(String(decoding: post.body, as: UTF8.self) == "POST 0")
        let r = server.requests
        #expect(r.map(\.method) == ["GET", "PUT", "POST"])
        #expect(r[0].headers["content-length"] == nil)
        #expect(r[1].headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600")
        // No body type named: curl's default form Content-Type is not added.
        #expect(r[1].headers["content-type"] == nil)
        #expect(r[2].headers["content-length"] == "0")
    }

    @Test("bodies over 1 MiB both ways, with Content-Length and chunked")
    func largeBodies() async throws {
        let big = Self.binary(3 * 1024 * 1024 + 17)
        let server = try LoopbackHTTPServer { request in
            .init(body: request.body, chunkSize: request.path == "/chunked" ? 100_000 : nil)
        }
        let transport = CurlTransport()
        for path in ["/length", "/chunked"] {
            let response = try await transport.send(
                HTTPRequest(method: "POST", url: server.endpoint.appendingPathComponent(path), body: big))
            #expect(response.status == 200)
            #expect(response.body.count == big.count)
            // A Bool, not `body == big` inside #expect: on failure Swift Testing would diff 3 M elements.
            let same = response.body == big
            #expect(same, "\(path): the body differs")
        }
        #expect(server.requests.map(\.body.count) == [big.count, big.count])
    }

    @Test("a chunked response in many small chunks")
    func smallChunks() async throws {
        let body = Self.binary(5000)
        let server = try LoopbackHTTPServer { _ in .init(headers: ["X-Kind": "chunked"], body: body, chunkSize: 7) }
        let response = try await CurlTransport().send(HTTPRequest(method: "GET", url: server.endpoint))
        #expect(response.body == body)
        #expect(response.headers["Transfer-Encoding"] == "chunked")
        #expect(response.headers["X-Kind"] == "chunked")
    }

    // No wall-clock bounds here: in the full suite the 2-core machine's task pool is busy for tens of seconds at a
    // time. A transport that ignored the timeout (or the cancellation) would return the server's late answer.
    @Test("a response slower than the request's timeout: AWSTransportError saying so, not the late answer")
    func timeout() async throws {
        let server = try LoopbackHTTPServer(keepAlive: true) { _ in
            Thread.sleep(forTimeInterval: 8)
            return .text("late")
        }
        do {
            _ = try await CurlTransport().send(HTTPRequest(method: "GET", url: server.endpoint, timeout: 0.3))
            Issue.record("expected a timeout")
        } catch let e as AWSTransportError {
            #expect(e.reason.contains("timed out"), "\(e.reason)")
            #expect(e.endpoint == server.endpoint)
        }
    }

    @Test("connection refused: AWSTransportError with curl's message, naming the endpoint")
    func connectionRefused() async throws {
        let port = try MotoServer.freePort()
        let url = URL(string: "http://127.0.0.1:\(port)/x")!
        do {
            _ = try await CurlTransport().send(HTTPRequest(method: "GET", url: url))
            Issue.record("expected an error")
        } catch let e as AWSTransportError {
            #expect(e.endpoint == url)
            #expect(e.reason.contains("127.0.0.1 port \(port)"), "\(e.reason)")
            #expect(e.reason.contains("Couldn't connect to server") || e.reason.contains("refused"), "\(e.reason)")
        }
    }

    @Test("many requests at once, each with its own answer; kept-alive connections reused")
    func concurrent() async throws {
        let server = try LoopbackHTTPServer(keepAlive: true) { request in
            Thread.sleep(forTimeInterval: 0.005)
            return .text("echo \(request.path) \(String(decoding: request.body, as: UTF8.self))")
        }
        // A cache big enough for every connection of the first round: the second round reuses them.
        let transport = CurlTransport(maximumConnections: 256)
        for round in 0..<2 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let r = try await transport.send(
                            HTTPRequest(
                                method: "POST", url: server.endpoint.appendingPathComponent("/\(round)/\(i)"),
                                body: Data("body-\(i)".utf8)))
                        #expect(String(decoding: r.body, as: UTF8.self) == "echo /\(round)/\(i) body-\(i)")
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(server.requests.count == 400)
        // Connections are kept alive and reused: fewer connections than requests, and the second round ran on
        // connections the first opened. (How many curl keeps depends on timing under load, so not an exact count;
        // the sequential test below pins reuse exactly.)
        #expect(server.connections < 400, "\(server.connections) connections for 400 requests")
        let firstRound = Set(server.requests.filter { $0.path.hasPrefix("/0/") }.map(\.connection))
        #expect(server.requests.filter { $0.path.hasPrefix("/1/") }.contains { firstRound.contains($0.connection) })
    }

    @Test("sequential requests reuse one kept-alive connection")
    func keepAlive() async throws {
        let server = try LoopbackHTTPServer(keepAlive: true) { request in .text(request.path) }
        let transport = CurlTransport()
        for i in 0..<20 {
            let r = try await transport.send(HTTPRequest(method: "GET", url: server.endpoint.appendingPathComponent("/\(i)")))
            #expect(String(decoding: r.body, as: UTF8.self) == "/\(i)")
        }
        #expect(server.connections == 1)
        #expect(Set(server.requests.map(\.connection)) == [1])
    }

    @Test("a server that closes after each response (Connection: close): a new connection each time, no error")
    func connectionClose() async throws {
        let server = try LoopbackHTTPServer { request in .text(request.path) }
        let transport = CurlTransport()
        for i in 0..<5 {
            let r = try await transport.send(HTTPRequest(method: "GET", url: server.endpoint.appendingPathComponent("/\(i)")))
            #expect(String(decoding: r.body, as: UTF8.self) == "/\(i)")
        }
        #expect(server.connections == 5)
    }

    @Test("cancelling the calling task aborts the transfer with CancellationError")
    func cancellation() async throws {
        let server = try LoopbackHTTPServer(keepAlive: true) { _ in
            Thread.sleep(forTimeInterval: 8)
            return .text("late")
        }
        let transport = CurlTransport()
        let task = Task { try await transport.send(HTTPRequest(method: "GET", url: server.endpoint, timeout: 60)) }
        try await Task.sleep(nanoseconds: 200_000_000)
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        // Cancelled before it starts: never sent.
        let before = server.requests.count
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await transport.send(HTTPRequest(method: "GET", url: server.endpoint))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(server.requests.count == before)
    }
}
