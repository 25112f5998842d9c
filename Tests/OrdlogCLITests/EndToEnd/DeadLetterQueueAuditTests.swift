import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// Messages that reach the SQS dead-letter queue without entering any log (a consumer killed between ReceiveMessage
/// and its append, maxReceiveCount times): `inspect-dlq --queue` marks them, `redrive --from-queue` records their
/// receive, processes it and deletes what is final. Against a real moto_server per test, through the ordlog binary.
@Suite(.serialized) struct DeadLetterQueueAuditTests {
    static let valid =
        #"{"orderId":"ord-7001","userId":"u-1","itemName":"Kettle","quantity":2,"status":"PAID","timestamp":"2026-01-01T10:00:00Z"}"#
    static let poison =
        #"{"orderId":"ord-7002","userId":"u-2","itemName":"Mug","quantity":"two","status":"PAID","timestamp":"2026-01-01T10:00:00Z"}"#

    struct Setup {
        var env: [String: String]
        var db: String
        var dlqUrl: String
        var sqs: SQSClient
        /// MessageId → body as sent.
        var sent: [String: String]
    }

    /// `ordlog setup`, a log, and two messages (one valid, one poison) sent to OrderQueue and received by a
    /// "consumer" that never logs them (plain ReceiveMessage, no delete) until SQS moves them to OrderDLQ.
    static func messagesThatDiedUnseen() async throws -> Setup {
        let server = try MotoContext.current()
        let env = AWSEndToEndTests.env(server)
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("audit.db").path
        let setup = try CLI.run(["setup", "--json"], env: env)
        #expect(setup.status == 0, "\(setup.stderr)")
        let report = try AWSEndToEndTests.json(setup.stdout)
        let queueUrl = try #require(report["queueUrl"]?.stringValue)
        let dlqUrl = try #require(report["dlqUrl"]?.stringValue)
        #expect(try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")]).status == 0)

        let sqs = SQSClient(configuration: AWSEndToEndTests.config(server))
        var sent: [String: String] = [:]
        for body in [valid, poison] { sent[try await sqs.sendMessage(queueUrl: queueUrl, body: body).messageId] = body }
        // The killed consumer: it receives, and dies before appending (nothing deletes, the messages come back).
        var empty = 0
        for _ in 0..<20 where empty < 2 {
            let r = try await sqs.receiveMessage(
                queueUrl: queueUrl, maxNumberOfMessages: 10, waitTimeSeconds: 0, visibilityTimeout: 0)
            empty = r.messages.isEmpty ? empty + 1 : 0
        }
        return Setup(env: env, db: db, dlqUrl: dlqUrl, sqs: sqs, sent: sent)
    }

    static func messages(_ view: JSONObject) throws -> [String: JSONObject] {
        var out: [String: JSONObject] = [:]
        for m in try #require(view["messages"]?.arrayValue) {
            let o = try #require(m.objectValue)
            out[try #require(o["messageId"]?.stringValue)] = o
        }
        return out
    }

    @Test(
        "inspect-dlq --queue marks a DLQ message that no log holds, in text and JSON, with its body; exit 1",
        .motoServer())
    func inspectMarksMessagesInNoLog() async throws {
        let s = try await Self.messagesThatDiedUnseen()
        let inspect = try CLI.run(["inspect-dlq", "--db", s.db, "--queue", "OrderDLQ", "--json"], env: s.env)
        #expect(inspect.status == 1, "\(inspect.stderr)")
        #expect(inspect.stderr.contains("2 messages in the dead-letter queue are in no log given"))
        let view = try AWSEndToEndTests.json(inspect.stdout)
        #expect(view["queueUrl"] == .string(s.dlqUrl))
        #expect(view["inQueue"] == .number("2"))
        #expect(view["inLog"] == .number("0"))
        #expect(view["inNoLog"] == .number("2"))
        let byId = try Self.messages(view)
        #expect(Set(byId.keys) == Set(s.sent.keys))
        for (id, body) in s.sent {
            let m = try #require(byId[id])
            #expect(m["inLog"] == .bool(false))
            #expect(m["history"] == .null)
            #expect(m["body"] == .string(body))  // nothing of it is lost
            #expect(m["md5OfBody"] == .string(RecordHash.md5Hex(Array(body.utf8))))
            // Three receives by the consumer that never logged them, one by this read.
            #expect(m["queueReceiveCount"] == .number("4"))
            #expect(m["attributes"]?.objectValue?["ApproximateReceiveCount"] == .string("4"))
        }

        let text = try CLI.run(["inspect-dlq", "--db", s.db, "--queue", "OrderDLQ"], env: s.env)
        #expect(text.status == 1, "\(text.stderr)")
        #expect(text.stdout.contains("2 message(s), 0 with history in \(s.db), 2 in no log."))
        for (id, body) in s.sent {
            #expect(
                text.stdout.contains(
                    "== \(id): in no log: SQS received it 5 times (this read included) and ordlog never logged it; "
                        + "`ordlog redrive --db \(s.db) --from-queue \(s.dlqUrl) --message-id \(id) --target dynamodb --table Orders` records and "
                        + "reprocesses it"))
            #expect(text.stdout.contains(body))
        }
        #expect(try EventLog(path: s.db).receives(messageId: s.sent.keys.first!).isEmpty)  // inspecting logs nothing
    }

    @Test(
        "redrive --from-queue records the DLQ receive, then processes it; deletes the projected one only; history and inspect-dlq show both",
        .motoServer())
    func redriveFromQueueRecordsThenProcesses() async throws {
        let s = try await Self.messagesThatDiedUnseen()
        let validId = try #require(s.sent.first { $0.value == Self.valid }?.key)
        let poisonId = try #require(s.sent.first { $0.value == Self.poison }?.key)

        let missing = try CLI.run(
            [
                "redrive", "--db", s.db, "--from-queue", "OrderDLQ", "--message-id", "no-such-id", "--target",
                "dynamodb", "--table", "Orders",
            ], env: s.env)
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stdout.contains("Skipped no-such-id: not in the dead-letter queue."))

        let dry = try CLI.run(["redrive", "--db", s.db, "--from-queue", "OrderDLQ", "--all", "--dry-run"], env: s.env)
        #expect(dry.status == 3, "\(dry.stderr)")
        #expect(dry.stdout.contains("Nothing was appended. 1 would be projected, 1 would stay dead-lettered."))
        #expect(try EventLog(path: s.db).receives(messageId: validId).isEmpty)

        let run = try CLI.run(
            [
                "redrive", "--db", s.db, "--from-queue", s.dlqUrl, "--all", "--json", "--target", "dynamodb", "--table",
                "Orders",
            ], env: s.env)
        #expect(run.status == 3, "\(run.stderr)")  // the poison message is still dead-lettered
        let out = try AWSEndToEndTests.json(run.stdout)
        let queue = try #require(out["queue"]?.objectValue)
        #expect(queue["queueUrl"] == .string(s.dlqUrl))
        #expect(queue["inQueue"] == .number("2"))
        let newToLog = try #require(queue["newToLog"]?.arrayValue)
        #expect(Set(newToLog.compactMap { $0.stringValue }) == [validId, poisonId])
        #expect(queue["deleted"] == .array([.string(validId)]))
        #expect(queue["left"] == .array([.string(poisonId)]))
        let redrivenJSON = try #require(out["redriven"]?.arrayValue)
        let redriven = redrivenJSON.compactMap { $0.objectValue }
        #expect(redriven.count == 2)
        for r in redriven { #expect(r["before"] == .null) }

        // Recorded like any receive: source the DLQ, the bytes as sent; then one attempt, trigger redrive.
        let log = try EventLog(path: s.db)
        for (id, body) in s.sent {
            let receives = try log.receives(messageId: id)
            #expect(receives.count == 1)
            #expect(receives.first?.source == s.dlqUrl)
            #expect(receives.first?.body == Array(body.utf8))
            #expect(receives.first?.receiveCount == 6)  // 3 unlogged receives, then one by each redrive run (missing, dry, this)
            let attempts = try log.attempts(messageId: id)
            #expect(attempts.map(\.trigger) == [.redrive])
            #expect(attempts.first?.receiveSeq == receives.first?.seq)
            #expect(attempts.first.map { $0.seq > receives.first!.seq } == true)
        }
        #expect(try log.attempts(messageId: validId).first?.decision.outcome == .projected)
        #expect(try log.attempts(messageId: poisonId).first?.decision.outcome == .rejected)
        #expect(try log.attempts(messageId: poisonId).first?.decision.deadLettered == true)

        let history = try CLI.run(["history", "--db", s.db, "ord-7001", "--json"], env: s.env)
        #expect(history.status == 0, "\(history.stderr)")
        let records = try #require(
            try JSONParser.parse(history.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).arrayValue)
        #expect(records.count == 2)
        #expect(records.first?.objectValue?["source"] == .string(s.dlqUrl))
        #expect(records.last?.objectValue?["trigger"] == .string("redrive"))
        #expect(records.last?.objectValue?["outcome"] == .string("projected"))
        let orders = try CLI.run(["orders", "--db", s.db, "ord-7001", "--json"], env: s.env)
        #expect(orders.status == 0, "\(orders.stderr)")
        #expect(orders.stdout.contains("Kettle"))

        // The DLQ holds only the poison message now, with its receive and attempt in the log.
        let inspect = try CLI.run(["inspect-dlq", "--db", s.db, "--queue", "OrderDLQ", "--json"], env: s.env)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let view = try AWSEndToEndTests.json(inspect.stdout)
        #expect(view["inQueue"] == .number("1"))
        #expect(view["inNoLog"] == .number("0"))
        let left = try #require(try Self.messages(view)[poisonId])
        #expect(left["inLog"] == .bool(true))
        let attempts = try #require(left["history"]?.objectValue?["attempts"]?.arrayValue)
        #expect(attempts.count == 1)
        #expect(attempts.first?.objectValue?["trigger"] == .string("redrive"))
        #expect(
            left["history"]?.objectValue?["receives"]?.arrayValue?.first?.objectValue?["source"] == .string(s.dlqUrl))
    }

    @Test("redrive --from-queue usage: messages chosen by id or --all, never by fingerprint; --limit only with it")
    func fromQueueUsage() throws {
        let fingerprint = try CLI.run(
            ["redrive", "--from-queue", "OrderDLQ", "--fingerprint", "order.not_json:Message"])
        #expect(fingerprint.status == 64)
        #expect(fingerprint.stderr.contains("--fingerprint does not go with --from-queue"))
        let local = try CLI.run(["redrive", "--from-queue", "OrderDLQ", "--all"])
        #expect(local.status == 64)
        #expect(local.stderr.contains("without --target dynamodb --table Orders its order would never reach the table"))
        let none = try CLI.run(["redrive", "--from-queue", "OrderDLQ"])
        #expect(none.status == 64)
        #expect(none.stderr.contains("choose messages: --message-id ID, --fingerprint CODE:FIELD or --all"))
        let limit = try CLI.run(["redrive", "--all", "--limit", "5"])
        #expect(limit.status == 64)
        #expect(limit.stderr.contains("--limit goes with --from-queue"))
    }
}
