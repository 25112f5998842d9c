import Foundation
import OrdlogCore
import Testing

/// `ordlog report` as a user runs it: exit codes, --json, determinism across runs, a broken chain.
@Suite struct ReportCommandTests {
    static func sampleLog() throws -> (dir: URL, db: String) {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("ordlog.db").path
        let r = try CLI.run(["ingest", "--exit-code", "--db", db, CLI.sample("order-traffic.jsonl")])
        #expect(r.status == 3, "ingest --exit-code (one dead-lettered): \(r.stderr)")
        return (dir, db)
    }

    @Test func writesThePageAndSummarisesItInJSON() throws {
        let (dir, db) = try Self.sampleLog()
        let out = dir.appendingPathComponent("report.html").path
        let r = try CLI.run(["report", "--db", db, "--out", out, "--order-id", "ord-2004", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONParser.parse(r.stdout).objectValue
        let head = try CLI.run(["head", "--db", db]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(json?["head"]?.stringValue == head)
        #expect(json?["verified"] == .bool(true))
        #expect(json?["deadLettered"] == .number("1"))
        #expect(json?["groups"] == .number("1"))
        #expect(json?["path"]?.stringValue == out)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(json?["bytes"] == .number(String(html.utf8.count)))
        #expect(json?["sections"] == .array(["summary", "dlq", "chosen", "orders"].map(JSONValue.string)))
        #expect(html.contains("receive #3"))
        #expect(html.contains(head))
    }

    @Test func exitCodes() throws {
        let (dir, db) = try Self.sampleLog()
        let out = dir.appendingPathComponent("r.html").path
        // An order the log has never seen: the page is written and says so; exit 2.
        let missing = try CLI.run(["report", "--db", db, "--out", out, "--order-id", "ord-nope"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("ord-nope"))
        #expect(try String(contentsOfFile: out, encoding: .utf8).contains("id=\"missing\""))
        #expect(try CLI.run(["report", "--db", db, "--out", out, "--since", "yesterday"]).status == 64)
        #expect(try CLI.run(["report", "--db", db]).status == 64)
        #expect(try CLI.run(["report", "--db", db, "--out", out, "--redact", "email"]).status == 64)
        #expect(try CLI.run(["report", "--db", dir.path + "/none.db", "--out", out]).status == 70)
        #expect(try CLI.run(["report", "--db", db, "--out", dir.path + "/no/such/dir/r.html"]).status == 4)
    }

    @Test func sameLogSameBytesAcrossRunsExceptTheMadeAtLine() throws {
        let (dir, db) = try Self.sampleLog()
        func page(_ name: String, _ env: [String: String] = [:]) throws -> String {
            let out = dir.appendingPathComponent(name).path
            let r = try CLI.run(["report", "--db", db, "--out", out, "--order-id", "ord-2001"], env: env)
            #expect(r.status == 0, "\(r.stderr)")
            return try String(contentsOfFile: out, encoding: .utf8)
        }
        let a = try page("a.html")
        Thread.sleep(forTimeInterval: 0.01)
        let b = try page("b.html")
        func strip(_ s: String) -> [Substring] { s.split(separator: "\n").filter { !$0.contains("id=\"made-at\"") } }
        #expect(strip(a) == strip(b))
        let fixed = ["SOURCE_DATE_EPOCH": "1767261600"]
        let c = try page("c.html", fixed)
        #expect(c == (try page("d.html", fixed)))
        #expect(c.contains("Made at 2026-01-01T10:00:00.000Z"))
    }

    /// One rule for every read command (issue 18): a log that does not verify is refused, named, and no page is
    /// written that would show its records as evidence.
    @Test func aBrokenChainIsRefusedNamedAndWritesNoPage() throws {
        let (dir, db) = try Self.sampleLog()
        try AuditCLI.sqlite(
            db, "DROP TRIGGER receives_no_update; UPDATE receives SET body = CAST('edited' AS BLOB) WHERE seq = 3;")
        let out = dir.appendingPathComponent("r.html").path
        let r = try CLI.run(["report", "--db", db, "--out", out])
        #expect(r.status == 1)
        #expect(r.stderr.contains(db) && r.stderr.contains("seq 3: edited"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// A page about several consumers' logs names each consumer's head, and the check it prints passes: the merged
    /// log's own head is no consumer's, so `verify --head` could not use it.
    @Test func aPageAboutSeveralLogsNamesEachConsumersHeadAndItsCheckPasses() throws {
        let dir = CLI.tempDir()
        let lines = try String(contentsOfFile: CLI.sample("order-traffic.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var args: [String] = []
        for k in 0..<3 {
            let part = dir.appendingPathComponent("p\(k).jsonl").path
            let mine = lines.enumerated().filter { $0.offset % 3 == k }.map(\.element)
            try (mine.joined(separator: "\n") + "\n").write(toFile: part, atomically: true, encoding: .utf8)
            let db = dir.appendingPathComponent("c\(k).db").path
            #expect(try CLI.run(["ingest", "--db", db, "--consumer-id", "c\(k)", part]).status == 0)
            args += ["--db", db]
        }
        let out = dir.appendingPathComponent("r.html").path
        let r = try CLI.run(["report", "--out", out, "--json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        let head = try #require(try JSONParser.parse(r.stdout).objectValue?["head"]?.stringValue)
        let heads = head.split(separator: " ").map(String.init)
        #expect(heads.map { $0.prefix(3) } == ["c0=", "c1=", "c2="], "\(head)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(html.contains("--head " + heads[1]))
        let check = try CLI.run(["verify"] + args + heads.flatMap { ["--head", $0] })
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
