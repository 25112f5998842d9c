import Foundation
import Testing

/// A MessageId and a raw body carrying terminal escapes (clear screen `ESC[2J`, bell) reach people's screens only
/// as escapes: `inspect-dlq ID` (whose raw body view printed them) and `history` (whose receive lines printed the
/// MessageId) as `orders` and `export` already did.
@Suite struct OutputSafetyEscapeTests {
    static let escape = "\u{1B}[2J\u{07}"

    /// Two messages: one projected order whose MessageId carries the escapes, one body that is not JSON and carries
    /// them raw (rejected, so inspect-dlq shows it).
    static func log() throws -> String {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("esc.db").path
        let order =
            #"{\"orderId\":\"o-esc\",\"userId\":\"u\",\"itemName\":\"i\",\"quantity\":1,\"status\":\"PENDING\","#
            + #"\"timestamp\":\"2026-01-01T00:00:00Z\"}"#
        let lines = [
            #"{"MessageId":"m\u001b[2J\u00071","ReceiptHandle":"h1","Body":""# + order + "\"}",
            #"{"MessageId":"m\u001b[2J\u00072","ReceiptHandle":"h2","Body":"not json \u001b[2J\u0007 here"}"#,
        ]
        let file = dir.appendingPathComponent("esc.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(["ingest", "--db", db, file.path])
        #expect(r.status == 0, "\(r.stderr)")
        return db
    }

    @Test("inspect-dlq ID, history ORDER and redrive print no raw ESC or BEL from a MessageId or a body")
    func noRawEscapes() throws {
        let db = try Self.log()
        for args in [
            ["inspect-dlq", "--db", db, "m\(Self.escape)2"], ["history", "--db", db, "o-esc"],
            ["history", "--db", db, "--bodies", "o-esc"],
            ["redrive", "--db", db, "--message-id", "m\(Self.escape)2", "--dry-run"],  // "Skipped ID: not dead-lettered."
        ] {
            let r = try CLI.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let bytes = Array(r.stdoutBytes)
            #expect(!bytes.contains(0x1B) && !bytes.contains(0x07), "\(args): \(r.stdout)")
            #expect(r.stdout.contains(#"\u{1B}[2J\u{7}"#), "\(args): \(r.stdout)")
        }
        // --json keeps the values as they are (JSON-escaped).
        let json = try CLI.run(["inspect-dlq", "--db", db, "--json", "m\(Self.escape)2"])
        #expect(json.stdout.contains(#"m\u001b[2J\u00072"#), "\(json.stdout)")
    }

    @Test("a diagnostic on stderr quoting a path with ESC/BEL (here: a --db that is not a database) escapes them")
    func stderrIsEscaped() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("bad\(Self.escape).db").path
        try Data("not sqlite at all, just text that is long enough to be read as a header..........".utf8)
            .write(to: URL(fileURLWithPath: db))
        let r = try CLI.run(["verify", "--db", db])
        #expect(r.status == 70, "\(r.stderr)")
        #expect(!r.stderr.utf8.contains(0x1B) && !r.stderr.utf8.contains(0x07), "\(r.stderr)")
        #expect(r.stderr.contains(#"bad\u{1B}[2J\u{7}.db"#), "\(r.stderr)")
    }

    @Test("the ingest summary's hint quotes --db for a shell")
    func hintQuotesDb() throws {
        let dir = CLI.tempDir().appendingPathComponent("my logs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let db = dir.appendingPathComponent("it's.db").path
        let r = try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")])
        #expect(r.status == 0, "\(r.stderr)")
        let quoted = "'" + db.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        #expect(r.stdout.contains("`ordlog inspect-dlq --db \(quoted)` shows why"), "\(r.stdout)")
    }

    @Test("setup, whoami and publish take --log-level and --log-format as every command does")
    func awsCommandsTakeLogOptions() throws {
        for command in [["setup", "--print-iam-policy"], ["whoami"], ["publish", "--topic-arn", "t", "--order-id", "o"]] {
            let r = try CLI.run(command + ["--log-level", "debug", "--log-format", "json", "--help"])
            #expect(r.status == 0, "\(command): \(r.stderr)")
            #expect(r.stdout.contains("--log-level"), "\(command)")
            let bad = try CLI.run(command + ["--log-level", "loud"])
            #expect(bad.status == 64, "\(command): \(bad.stderr)")
            #expect(bad.stderr.contains("is not a log level"), "\(command): \(bad.stderr)")
        }
        let policy = try CLI.run(["setup", "--print-iam-policy", "--log-level", "debug", "--log-format", "text"])
        #expect(policy.status == 0, "\(policy.stderr)")
        #expect(policy.stdout.contains("sqs:ReceiveMessage"), "\(policy.stdout)")
    }
}
