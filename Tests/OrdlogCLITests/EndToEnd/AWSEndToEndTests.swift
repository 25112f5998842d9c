import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// The whole pipeline through the ordlog binary against a real moto_server on loopback: each test gets a fresh one
/// from the `.motoServer()` trait (started and always stopped by the trait, never by hand).
@Suite(.serialized) struct AWSEndToEndTests {
    static func env(_ server: MotoServer, secret: String = "testing") -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": server.endpoint.absoluteString, "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        ]
    }

    static func config(_ server: MotoServer) -> AWSConfiguration {
        AWSConfiguration(
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing", source: "test"),
            region: "us-east-1",
            endpointOverrides: [.sqs: server.endpoint, .sns: server.endpoint, .dynamodb: server.endpoint])
    }

    static func json(_ text: String) throws -> JSONObject {
        try #require(try JSONParser.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
    }

    /// `count` orders as JSON Lines; the order with index `malformedAt` is replaced by a line that is not JSON.
    static func orders(_ count: Int, malformedAt: Int? = nil) -> (text: String, expected: [OrderItem]) {
        var lines: [String] = []
        var expected: [OrderItem] = []
        for i in 0..<count {
            if i == malformedAt {
                lines.append("{\"orderId\": \"ord-broken\", quantity: 1")
                continue
            }
            let item = OrderItem(
                orderId: String(format: "ord-%04d", i), userId: "user-\(i % 7)",
                itemName: i % 5 == 0 ? "Café crème – 東京 🍣" : "Widget \(i)", quantity: Int64(i % 9 + 1),
                status: ["PENDING", "PAID", "SHIPPED"][i % 3],
                timestamp: RFC3339.format(milliseconds: 1_767_261_600_000 + Int64(i) * 1000))
            lines.append(item.json)
            expected.append(item)
        }
        return (lines.joined(separator: "\n") + "\n", expected)
    }

    @Test(
        "setup → publish 50 orders incl. a malformed one → consume → Scan equals expected; the malformed one is in the DLQ",
        .motoServer())
    func endToEnd() async throws {
        let server = try MotoContext.current()
        let env = Self.env(server)
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("e2e.db").path

        let setup = try CLI.run(["setup", "--json"], env: env)
        #expect(setup.status == 0, "\(setup.stderr)")
        let report = try Self.json(setup.stdout)
        let queueUrl = try #require(report["queueUrl"]?.stringValue)
        let dlqUrl = try #require(report["dlqUrl"]?.stringValue)
        let again = try CLI.run(["setup"], env: env)  // idempotent
        #expect(again.status == 0)
        #expect(again.stdout.contains("dynamodb-table    Orders"))
        #expect(again.stdout.contains("found"))

        let (text, expected) = Self.orders(50, malformedAt: 17)
        let file = dir.appendingPathComponent("orders.jsonl")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let publish = try CLI.run(["publish", "--topic", "OrderTopic", "--json", file.path], env: env)
        #expect(publish.status == 0, "\(publish.stderr)")
        #expect(try Self.json(publish.stdout)["published"] == .number("50"))

        let consume = try CLI.run(
            [
                "consume", "--db", db, "--queue-url", queueUrl, "--table", "Orders", "--until-empty",
                "--wait-time", "1", "--failed-visibility-timeout", "0", "--json",
            ], env: env)
        #expect(consume.status == 3, "\(consume.stderr)")  // the malformed message was dead-lettered
        let summary = try Self.json(consume.stdout)
        #expect(summary["projected"] == .number("49"))
        #expect(summary["rejected"] == .number("3"))
        #expect(summary["deadLettered"] == .number("1"))
        // Every final outcome deleted, nothing else: 49, plus any duplicate deliveries (moto_server, threaded, can
        // hand one message to two concurrent receives; each copy is logged and deleted, the second as a duplicate).
        var duplicates = 0
        if case .number(let n)? = summary["duplicate"] { duplicates = Int(n) ?? 0 }
        #expect(summary["deleted"] == .number(String(49 + duplicates)))

        let dynamo = DynamoDBProjection(client: DynamoDBClient(configuration: Self.config(server)), tableName: "Orders")
        let scanned = try await dynamo.orders()
        #expect(scanned == expected)
        let raw = try await DynamoDBClient(configuration: Self.config(server)).getItem(
            tableName: "Orders", key: ["orderId": .s("ord-0005")])
        #expect(raw?["itemName"] == .s("Café crème – 東京 🍣"))
        #expect(raw?["quantity"] == .n("6"))
        #expect(raw?["ordlogTimestampNs"] == .n("1767261605000000000"))

        // inspect-dlq reads the real DLQ without deleting and joins each message to its history in the log.
        let inspect = try CLI.run(["inspect-dlq", "--db", db, "--queue-url", dlqUrl, "--json"], env: env)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let view = try Self.json(inspect.stdout)
        #expect(view["inQueue"] == .number("1"))
        #expect(view["inLog"] == .number("1"))
        let entry = try #require(view["messages"]?.arrayValue?.first?.objectValue)
        #expect(entry["queueReceiveCount"] == .number("4"))  // three receives from OrderQueue, one by inspect-dlq
        let history = try #require(entry["history"]?.objectValue)
        #expect(history["attempts"]?.arrayValue?.count == 3)
        #expect(history["fingerprint"] == .string("order.not_json:Message"))
        let table = try CLI.run(["inspect-dlq", "--db", db, "--queue-url", dlqUrl], env: env)
        #expect(table.stdout.contains("1 message(s), 1 with history"))

        let sqs = SQSClient(configuration: Self.config(server))
        let dlq = try await sqs.receiveMessage(queueUrl: dlqUrl, maxNumberOfMessages: 10, waitTimeSeconds: 1)
        #expect(dlq.messages.count == 1)  // still there: inspect-dlq deleted nothing and released it
        let dead = try #require(dlq.messages.first)
        let envelope = try #require(try JSONParser.parse(dead.body).objectValue)
        #expect(envelope["Message"] == .string("{\"orderId\": \"ord-broken\", quantity: 1"))
        #expect(dead.attributes["ApproximateReceiveCount"] == "6")  // and one more for each inspect-dlq run

        // Rebuild a table from the log, and replay into a shadow table.
        let rebuilt = try CLI.run(
            ["reproject", "--db", db, "--target", "dynamodb", "--table", "OrdersRebuilt", "--json"], env: env)
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(try Self.json(rebuilt.stdout)["dynamodb"]?.objectValue?["written"] == .number("49"))
        let rebuiltTable = DynamoDBProjection(
            client: DynamoDBClient(configuration: Self.config(server)), tableName: "OrdersRebuilt")
        #expect(try await rebuiltTable.orders() == expected)
        let shadow = try CLI.run(
            ["replay", "--db", db, "--target", "dynamodb", "--table", "OrdersShadow", "--json"], env: env)
        #expect(shadow.status == 0, "\(shadow.stderr)")
        let shadowTable = DynamoDBProjection(
            client: DynamoDBClient(configuration: Self.config(server)), tableName: "OrdersShadow")
        #expect(try await shadowTable.orders() == expected)
        let again2 = try CLI.run(
            ["reproject", "--db", db, "--target", "dynamodb", "--table", "Orders", "--json"], env: env)
        let sync = try #require(try Self.json(again2.stdout)["dynamodb"]?.objectValue)
        #expect(sync["written"] == .number("49"))  // equal instants are rewritten: idempotent
        #expect(sync["created"] == .bool(false))

        let log = try EventLog(path: db)
        let attempts = try log.attempts(messageId: dead.messageId)
        #expect(attempts.count == 3)
        #expect(attempts.map(\.decision.errorCode) == ["order.not_json", "order.not_json", "order.not_json"])
        #expect(attempts.map(\.decision.deadLettered) == [false, false, true])
        #expect(try log.receives(messageId: dead.messageId).map(\.receiveCount) == [1, 2, 3])
    }

    @Test(
        "kill -9 consume mid-run and restart: every order ends in DynamoDB exactly as expected, nothing applied twice",
        .motoServer())
    func killConsume() async throws {
        let server = try MotoContext.current()
        let env = Self.env(server)
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("kill.db").path
        // moto answers one call at a time (~25 ms each): 16 loops × 10 PutItems would keep batches in work longer
        // than the 2 s visibility timeout, so messages would cycle to the DLQ; 4 loops keep them well inside it.
        let setup = try CLI.run(["setup", "--json", "--visibility-timeout", "2"], env: env)
        let queueUrl = try #require(try Self.json(setup.stdout)["queueUrl"]?.stringValue)
        let (text, expected) = Self.orders(400)
        let file = dir.appendingPathComponent("orders.jsonl")
        try text.write(to: file, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["publish", "--topic", "OrderTopic", file.path], env: env).status == 0)

        let p = try CLI.start(
            [
                "consume", "--db", db, "--queue-url", queueUrl, "--table", "Orders", "--until-empty", "--wait-time",
                "1", "--concurrency", "4",
            ], env: env, stdout: .discarded, stderr: .discarded)
        var seen: Int64 = 0
        try await waitUntil(60, "100 receives logged before the kill (\(seen))", every: 0.02) {
            if let c = try? SQLiteConnection(path: db, readOnly: true),
                let n = try? c.scalarInt("SELECT count(*) FROM receives")
            {
                seen = n
            }
            return seen >= 100 || !p.isRunning
        }
        p.signal(SIGKILL)
        try p.wait(timeout: 30)
        #expect(seen >= 100)
        let log = try EventLog(path: db)
        let before = try #require(try log.db.scalarInt("SELECT count(*) FROM receives"))
        #expect(before < 400, "the kill came too late to test anything")

        let sqs = SQSClient(configuration: Self.config(server))
        /// Waits until the messages in flight (received, not deleted) are visible again (2 s visibility timeout).
        func inFlightVisibleAgain() async throws {
            try await waitUntil(30, "in-flight messages visible again", every: 0.2) {
                let attrs = try await sqs.getQueueAttributes(
                    queueUrl: queueUrl, names: ["ApproximateNumberOfMessagesNotVisible"])
                return attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
            }
        }
        try await inFlightVisibleAgain()
        var rounds = 0
        while rounds < 5 {
            rounds += 1
            let r = try CLI.run(
                [
                    "consume", "--db", db, "--queue-url", queueUrl, "--table", "Orders", "--until-empty",
                    "--wait-time", "3", "--concurrency", "4", "--json",
                ], env: env)
            #expect(r.status == 0, "\(r.stderr)")
            let attrs = try await sqs.getQueueAttributes(
                queueUrl: queueUrl, names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
            if attrs["ApproximateNumberOfMessages"] == "0" && attrs["ApproximateNumberOfMessagesNotVisible"] == "0" {
                break
            }
            try await inFlightVisibleAgain()
        }
        let dynamo = DynamoDBProjection(client: DynamoDBClient(configuration: Self.config(server)), tableName: "Orders")
        #expect(try await dynamo.orders() == expected)
        // Every SQS message was projected exactly once in the log; redeliveries after the kill are duplicates.
        #expect(
            try log.db.scalarInt("SELECT count(DISTINCT message_id) FROM attempts WHERE outcome = 'projected'") == 400)
        #expect(
            try log.db.scalarInt(
                "SELECT count(*) FROM (SELECT message_id FROM attempts WHERE outcome = 'projected' GROUP BY message_id HAVING count(*) > 1)"
            ) == 0)
        #expect(
            try log.db.scalarInt(
                "SELECT count(*) FROM receives r WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.receive_seq = r.seq)"
            ) == 0)
        #expect(try LocalProjection(db: log.db).orders().map(\.item) == expected)
    }

    @Test("after a fix, redrive --target dynamodb writes the dead-lettered order into the table", .motoServer())
    func redriveIntoDynamoDB() async throws {
        let server = try MotoContext.current()
        let env = Self.env(server)
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("redrive.db").path
        #expect(try CLI.run(["setup"], env: env).status == 0)
        let order =
            #"{"orderId":"ord-9","userId":"u-9","itemName":"Kettle","quantity":"2","status":"PAID","timestamp":"2026-01-01T10:00:00Z"}"#
        let file = dir.appendingPathComponent("o.jsonl")
        try (order + "\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["publish", "--topic", "OrderTopic", file.path], env: env).status == 0)
        let typo = try CLI.run(["publish", "--topic", "OrderTopik", file.path], env: env)
        #expect(typo.status == 5)  // looked up, never created
        #expect(typo.stderr.contains("no SNS topic named OrderTopik"))
        let consume = try CLI.run(
            [
                "consume", "--db", db, "--queue", "OrderQueue", "--table", "Orders", "--until-empty",
                "--wait-time", "1",
            ], env: env)
        #expect(consume.status == 3, "\(consume.stderr)")
        let client = DynamoDBClient(configuration: Self.config(server))
        #expect(try await client.getItem(tableName: "Orders", key: ["orderId": .s("ord-9")]) == nil)

        let r = try CLI.run(
            [
                "redrive", "--db", db, "--fingerprint", "order.field_invalid:quantity",
                "--accept-numeric-strings", "--target", "dynamodb", "--table", "Orders",
            ], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 now projected in the local projection, 0 still dead-lettered."))
        #expect(r.stdout.contains("DynamoDB table Orders: 1 written, 0 left"))
        let item = try await client.getItem(tableName: "Orders", key: ["orderId": .s("ord-9")])
        #expect(item?["quantity"] == .n("2"))
        #expect(item?["itemName"] == .s("Kettle"))
    }

    @Test("SIGTERM during a 20 s long poll stops consume at once, cleanly (exit 0, summary printed)", .motoServer())
    func sigtermStopsConsume() async throws {
        let server = try MotoContext.current()
        let env = Self.env(server)
        #expect(try CLI.run(["setup"], env: env).status == 0)
        let dir = CLI.tempDir()
        let p = try CLI.start(
            ["consume", "--db", dir.appendingPathComponent("t.db").path, "--queue", "OrderQueue", "--json"], env: env)
        // Set up (queue, table, log) and starting its first receive, a long poll (--wait-time 20).
        try await waitUntil(60, "consume started receiving (stderr: \(p.stderr))") {
            p.stderr.contains("ordlog: consuming ") || !p.isRunning
        }
        let sent = Date()
        p.signal(SIGTERM)
        let end = try p.wait(timeout: 30)
        #expect(Date().timeIntervalSince(sent) < 5)
        #expect(end.status == 0)
        let stdout = p.stdout
        let stderr = p.stderr
        #expect(stderr.contains("stopping after the batch in flight"))
        #expect(try Self.json(stdout)["received"] == .number("0"))
    }

    @Test(
        "a wrong secret against signature-checking moto: exit 5, the credential source named, the secret never printed",
        .motoServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"]))
    func wrongSecret() async throws {
        let server = try MotoContext.current()
        // The first three unauthenticated calls create an IAM user with an allow-all policy and an access key.
        let iam = AWSClient(
            service: .iam,
            configuration: AWSConfiguration(
                credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing", source: "bootstrap"),
                region: "us-east-1", endpointOverrides: [.iam: server.endpoint]), retryPolicy: .none)
        _ = try await iam.queryCall(
            operation: "CreateUser", version: "2010-05-08", parameters: [("UserName", "ordlog")])
        _ = try await iam.queryCall(
            operation: "PutUserPolicy", version: "2010-05-08",
            parameters: [
                ("UserName", "ordlog"), ("PolicyName", "all"),
                (
                    "PolicyDocument",
                    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                ),
            ])
        let (xml, _) = try await iam.queryCall(
            operation: "CreateAccessKey", version: "2010-05-08", parameters: [("UserName", "ordlog")])
        let key = try #require(xml.path("CreateAccessKeyResult", "AccessKey"))
        let keyId = try #require(key.child("AccessKeyId")?.text)
        let secret = try #require(key.child("SecretAccessKey")?.text)

        var env = Self.env(server, secret: secret)
        env["AWS_ACCESS_KEY_ID"] = keyId
        let good = try CLI.run(["setup", "--json"], env: env)
        #expect(good.status == 0, "\(good.stderr)")

        let wrong = "wrongSECRET" + String(secret.dropFirst(11))
        env["AWS_SECRET_ACCESS_KEY"] = wrong
        for args in [
            ["setup"],
            [
                "consume", "--queue", "OrderQueue", "--until-empty", "--wait-time", "0", "--json",
                "--log-level", "trace",
            ],
            ["publish", "--topic", "OrderTopic", "--order-id", "o-1"],
        ] {
            let bad = try CLI.run(args, env: env)
            #expect(bad.status == 5, "\(args): \(bad.stderr)")
            #expect(bad.stderr.contains("SignatureDoesNotMatch"), "\(bad.stderr)")
            #expect(bad.stderr.contains("environment variables"), "\(bad.stderr)")
            #expect(!bad.stderr.contains(wrong) && !bad.stdout.contains(wrong))
            #expect(!bad.stderr.contains(secret) && !bad.stdout.contains(secret))
        }
    }
}
