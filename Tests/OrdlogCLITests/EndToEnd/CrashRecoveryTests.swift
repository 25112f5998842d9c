import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

/// SIGKILL during ingest, then rerun: nothing appended is lost, nothing is projected twice.
@Suite struct CrashRecoveryTests {
    /// Writes `count` SNS-enveloped order messages as JSON Lines; 4 status updates per order.
    func writeTraffic(_ url: URL, count: Int) throws {
        var text = ""
        text.reserveCapacity(count * 500)
        let statuses = ["PENDING", "PAID", "SHIPPED", "DELIVERED"]
        for i in 0..<count {
            let order = JSONWriter.string(
                .object(
                    JSONObject([
                        ("orderId", .string("ord-\(i / 4)")), ("userId", .string("user-\(i % 97)")),
                        ("itemName", .string("Item \(i)")),
                        ("quantity", .number(String(i % 9 + 1))), ("status", .string(statuses[i % 4])),
                        ("timestamp", .string(RFC3339.format(milliseconds: 1_767_261_600_000 + Int64(i) * 1000))),
                    ])))
            let envelope = JSONWriter.string(
                .object(
                    JSONObject([
                        ("Type", .string("Notification")), ("MessageId", .string("sns-\(i)")),
                        ("TopicArn", .string("arn:aws:sns:us-east-1:123456789012:OrderTopic")),
                        ("Message", .string(order)),
                    ])))
            text +=
                JSONWriter.string(
                    .object(
                        JSONObject([
                            ("MessageId", .string("msg-\(i)")), ("ReceiptHandle", .string("rh-\(i)")),
                            ("Body", .string(envelope)),
                            ("Attributes", .object(JSONObject([("ApproximateReceiveCount", .string("1"))]))),
                        ]))) + "\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("kill -9 mid-file, rerun: every message logged once, processed once, projected exactly")
    func killAndRerun() throws {
        let dir = CLI.tempDir()
        let traffic = dir.appendingPathComponent("traffic.jsonl")
        let total = 40_000
        try writeTraffic(traffic, count: total)
        let db = dir.appendingPathComponent("crash.db").path

        let p = try CLI.start(["ingest", "--db", db, traffic.path], stdout: .discarded, stderr: .discarded)
        // Wait until some batches have committed, then SIGKILL.
        var committed: Int64 = 0
        waitUntilBlocking(60, "2,000 receives committed", every: 0.05) {
            if let c = try? SQLiteConnection(path: db, readOnly: true),
                let n = try? c.scalarInt("SELECT count(*) FROM receives"), n >= 2_000
            {
                committed = n
            }
            return committed > 0
        }
        p.signal(SIGKILL)
        #expect(try p.wait(timeout: 30).reason == .uncaughtSignal)
        #expect(committed >= 2_000)

        let log = try EventLog(path: db)
        let before = try #require(try log.db.scalarInt("SELECT count(*) FROM receives"))
        #expect(before < Int64(total), "the kill came too late to test anything")
        #expect(try log.db.scalarInt("SELECT count(*) FROM attempts") == before)  // batches are atomic

        let rerun = try CLI.run(["ingest", "--db", db, "--json", traffic.path])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let s = try #require(
            try JSONParser.parse(rerun.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
        #expect(s["received"] == .number(String(total)))
        #expect(s["alreadyLogged"] == .number(String(before)))
        #expect(s["appended"] == .number(String(Int64(total) - before)))

        #expect(try log.db.scalarInt("SELECT count(*) FROM receives") == Int64(total))
        #expect(try log.db.scalarInt("SELECT count(*) FROM attempts") == Int64(total))
        #expect(
            try log.db.scalarInt(
                "SELECT count(*) FROM (SELECT receive_seq FROM attempts GROUP BY receive_seq HAVING count(*) > 1)") == 0
        )
        #expect(try log.db.scalarInt("SELECT count(*) FROM attempts WHERE outcome != 'projected'") == 0)
        let orders = try LocalProjection(db: log.db).orders()
        #expect(orders.count == total / 4)
        #expect(orders.allSatisfy { $0.item.status == "DELIVERED" })
        #expect(orders.first { $0.item.orderId == "ord-7" }?.item.itemName == "Item 31")
    }

    @Test("Ctrl-C mid-file (two-stage ingest): the batch being written is finished, exit 130, no hang; a rerun resumes")
    func interruptAndRerun() throws {
        let dir = CLI.tempDir()
        let traffic = dir.appendingPathComponent("traffic.jsonl")
        let total = 40_000
        try writeTraffic(traffic, count: total)
        let db = dir.appendingPathComponent("int.db").path
        let p = try CLI.start(["ingest", "--db", db, "--batch-size", "500", traffic.path], stdout: .discarded)
        waitUntilBlocking(60, "2,000 attempts committed", every: 0.05) {
            guard let c = try? SQLiteConnection(path: db, readOnly: true),
                let n = try? c.scalarInt("SELECT count(*) FROM attempts")
            else { return false }
            return n >= 2_000
        }
        let sent = Date()
        p.signal(SIGINT)
        let end = try p.wait(timeout: 60)
        #expect(Date().timeIntervalSince(sent) < 20)
        #expect(end.status == 130)
        let stderr = p.stderr
        #expect(stderr.contains("interrupted after"), "\(stderr)")
        let log = try EventLog(path: db)
        let before = try #require(try log.db.scalarInt("SELECT count(*) FROM receives"))
        #expect(before < Int64(total), "the interrupt came too late to test anything")
        #expect(before % 500 == 0)  // whole batches only
        #expect(try log.db.scalarInt("SELECT count(*) FROM attempts") == before)
        let rerun = try CLI.run(["ingest", "--db", db, "--json", traffic.path])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let s = try #require(
            try JSONParser.parse(rerun.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
        #expect(s["alreadyLogged"] == .number(String(before)))
        #expect(s["appended"] == .number(String(Int64(total) - before)))
        #expect(try log.db.scalarInt("SELECT count(*) FROM attempts") == Int64(total))
        #expect(try Verifier.verify(log).ok)
    }
}
