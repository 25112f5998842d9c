import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// Three `ordlog consume` processes (separate logs) on one queue against moto_server, fed by a boto3 producer.
@Suite(.serialized) struct MultiConsumerTests {
    /// 40 orders × 3 events (PENDING → PAID → SHIPPED, a second apart), published in an order that delivers some
    /// events late (the newest first for every third order), plus one poison message (quantity "two") first.
    static func traffic() -> (lines: [String], expected: [OrderItem], poisonOrderId: String) {
        var lines: [String] = [
            #"{"orderId":"ord-poison","userId":"u-0","itemName":"Kettle","quantity":"two","status":"PAID","timestamp":"2026-01-01T10:00:00Z"}"#
        ]
        var expected: [OrderItem] = []
        var events: [[String]] = []
        for i in 0..<40 {
            var perOrder: [String] = []
            for (k, status) in ["PENDING", "PAID", "SHIPPED"].enumerated() {
                let item = OrderItem(
                    orderId: String(format: "ord-%03d", i), userId: "user-\(i % 7)",
                    itemName: i % 5 == 0 ? "Café crème – 東京 🍣" : "Widget \(i)", quantity: Int64(i % 9 + 1),
                    status: status,
                    timestamp: RFC3339.format(milliseconds: 1_767_261_600_000 + Int64(i * 10 + k) * 1000))
                perOrder.append(item.json)
                if k == 2 { expected.append(item) }
            }
            events.append(i % 3 == 0 ? perOrder.reversed() : perOrder)
        }
        // Interleave: the first event of every order, then the second, then the third.
        for k in 0..<3 { for e in events { lines.append(e[k]) } }
        return (lines, expected, "ord-poison")
    }

    /// Publishes each line verbatim to OrderTopic with boto3 (PublishBatch, 10 a call), as a producer would.
    static func publishWithBoto3(_ lines: [String], server: MotoServer, dir: URL) throws {
        let file = dir.appendingPathComponent("orders.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let script = """
            import boto3, sys
            sns = boto3.client("sns", endpoint_url=sys.argv[1], region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            arn = sns.create_topic(Name="OrderTopic")["TopicArn"]
            lines = [l for l in open(sys.argv[2], encoding="utf-8").read().split("\\n") if l]
            for start in range(0, len(lines), 10):
                entries = [{"Id": str(i), "Message": m} for i, m in enumerate(lines[start:start + 10])]
                r = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
                assert not r.get("Failed"), r
            print(len(lines))
            """
        let r = try ProcessRunner.run(program: "python3", ["-c", script, server.endpoint.absoluteString, file.path])
        let printed = r.stdout
        #expect(r.status == 0, "\(r.stderr)")
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == String(lines.count))
    }

    static func consumeProcess(db: String, env: [String: String]) throws -> TestProcess {
        try CLI.start(
            [
                "consume", "--db", db, "--queue", "OrderQueue", "--until-empty", "--wait-time", "1", "--concurrency",
                "4", "--json",
            ], env: env)
    }

    static func receives(_ db: String) -> Int64 {
        guard let c = try? SQLiteConnection(path: db, readOnly: true) else { return 0 }
        return (try? c.scalarInt("SELECT count(*) FROM receives")) ?? 0
    }

    @Test(
        "3 consume processes on one queue, one SIGKILLed mid-run and restarted: exactly the expected Orders, the poison message in OrderDLQ after 3 receives"
    )
    func threeConsumers() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let env = AWSEndToEndTests.env(server)
        let dir = CLI.tempDir()
        let setup = try CLI.run(["setup", "--json", "--visibility-timeout", "3"], env: env)
        #expect(setup.status == 0, "\(setup.stderr)")
        let report = try AWSEndToEndTests.json(setup.stdout)
        let queueUrl = try #require(report["queueUrl"]?.stringValue)
        let dlqUrl = try #require(report["dlqUrl"]?.stringValue)
        let (lines, expected, poisonOrderId) = Self.traffic()
        try Self.publishWithBoto3(lines, server: server, dir: dir)

        let dbs = (0..<3).map { dir.appendingPathComponent("consumer-\($0).db").path }
        func start(_ i: Int) throws -> TestProcess { try Self.consumeProcess(db: dbs[i], env: env) }
        // Consumer 0 starts first (so it surely has work when it is killed), the other two as soon as it receives.
        // The waits block this thread: a starved task pool must not delay the kill.
        var processes = [try start(0)]
        waitUntilBlocking(60, "consumer 0 logged a receive (stderr: \(processes[0].stderr))") {
            !processes[0].isRunning || Self.receives(dbs[0]) >= 1
        }
        processes += [try start(1), try start(2)]
        // SIGKILL consumer 0 mid-run, once it has logged some receives.
        waitUntilBlocking(60, "consumer 0 logged 15 receives (stderr: \(processes[0].stderr))") {
            !processes[0].isRunning || Self.receives(dbs[0]) >= 15
        }
        #expect(processes[0].isRunning, "consumer 0 finished before it could be killed")
        processes[0].signal(SIGKILL)
        try processes[0].wait(timeout: 30)
        for p in processes.dropFirst() {
            let end = try p.wait(timeout: 600)
            #expect([0, 3].contains(end.status), "\(p.stderr)")
        }

        // Restart the killed consumer on its own log until the queue is drained (its in-flight messages come back
        // after the 3 s visibility timeout). 4 loops, as the others: moto answers one call at a time (~25 ms of CPU
        // each), so 16 loops' PutItems would keep batches, and their heartbeats, waiting past that timeout on a
        // loaded machine and cycle healthy messages towards the DLQ.
        let sqs = SQSClient(configuration: AWSEndToEndTests.config(server))
        for _ in 0..<6 {
            let r = try CLI.run(
                [
                    "consume", "--db", dbs[0], "--queue", "OrderQueue", "--until-empty", "--wait-time", "4",
                    "--concurrency", "4", "--json",
                ],
                env: env)
            #expect([0, 3].contains(r.status), "\(r.stderr)")
            let attrs = try await sqs.getQueueAttributes(
                queueUrl: queueUrl, names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
            if attrs["ApproximateNumberOfMessages"] == "0" && attrs["ApproximateNumberOfMessagesNotVisible"] == "0" {
                break
            }
        }

        let dynamo = DynamoDBProjection(
            client: DynamoDBClient(configuration: AWSEndToEndTests.config(server)), tableName: "Orders")
        #expect(try await dynamo.orders() == expected)

        // Every published order event reached a final outcome in some log; none applied twice within a log; no
        // receive left without an attempt.
        var finalMessages = Set<String>()
        var poisonReceives: [Int64] = []
        var poisonDeadLettered = false
        for db in dbs {
            let log = try EventLog(path: db)
            let s = try log.db.prepare(
                "SELECT DISTINCT message_id FROM attempts WHERE outcome IN ('projected','duplicate','stale')")
            while try s.step() { finalMessages.insert(s.text(0)) }
            #expect(
                try log.db.scalarInt(
                    "SELECT count(*) FROM (SELECT message_id FROM attempts WHERE outcome = 'projected' GROUP BY message_id HAVING count(*) > 1)"
                ) == 0)
            #expect(try log.unprocessedReceives().isEmpty)
            let poison = try log.db.prepare(
                "SELECT DISTINCT r.receive_count FROM receives r JOIN attempts a ON a.receive_seq = r.seq WHERE a.order_id = ?"
            )
            try poison.bind([.text(poisonOrderId)])
            while try poison.step() { poisonReceives.append(poison.int64(0)) }
            let dead = try log.db.prepare("SELECT count(*) FROM attempts WHERE order_id = ? AND dead_lettered = 1")
            try dead.bind([.text(poisonOrderId)])
            if try dead.firstRow({ $0.int64(0) }) ?? 0 > 0 { poisonDeadLettered = true }
        }
        #expect(finalMessages.count == lines.count - 1)
        // SQS delivered it 3 times; a receive whose response the SIGKILL interrupted before the append is not
        // logged (SQS delivers it again), so the logs hold receive 3 and at most the two before it.
        #expect(poisonReceives.contains(3) && Set(poisonReceives).isSubset(of: [1, 2, 3]), "\(poisonReceives)")
        #expect(poisonDeadLettered)
        let dlq = try await sqs.receiveMessage(queueUrl: dlqUrl, maxNumberOfMessages: 10, waitTimeSeconds: 1)
        #expect(dlq.messages.count == 1)
        let dead = try #require(dlq.messages.first)
        #expect(dead.attributes["ApproximateReceiveCount"] == "4", "3 receives from OrderQueue, then this one")
        let envelope = try #require(try JSONParser.parse(dead.body).objectValue)
        #expect(envelope["Message"]?.stringValue?.contains(#""quantity":"two""#) == true)
    }
}
