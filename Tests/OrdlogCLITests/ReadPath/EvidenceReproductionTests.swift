import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

/// Issue 18's reproductions, each on real input (samples/order-traffic.jsonl).
@Suite struct EvidenceReproductionTests {
    static func has(_ o: JSONObject, _ keys: [String]) -> [String] {
        keys.filter { k in !o.members.contains { $0.key == k } }
    }

    static func verifyJSON(_ args: [String], env: [String: String] = [:]) throws -> (ProcessResult, JSONObject?) {
        let r = try CLI.run(["verify", "--json"] + args, env: env)
        return (r, try? ReadPath.json(r.stdout).objectValue)
    }

    static func files(_ o: JSONObject?) -> [JSONObject] { (o?["files"]?.arrayValue ?? []).compactMap(\.objectValue) }

    // MARK: R1 copies

    @Test("R1: a log and an edited copy: verify exits 1 naming the copy (either order); an unedited copy is read once")
    func editedCopyIsNamedUneditedCopyIsReadOnce() throws {
        let dir = CLI.tempDir()
        let a = dir.appendingPathComponent("a.db").path
        let b = dir.appendingPathComponent("b.db").path
        let same = dir.appendingPathComponent("same.db").path
        let ingest = try CLI.run(["ingest", "--db", a, CLI.sample("order-traffic.jsonl")])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        try ReadPath.sqlite(a, ".backup '\(b)'")
        try ReadPath.sqlite(a, ".backup '\(same)'")
        try ReadPath.editBody(b, messageId: try ReadPath.poisonMessageId())

        for (first, second) in [(a, b), (b, a)] {
            let names = [first, second].map { URL(fileURLWithPath: $0).lastPathComponent }
            let order = "verify --db \(names[0]) --db \(names[1])"
            let r = try CLI.run(["verify", "--db", first, "--db", second])
            #expect(r.status == 1, "\(order): exit \(r.status): \(r.stdout)\(r.stderr)")
            #expect((r.stdout + r.stderr).contains(b), "\(order) does not name b.db: \(r.stdout)\(r.stderr)")
            let (j, o) = try Self.verifyJSON(["--db", first, "--db", second])
            #expect(j.status == 1, "\(order) --json: exit \(j.status)")
            let fa = Self.files(o).first { $0["file"]?.stringValue?.hasSuffix("/a.db") == true }
            let fb = Self.files(o).first { $0["file"]?.stringValue?.hasSuffix("/b.db") == true }
            #expect(fa?["ok"]?.readPathBool == true, "\(order) --json: files[a.db].ok: \(j.stdout)")
            #expect(fb?["ok"]?.readPathBool == false, "\(order) --json: files[b.db].ok: \(j.stdout)")
        }

        let once = try CLI.run(["verify", "--db", a, "--db", same])
        #expect(once.status == 0, "verify a.db and an unedited copy: \(once.stdout)\(once.stderr)")
        #expect(once.stderr.contains("read once"), "verify a.db and an unedited copy: stderr \(once.stderr)")
    }

    // MARK: R2 three consumers, one receive each

    @Test(
        "R2: three logs, one receive of the poison each (no receive count): every read command says 1 dead-lettered"
    )
    func oneReceiveInEachOfThreeLogsIsDeadLettered() throws {
        let dir = CLI.tempDir()
        let poison = try ReadPath.poisonMessageId()
        let receives = try ReadPath.sampleLines().filter(ReadPath.isPoison)
        let handles = receives.compactMap { ReadPath.member($0, "ReceiptHandle") }
        #expect(Set(handles).count == 3, "three receipt handles")
        let line = ReadPath.withoutReceiveCount(receives[0])
        #expect(!line.contains("ApproximateReceiveCount"))
        var dbs: [String] = []
        for k in 0..<3 {
            let db = dir.appendingPathComponent("c\(k + 1).db").path
            let own = line.replacingOccurrences(of: handles[0], with: handles[k])
            #expect(ReadPath.member(own, "ReceiptHandle") == handles[k])
            try ReadPath.ingest(db, consumer: "c\(k + 1)", [own], in: dir)
            dbs.append(db)
        }
        let dbArgs = dbs.flatMap { ["--db", $0] }

        let dlq = try CLI.run(["inspect-dlq", "--json"] + dbArgs)
        #expect(dlq.status == 0, "inspect-dlq: \(dlq.stderr)")
        let d = try ReadPath.object(dlq.stdout, "inspect-dlq --json")
        #expect(d["deadLettered"]?.readPathInt == 1, "inspect-dlq --json: deadLettered")
        let ids = Set(
            (d["groups"]?.arrayValue ?? []).flatMap { $0.objectValue?["messages"]?.arrayValue ?? [] }
                .compactMap { $0.objectValue?["messageId"]?.stringValue })
        #expect(ids == [poison], "inspect-dlq --json: groups[].messages[] messageIds")

        let replay = try CLI.run(["replay", "--json"] + dbArgs)
        #expect(replay.status == 0, "replay: \(replay.stderr)")
        #expect(
            try ReadPath.object(replay.stdout, "replay --json")["counts"]?.objectValue?["deadLettered"]?.readPathInt
                == 1,
            "replay --json: counts.deadLettered")

        let report = try CLI.run(["report", "--out", dir.appendingPathComponent("r.html").path, "--json"] + dbArgs)
        #expect(report.status == 0, "report: \(report.stderr)")
        #expect(
            try ReadPath.object(report.stdout, "report --json")["deadLettered"]?.readPathInt == 1,
            "report --json: deadLettered")

        let export = try CLI.run(["export", "--dead-lettered"] + dbArgs)
        #expect(export.status == 0, "export --dead-lettered: \(export.stderr)")
        let exported = ReadPath.exportedIds(export.stdout)
        #expect(exported.count == 3, "export --dead-lettered: one line per receive: \(export.stdout.prefix(200))")
        #expect(Set(exported) == [poison], "export --dead-lettered: one MessageId")

        let history = try CLI.run(["history", ReadPath.poisonOrder, "--json"] + dbArgs)
        #expect(history.status == 0, "history: \(history.stderr)")
        let attempts = try #require(try ReadPath.json(history.stdout).arrayValue).compactMap(\.objectValue)
            .filter { $0["type"]?.stringValue == "attempt" }
        #expect(attempts.count == 3, "history ord-2004: 3 attempts")
        #expect(
            attempts.map { $0["messageDeadLettered"]?.readPathBool } == [true, true, true],
            "history ord-2004 --json: messageDeadLettered on each attempt")
    }

    // MARK: R3 verify --head

    @Test("R3: verify --head of a sealed log passes, and says cut-off once the newest 20 records are deleted")
    func verifyHeadDetectsACutOffTail() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("a.db").path
        let lines = try ReadPath.sampleLines()
        try ReadPath.ingest(db, consumer: nil, Array(lines[..<(lines.count / 2)]), in: dir)
        try ReadPath.seal(db)
        try ReadPath.ingest(db, consumer: nil, Array(lines[(lines.count / 2)...]), in: dir)
        let headRun = try CLI.run(["head", "--db", db])
        #expect(headRun.status == 0, "head: \(headRun.stderr)")
        let head = headRun.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            head.range(of: #"^\d+:[0-9a-f]{64}$"#, options: .regularExpression) != nil, "head prints SEQ:HASH: \(head)")
        let headSeq = try #require(Int64(head.split(separator: ":")[0]))
        let ok = try CLI.run(["verify", "--db", db, "--head", head])
        #expect(ok.status == 0, "verify --head before the cut: \(ok.stdout)\(ok.stderr)")

        // The newest 20 records (seq > head - 20) as they are in the live file: the live file holds only the 14
        // records after the seal, so its whole tail goes and the chain ends at the sealed segment's head.
        try ReadPath.dropTriggers(db)
        try ReadPath.sqlite(
            db, "DELETE FROM attempts WHERE seq > \(headSeq - 20); DELETE FROM receives WHERE seq > \(headSeq - 20);")
        let cut = try CLI.run(["verify", "--db", db, "--head", head])
        #expect(cut.status == 1, "verify --head after the cut: exit \(cut.status): \(cut.stdout)\(cut.stderr)")
        #expect(
            (cut.stdout + cut.stderr).contains("cut-off"), "verify --head after the cut: \(cut.stdout)\(cut.stderr)")
    }

    @Test("R3: verify --json has one shape for one log and for three logs (ok, verified, files[], chains[])")
    func verifyJSONHasOneShape() throws {
        let dir = CLI.tempDir()
        let one = dir.appendingPathComponent("one.db").path
        try ReadPath.ingest(one, consumer: "c1", try ReadPath.traffic(), in: dir)
        let three = try ReadPath.threeLogs(try ReadPath.traffic(), in: dir)
        for (label, dbs) in [("one log", [one]), ("three logs", three)] {
            let (r, parsed) = try Self.verifyJSON(dbs.flatMap { ["--db", $0] })
            #expect(r.status == 0, "verify --json, \(label): \(r.stderr)")
            let o = try #require(parsed, "verify --json, \(label): not an object: \(r.stdout)")
            #expect(
                Self.has(o, ["ok", "verified", "files", "chains"]).isEmpty,
                "verify --json, \(label): missing \(Self.has(o, ["ok", "verified", "files", "chains"]))")
            let files = Self.files(o)
            #expect(files.count == dbs.count, "verify --json, \(label): one files[] entry per log")
            for f in files {
                let missing = Self.has(f, ["file", "consumer", "ok", "verified", "head", "problem", "link"])
                #expect(missing.isEmpty, "verify --json, \(label): files[] entry misses \(missing)")
            }
            let chains = (o["chains"]?.arrayValue ?? []).compactMap(\.objectValue)
            #expect(chains.count == dbs.count, "verify --json, \(label): one chains[] entry per consumer")
            for c in chains {
                let missing = Self.has(c, ["consumer", "head", "keptHead", "ok"])
                #expect(missing.isEmpty, "verify --json, \(label): chains[] entry misses \(missing)")
            }
            #expect(Set(chains.compactMap { $0["consumer"]?.stringValue }) == Set((1...dbs.count).map { "c\($0)" }))
        }
    }

    // MARK: R5 prefix and fork

    @Test("R5: a backup that is a prefix of the live log is verified and read once; replay's digest is the live log's")
    func aBackupPrefixIsReadOnce() throws {
        let dir = CLI.tempDir()
        let live = dir.appendingPathComponent("live.db").path
        let backup = dir.appendingPathComponent("backup.db").path
        let lines = try ReadPath.sampleLines()
        try ReadPath.ingest(live, consumer: nil, Array(lines[..<(lines.count / 2)]), in: dir)
        try ReadPath.sqlite(live, ".backup '\(backup)'")
        try ReadPath.ingest(live, consumer: nil, Array(lines[(lines.count / 2)...]), in: dir)

        let v = try CLI.run(["verify", "--db", live, "--db", backup])
        #expect(v.status == 0, "verify live.db backup.db: \(v.stdout)\(v.stderr)")
        #expect(
            v.stderr.contains("backup.db") && v.stderr.contains("prefix"),
            "stderr says backup.db is a prefix: \(v.stderr)")
        #expect(v.stderr.contains("read once"), "stderr says it is read once: \(v.stderr)")

        let both = try CLI.run(["replay", "--db", live, "--db", backup, "--json"])
        let alone = try CLI.run(["replay", "--db", live, "--json"])
        #expect(both.status == 0, "replay live.db backup.db: \(both.stderr)")
        #expect(alone.status == 0, "replay live.db: \(alone.stderr)")
        let digest = try ReadPath.object(alone.stdout, "replay live.db")["digest"]?.stringValue
        #expect(digest?.count == 64)
        #expect(
            (try? ReadPath.object(both.stdout, "replay live.db backup.db"))?["digest"]?.stringValue == digest,
            "replay --db live.db --db backup.db: the live log's digest")
    }

    @Test("R5: a backup that forked (other messages after the common prefix) fails verify naming both files")
    func aForkedBackupFailsNamingBoth() throws {
        let dir = CLI.tempDir()
        let live = dir.appendingPathComponent("live.db").path
        let backup = dir.appendingPathComponent("backup.db").path
        let lines = try ReadPath.sampleLines()
        let rest = Array(lines[(lines.count / 2)...])
        try ReadPath.ingest(live, consumer: nil, Array(lines[..<(lines.count / 2)]), in: dir)
        try ReadPath.sqlite(live, ".backup '\(backup)'")
        try ReadPath.ingest(live, consumer: nil, rest, in: dir)
        // Other messages: the same lines under other SQS MessageIds.
        let other = rest.map {
            $0.replacingOccurrences(of: "\"MessageId\": \"6f1c2a9e-", with: "\"MessageId\": \"7f1c2a9e-")
        }
        #expect(other != rest)
        try ReadPath.ingest(backup, consumer: nil, other, in: dir)

        let v = try CLI.run(["verify", "--db", live, "--db", backup])
        let output = v.stdout + v.stderr
        #expect(v.status == 1, "verify over a fork: exit \(v.status): \(output)")
        #expect(output.contains(live) && output.contains(backup), "verify over a fork names both files: \(output)")
    }

    // MARK: R6 a killed writer's hot journal

    @Test("R6: reading a log with a killed writer's hot journal leaves log and journal byte for byte unchanged")
    func aHotJournalIsNotRolledBackByReaders() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("log.db").path
        let journal = db + "-journal"
        let ingest = try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let script = """
            import os, sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            print(c.execute("PRAGMA journal_mode=DELETE").fetchone()[0], flush=True)
            c.execute("PRAGMA cache_size=1")
            c.execute("BEGIN")
            c.execute("CREATE TABLE junk(x)")
            c.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
                      "INSERT INTO junk SELECT randomblob(1000) FROM n")
            os.kill(os.getpid(), 9)
            """
        let killed = try ProcessRunner.run(program: "python3", ["-c", script, db])
        #expect(killed.status != 0, "the writer was killed: \(killed.stdout)\(killed.stderr)")
        #expect(killed.stdout.contains("delete"), "journal_mode=DELETE: \(killed.stdout)\(killed.stderr)")
        let journalBefore = try #require(FileManager.default.contents(atPath: journal), "\(journal) exists")
        #expect(!journalBefore.isEmpty, "the hot journal is non-empty")
        let logBefore = try #require(FileManager.default.contents(atPath: db))

        let verify = try CLI.run(["verify", "--db", db])
        #expect(
            verify.status == 0, "verify over a hot journal: exit \(verify.status): \(verify.stdout)\(verify.stderr)")
        let history = try CLI.run(["history", "ord-2001", "--db", db])
        #expect(history.status == 0, "history over a hot journal: exit \(history.status): \(history.stderr)")

        #expect(FileManager.default.contents(atPath: db) == logBefore, "log.db changed by reading it")
        #expect(
            FileManager.default.contents(atPath: journal) == journalBefore,
            "log.db-journal changed or removed by reading")
    }
}

/// R3 against S3: heads per consumer, and a deleted newest segment of one consumer.
@Suite(.serialized, .motoServer()) struct EvidenceReproductionS3Tests {
    @Test(
        "R3 (S3): verify --head cK=… per consumer passes, then exits 1 naming c2 (cut-off) without its newest segment"
    )
    func verifyHeadPerConsumerDetectsADeletedSegment() throws {
        let server = try MotoContext.current()
        let dir = CLI.tempDir()
        let bucket = "headcut-\(UUID().uuidString.prefix(8).lowercased())"
        let s3 = "s3://\(bucket)/audit"
        try S3Py.run(server, ["mb", bucket])
        let archiveEnv = ReadPath.s3Env(server, cache: dir.appendingPathComponent("cache-archive"))
        for (i, part) in ReadPath.splitOverThree(try ReadPath.traffic()).enumerated() {
            let db = dir.appendingPathComponent("c\(i + 1).db").path
            try ReadPath.ingest(db, consumer: "c\(i + 1)", Array(part[..<(part.count / 2)]), in: dir)
            try ReadPath.seal(db)
            try ReadPath.ingest(db, consumer: "c\(i + 1)", Array(part[(part.count / 2)...]), in: dir)
            try ReadPath.seal(db)
            let a = try CLI.run(["archive", "--db", db, "--to", s3], env: archiveEnv)
            #expect(a.status == 0, "archive c\(i + 1): \(a.stdout)\(a.stderr)")
        }
        let keys = try S3Py.list(server, bucket, "audit/")
        for c in ["c1", "c2", "c3"] {
            #expect(
                keys.filter { $0.hasPrefix("audit/\(c)/") && $0.hasSuffix(".ordlog") }.count == 2,
                "two segments of \(c): \(keys)")
        }

        let env = ReadPath.s3Env(server, cache: dir.appendingPathComponent("cache-1"))
        let headRun = try CLI.run(["head", "--db", s3], env: env)
        #expect(headRun.status == 0, "head --db s3://: \(headRun.stderr)")
        var heads: [String: String] = [:]
        for line in headRun.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { heads[parts[0]] = parts[1] }
        }
        // Without the three heads the rest cannot run: stop here.
        try #require(
            Set(heads.keys) == ["c1", "c2", "c3"],
            "head --db s3:// prints CONSUMER=SEQ:HASH per consumer: \(headRun.stdout)\(headRun.stderr)")
        for (c, h) in heads {
            #expect(h.range(of: #"^\d+:[0-9a-f]{64}$"#, options: .regularExpression) != nil, "head of \(c): \(h)")
        }
        let verifyArgs = ["verify", "--db", s3] + heads.keys.sorted().flatMap { ["--head", "\($0)=\(heads[$0]!)"] }
        let ok = try CLI.run(verifyArgs, env: env)
        #expect(ok.status == 0, "verify --head per consumer before the deletion: \(ok.stdout)\(ok.stderr)")

        let newest = try #require(keys.filter { $0.hasPrefix("audit/c2/") && $0.hasSuffix(".ordlog") }.sorted().last)
        try S3Py.run(server, ["rm", bucket, newest, newest + ".manifest.json"])
        let fresh = ReadPath.s3Env(server, cache: dir.appendingPathComponent("cache-2"))
        let cut = try CLI.run(verifyArgs, env: fresh)
        let output = cut.stdout + cut.stderr
        #expect(cut.status == 1, "verify --head after deleting c2's newest segment: exit \(cut.status): \(output)")
        #expect(output.contains("c2") && output.contains("cut-off"), "verify names c2 and says cut-off: \(output)")
        let json = try CLI.run(verifyArgs + ["--json"], env: fresh)
        #expect(json.status == 1)
        let chains = ((try? ReadPath.json(json.stdout))?.objectValue?["chains"]?.arrayValue ?? []).compactMap(
            \.objectValue)
        let ok2 = Dictionary(chains.compactMap { c in c["consumer"]?.stringValue.map { ($0, c["ok"]?.readPathBool) } })
        { a, _ in a }
        #expect(ok2 == ["c1": true, "c2": false, "c3": true], "verify --json chains[].ok per consumer: \(json.stdout)")
    }
}

/// A fresh user's finding on issue 18: the same traffic ingested again after a seal is appended again (the live
/// file's receive-key index does not hold the sealed receives), and the forensic views then counted each receive
/// twice while replay and export (their merge reads a receive key once) counted it once.
@Suite struct ReceivedOnceTests {
    @Test("a receive logged again after a seal is read once by every command: history, inspect-dlq, replay, export")
    func aReceiveLoggedAgainAfterASealIsReadOnce() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("r.db").path
        let sample = CLI.sample("order-traffic.jsonl")
        var r = try CLI.run(["ingest", "--db", db, "--consumer-id", "c1", sample])
        #expect(r.status == 0, "\(r.stderr)")
        try ReadPath.seal(db)
        r = try CLI.run(["ingest", "--db", db, sample])
        #expect(r.status == 0, "\(r.stderr)")

        let history = try ReadPath.json(try CLI.run(["history", "--db", db, "ord-2004", "--json"]).stdout)
        let receives = (history.arrayValue ?? []).filter { $0.objectValue?["type"]?.stringValue == "receive" }
        #expect(receives.count == 3, "history ord-2004: \(receives.count) receives")
        let dlq = try ReadPath.object(try CLI.run(["inspect-dlq", "--db", db, "--json"]).stdout, "inspect-dlq")
        let message = dlq["groups"]?.arrayValue?.first?.objectValue?["messages"]?.arrayValue?.first?.objectValue
        #expect(message?["receives"]?.arrayValue?.count == 3, "inspect-dlq: receives of the poison message")
        let replay = try ReadPath.object(try CLI.run(["replay", "--db", db, "--json"]).stdout, "replay")
        #expect(replay["counts"]?.objectValue?["replayed"] == .number("13"), "replay: \(replay)")
        let export = try CLI.run(["export", "--db", db])
        #expect(ReadPath.exportedIds(export.stdout).count == 13, "export: every receive once")
    }
}
