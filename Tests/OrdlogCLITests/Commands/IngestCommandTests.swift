import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

@Suite struct IngestCommandTests {
    @Test("ingest of the shipped sample prints the summary, names inspect-dlq for the dead-lettered one, exits 0")
    func ingestSample() throws {
        let db = CLI.tempDir().appendingPathComponent("o.db").path
        let r = try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")])
        #expect(r.status == 0, "\(r.stderr)")  // the job was done; the dead-lettered message is an outcome
        #expect(
            r.stdout.contains(
                "1 message was dead-lettered, kept with every attempt: `ordlog inspect-dlq --db \(db)` shows why."))
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines[1].split(separator: " ", omittingEmptySubsequences: true) == [
                "received", "appended", "already-logged", "projected", "duplicate", "stale", "rejected", "failed",
                "dead-lettered",
            ])
        #expect(
            lines[2].split(separator: " ", omittingEmptySubsequences: true) == [
                "13", "13", "0", "6", "2", "1", "4", "0", "1",
            ])

        let again = try CLI.run(["ingest", "--db", db, "--json", CLI.sample("order-traffic.jsonl")])
        #expect(again.status == 0)
        let json = try #require(
            try JSONParser.parse(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
        #expect(json["alreadyLogged"] == .number("13"))
        #expect(json["appended"] == .number("0"))
        #expect(json["projected"] == .number("0"))

        let orders = try CLI.run(["orders", "--db", db, "--json"])
        let items = try #require(
            try JSONParser.parse(orders.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).arrayValue)
        #expect(items.count == 3)
        #expect(items[0].objectValue?["status"] == .string("DELIVERED"))
        #expect(items[1].objectValue?["itemName"] == .string("Café crème – 東京 🍣"))

        let one = try CLI.run(["orders", "--db", db, "ord-2003"])
        #expect(one.stdout.contains("ord-2003  user-23  Grinder   1         PAID"))
        let missing = try CLI.run(["orders", "--db", db, "ord-nope"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("order ord-nope is not in the projection"))
        #expect(missing.stderr.contains("`ordlog history --db \(db) ord-nope`"))  // a hint that runs as printed
        let missingJSON = try CLI.run(["orders", "--db", db, "--json", "ord-nope"])
        #expect(missingJSON.status == 2)
        #expect(missingJSON.stdout == "null\n")  // still parseable for a script

        let history = try CLI.run(["history", "--db", db, "ord-2004"])
        #expect(history.status == 0)
        #expect(history.stdout.contains("rejected (dead-lettered)"))
        #expect(
            history.stdout.contains(
                #"permanent error order.field_invalid:quantity: order field quantity is the string "two""#))
    }

    @Test("--exit-code: 3 for dead-lettered messages, 4 for entries that are not SQS messages (before 3)")
    func exitCodeFlag() throws {
        let dir = CLI.tempDir()
        let dead = try CLI.run([
            "ingest", "--db", dir.appendingPathComponent("a.db").path, "--exit-code", CLI.sample("order-traffic.jsonl"),
        ])
        #expect(dead.status == 3, "\(dead.stderr)")
        #expect(dead.stdout.contains("shows why (exit status 3)."))
        let entries = try CLI.run([
            "ingest", "--db", dir.appendingPathComponent("b.db").path, CLI.sample("bad-input.jsonl"),
        ])
        #expect(entries.status == 0, "\(entries.stderr)")  // logged and rejected: the job was done
        #expect(entries.stderr.contains("3 input entries read were not SQS messages"))
        let both = try CLI.run([
            "ingest", "--db", dir.appendingPathComponent("c.db").path, "--exit-code", CLI.sample("order-traffic.jsonl"),
            CLI.sample("bad-input.jsonl"),
        ])
        #expect(both.status == 4, "\(both.stderr)")
        // Rerun: nothing new is dead-lettered in this run, and the entries were already logged.
        let again = try CLI.run([
            "ingest", "--db", dir.appendingPathComponent("a.db").path, "--exit-code", CLI.sample("order-traffic.jsonl"),
        ])
        #expect(again.status == 0, "\(again.stderr)")
        let help = try CLI.run(["ingest", "--help"])
        #expect(help.stdout.contains("--exit-code"))
    }

    @Test("exit codes: 4 for bad input files, 64 for usage errors, ORDLOG_DB honoured")
    func exitCodes() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("env.db").path
        let bad = try CLI.run(["ingest", "/nonexistent.json", CLI.sample("bad-input.jsonl")], env: ["ORDLOG_DB": db])
        #expect(bad.status == 4)  // a file that cannot be read: the job failed, --exit-code or not
        #expect(bad.stderr.contains("/nonexistent.json: no such file"))
        #expect(FileManager.default.fileExists(atPath: db))
        let notTraffic = dir.appendingPathComponent("not-traffic.json")
        try Data(#"{"batchItemFailures":[]}"#.utf8).write(to: notTraffic)
        let refused = try CLI.run(["ingest", "--db", db, notTraffic.path])
        #expect(refused.status == 4, "\(refused.stderr)")
        let region = try CLI.run(
            ["setup", "--region", "us east!"], env: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        #expect(region.status == 64)  // a malformed flag, no AWS call made
        #expect(region.stderr.contains("Invalid AWS region 'us east!' from --region"))
        let usage = try CLI.run(["ingest", "--max-receive-count", "0", "x"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--max-receive-count must be 1…1000"))
        let notADB = dir.appendingPathComponent("junk.db")
        try Data(
            "this is not sqlite, just text that is long enough to be a header......................................................"
                .utf8
        ).write(to: notADB)
        let storage = try CLI.run(["orders", "--db", notADB.path])
        #expect(storage.status == 70)
        #expect(storage.stderr.contains("cannot open event log"))
        let foreign = dir.appendingPathComponent("foreign.db").path
        #expect(try ProcessRunner.sqlite3(foreign, "CREATE TABLE x(a)").status == 0)
        let neither = try CLI.run(["orders", "--db", foreign])
        #expect(neither.status == 70)
        #expect(neither.stderr.contains("\(foreign) is neither an ordlog event log nor a projection"), "\(neither.stderr)")
        // A log level that is not one is a usage error, from the flag or the environment, not silently "warning".
        let loud = try CLI.run(["orders", "--db", db], env: ["LOG_LEVEL": "loud"])
        #expect(loud.status == 64)
        #expect(loud.stderr.contains(#"LOG_LEVEL "loud" is not a log level"#), "\(loud.stderr)")
        let flag = try CLI.run(["orders", "--db", db, "--log-level", "chatty"])
        #expect(flag.status == 64)
        #expect(flag.stderr.contains(#"--log-level "chatty" is not a log level"#), "\(flag.stderr)")
        #expect(try CLI.run(["orders", "--db", db], env: ["LOG_LEVEL": "DEBUG"]).status == 0)
    }

    @Test("a file that is not recorded traffic (a log given by mistake, an executable, random bytes) is refused whole: exit 4, nothing appended")
    func notTrafficIsRefusedWhole() throws {
        let dir = CLI.tempDir()
        let log = dir.appendingPathComponent("log.db").path
        #expect(try CLI.run(["ingest", "--db", log, CLI.sample("order-traffic.jsonl")]).status == 0)
        var random = SystemRandomNumberGenerator()
        let noise = dir.appendingPathComponent("noise.bin")
        // Starts with a byte that cannot begin JSON, then random bytes with newlines and braces among them.
        try Data([0x87] + (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: noise)
        for (input, starts) in [(log, #""S""#), (noise.path, "a byte 0x87")] {
            let target = dir.appendingPathComponent("target-\(UUID().uuidString).db").path
            let r = try CLI.run(["ingest", "--db", target, input])
            #expect(r.status == 4, "\(input): \(r.stderr)")
            #expect(r.stderr.contains("\(input):1: not recorded traffic: it starts with \(starts)"), "\(r.stderr)")
            #expect(r.stdout.isEmpty, "no summary table when nothing was read: \(r.stdout)")
            if FileManager.default.fileExists(atPath: target) {
                let count = try ProcessRunner.sqlite3(target, "SELECT count(*) FROM receives")
                #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "nothing appended")
            }
        }
        // A JSON Lines file whose first line is broken JSON is still traffic: its bad lines are logged as input errors.
        let bad = try CLI.run(["ingest", "--db", dir.appendingPathComponent("bad.db").path, CLI.sample("bad-input.jsonl")])
        #expect(bad.status == 0, "\(bad.stderr)")
        #expect(bad.stderr.contains("were not SQS messages"))
    }

    @Test("ingest reads standard input")
    func stdin() throws {
        let db = CLI.tempDir().appendingPathComponent("s.db").path
        let data = try Data(contentsOf: URL(fileURLWithPath: CLI.sample("order-traffic.jsonl")))
        let r = try CLI.run(["ingest", "--db", db, "--json", "-"], stdin: data)
        #expect(r.stdout.contains(#""received":13"#))
        #expect(r.stdout.contains(#""file":"<stdin>","format":"json-lines""#))
    }

    @Test("ingest - processes input as it arrives; Ctrl-C while waiting for more stops at once (exit 130)")
    func liveStdin() throws {
        let db = CLI.tempDir().appendingPathComponent("live.db").path
        let p = try CLI.start(["ingest", "--db", db, "-"], stdin: .open, stdout: .discarded)
        p.write(stdin: try Data(contentsOf: URL(fileURLWithPath: CLI.sample("order-traffic.jsonl"))))
        // The pipe stays open: the 13 messages must be logged without waiting for the end of input.
        var logged: Int64 = 0
        waitUntilBlocking(20, "13 attempts logged (\(logged))", every: 0.1) {
            logged = (try? SQLiteConnection(path: db, readOnly: true).scalarInt("SELECT count(*) FROM attempts")) ?? 0
            return logged >= 13
        }
        #expect(logged == 13)
        let sent = Date()
        p.signal(SIGINT)
        let end = try p.wait(timeout: 30)
        #expect(Date().timeIntervalSince(sent) < 3)
        #expect(end.status == 130)
        #expect(p.stderr.contains("interrupted while waiting for input"))
        p.closeStdin()
    }

    @Test("an ingest that appends nothing (missing file, empty file, a directory) leaves the log's head as it was")
    func refusedIngestWritesNothing() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("refused.db").path
        #expect(try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")]).status == 0)
        let head = try CLI.run(["head", "--db", db]).stdout
        let empty = dir.appendingPathComponent("empty.jsonl").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        for input in [dir.appendingPathComponent("missing.jsonl").path, empty, dir.path] {
            let r = try CLI.run(["ingest", "--db", db, input])
            #expect(r.status == 4, "\(input): \(r.stderr)")
            #expect(try CLI.run(["head", "--db", db]).stdout == head, "\(input) changed the log")
        }
    }

    @Test("help texts carry examples and the exit codes")
    func help() throws {
        let root = try CLI.run(["--help"])
        #expect(root.stdout.contains("ingest"))
        #expect(root.stdout.contains("Exit codes:"))
        let ingest = try CLI.run(["ingest", "--help"])
        #expect(ingest.stdout.contains("ordlog ingest samples/order-traffic.jsonl"))
        #expect(ingest.stdout.contains("--max-receive-count"))
    }
}

/// One writer per log: a second writing process is refused (exit 70) while the first runs, readers are not.
@Suite struct WriterLockCLITests {
    @Test("a second writer is refused with exit 70 while `ingest -` holds the log; readers are not; after it, a writer runs")
    func secondWriterRefused() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("at2.db").path
        let seed = try CLI.run(["ingest", "--db", db, "--consumer-id", "A", CLI.sample("order-traffic.jsonl")])
        #expect(seed.status == 0, "\(seed.stderr)")
        // Writer A: ingest from a stdin that stays open, so it holds the log until we close it.
        let p = try CLI.start(
            ["ingest", "--db", db, "--consumer-id", "A", "-"], stdin: .open, stdout: .discarded, stderr: .discarded)
        // It has the lock once its pid is in the lock file.
        let lockFile = db + "-writer.lock"
        waitUntilBlocking(20, "writer A's pid in \(lockFile)", every: 0.05) {
            (try? String(contentsOfFile: lockFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                == String(p.pid)
        }
        for args in [
            ["ingest", "--db", db, "--consumer-id", "B", CLI.sample("order-traffic.jsonl")],
            ["seal", "--db", db],
            ["redrive", "--db", db, "--all"],
            ["reproject", "--db", db],
            // A consumer is refused before it calls SQS (nothing listens at this address).
            ["consume", "--db", db, "--queue-url", "http://127.0.0.1:9/000000000000/q", "--local-only"],
        ] {
            let second = try CLI.run(args)
            #expect(second.status == 70, "\(args): \(second.stdout) \(second.stderr)")
            #expect(
                second.stderr.contains(
                    "\(db) is being written by another ordlog process (pid \(p.pid)); one writer per "
                        + "log: give each consumer its own --db"), "\(args): \(second.stderr)")
        }
        // Readers are not blocked.
        let verify = try CLI.run(["verify", "--db", db])
        #expect(verify.status == 0, "\(verify.stderr)")
        p.write(stdin: try Data(contentsOf: URL(fileURLWithPath: CLI.sample("order-traffic.jsonl"))))
        p.closeStdin()
        #expect(try p.wait(timeout: 60).status == 0)
        // The lock went with the process: the next writer runs.
        let after = try CLI.run(["ingest", "--db", db, "--consumer-id", "A", CLI.sample("order-traffic.jsonl")])
        #expect(after.status == 0, "\(after.stderr)")
    }
}
