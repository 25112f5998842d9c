import Foundation
import Testing

/// What ordlog prints for people and scripts when the input is hostile or the flags are careless (from a fresh-user
/// pass): untrusted values cannot drive the terminal, an empty redaction key is refused, JSON diagnostics are JSON,
/// and suggested commands name the log they were run on.
@Suite struct OutputSafetyTests {
    /// One SQS message whose order carries terminal escapes (clear screen, retitle, bell) and a forged line.
    static func hostileLog() throws -> (dir: URL, db: String) {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("esc.db").path
        let order =
            #"{\"orderId\":\"o\\u001b[2Jx\",\"userId\":\"u\\r\\nFAKE\",\"itemName\":\"\\u001b]0;pwned\\u0007red\","#
            + #"\"quantity\":1,\"status\":\"PENDING\",\"timestamp\":\"2026-01-01T00:00:00Z\"}"#
        let line = #"{"MessageId":"esc-1","ReceiptHandle":"h","Body":""# + order + "\"}\n"
        let file = dir.appendingPathComponent("esc.jsonl")
        try line.write(to: file, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["ingest", "--db", db, file.path]).status == 0)
        return (dir, db)
    }

    @Test("orders and history show control characters from a message as escapes, never as raw bytes")
    func controlCharactersAreShownNotSent() throws {
        let (_, db) = try Self.hostileLog()
        for args in [["orders", "--db", db], ["history", "--db", db, "o\u{1B}[2Jx"]] {
            let r = try CLI.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let bytes = Array(r.stdout.utf8)
            #expect(!bytes.contains(0x1B) && !bytes.contains(0x07) && !bytes.contains(0x0D), "\(args): \(r.stdout)")
            #expect(r.stdout.contains(#"o\u{1B}[2Jx"#), "\(args): \(r.stdout)")
        }
        // The log and --json keep the value exactly.
        let json = try CLI.run(["orders", "--db", db, "--json"])
        #expect(json.stdout.contains(#""o\u001b[2Jx""#), "\(json.stdout)")
    }

    @Test("an empty redaction key (an unset variable) is refused with exit 64, from the flag or the environment")
    func emptyRedactKeyIsRefused() throws {
        let (dir, db) = try Self.hostileLog()
        let flag = try CLI.run(["export", "--db", db, "--redact", "userId", "--redact-key", ""])
        #expect(flag.status == 64)
        #expect(flag.stderr.contains("the redaction key is empty"), "\(flag.stderr)")
        let env = try CLI.run(["export", "--db", db, "--redact", "userId"], env: ["ORDLOG_REDACT_KEY": ""])
        #expect(env.status == 64, "\(env.stderr)")
        let report = try CLI.run(
            ["report", "--db", db, "--out", dir.appendingPathComponent("r.html").path, "--redact", "userId",
             "--redact-key", ""])
        #expect(report.status == 64, "\(report.stderr)")
    }

    @Test("with LOG_FORMAT=json every stderr line is a JSON object, the command's own error lines too")
    func jsonDiagnosticsAreJSON() throws {
        let dir = CLI.tempDir()
        let missing = dir.appendingPathComponent("missing.db").path
        let r = try CLI.run(["orders", "--db", missing], env: ["LOG_FORMAT": "json"])
        #expect(r.status == 70)
        let lines = r.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] as? String == "error", "\(line)")
            #expect((object?["message"] as? String)?.hasPrefix("no event log at") == true, "\(line)")
        }
    }

    @Test("inspect-dlq's suggested commands name the log it read")
    func suggestionsNameTheLog() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("demo.db").path
        #expect(try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")]).status == 0)
        let r = try CLI.run(["inspect-dlq", "--db", db])
        #expect(r.stdout.contains("Details: `ordlog inspect-dlq --db \(db) "), "\(r.stdout)")
        #expect(r.stdout.contains("`ordlog redrive --db \(db) --fingerprint "), "\(r.stdout)")
    }
}
