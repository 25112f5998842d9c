import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// seal → archive → read from s3://, through the ordlog binary against moto_server's S3.
@Suite(.serialized, .motoServer()) struct SegmentArchiveCLITests {
    static func env(_ server: MotoServer, cache: URL) -> [String: String] {
        AWSEndToEndTests.env(server).merging(["ORDLOG_CACHE": cache.path]) { $1 }
    }

    static func s3(_ server: MotoServer) -> S3Client {
        var config = AWSEndToEndTests.config(server)
        config.endpointOverrides[.s3] = server.endpoint
        return S3Client(configuration: config, retryPolicy: .noDelay())
    }

    /// Ingests the sample traffic in three parts as consumer c1, sealing after each of the first two, and returns
    /// the log path and a never-sealed log of the same traffic, ingested the same way (so the same identity records:
    /// each ingest of other files records one).
    static func sealedLog(in dir: URL) throws -> (live: String, reference: String) {
        let files = try TestFixtures.sampleLogFiles()
        let live = dir.appendingPathComponent("c1.db").path
        let reference = dir.appendingPathComponent("reference.db").path
        let parts = [Array(files.prefix(2)), Array(files.dropFirst(2).prefix(2)), Array(files.dropFirst(4))]
        for (i, part) in parts.enumerated() {
            let ingestReference = try CLI.run(["ingest", "--db", reference, "--consumer-id", "c1"] + part)
            #expect(ingestReference.status == 0, "\(ingestReference.stderr)")
            let ingest = try CLI.run(["ingest", "--db", live, "--consumer-id", "c1"] + part)
            #expect(ingest.status == 0, "\(ingest.stderr)")
            if i < 2 {
                // The segments are named after the log's identity record (c1), so seal needs no --consumer-id.
                let seal = try CLI.run(["seal", "--db", live])
                #expect(seal.status == 0, "\(seal.stderr)")
                #expect(seal.stdout.contains("sealed seq"))
            }
        }
        return (live, reference)
    }

    /// Output with the wall-clock times and the hashes over them blanked: ingest stamps records with the time of
    /// the run, so two logs of the same traffic differ only there.
    static func normalized(_ text: String) -> String {
        var t = text.replacingOccurrences(
            of: #"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#, with: "T", options: .regularExpression)
        t = t.replacingOccurrences(of: #"[0-9a-f]{64}"#, with: "H", options: .regularExpression)
        return t.replacingOccurrences(of: #"\d{13}"#, with: "MS", options: .regularExpression)
    }

    static func digest(_ db: String, env: [String: String] = [:]) throws -> String {
        let r = try CLI.run(["replay", "--db", db, "--json"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try AWSEndToEndTests.json(r.stdout)["digest"]?.stringValue)
    }

    @Test func readingASealedLogLocallyIsReadingTheNeverSealedLog() throws {
        let dir = CLI.tempDir()
        let (live, reference) = try Self.sealedLog(in: dir)
        let cache = ["ORDLOG_CACHE": dir.appendingPathComponent("cache").path]
        let verify = try CLI.run(["verify", "--db", live], env: cache)
        #expect(verify.status == 0, "\(verify.stderr)")
        let whole = try CLI.run(["verify", "--db", reference])
        // A sealed log is verified as a set (each file, each link): the same records as the never-sealed log,
        // 68 receives and attempts and 3 identity records (one per ingest of other files).
        #expect(whole.stdout.hasPrefix("OK: 71 records verified"), "\(whole.stdout)")
        #expect(verify.stdout.hasPrefix("OK: 3 logs of 1 consumer, 71 records verified"), "\(verify.stdout)")
        // A sealed log is read as a set of logs (its segments and the live file), in the documented merge order
        // and naming each record's consumer: what the never-sealed log gives read as a set too.
        for command in [["inspect-dlq", "--json"], ["export"]] {
            let a = try CLI.run(command + ["--db", live], env: cache)
            let b = try CLI.run(command + ["--db", reference, "--db", reference])
            #expect(a.status == b.status)
            #expect(!a.stdout.isEmpty)
            #expect(Self.normalized(a.stdout) == Self.normalized(b.stdout), "\(command)")
        }
        // history: the same records, each by consumer c1 (merged order: each attempt after its receive).
        let history = try CLI.run(["history", "ord-2004", "--db", live], env: cache)
        let historyWhole = try CLI.run(["history", "ord-2004", "--db", reference])
        #expect(history.status == 0, "\(history.stderr)")
        func records(_ text: String, dropping column: String = "") -> [String] {
            Self.normalized(text).split(separator: "\n").filter { $0.hasPrefix("#") }
                .map { $0.replacingOccurrences(of: column, with: "  ") }.sorted()
        }
        #expect(records(history.stdout, dropping: "  c1  ") == records(historyWhole.stdout))
        #expect(records(history.stdout).count == 6)
        #expect(try Self.digest(live, env: cache) == (try Self.digest(reference)))
        // The projection cannot be rebuilt from the live segment alone (that would empty it); --into reads the chain.
        let ordersBefore = try CLI.run(["orders", "--db", live, "--json"]).stdout
        let inPlace = try CLI.run(["reproject", "--db", live], env: cache)
        #expect(inPlace.status == 64, "\(inPlace.stderr)")
        #expect(try CLI.run(["orders", "--db", live, "--json"]).stdout == ordersBefore)
        let rebuilt = dir.appendingPathComponent("rebuilt.db").path
        let into = try CLI.run(["reproject", "--db", live, "--into", rebuilt], env: cache)
        #expect(into.status == 0, "\(into.stderr)")
        #expect(try CLI.run(["orders", "--db", rebuilt, "--json"]).stdout == ordersBefore)
        // An edit to a sealed segment: verify fails (exit 1) and says which segment.
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: live + ".segments/c1").sorted().first)
        let db = try SQLiteConnection(path: live + ".segments/c1/" + segment)
        try db.execute("DROP TRIGGER receives_no_update; UPDATE receives SET source = 'edited' WHERE seq = 2")
        let broken = try CLI.run(["verify", "--db", live], env: cache)
        #expect(broken.status == 1, "\(broken.stdout) \(broken.stderr)")
        // verify reports it with the rest (stdout, one shape); every other command refuses on stderr.
        #expect(broken.stdout.contains("ending at seq"), "\(broken.stdout)")
        #expect(broken.stdout.contains("\(segment) does not match its manifest"))
        let json = try CLI.run(["verify", "--db", live, "--json"], env: cache)
        #expect(json.status == 1)
        let files = try #require(try JSONParser.parse(Array(json.stdout.utf8)).objectValue?["files"]?.arrayValue)
        #expect(
            files.contains { $0.objectValue?["link"]?.stringValue?.contains("\(segment) does not match its manifest") == true },
            "\(json.stdout)")
        let refused = try CLI.run(["history", "--db", live, "ord-2001"], env: cache)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(segment) does not match its manifest"), "\(refused.stderr)")
    }

    @Test func archiveNamesADamagedSegmentExitsOneAndStillUploadsTheGoodOnes() async throws {
        let server = try MotoContext.current()
        let dir = CLI.tempDir()
        let env = Self.env(server, cache: dir.appendingPathComponent("cache"))
        try await Self.s3(server).createBucket("audit")
        // A log never sealed: nothing to upload, and a hint what to do first.
        let fresh = dir.appendingPathComponent("fresh.db").path
        #expect(try CLI.run(["ingest", "--db", fresh, CLI.sample("order-traffic.jsonl")]).status == 0)
        let none = try CLI.run(["archive", "--db", fresh, "--to", "s3://audit/j2"], env: env)
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stdout.contains("0 segments uploaded"))
        #expect(none.stdout.contains("nothing sealed yet: run `ordlog seal --db \(fresh)` first"), "\(none.stdout)")

        let (live, _) = try Self.sealedLog(in: dir)
        let segments = try FileManager.default.contentsOfDirectory(atPath: live + ".segments/c1")
            .filter { $0.hasSuffix(".ordlog") }.sorted()
        #expect(segments.count == 2)
        let db = try SQLiteConnection(path: live + ".segments/c1/" + segments[0])
        try db.execute("DROP TRIGGER receives_no_update; UPDATE receives SET source = 'edited' WHERE seq = 2")
        let r = try CLI.run(["archive", "--db", live, "--to", "s3://audit/j2"], env: env)
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("c1/\(segments[0]) does not match its manifest"), "\(r.stderr)")
        #expect(r.stdout.contains("1 segment uploaded"), "\(r.stdout)")
        #expect(!r.stdout.contains("nothing sealed yet"))
        let keys = try await Self.s3(server).listObjects(bucket: "audit", prefix: "j2/").map(\.key)
        #expect(Set(keys) == ["j2/c1/\(segments[1])", "j2/c1/\(segments[1]).manifest.json"])
        let json = try CLI.run(["archive", "--db", live, "--to", "s3://audit/j2", "--json"], env: env)
        #expect(json.status == 1)
        let untrusted = try AWSEndToEndTests.json(json.stdout)["untrusted"]?.arrayValue
        #expect(untrusted?.count == 1)
    }

    @Test func archiveTwiceThenReadFromS3WithTheLocalLogsGone() async throws {
        let server = try MotoContext.current()
        let dir = CLI.tempDir()
        let env = Self.env(server, cache: dir.appendingPathComponent("cache"))
        try await Self.s3(server).createBucket("audit")
        let (live, reference) = try Self.sealedLog(in: dir)
        let seal = try CLI.run(["seal", "--db", live])  // the tail, so S3 has everything
        #expect(seal.status == 0, "\(seal.stderr)")
        let first = try CLI.run(["archive", "--db", live, "--to", "s3://audit/ordlog", "--json"], env: env)
        #expect(first.status == 0, "\(first.stderr)")
        let firstJSON = try AWSEndToEndTests.json(first.stdout)
        #expect(firstJSON["uploaded"]?.arrayValue?.count == 3)
        let again = try CLI.run(["archive", "--db", live, "--to", "s3://audit/ordlog", "--json"], env: env)
        #expect(again.status == 0, "\(again.stderr)")
        let againJSON = try AWSEndToEndTests.json(again.stdout)
        #expect(againJSON["uploaded"]?.arrayValue?.count == 0)
        #expect(againJSON["alreadyArchived"]?.arrayValue?.count == 3)
        let keys = try await Self.s3(server).listObjects(bucket: "audit", prefix: "ordlog/").map(\.key)
        #expect(keys.count == 6)
        #expect(keys.contains { $0.hasPrefix("ordlog/c1/00000000000000000001-") && $0.hasSuffix(".ordlog") })
        #expect(keys.filter { $0.hasSuffix(".manifest.json") }.count == 3)

        // What the local log says (its sealed segments, read as one chain) is what S3 must say.
        let expectedDLQ = try CLI.run(["inspect-dlq", "--json", "--db", live], env: env).stdout
        #expect(
            Self.normalized(expectedDLQ)
                == Self.normalized(
                    try CLI.run(["inspect-dlq", "--json", "--db", reference, "--db", reference]).stdout))
        let expectedDigest = try Self.digest(live, env: env)
        #expect(expectedDigest == (try Self.digest(reference)))
        try FileManager.default.removeItem(atPath: live)
        try FileManager.default.removeItem(atPath: live + ".segments")
        let dlq = try CLI.run(["inspect-dlq", "--json", "--db", "s3://audit/ordlog"], env: env)
        #expect(dlq.status == 0, "\(dlq.stderr)")
        #expect(dlq.stdout == expectedDLQ)
        #expect(try Self.digest("s3://audit/ordlog", env: env) == expectedDigest)
        let verify = try CLI.run(["verify", "--db", "s3://audit/ordlog/c1"], env: env)
        #expect(verify.status == 0, "\(verify.stderr)")

        // Half-written uploads are not trusted: a next segment without its manifest, and one whose manifest
        // names other bytes. Readers leave both out (and say so) and read the same chain.
        let s3 = Self.s3(server)
        let n = try #require(
            SegmentName(parsing: String(keys.filter { $0.hasSuffix(".ordlog") }.sorted().last!.dropFirst(7))))
        let next = SegmentName(consumerId: "c1", firstSeq: n.lastSeq + 1, lastSeq: n.lastSeq + 5)
        try await s3.putObject(bucket: "audit", key: "ordlog/" + next.description, body: Data("half".utf8))
        let other = SegmentName(consumerId: "c1", firstSeq: n.lastSeq + 1, lastSeq: n.lastSeq + 9)
        try await s3.putObject(bucket: "audit", key: "ordlog/" + other.description, body: Data("tampered".utf8))
        let fake = SegmentManifest(
            consumerId: "c1", queue: "", ordlogVersion: "x", firstSeq: other.firstSeq, lastSeq: other.lastSeq,
            prevHash: [UInt8](repeating: 1, count: 32), headHash: [UInt8](repeating: 2, count: 32),
            sha256: String(repeating: "ab", count: 32), bytes: 8, sealedAt: "")
        try await s3.putObject(bucket: "audit", key: "ordlog/" + other.manifest, body: Data(fake.json.utf8))
        let after = try CLI.run(["inspect-dlq", "--json", "--db", "s3://audit/ordlog"], env: env)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stdout == expectedDLQ)
        #expect(after.stderr.contains("no manifest"))
        #expect(after.stderr.contains("do not match its manifest"))
    }

    /// A SIGKILL in the middle of `archive` (as soon as its first object is in S3) leaves nothing a reader
    /// trusts that is not whole: what S3 holds then reads as a chain that verifies (or as nothing trusted yet),
    /// never as a broken or half-read one; a rerun completes the archive and reads as the local log does.
    @Test func aSIGKILLDuringArchiveLeavesNothingHalfWrittenThatAReaderTrusts() async throws {
        let server = try MotoContext.current()
        let dir = CLI.tempDir()
        let env = Self.env(server, cache: dir.appendingPathComponent("cache"))
        let s3 = Self.s3(server)
        try await s3.createBucket("killed")
        let (live, _) = try Self.sealedLog(in: dir)
        #expect(try CLI.run(["seal", "--db", live]).status == 0)
        let expectedDigest = try Self.digest(live, env: env)

        let archive = try CLI.start(
            ["archive", "--db", live, "--to", "s3://killed/k"], env: env, stdout: .discarded, stderr: .discarded)
        try await waitUntil(120, "archive put its first object in S3, or ended") {
            try await !s3.listObjects(bucket: "killed", prefix: "k/").isEmpty || !archive.isRunning
        }
        archive.signal(SIGKILL)
        try archive.wait(timeout: 30)
        let keys = try await s3.listObjects(bucket: "killed", prefix: "k/").map(\.key)
        let segments = keys.filter { $0.hasSuffix(".ordlog") }.count
        let manifests = keys.filter { $0.hasSuffix(".manifest.json") }.count
        #expect(manifests <= segments, "a manifest is uploaded only after its segment: \(keys)")

        let verify = try CLI.run(["verify", "--db", "s3://killed/k"], env: env)
        if manifests == 0 {
            #expect(verify.status == 70, "nothing trusted yet: \(verify.stderr)")
            #expect(verify.stderr.contains("no trusted sealed segments"))
        } else {
            #expect(verify.status == 0, "what S3 holds after the kill (\(keys)) must verify: \(verify.stderr)")
        }
        // The rerun finishes the job: the same records as the local log.
        let rerun = try CLI.run(["archive", "--db", live, "--to", "s3://killed/k"], env: env)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try Self.digest("s3://killed/k", env: env) == expectedDigest)
    }

    /// The identity record is the one source of the consumer id: a seal names its segments after it, the next
    /// segment carries it on (an ingest after the seal, without --consumer-id, is still c9), and seal refuses to
    /// rename the log's consumer.
    @Test func aSealedLogKeepsItsConsumerId() throws {
        let dir = CLI.tempDir()
        let live = dir.appendingPathComponent("c9.db").path
        let order = TestFixtures.sample("order-traffic.jsonl")
        #expect(try CLI.run(["ingest", "--db", live, "--consumer-id", "c9", order]).status == 0)
        let rename = try CLI.run(["seal", "--db", live, "--consumer-id", "other"])
        #expect(rename.status == 64, "\(rename.stderr)")
        #expect(rename.stderr.contains("consumer c9"))
        let seal = try CLI.run(["seal", "--db", live])
        #expect(seal.status == 0, "\(seal.stderr)")
        #expect(FileManager.default.fileExists(atPath: live + ".segments/c9"))
        let files = try TestFixtures.sampleLogFiles()
        let ingest = try CLI.run(["ingest", "--db", live, files[0]])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let verify = try CLI.run(["verify", "--db", live])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.hasPrefix("OK: 2 logs of 1 consumer"))
        let identities = try SQLiteConnection(path: live, readOnly: true).scalarText(
            "SELECT group_concat(consumer_id) FROM identities")
        #expect(identities == "c9")
    }

    @Test func archiveNeverOverwritesOtherBytesUnderASegmentsName() async throws {
        let server = try MotoContext.current()
        let dir = CLI.tempDir()
        let env = Self.env(server, cache: dir.appendingPathComponent("cache"))
        let s3 = Self.s3(server)
        try await s3.createBucket("clash")
        let (live, _) = try Self.sealedLog(in: dir)
        let first = try #require(
            try FileManager.default.contentsOfDirectory(atPath: live + ".segments/c1").sorted().first)
        try await s3.putObject(bucket: "clash", key: "p/c1/" + first, body: Data("someone else's".utf8))
        let archive = try CLI.run(["archive", "--db", live, "--to", "s3://clash/p"], env: env)
        #expect(archive.status == 1, "\(archive.stdout) \(archive.stderr)")
        #expect(archive.stderr.contains("never overwritten"))
        #expect(try await s3.getObject(bucket: "clash", key: "p/c1/" + first) == Data("someone else's".utf8))
        #expect(try await s3.headObject(bucket: "clash", key: "p/c1/" + first + ".manifest.json") == nil)
    }

    @Test func consumeWithArchiveEverySealsAndUploadsItsLog() async throws {
        let server = try MotoContext.current()
        let dir = CLI.tempDir()
        let env = Self.env(server, cache: dir.appendingPathComponent("cache"))
        try await Self.s3(server).createBucket("consumed")
        let setup = try CLI.run(["setup", "--json"], env: env)
        #expect(setup.status == 0, "\(setup.stderr)")
        let queueUrl = try #require(try AWSEndToEndTests.json(setup.stdout)["queueUrl"]?.stringValue)
        let (text, _) = AWSEndToEndTests.orders(30)
        let file = dir.appendingPathComponent("orders.jsonl")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let publish = try CLI.run(["publish", "--topic", "OrderTopic", file.path], env: env)
        #expect(publish.status == 0, "\(publish.stderr)")
        let db = dir.appendingPathComponent("c7.db").path
        let consume = try CLI.run(
            [
                "consume", "--db", db, "--queue-url", queueUrl, "--local-only", "--until-empty", "--wait-time", "1",
                "--concurrency", "2", "--archive-every", "1s", "--archive-to", "s3://consumed/logs", "--consumer-id",
                "c7",
                "--json",
            ], env: env)
        #expect(consume.status == 0, "\(consume.stderr)")
        let keys = try await Self.s3(server).listObjects(bucket: "consumed", prefix: "logs/c7/").map(\.key)
        #expect(!keys.isEmpty)
        #expect(keys.filter { $0.hasSuffix(".manifest.json") }.count * 2 == keys.count)
        // Everything consumed is in S3: the archive alone reads as the log did.
        let local = try CLI.run(["orders", "--db", db, "--json"], env: env)
        let fromS3 = try CLI.run(["export", "--db", "s3://consumed/logs"], env: env)
        let fromLocal = try CLI.run(["export", "--db", db], env: env)
        #expect(fromS3.status == 0, "\(fromS3.stderr)")
        #expect(fromS3.stdout == fromLocal.stdout)
        #expect(fromS3.stdout.split(separator: "\n").count >= 30)
        #expect(local.status == 0)
        #expect(try Self.digest("s3://consumed/logs", env: env) == (try Self.digest(db, env: env)))

        // Stopping archives too: with an interval longer than the run, only the final seal and upload can have
        // put this consumer's log in S3.
        let publish2 = try CLI.run(["publish", "--topic", "OrderTopic", file.path], env: env)
        #expect(publish2.status == 0, "\(publish2.stderr)")
        let db8 = dir.appendingPathComponent("c8.db").path
        let consume8 = try CLI.run(
            [
                "consume", "--db", db8, "--queue-url", queueUrl, "--local-only", "--until-empty", "--wait-time", "1",
                "--archive-every", "1h", "--archive-to", "s3://consumed/logs", "--consumer-id", "c8",
            ], env: env)
        #expect(consume8.status == 0, "\(consume8.stderr)")
        let fromS3c8 = try CLI.run(["export", "--db", "s3://consumed/logs/c8"], env: env)
        #expect(fromS3c8.status == 0, "\(fromS3c8.stderr)")
        #expect(fromS3c8.stdout == (try CLI.run(["export", "--db", db8], env: env)).stdout)
        #expect(fromS3c8.stdout.split(separator: "\n").count >= 30)
    }
}
