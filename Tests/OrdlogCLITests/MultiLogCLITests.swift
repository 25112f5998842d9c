import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// Issue 11's "done when" for part A, against moto_server: three `ordlog consume` processes, each with its own log
/// and --consumer-id, on one queue; the poison message's three receives land one in each log; the read commands
/// take the three logs as one.
@Suite(.serialized, .motoServer()) struct MultiLogCLITests {
    static let poison =
        #"{"orderId":"ord-poison","userId":"u-0","itemName":"Kettle","quantity":"two","status":"PAID","timestamp":"2026-01-01T10:00:00Z"}"#

    static func receiveCounts(_ receives: JSONValue?) -> [String] {
        (receives?.arrayValue ?? []).compactMap { r -> String? in
            guard case .number(let n)? = r.objectValue?["receiveCount"] else { return nil }
            return n
        }
    }

    @Test(
        "inspect-dlq, history and verify over 3 consumers' logs: the poison message with its 3 receives and who saw each; verify fails naming an edited log"
    )
    func threeConsumersOneAudit() async throws {
        let server = try MotoContext.current()
        let env = AWSEndToEndTests.env(server)
        let dir = CLI.tempDir()
        let setup = try CLI.run(["setup", "--json"], env: env)
        #expect(setup.status == 0, "\(setup.stderr)")
        let orders = (1...3).map { i in
            OrderItem(
                orderId: "ord-\(i)", userId: "u-\(i)", itemName: "Widget", quantity: 1, status: "PAID",
                timestamp: "2026-01-01T10:0\(i):00.000Z"
            ).json
        }
        try MultiConsumerTests.publishWithBoto3([Self.poison] + orders, server: server, dir: dir)

        let dbs = ["a", "b", "c"].map { dir.appendingPathComponent("consumer-\($0).db").path }
        // c-a takes everything and fails the poison message, which comes back 4 s later; c-b and c-c each wait
        // for it (long poll) and take one message: SQS's receives 2 and 3, the third dead-lettered.
        for (i, db) in dbs.enumerated() {
            let consumer = "c-\(["a", "b", "c"][i])"
            var args = [
                "consume", "--db", db, "--consumer-id", consumer, "--queue", "OrderQueue", "--until-empty",
                "--concurrency", "1", "--failed-visibility-timeout", "4", "--json",
            ]
            args += i == 0 ? ["--wait-time", "1"] : ["--wait-time", "10", "--max-messages", "1"]
            let r = try CLI.run(args, env: env)
            #expect([0, 3].contains(r.status), "\(consumer): \(r.stderr)")
        }
        let dbArgs = dbs.flatMap { ["--db", $0] }

        // inspect-dlq: one dead-lettered message with all 3 receives, each with its consumer.
        let dlq = try CLI.run(["inspect-dlq"] + dbArgs + ["--json"], env: env)
        #expect(dlq.status == 0, "\(dlq.stderr)")
        let report = try AWSEndToEndTests.json(dlq.stdout)
        #expect(report["deadLettered"] == .number("1"))
        let message = try #require(report["groups"]?.arrayValue?.first?.objectValue?["messages"]?.arrayValue?.first)
        let m = try #require(message.objectValue)
        #expect(m["orderId"] == .string("ord-poison"))
        #expect(m["consumers"] == .array([.string("c-a"), .string("c-b"), .string("c-c")]))
        #expect(Self.receiveCounts(m["receives"]) == ["1", "2", "3"])
        #expect(m["receives"]?.arrayValue?.compactMap { $0.objectValue?["consumer"]?.stringValue } == ["c-a", "c-b", "c-c"])
        #expect(m["outcomes"] == .string("rejected at c-a, rejected at c-b, rejected (dead-lettered) at c-c"))
        let messageId = try #require(m["messageId"]?.stringValue)
        let detail = try CLI.run(["inspect-dlq"] + dbArgs + [messageId], env: env)
        #expect(detail.status == 0, "\(detail.stderr)")
        #expect(detail.stdout.contains("DEAD-LETTERED"))
        #expect(detail.stdout.contains("Receives (3)") && detail.stdout.contains("Attempts (3)"), "\(detail.stdout)")
        for consumer in ["c-a", "c-b", "c-c"] {
            #expect(detail.stdout.contains("\n\(consumer) "), "no receive row for \(consumer):\n\(detail.stdout)")
        }
        // Each log alone holds one receive, and only c-c's says dead-lettered.
        let one = try AWSEndToEndTests.json(try CLI.run(["inspect-dlq", "--db", dbs[0], "--json"], env: env).stdout)
        #expect(one["deadLettered"] == .number("0"))

        // history of the poison order merges the three consumers' records.
        let history = try CLI.run(["history"] + dbArgs + ["ord-poison", "--json"], env: env)
        #expect(history.status == 0, "\(history.stderr)")
        let records = try #require(try JSONParser.parse(history.stdout).arrayValue)
        #expect(
            records.map { "\($0.objectValue?["consumer"]?.stringValue ?? "?") \($0.objectValue?["type"]?.stringValue ?? "?")" }
                == ["c-a receive", "c-a attempt", "c-b receive", "c-b attempt", "c-c receive", "c-c attempt"])
        let text = try CLI.run(["history", "--db", dir.path, "ord-poison"], env: env)  // a folder: the 3 logs
        #expect(text.stdout.contains("from 3 logs, consumers c-a, c-b, c-c"), "\(text.stdout)")
        #expect(text.stdout.contains("rejected at c-a, rejected at c-b, rejected (dead-lettered) at c-c"))

        // verify: the 3 logs pass (also as a glob); one edited log fails, named.
        let ok = try CLI.run(["verify"] + dbArgs, env: env)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("OK: 3 logs of 3 consumers"), "\(ok.stdout)")
        #expect(try CLI.run(["verify", "--db", dir.path + "/consumer-*.db"], env: env).status == 0)
        let single = try CLI.run(["verify", "--db", dbs[1]], env: env)
        #expect(single.stdout.contains("written by consumer c-b from seq 1"), "\(single.stdout)")
        for (i, db) in dbs.enumerated() {
            let copy = dir.appendingPathComponent("edited-\(i)")
            try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
            for d in dbs {
                let r = try ProcessRunner.sqlite3(d, ".backup '\(copy.appendingPathComponent(URL(fileURLWithPath: d).lastPathComponent).path)'")
                #expect(r.status == 0, "\(r.stderr)")
            }
            let target = copy.appendingPathComponent(URL(fileURLWithPath: db).lastPathComponent).path
            let edit = try ProcessRunner.sqlite3(
                target,
                "DROP TRIGGER attempts_no_update; UPDATE attempts SET outcome = 'projected' WHERE order_id = 'ord-poison'")
            #expect(edit.status == 0, "\(edit.stderr)")
            let broken = try CLI.run(["verify", "--db", copy.path], env: env)
            #expect(broken.status == 1, "editing \(db) went unnoticed: \(broken.stdout)")
            #expect(broken.stdout.contains("1 broken: \(target)"), "\(broken.stdout)")
        }
    }
}
