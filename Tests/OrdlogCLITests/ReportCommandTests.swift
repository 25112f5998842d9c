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
}
