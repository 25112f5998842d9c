import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

/// The audit commands' tests: the built `ordlog` binary on a log built from the fixtures.
enum AuditCLI {
    static var packageRoot: URL { TestFixtures.packageRoot }

    typealias Result = ProcessResult

    static func run(_ args: [String], env: [String: String] = [:]) throws -> Result { try CLI.run(args, env: env) }

    static func tempDir() -> String { CLI.tempDir().path }

    static func sqlite(_ db: String, _ sql: String) throws {
        let r = try ProcessRunner.sqlite3(db, sql)
        #expect(r.status == 0, "sqlite3 failed: \(sql): \(r.stderr)")
    }

    /// A log built from the sample log's files (``TestFixtures/sampleLogFiles()``) and the project's bad input.
    static func sampleLog() throws -> String {
        let db = tempDir() + "/ordlog.db"
        let files = try TestFixtures.sampleLogFiles() + [TestFixtures.sample("bad-input.jsonl")]
        let r = try run(["ingest", "--db", db] + files)
        #expect(r.status == 0, "ingest: \(r.stderr)")  // bad-input.jsonl's entries are logged and rejected
        return db
    }

    static func json(_ text: String) throws -> JSONObject {
        try #require(try JSONParser.parse(text).objectValue)
    }
}

@Suite(.serialized) struct CLIReplayTests {
    @Test("reading never changes a log: the audit commands leave an old-version log and a current one byte for byte")
    func readingLeavesTheLogUnchanged() throws {
        let dir = AuditCLI.tempDir()
        let old = dir + "/old.db"
        try AuditCLI.sqlite(old, ".read '\(TestFixtures.sample("logs/quantities.processor-v1.sql"))'")
        let current = try AuditCLI.sampleLog()
        for db in [old, current] {
            let before = try Data(contentsOf: URL(fileURLWithPath: db))
            let reads: [[String]] = [
                ["verify"], ["history", db == old ? "ord-q1" : "ord-2001"], ["inspect-dlq"], ["replay"], ["export"],
                ["orders"], ["report", "--out", db + ".html"], ["reproject", "--into", db + ".projection"],
            ]
            for args in reads {
                let r = try AuditCLI.run(args + ["--db", db])
                #expect(r.status == 0, "\(args): \(r.stderr)")
                if db == old {
                    #expect(r.stderr.contains("was written by an older ordlog"), "\(args): \(r.stderr)")
                }
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before, "\(db) changed by reading it")
        }
        // A writer migrates the old log (and may change it); reading it afterwards says nothing of a copy.
        #expect(try AuditCLI.run(["ingest", "--db", old, TestFixtures.sample("order-traffic.jsonl")]).status == 0)
        let after = try AuditCLI.run(["verify", "--db", old])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(!after.stderr.contains("older ordlog"))
    }

    @Test func replayIsByteIdenticalUnderDifferentTimeZonesAndLocales() throws {
        let db = try AuditCLI.sampleLog()
        let dir = AuditCLI.tempDir()
        let a = try AuditCLI.run(
            ["replay", "--db", db, "--json", "--show-decisions", "--record-expect", dir + "/a.jsonl"],
            env: ["TZ": "Asia/Tokyo", "LANG": "tr_TR.UTF-8", "LC_ALL": "tr_TR.UTF-8"])
        let b = try AuditCLI.run(
            ["replay", "--db", db, "--json", "--show-decisions", "--record-expect", dir + "/b.jsonl"],
            env: ["TZ": "UTC", "LC_ALL": "C", "LANG": "C"])
        #expect(a.status == 0)
        #expect(b.status == 0)
        #expect(a.stdoutBytes == b.stdoutBytes)
        let ea = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.jsonl"))
        let eb = try Data(contentsOf: URL(fileURLWithPath: dir + "/b.jsonl"))
        #expect(ea == eb)
        #expect(ea.split(separator: 0x0A).count == 38)
        let o = try AuditCLI.json(a.stdout)
        #expect(o["counts"]?.objectValue?["replayed"] == .number("38"))
        let digest = try #require(o["digest"]?.stringValue)
        #expect(digest.count == 64)
        // Same digest as the live projection, which reproject reports.
        let live = try AuditCLI.json(try AuditCLI.run(["reproject", "--db", db, "--json"]).stdout)
        #expect(live["digest"]?.stringValue == digest)
        let tableA = try AuditCLI.run(
            ["replay", "--db", db, "--verdict"], env: ["TZ": "Asia/Tokyo", "LC_ALL": "tr_TR.UTF-8"])
        let tableB = try AuditCLI.run(["replay", "--db", db, "--verdict"], env: ["TZ": "UTC", "LC_ALL": "C"])
        #expect(tableA.stdout == tableB.stdout)
        #expect(tableA.stdout.contains("Verdict: all 38 decisions equal the recorded ones."))
    }

    @Test func theDefaultReplayWritesNoScratchFile() throws {
        let db = try AuditCLI.sampleLog()
        let dir = AuditCLI.tempDir()
        // TMPDIR names a plain file: any temporary file or directory would fail to be created.
        let notADirectory = dir + "/not-a-directory"
        #expect(FileManager.default.createFile(atPath: notADirectory, contents: Data("x".utf8)))
        let before = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        let r = try AuditCLI.run(["replay", "--db", db, "--verdict", "--json"], env: ["TMPDIR": notADirectory])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try AuditCLI.json(r.stdout)["verdict"]?.objectValue?["compared"] == .number("38"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == before)
        // --into still writes the SQLite projection, with the same digest.
        let into = dir + "/into.db"
        let i = try AuditCLI.run(["replay", "--db", db, "--json", "--into", into], env: ["TMPDIR": notADirectory])
        #expect(i.status == 0, "\(i.stderr)")
        #expect(FileManager.default.fileExists(atPath: into))
        #expect(try AuditCLI.json(i.stdout)["digest"] == (try AuditCLI.json(r.stdout)["digest"]))
    }

    @Test func changingOneRuleMakesTheVerdictNameExactlyTheChangedMessages() throws {
        let db = try AuditCLI.sampleLog()
        let same = try AuditCLI.run(["replay", "--db", db, "--verdict"])
        #expect(same.status == 0)
        let r = try AuditCLI.run(["replay", "--db", db, "--verdict", "--accept-numeric-strings", "--json"])
        #expect(r.status == 1)
        let o = try AuditCLI.json(r.stdout)
        let diffs = try #require(o["verdict"]?.objectValue?["differences"]?.arrayValue)
        let ids = Set(diffs.compactMap { $0.objectValue?["messageId"]?.stringValue })
        let quantityAsString = try TestFixtures.motoMessageId("03-quantity-as-string")
        #expect(ids == [quantityAsString, try TestFixtures.motoMessageId("03-quantity-as-string", rawDelivery: true)])
        for d in diffs {
            #expect(d.objectValue?["recorded"]?.objectValue?["outcome"] == .string("rejected"))
            #expect(d.objectValue?["recorded"]?.objectValue?["errorField"] == .string("quantity"))
            #expect(d.objectValue?["replayed"]?.objectValue?["outcome"] == .string("projected"))
            #expect(d.objectValue?["replayed"]?.objectValue?["item"]?.objectValue?["quantity"] == .number("2"))
        }
        #expect(o["processorVersion"] == .string("ordlog-processor/2 (acceptNumericStrings)"))
        let table = try AuditCLI.run(["replay", "--db", db, "--verdict", "--accept-numeric-strings"])
        #expect(table.status == 1)
        #expect(table.stdout.contains("Verdict: 2 of 38 decisions differ from the recorded ones:"))
        #expect(table.stdout.contains(quantityAsString))
    }

    @Test func trafficRegressionWorkflowRecordsAndComparesExpectations() throws {
        let dir = AuditCLI.tempDir()
        let traffic = AuditCLI.packageRoot.path + "/samples/order-traffic.jsonl"
        let rec = try AuditCLI.run(["replay", "--traffic", traffic, "--record-expect", dir + "/expect.jsonl"])
        #expect(rec.status == 0, "\(rec.stderr)")
        #expect(rec.stdout.contains("Replayed 13 receives from captured traffic"))
        let first = try String(contentsOfFile: dir + "/expect.jsonl", encoding: .utf8)
        #expect(first.split(separator: "\n").count == 13)
        #expect(
            first.hasPrefix(
                #"{"seq":1,"messageId":"6f1c2a9e-0001-4c1e-9d8a-000000000001","receiveCount":1,"outcome":"projected""#))
        let ok = try AuditCLI.run(["replay", "--traffic", traffic, "--expect", dir + "/expect.jsonl"])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("all decisions as expected"))
        let changed = try AuditCLI.run([
            "replay", "--traffic", traffic, "--expect", dir + "/expect.jsonl",
            "--max-receive-count", "2", "--json",
        ])
        #expect(changed.status == 1)
        let diffs = try #require(try AuditCLI.json(changed.stdout)["expect"]?.objectValue?["differences"]?.arrayValue)
        #expect(diffs.compactMap { $0.objectValue?["key"]?.stringValue } == ["6f1c2a9e-0010-4c1e-9d8a-000000000010#2"])
        // The log was never opened: no ordlog.db appeared in the working directory of the run.
        let bad = try AuditCLI.run(["replay", "--traffic", traffic, "--verdict"])
        #expect(bad.status == 64)
    }
}

@Suite(.serialized) struct CLIVerifyTests {
    static let dropTriggers = """
        DROP TRIGGER receives_no_update; DROP TRIGGER receives_no_delete;
        DROP TRIGGER attempts_no_update; DROP TRIGGER attempts_no_delete;
        """

    func verify(_ db: String, _ extra: [String] = []) throws -> (Int32, JSONObject) {
        let r = try AuditCLI.run(["verify", "--db", db, "--json"] + extra)
        return (r.status, try AuditCLI.json(r.stdout))
    }

    func problem(_ o: JSONObject) -> (Int64?, String?) {
        let p = o["problem"]?.objectValue
        return (p?["seq"].flatMap { if case .number(let n) = $0 { Int64(n) } else { nil } }, p?["kind"]?.stringValue)
    }

    @Test func intactLogVerifiesAndHeadMatches() throws {
        let db = try AuditCLI.sampleLog()
        let head = try AuditCLI.run(["head", "--db", db]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(head.hasPrefix("77:"))  // 76 receives and attempts after ingest's identity record (seq 1)
        let (status, o) = try verify(db, ["--head", head])
        #expect(status == 0)
        #expect(o["ok"] == .bool(true))
        #expect(o["verified"] == .number("77"))
        #expect(o["head"] == .string(head))
        let table = try AuditCLI.run(["verify", "--db", db])
        #expect(table.stdout.hasPrefix("OK: 77 records verified, head \(head)\n  written by consumer "))
        #expect(o["consumers"]?.arrayValue?.count == 1)
    }

    @Test func detectsAnEditedBody() throws {
        let db = try AuditCLI.sampleLog()
        try AuditCLI.sqlite(db, Self.dropTriggers + "UPDATE receives SET body = CAST('{}' AS BLOB) WHERE seq = 44;")
        let (status, o) = try verify(db)
        #expect(status == 1)
        #expect(problem(o) == (44, "edited"))
        let table = try AuditCLI.run(["verify", "--db", db])
        #expect(table.stdout.hasPrefix("BROKEN at seq 44: edited"))
    }

    @Test func detectsADeletedRow() throws {
        let db = try AuditCLI.sampleLog()
        // An attempt in the middle of the log (where attempts fall depends on ingest's transaction size).
        let seq = try #require(
            try SQLiteConnection(path: db, readOnly: true).scalarInt("SELECT min(seq) FROM attempts WHERE seq >= 54"))
        #expect(seq < 77)
        try AuditCLI.sqlite(db, Self.dropTriggers + "DELETE FROM attempts WHERE seq = \(seq);")
        let (status, o) = try verify(db)
        #expect(status == 1)
        #expect(problem(o) == (seq, "deleted"))
    }

    @Test func detectsTwoSwappedRows() throws {
        let db = try AuditCLI.sampleLog()
        try AuditCLI.sqlite(
            db,
            Self.dropTriggers + """
                UPDATE receives SET seq = -1 WHERE seq = 44; UPDATE receives SET seq = 44 WHERE seq = 45;
                UPDATE receives SET seq = 45 WHERE seq = -1;
                """)
        let (status, o) = try verify(db)
        #expect(status == 1)
        #expect(problem(o) == (44, "reordered"))
    }

    @Test func detectsAnInsertedRow() throws {
        let db = try AuditCLI.sampleLog()
        // A forged receive appended at seq 78, copied (hashes included) from receive 44 (seq 1 is ingest's identity record).
        try AuditCLI.sqlite(
            db,
            Self.dropTriggers + """
                INSERT INTO receives (seq, receive_key, message_id, receipt_handle, md5_of_body, md5_matches, body,
                  attributes, message_attributes, md5_of_message_attributes, receive_count, sent_timestamp, source,
                  input_error, received_at, prev_hash, hash)
                SELECT 78, 'forged', message_id, receipt_handle, md5_of_body, md5_matches, body, attributes,
                  message_attributes, md5_of_message_attributes, receive_count, sent_timestamp, source, input_error,
                  received_at, prev_hash, hash FROM receives WHERE seq = 44;
                """)
        let (status, o) = try verify(db)
        #expect(status == 1)
        #expect(problem(o) == (78, "inserted"))
        #expect(o["problem"]?.objectValue?["message"]?.stringValue?.contains("a copy of record 44") == true)
        // Inserted in the middle, renumbering the rest: the record after it verifies at its position.
        let db2 = try AuditCLI.sampleLog()
        try AuditCLI.sqlite(
            db2,
            Self.dropTriggers + """
                UPDATE receives SET seq = -seq WHERE seq >= 70; UPDATE attempts SET seq = -seq WHERE seq >= 70;
                UPDATE receives SET seq = 1 - seq WHERE seq < 0; UPDATE attempts SET seq = 1 - seq WHERE seq < 0;
                INSERT INTO receives (seq, receive_key, message_id, body, attributes, receive_count, source,
                  received_at, prev_hash, hash)
                VALUES (70, 'forged-key', 'forged', CAST('{}' AS BLOB), '{}', 1, 'forged', 0, zeroblob(32), zeroblob(32));
                """)
        let (status2, o2) = try verify(db2)
        #expect(status2 == 1)
        #expect(problem(o2) == (70, "inserted"))
    }

    @Test func headDetectsACutOffTail() throws {
        let db = try AuditCLI.sampleLog()
        let head = try AuditCLI.run(["head", "--db", db]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try AuditCLI.sqlite(
            db, Self.dropTriggers + "DELETE FROM attempts WHERE seq >= 73; DELETE FROM receives WHERE seq >= 73;")
        let (plain, _) = try verify(db)
        #expect(plain == 0)  // a chain alone cannot see its newest records removed
        let (status, o) = try verify(db, ["--head", head])
        #expect(status == 1)
        #expect(problem(o) == (73, "cut-off"))
        #expect(o["head"]?.stringValue?.hasPrefix("72:") == true)
    }
}

@Suite(.serialized) struct CLIReprojectTests {
    @Test func killedMidRunAndRerunEndsWithTheSameDigest() throws {
        let db = try AuditCLI.sampleLog()
        let whole = try AuditCLI.json(try AuditCLI.run(["reproject", "--db", db, "--json"]).stdout)
        let expected = try #require(whole["digest"]?.stringValue)

        let p = try CLI.start(
            ["reproject", "--db", db, "--batch-size", "10"], env: ["ORDLOG_TEST_PAUSE_AFTER_SEQ": "30"],
            stdout: .discarded)
        waitUntilBlocking(120, "reproject pausing at its checkpoint (stderr: \(p.stderr))") {
            p.stderr.contains("test pause at checkpoint") || !p.isRunning
        }
        #expect(p.stderr.contains("test pause at checkpoint 30"))
        p.signal(SIGKILL)
        #expect(try p.wait(timeout: 30).reason == .uncaughtSignal)

        let rerun = try AuditCLI.run(["reproject", "--db", db, "--json", "--batch-size", "10"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let o = try AuditCLI.json(rerun.stdout)
        #expect(o["resumedFrom"] == .number("30"))
        #expect(o["digest"]?.stringValue == expected)
        #expect(o["orders"] == .number("6"))
        let verify = try AuditCLI.run(["verify", "--db", db])
        #expect(verify.status == 0)
    }

    @Test func asOfNeedsIntoAndBuildsAHistoricalProjection() throws {
        let db = try AuditCLI.sampleLog()
        let usage = try AuditCLI.run(["reproject", "--db", db, "--as-of-seq", "10"])
        #expect(usage.status == 64)
        let into = AuditCLI.tempDir() + "/asof.db"
        let r = try AuditCLI.run(["reproject", "--db", db, "--as-of", "2026-01-01T10:25:00Z", "--into", into])
        #expect(r.status == 0)
        let orders = try AuditCLI.run(["orders", "--db", into, "--json"])
        let list = try #require(try JSONParser.parse(orders.stdout).arrayValue)
        #expect(list.compactMap { $0.objectValue?["orderId"]?.stringValue } == ["ord-2001", "ord-2002"])
        #expect(list.first?.objectValue?["status"] == .string("SHIPPED"))
        // The projection file is read as it is: other commands refuse it instead of migrating it into a log.
        let verify = try AuditCLI.run(["verify", "--db", into])
        #expect(verify.status == 70)
        #expect(verify.stderr.contains("is not an ordlog event log"))
        let tables = try SQLiteConnection(path: into, readOnly: true)
            .scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'receives'")
        #expect(tables == 0)
    }
}

@Suite(.serialized) struct CLIDeadLetterTests {
    @Test func inspectDLQSummaryDetailAndJSON() throws {
        let db = try AuditCLI.sampleLog()
        let s = try AuditCLI.run(["inspect-dlq", "--db", db])
        #expect(s.status == 0)
        #expect(
            s.stdout.hasPrefix(
                "Dead-lettered messages: 1 in 1 fingerprint group(s). Input that was not an SQS message: 3."))
        #expect(s.stdout.contains("ordlog redrive --db \(db) --fingerprint order.field_invalid:quantity --dry-run"))
        #expect(s.stdout.contains("== input errors: 3 receive(s)"))
        let id = "6f1c2a9e-0010-4c1e-9d8a-000000000010"
        let d = try AuditCLI.run(["inspect-dlq", "--db", db, id])
        #expect(d.stdout.contains("  state:        DEAD-LETTERED"))
        #expect(d.stdout.contains("  SNS MessageId:     a1b2c3d4-0010-5e6f-8a9b-000000000010"))
        #expect(d.stdout.contains(#"  quantity   "two"   <-- order.field_invalid"#))
        let j = try AuditCLI.json(try AuditCLI.run(["inspect-dlq", "--db", db, "--json"]).stdout)
        let group = try #require(j["groups"]?.arrayValue?.first?.objectValue)
        #expect(group["fingerprint"] == .string("order.field_invalid:quantity"))
        #expect(group["count"] == .number("1"))
        let m = try #require(group["messages"]?.arrayValue?.first?.objectValue)
        #expect(m["messageId"] == .string(id))
        #expect(m["receives"]?.arrayValue?.count == 3)
        #expect(m["attempts"]?.arrayValue?.count == 3)
        #expect(m["envelope"]?.objectValue?["topicArn"] == .string("arn:aws:sns:us-east-1:123456789012:OrderTopic"))
        #expect(m["order"]?.objectValue?["userId"] == .string("user-51"))
        #expect(j["inputErrors"]?.arrayValue?.count == 3)
        #expect(try AuditCLI.run(["inspect-dlq", "--db", db, "no-such-message"]).status == 2)
    }

    @Test func redriveDryRunAppendsNothingAndARealRunAppendsAttempts() throws {
        let db = try AuditCLI.sampleLog()
        let head = try AuditCLI.run(["head", "--db", db]).stdout
        let dry = try AuditCLI.run(["redrive", "--db", db, "--all", "--dry-run", "--json"])
        #expect(dry.status == 3)  // the poison message would stay dead-lettered
        let o = try AuditCLI.json(dry.stdout)
        #expect(o["redriven"]?.arrayValue?.count == 1)
        #expect(try AuditCLI.run(["head", "--db", db]).stdout == head)
        let real = try AuditCLI.run(["redrive", "--db", db, "--fingerprint", "order.field_invalid:quantity"])
        #expect(real.status == 3)  // "two" is still not a quantity: still dead-lettered
        #expect(real.stdout.contains("0 now projected in the local projection, 1 still dead-lettered."))
        #expect(try AuditCLI.run(["head", "--db", db]).stdout.hasPrefix("78:"))
        let history = try AuditCLI.run(["history", "--db", db, "ord-2004", "--json"])
        #expect(history.stdout.contains(#""trigger":"redrive""#))
        #expect(try AuditCLI.run(["verify", "--db", db]).status == 0)
        #expect(try AuditCLI.run(["redrive", "--db", db]).status == 64)
    }
}

@Suite(.serialized) struct CLIExportTests {
    @Test func redactedExportReingestsCleanlyAndHoldsNoPersonalValues() throws {
        let db = try AuditCLI.sampleLog()
        let dir = AuditCLI.tempDir()
        let typo = try AuditCLI.run(["export", "--db", db, "--redact", "userid,itemName", "--output", dir + "/x.jsonl"])
        #expect(typo.status == 64)  // a misspelt field must not export personal data unredacted
        #expect(typo.stderr.contains("unknown order field(s) userid"))
        let r = try AuditCLI.run([
            "export", "--db", db, "--redact", "userId,itemName", "--output", dir + "/e.jsonl", "--json",
        ])
        #expect(r.status == 0)
        #expect(r.stderr.contains("using a random key"))
        let summary = try AuditCLI.json(r.stdout)
        #expect(summary["exported"] == .number("35"))
        #expect(summary["skippedInputErrors"] == .number("3"))
        let text = try String(contentsOfFile: dir + "/e.jsonl", encoding: .utf8)
        for personal in [
            "user-42", "user-7\"", "user-8", "user-10", "user-17", "user-51", "Widget", "Gadget",
            "Sprocket", "Espresso machine", "Milk frother", "Café crème",
        ] {
            #expect(!text.contains(personal), "export still contains \(personal)")
        }
        let fresh = dir + "/fresh.db"
        let ingest = try AuditCLI.run(["ingest", "--db", fresh, "--json", "--exit-code", dir + "/e.jsonl"])
        #expect(ingest.status == 3)  // ord-2004 is dead-lettered again; no input errors (that would be 4)
        let s = try AuditCLI.json(ingest.stdout)
        #expect(s["appended"] == .number("35"))
        #expect(s["inputErrors"] == .number("0"))
        #expect(s["projected"] == .number("14"))
        // The same orders, with pseudonyms.
        let orders = try #require(
            try JSONParser.parse(try AuditCLI.run(["orders", "--db", fresh, "--json"]).stdout).arrayValue)
        #expect(orders.count == 6)
        #expect(orders.allSatisfy { $0.objectValue?["userId"]?.stringValue?.hasPrefix("userId-") == true })
        // The plain export can be replayed as traffic and matches the log's decisions.
        let plain = try AuditCLI.run(["export", "--db", db, "--order-id", "ord-2001"])
        #expect(plain.stdout.split(separator: "\n").count == 5)
    }
}
