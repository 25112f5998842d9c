import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// `consume --durability s3` against moto_server (SQS, SNS, DynamoDB, S3): a task killed with its disk loses nothing
/// it acknowledged.
@Suite(.serialized) struct DurabilityEndToEndTests {
    static func finalAttempts(_ db: String) -> Int64 {
        guard let c = try? SQLiteConnection(path: db, readOnly: true) else { return 0 }
        return (try? c.scalarInt("SELECT count(*) FROM attempts WHERE outcome IN ('projected','duplicate','stale')"))
            ?? 0
    }

    @Test(
        "s3 mode: a consumer SIGKILLed mid-run whose log directory is then deleted; the next one, under the same id and an empty directory, continues its chain: every message's final attempt is read from S3, Orders is the newest of each, verify passes"
    )
    func replacedTaskLosesNothing() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let dir = CLI.tempDir()
        let cache = dir.appendingPathComponent("cache").path
        let env = AWSEndToEndTests.env(server).merging(["ORDLOG_CACHE": cache]) { $1 }
        let setup = try CLI.run(["setup", "--json", "--visibility-timeout", "3"], env: env)
        #expect(setup.status == 0, "\(setup.stderr)")
        let queueUrl = try #require(try AWSEndToEndTests.json(setup.stdout)["queueUrl"]?.stringValue)
        try await SegmentArchiveCLITests.s3(server).createBucket("arch")
        let (lines, expected, _) = MultiConsumerTests.traffic()
        try MultiConsumerTests.publishWithBoto3(lines, server: server, dir: dir)

        let consume = [
            "consume", "--queue", "OrderQueue", "--durability", "s3", "--archive-to", "s3://arch/logs",
            "--consumer-id", "task-1", "--increment-every", "0.2", "--concurrency", "4", "--wait-time", "1",
        ]
        // The first task: killed once it has logged some receives, then its disk is gone.
        let first = dir.appendingPathComponent("task-a")
        try FileManager.default.createDirectory(at: first, withIntermediateDirectories: true)
        let db1 = first.appendingPathComponent("orders.db").path
        let p = try CLI.start(consume + ["--db", db1], env: env)
        // Killed once it has recorded final attempts (so it has deleted messages, or is about to).
        waitUntilBlocking(60, "the first task recorded 40 final attempts (stderr: \(p.stderr))") {
            !p.isRunning || Self.finalAttempts(db1) >= 40
        }
        #expect(p.isRunning, "the first task finished before it could be killed")
        p.signal(SIGKILL)
        try p.wait(timeout: 30)
        try FileManager.default.removeItem(at: first)
        // Its chain in S3 (nil when it was killed before its first increment was complete: then there is nothing to
        // continue, and the next task starts the chain).
        let keptInS3 = try await SegmentArchiveCLITests.s3(server).listObjects(bucket: "arch", prefix: "logs/task-1/")
            .contains { $0.key.hasSuffix(".manifest.json") }

        // Its replacement: the same consumer id, an empty directory, until the queue is drained.
        let db2 = dir.appendingPathComponent("task-b/orders.db").path
        try FileManager.default.createDirectory(
            atPath: (db2 as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let sqs = SQSClient(configuration: AWSEndToEndTests.config(server))
        var continued = false
        for _ in 0..<6 {
            let r = try CLI.run(consume + ["--db", db2, "--until-empty", "--log-level", "info"], env: env)
            #expect([0, 3].contains(r.status), "\(r.stderr)")
            if r.stderr.contains("continuing this consumer's chain from S3") { continued = true }
            let attrs = try await sqs.getQueueAttributes(
                queueUrl: queueUrl, names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
            if attrs["ApproximateNumberOfMessages"] == "0" && attrs["ApproximateNumberOfMessagesNotVisible"] == "0" {
                break
            }
        }
        #expect(continued == keptInS3)

        let dynamo = DynamoDBProjection(
            client: DynamoDBClient(configuration: AWSEndToEndTests.config(server)), tableName: "Orders")
        #expect(try await dynamo.orders() == expected)

        // What S3 holds: one chain that verifies, with a final attempt for every message but the poison one.
        let verify = try CLI.run(["verify", "--db", "s3://arch/logs", "--json"], env: env)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let segments = Segments.trustedSegments(in: cache + "/s3/arch/logs")
        let chain = Segments.chain(segments, consumerId: "task-1")
        #expect(chain.missing == nil)
        var finalMessages = Set<String>()
        for s in chain.segments {
            let c = try SQLiteConnection(path: s.path, readOnly: true)
            let q = try c.prepare(
                "SELECT DISTINCT message_id FROM attempts WHERE outcome IN ('projected','duplicate','stale')")
            while try q.step() { finalMessages.insert(q.text(0)) }
        }
        #expect(finalMessages.count == lines.count - 1)
        // No increment a sealed segment covers is left: S3 holds the chain's objects and nothing else.
        let objects = try await SegmentArchiveCLITests.s3(server).listObjects(bucket: "arch", prefix: "logs/")
        #expect(objects.count == 2 * chain.segments.count, "\(objects.map(\.key))")
        let orders = try CLI.run(["orders", "--db", "s3://arch/logs", "--json"], env: env)
        #expect(orders.status == 0, "\(orders.stderr)")
        #expect(orders.stdout.contains(#""orderId":"ord-039""#))
    }

    @Test(
        "s3 mode, one --until-empty run: the poison message plays the redrive policy out (3 rejected, dead-lettered), every other is projected; S3 holds one sealed segment and its manifest, which verify"
    )
    func untilEmptyInS3Mode() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let dir = CLI.tempDir()
        let env = AWSEndToEndTests.env(server).merging(["ORDLOG_CACHE": dir.appendingPathComponent("cache").path]) {
            $1
        }
        #expect(try CLI.run(["setup"], env: env).status == 0)
        try await SegmentArchiveCLITests.s3(server).createBucket("arch")
        let (text, _) = AWSEndToEndTests.orders(30, malformedAt: 7)
        let file = dir.appendingPathComponent("orders.jsonl")
        try text.write(to: file, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["publish", "--topic", "OrderTopic", file.path], env: env).status == 0)
        let consume = try CLI.run(
            [
                "consume", "--db", dir.appendingPathComponent("c.db").path, "--queue", "OrderQueue", "--until-empty",
                "--wait-time", "1", "--durability", "s3", "--archive-to", "s3://arch/logs", "--json",
            ], env: env)
        #expect(consume.status == 3, "\(consume.stderr)")
        #expect(
            consume.stderr.contains(
                "durability s3 (each delete waits for its records to be in S3); archive s3://arch/logs (increments at "
                    + "most every 1s), sealed every 15m"), "\(consume.stderr)")
        let summary = try AWSEndToEndTests.json(consume.stdout)
        #expect(summary["projected"] == .number("29"))
        #expect(summary["rejected"] == .number("3"))
        #expect(summary["deadLettered"] == .number("1"))
        let objects = try await SegmentArchiveCLITests.s3(server).listObjects(bucket: "arch", prefix: "logs/")
        #expect(objects.count == 2, "\(objects.map(\.key))")
        let verify = try CLI.run(["verify", "--db", "s3://arch/logs"], env: env)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // The chain is one sealed segment, which keeps no projection: orders builds it from the records.
        let orders = try CLI.run(["orders", "--db", "s3://arch/logs", "--json"], env: env)
        #expect(orders.status == 0, "\(orders.stderr)")
        let listed = try #require(try JSONParser.parse(orders.stdout).arrayValue)
        #expect(listed.count == 29)
    }

    @Test("a SIGTERM leaves no message invisible: the receives in flight get a moment to answer, and what they bring is made visible again")
    func stopLeavesNothingInvisible() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let dir = CLI.tempDir()
        let env = AWSEndToEndTests.env(server)
        let setup = try CLI.run(["setup", "--json"], env: env)
        let queueUrl = try #require(try AWSEndToEndTests.json(setup.stdout)["queueUrl"]?.stringValue)
        let (text, _) = AWSEndToEndTests.orders(200)
        let file = dir.appendingPathComponent("orders.jsonl")
        try text.write(to: file, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["publish", "--topic", "OrderTopic", file.path], env: env).status == 0)
        let db = dir.appendingPathComponent("c.db").path
        let p = try CLI.start(["consume", "--db", db, "--queue", "OrderQueue", "--json"], env: env)
        waitUntilBlocking(60, "the consumer logged 30 receives (stderr: \(p.stderr))") {
            !p.isRunning || MultiConsumerTests.receives(db) >= 30
        }
        p.signal(SIGTERM)
        let end = try p.wait(timeout: 60)
        #expect(end.status == 0, "\(p.stderr)")
        let attrs = try await SQSClient(configuration: AWSEndToEndTests.config(server)).getQueueAttributes(
            queueUrl: queueUrl, names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        #expect(attrs["ApproximateNumberOfMessagesNotVisible"] == "0", "\(attrs)")
        let summary = try AWSEndToEndTests.json(p.stdout)
        let deleted = Int(summary["deleted"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? "") ?? -1
        #expect(attrs["ApproximateNumberOfMessages"] == String(200 - deleted), "\(attrs) \(summary)")
    }
}
