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

/// The other read commands over several logs, on the shipped sample split across three consumers' logs (the
/// poison message's three receives one in each, without SQS's receive counts for the third).
@Suite struct MergedReadCommandTests {
    /// The sample's lines 1–10 in a.db (c-a), line 11 in b.db (c-b), lines 12–13 in c.db (c-c); and the whole
    /// sample in one log.
    static func splitSample() throws -> (dir: URL, split: [String], single: String) {
        let dir = CLI.tempDir()
        let lines = try String(contentsOfFile: CLI.sample("order-traffic.jsonl"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 13)
        var split: [String] = []
        for (name, range) in [("a", 0..<10), ("b", 10..<11), ("c", 11..<13)] {
            let file = dir.appendingPathComponent("\(name).jsonl")
            try (lines[range].joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
            let db = dir.appendingPathComponent("logs/\(name).db")
            try FileManager.default.createDirectory(
                at: db.deletingLastPathComponent(), withIntermediateDirectories: true)
            let r = try CLI.run(["ingest", "--db", db.path, "--consumer-id", "c-\(name)", file.path])
            #expect(r.status == 0, "\(r.stderr)")
            split.append(db.path)
        }
        let single = dir.appendingPathComponent("single.db").path
        #expect(try CLI.run(["ingest", "--db", single, CLI.sample("order-traffic.jsonl")]).status == 0)
        return (dir, split, single)
    }

    static func digest(_ args: [String]) throws -> String {
        let r = try CLI.run(args + ["--json"])
        #expect(r.status == 0, "\(args): \(r.stderr)")
        return try #require(try JSONParser.parse(r.stdout).objectValue?["digest"]?.stringValue)
    }

    @Test("replay over 3 logs gives the single log's digest; export, orders, reproject --into and report read them as one")
    func mergedReaders() throws {
        let (dir, split, single) = try Self.splitSample()
        let dbArgs = split.flatMap { ["--db", $0] }
        let one = try Self.digest(["replay", "--db", single])
        #expect(try Self.digest(["replay"] + dbArgs) == one)
        #expect(try Self.digest(["replay", "--db", dir.appendingPathComponent("logs").path]) == one)
        let into = dir.appendingPathComponent("all.db").path
        #expect(try Self.digest(["reproject"] + dbArgs + ["--into", into]) == one)
        #expect(try CLI.run(["reproject"] + dbArgs).status == 64, "several logs without --into")

        let orders = try CLI.run(["orders"] + dbArgs + ["--json"])
        #expect(try JSONParser.parse(orders.stdout).arrayValue?.count == 3, "\(orders.stdout)\(orders.stderr)")
        let export = try CLI.run(["export"] + dbArgs)
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.split(separator: "\n").count == 13)
        // The poison message is dead-lettered on the merged receives: each log holds one of its three.
        let replay = try AWSEndToEndTests.json(try CLI.run(["replay"] + dbArgs + ["--json"]).stdout)
        #expect(replay["counts"]?.objectValue?["deadLettered"] == .number("1"))
        let html = dir.appendingPathComponent("r.html").path
        let report = try CLI.run(["report"] + dbArgs + ["--out", html])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("3 of 3 orders"), "\(report.stdout)")

        // A broken log is not read: exit 1, named.
        try AuditCLI.sqlite(
            split[1], "DROP TRIGGER receives_no_update; UPDATE receives SET body = CAST('{}' AS BLOB) WHERE seq = 2")
        let refused = try CLI.run(["replay"] + dbArgs)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains(split[1]), "\(refused.stderr)")
        #expect(try CLI.run(["redrive", "--all", "--dry-run"] + dbArgs).status == 64, "redrive writes one log")
    }

    @Test("seal then replay --verdict: the same verdicts, counts and digest as the log before the seal")
    func sealedReplayEqualsUnsealed() throws {
        let dir = CLI.tempDir()
        let tour = dir.appendingPathComponent("tour.db").path
        #expect(try CLI.run(["ingest", "--db", tour, CLI.sample("order-traffic.jsonl")]).status == 0)
        let ts = dir.appendingPathComponent("ts.db").path
        try FileManager.default.copyItem(atPath: tour, toPath: ts)
        let before = try CLI.run(["replay", "--db", ts, "--verdict"])
        #expect(before.status == 0, "\(before.stdout)\(before.stderr)")
        let beforeJSON = try CLI.run(["replay", "--db", ts, "--json"]).stdout
        let seal = try CLI.run(["seal", "--db", ts])
        #expect(seal.status == 0, "\(seal.stderr)")
        let after = try CLI.run(["replay", "--db", ts, "--verdict"])
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        #expect(after.stdout == before.stdout)
        let a = try AWSEndToEndTests.json(beforeJSON)
        let b = try AWSEndToEndTests.json(try CLI.run(["replay", "--db", ts, "--json"]).stdout)
        #expect(b["counts"] == a["counts"])
        #expect(b["digest"] == a["digest"])
    }

    @Test("the same log given twice (a copy, a symlink) is read once, said on stderr; not reported as damage")
    func sameLogTwice() throws {
        let (dir, split, _) = try Self.splitSample()
        let copy = dir.appendingPathComponent("copy-of-a.db").path
        try FileManager.default.copyItem(atPath: split[0], toPath: copy)
        let link = dir.appendingPathComponent("link-to-a.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: split[0])
        for twice in [copy, link] {
            let v = try CLI.run(["verify", "--db", split[0], "--db", twice])
            #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
            #expect(!v.stdout.contains("two logs with one consumer id"), "\(v.stdout)")
            #expect(v.stderr.contains("read once"), "\(v.stderr)")
        }
        let v = try CLI.run(["verify", "--db", split[0], "--db", copy])
        #expect(v.stderr.contains("a.db and copy-of-a.db hold the same records (consumer c-a, seq 1–"), "\(v.stderr)")
        let dbArgs = split.flatMap { ["--db", $0] }
        let once = try CLI.run(["inspect-dlq"] + dbArgs)
        let withCopy = try CLI.run(["inspect-dlq"] + dbArgs + ["--db", copy])
        #expect(withCopy.status == once.status)
        // The same report (the hints echo the --db given, the copy among them).
        #expect(withCopy.stdout.replacingOccurrences(of: " --db \(copy)", with: "") == once.stdout, "every receive once")
        #expect(try Self.digest(["replay"] + dbArgs + ["--db", copy]) == Self.digest(["replay"] + dbArgs))

        // Another log claiming c-a with other records stays an error.
        let other = dir.appendingPathComponent("other.db").path
        let lines = try String(contentsOfFile: CLI.sample("order-traffic.jsonl"), encoding: .utf8)
        let one = dir.appendingPathComponent("one.jsonl")
        try (String(lines.split(separator: "\n")[12]) + "\n").write(to: one, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["ingest", "--db", other, "--consumer-id", "c-a", one.path]).status == 0)
        let broken = try CLI.run(["verify", "--db", split[0], "--db", other])
        #expect(broken.status == 1, "\(broken.stdout)")
        #expect(broken.stdout.contains("two logs with one consumer id"), "\(broken.stdout)")
    }
}

/// How `ingest` and `consume` name the consumer in the log.
@Suite struct ConsumerIdentityCLITests {
    @Test("on ECS the consumer id is the host name and the task id from the task metadata endpoint; rerun keeps it")
    func ecsTaskMetadata() throws {
        let server = try LoopbackHTTPServer { request in
            request.path == "/v4/abc123-4567/task"
                ? .json(#"{"Cluster":"prod","TaskARN":"arn:aws:ecs:us-east-1:111122223333:task/prod/f00d42"}"#)
                : .text("not found", status: 404)
        }
        defer { server.stop() }
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("ecs.db").path
        let env = [
            "ECS_CONTAINER_METADATA_URI_V4": server.endpoint.absoluteString + "/v4/abc123-4567", "POD_NAME": "",
        ]
        for _ in 0..<2 {
            let r = try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")], env: env)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let v = try AWSEndToEndTests.json(try CLI.run(["verify", "--db", db, "--json"]).stdout)
        let consumers = v["consumers"]?.arrayValue ?? []
        #expect(consumers.count == 1, "the same identity is recorded once")
        let id = try #require(consumers.first?.objectValue?["consumerId"]?.stringValue)
        #expect(id == ConsumerIdentity.localHostName() + "/f00d42")
        #expect(consumers.first?.objectValue?["queue"]?.stringValue == CLI.sample("order-traffic.jsonl"))
        // --consumer-id wins, and a changed identity is recorded again.
        let r = try CLI.run(["ingest", "--db", db, "--consumer-id", "mine", CLI.sample("order-traffic.jsonl")], env: env)
        #expect(r.status == 0)
        let again = try AWSEndToEndTests.json(try CLI.run(["verify", "--db", db, "--json"]).stdout)
        #expect(again["ok"] == .bool(true))
        #expect(
            again["consumers"]?.arrayValue?.compactMap { $0.objectValue?["consumerId"]?.stringValue } == [id, "mine"])
    }
}
