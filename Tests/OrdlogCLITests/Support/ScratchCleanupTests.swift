import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

/// Every way out of a read command removes its private copies from `$TMPDIR`: a signal (SIGTERM, SIGINT, SIGHUP),
/// a closed stdout (`| head`), and a normal exit; and a log left mid-write by a killed writer is read, not refused.
@Suite(.serialized) struct ScratchCleanupTests {
    /// A log written by an older ordlog (read from a migrated copy) with ~3,000 receives: `export` writes 2 MB, so
    /// it blocks on a stdout pipe nobody reads, its copies made.
    static func bigOlderLog() throws -> String {
        let db = CLI.tempDir().path + "/old.db"
        var r = try ProcessRunner.sqlite3(db, ".read '\(CLI.sample("logs/quantities.processor-v1.sql"))'")
        #expect(r.status == 0, "\(r.stderr)")
        r = try ProcessRunner.sqlite3(
            db,
            """
            WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
            INSERT INTO receives SELECT i, 'k' || i, 'm' || i, 'rh', NULL, NULL,
                CAST(printf('{"orderId":"ord-%d","pad":"%s"}', i, hex(zeroblob(300))) AS BLOB),
                '{"ApproximateReceiveCount":"1"}', NULL, NULL, 1, NULL, 'pad', NULL, 0, zeroblob(32), zeroblob(32)
            FROM n
            """)
        #expect(r.status == 0, "\(r.stderr)")
        return db
    }

    /// Two consumers' logs of 1,500 messages each with ~1 KB bodies (3 MB of export lines): reading them as one
    /// merges them into a scratch log, and an export to a pipe nobody reads blocks with that scratch log there.
    static func bigTwoLogs() throws -> [String] {
        let dir = CLI.tempDir().path
        let pad = String(repeating: "x", count: 1000)
        var dbs: [String] = []
        for c in ["c1", "c2"] {
            var lines = ""
            for i in 1...1500 {
                let body = #"{\"orderId\":\"ord-\#(c)-\#(i)\",\"userId\":\"u\",\"itemName\":\"\#(pad)\",\"quantity\":1,\"status\":\"PAID\",\"timestamp\":\"2026-01-01T10:00:00Z\"}"#
                lines += #"{"MessageId":"m-\#(c)-\#(i)","ReceiptHandle":"rh","Body":"\#(body)","Attributes":{"SentTimestamp":"\#(1_767_261_600_000 + i)"}}"# + "\n"
            }
            let traffic = dir + "/\(c).jsonl"
            try lines.write(toFile: traffic, atomically: true, encoding: .utf8)
            let db = dir + "/\(c).db"
            let r = try CLI.run(["ingest", "--db", db, "--consumer-id", c, traffic])
            #expect(r.status == 0, "\(r.stderr)")
            dbs.append(db)
        }
        return dbs
    }

    /// ordlog started with `TMPDIR` = `tmp`, its stdout a pipe this test reads only when it wants to.
    struct Running {
        var process: TestProcess
        var tmp: String

        init(_ args: [String], tmp: String) throws {
            process = try CLI.start(args, env: ["TMPDIR": tmp], stdout: .unread, stderr: .discarded)
            self.tmp = tmp
        }

        var stdout: FileHandle { process.stdoutPipe! }
        var scratch: [String] { (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] }

        /// Waits (up to 30 s) until the process has made its scratch files and is blocked writing to the full pipe.
        func waitForScratch() throws {
            waitUntilBlocking(30, "scratch files made and stdout full (scratch: \(scratch))", every: 0.02) {
                (!scratch.isEmpty && process.isStdoutPipeFull) || !process.isRunning
            }
            try #require(!scratch.isEmpty, "no scratch file was made in \(tmp)")
            try #require(process.isRunning, "the command ended before it could be interrupted")
        }

        func wait() throws -> (reason: Process.TerminationReason, status: Int32) {
            let end = try process.wait(timeout: 60)
            return (end.reason, end.status)
        }
    }

    static func freshTMPDIR() -> String {
        let dir = CLI.tempDir().path + "/tmp"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        return dir
    }

    @Test(
        "a signal during a read command removes its copies and exits 128 + signal",
        arguments: [(SIGTERM, Int32(143)), (SIGINT, Int32(130)), (SIGHUP, Int32(129))])
    func signalRemovesTheScratchSpace(signal: Int32, status: Int32) throws {
        let dbs = try Self.bigTwoLogs()
        let run = try Running(["export", "--db", dbs[0], "--db", dbs[1]], tmp: Self.freshTMPDIR())
        try run.waitForScratch()
        run.process.signal(signal)
        let end = try run.wait()
        #expect(end.reason == .exit)
        #expect(end.status == status)
        #expect(run.scratch.isEmpty, "left in TMPDIR: \(run.scratch)")
    }

    @Test("stdout closed early (`| head -c 1`): the command dies of SIGPIPE with its copies removed")
    func brokenPipeRemovesTheScratchSpace() throws {
        let dbs = try Self.bigTwoLogs()
        let run = try Running(["export", "--db", dbs[0], "--db", dbs[1]], tmp: Self.freshTMPDIR())
        try run.waitForScratch()
        #expect(run.stdout.readData(ofLength: 1).count == 1)
        try run.stdout.close()
        let end = try run.wait()
        #expect(end.reason == .uncaughtSignal)
        #expect(end.status == SIGPIPE)
        #expect(run.scratch.isEmpty, "left in TMPDIR: \(run.scratch)")
    }

    @Test("a command that reads to the end leaves nothing in TMPDIR")
    func normalExitRemovesTheScratchSpace() throws {
        let db = try Self.bigOlderLog()
        let tmp = Self.freshTMPDIR()
        let r = try CLI.run(["verify", "--db", db], env: ["TMPDIR": tmp])
        #expect(r.stderr.contains("was written by an older ordlog"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty)
    }

    @Test("a hot journal left by a killed writer: read commands read a recovered copy, say so, and change no byte")
    func hotJournalIsRead() throws {
        let dir = CLI.tempDir().path
        let db = dir + "/ordlog.db"
        var r = try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")])
        #expect(r.status == 0, "\(r.stderr)")
        let before = try CLI.run(["head", "--db", db]).stdout
        // A writer killed in rollback-journal mode (as during `ordlog seal`) with pages already written.
        r = try ProcessRunner.run(
            program: "python3",
            [
                "-c",
                """
                import os, signal, sqlite3, sys
                c = sqlite3.connect(sys.argv[1], isolation_level=None)
                c.execute("PRAGMA journal_mode=DELETE")
                c.execute("PRAGMA cache_size=1")
                c.execute("BEGIN")
                c.execute("CREATE TABLE pad(x)")
                c.execute("INSERT INTO pad SELECT randomblob(4000) FROM receives, receives")
                os.kill(os.getpid(), signal.SIGKILL)
                """, db,
            ])
        let journal = FileManager.default.contents(atPath: db + "-journal") ?? Data()
        #expect(!journal.isEmpty, "no hot journal: \(r.stderr)")
        let bytes = FileManager.default.contents(atPath: db)
        let tmp = Self.freshTMPDIR()
        for args in [["verify"], ["head"], ["orders"], ["history", "ord-2001"], ["export"]] {
            r = try CLI.run(args + ["--db", db], env: ["TMPDIR": tmp])
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("was left mid-write by an interrupted writer (a hot journal)"), "\(args)")
            if args == ["head"] { #expect(r.stdout == before) }
        }
        #expect(FileManager.default.contents(atPath: db) == bytes)
        #expect(FileManager.default.contents(atPath: db + "-journal") == journal)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty)
    }
}
