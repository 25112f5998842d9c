import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `consume --metrics-address` and `--log-format json` through the built binary against a real moto_server.
@Suite(.serialized) struct ConsumeOperationsTests {
    static func get(_ port: Int, _ path: String) async -> (status: Int, body: String)? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = 5
        guard let (data, response) = try? await URLSession(configuration: .ephemeral).data(for: request),
            let http = response as? HTTPURLResponse
        else { return nil }
        return (http.statusCode, String(decoding: data, as: UTF8.self))
    }

    /// The value of an unlabelled sample `name` in a Prometheus text body.
    static func sample(_ body: String, _ name: String) -> Double? {
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    @Test(
        "during a run /metrics shows ordlog_messages_received_total moving and /healthz 200; with moto gone, 503")
    func metricsAndHealthDuringARun() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let secret = "s3cr3t-that-must-never-be-logged"
        let env = AWSEndToEndTests.env(server, secret: secret)  // moto does not check signatures here
        let dir = CLI.tempDir()
        #expect(try CLI.run(["setup"], env: env).status == 0)
        // Two halves: the second is published only once /metrics has shown the first, so the counter is seen
        // moving however fast or slow the run is.
        let lines = AWSEndToEndTests.orders(120).text.split(separator: "\n")
        let first = dir.appendingPathComponent("first.jsonl")
        let second = dir.appendingPathComponent("second.jsonl")
        try (lines[..<60].joined(separator: "\n") + "\n").write(to: first, atomically: true, encoding: .utf8)
        try (lines[60...].joined(separator: "\n") + "\n").write(to: second, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["publish", "--topic", "OrderTopic", first.path], env: env).status == 0)

        let port = try MotoServer.freePort()
        let p = try CLI.start(
            [
                "consume", "--db", dir.appendingPathComponent("m.db").path, "--queue", "OrderQueue", "--table",
                "Orders", "--wait-time", "1", "--metrics-address", "127.0.0.1:\(port)", "--log-format", "json",
                "--log-level", "info", "--json",
            ], env: env, stdout: .discarded)

        var seen: [Double] = []
        var last = ""
        func waitFor(_ projected: Int) async throws {
            let done = "ordlog_messages_processed_total{outcome=\"projected\"} \(projected)\n"
            try await waitUntil(90, "\(done) on /metrics: \(last)", every: 0.3) {
                if let (status, body) = await Self.get(port, "/metrics"), status == 200 {
                    last = body
                    if let n = Self.sample(body, "ordlog_messages_received_total"), seen.last != n { seen.append(n) }
                }
                return last.contains(done)
            }
        }
        // received_total counts receives: moto_server (threaded) can hand one message to two concurrent receives,
        // so it may exceed the messages published (the second copy is logged and a duplicate). It must move.
        try await waitFor(60)
        let afterFirst = try #require(seen.last)
        #expect(afterFirst >= 60, "received_total samples: \(seen)")
        #expect(try CLI.run(["publish", "--topic", "OrderTopic", second.path], env: env).status == 0)
        try await waitFor(120)
        #expect((seen.last ?? 0) >= 120 && (seen.last ?? 0) > afterFirst, "received_total samples: \(seen)")
        let metrics = try #require(await Self.get(port, "/metrics"))
        #expect(metrics.body.contains("ordlog_aws_call_duration_seconds_bucket{service=\"dynamodb\""))
        #expect(metrics.body.contains("# TYPE ordlog_processing_duration_seconds histogram"))
        #expect((Self.sample(metrics.body, "ordlog_last_successful_receive_timestamp_seconds") ?? 0) > 1.7e9)
        #expect(await Self.get(port, "/healthz")?.status == 200)

        // The endpoint goes away: receives fail (after their retries), and /healthz turns 503 with the reason.
        server.stop()
        var health: (status: Int, body: String)?
        try await waitUntil(60, "/healthz 503: \(String(describing: health))", every: 0.3) {
            health = await Self.get(port, "/healthz")
            return health?.status == 503
        }
        #expect(health?.body.contains("ReceiveMessage calls failed") == true, "\(String(describing: health))")
        #expect(p.isRunning)  // it outlasts the outage instead of exiting
        p.signal(SIGTERM)
        try p.wait(timeout: 30)

        // --log-format json: every stderr line is one JSON object.
        let logLines = p.stderr.split(separator: "\n")
        let objects = logLines.compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        #expect(objects.contains { $0["message"] as? String == "serving /metrics and /healthz" })
        #expect(objects.contains { ($0["message"] as? String)?.contains("ReceiveMessage failed") == true })
        #expect(!logLines.contains { $0.contains(secret) })
    }

    @Test("a --metrics-address in use or malformed is a usage error (64) before anything else")
    func badAddress() throws {
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(taken) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(taken, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(taken, 1)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(taken, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let env = ["AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"]
        let busy = try CLI.run(["consume", "--queue", "Q", "--metrics-address", "127.0.0.1:\(port)"], env: env)
        #expect(busy.status == 64, "\(busy.stderr)")
        #expect(busy.stderr.contains("cannot listen on 127.0.0.1:\(port)"))
        let bad = try CLI.run(["consume", "--queue", "Q", "--metrics-address", "9464"], env: env)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--metrics-address"))
    }

    @Test("--durability: s3 without --archive-to, --increment-every without s3, a bad mode are usage errors (64) naming what to do")
    func durabilityOptions() throws {
        let env = ["AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"]
        let noArchive = try CLI.run(["consume", "--queue", "Q", "--durability", "s3"], env: env)
        #expect(noArchive.status == 64)
        #expect(noArchive.stderr.contains("--durability s3 needs --archive-to s3://BUCKET/PREFIX"))
        let incrementAlone = try CLI.run(["consume", "--queue", "Q", "--increment-every", "1s"], env: env)
        #expect(incrementAlone.status == 64)
        #expect(incrementAlone.stderr.contains("--increment-every goes with --durability s3"))
        let badMode = try CLI.run(["consume", "--queue", "Q", "--durability", "fsync"], env: env)
        #expect(badMode.status == 64)
        #expect(badMode.stderr.contains("disk"))
        let badEvery = try CLI.run(
            ["consume", "--queue", "Q", "--durability", "s3", "--archive-to", "s3://b-1/p", "--increment-every", "soon"],
            env: env)
        #expect(badEvery.status == 64)
        #expect(badEvery.stderr.contains("--increment-every must be a duration"))
    }
}
