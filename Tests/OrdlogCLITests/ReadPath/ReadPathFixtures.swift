import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

/// The shapes one record can be read in (issue 18: one reader for one or many logs). Every shape holds the same
/// traffic, ``ReadPath/traffic()``: `samples/order-traffic.jsonl` with `ApproximateReceiveCount` removed from the
/// poison message's three receives, so that dead-lettering must be judged on the merged receives.
enum ReadSourceKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// One log: `ingest --db one.db --consumer-id c1 T`.
    case one
    /// One consumer's log sealed twice: `s.db.segments/c1/…` (two sealed segments) and the live `s.db`.
    case sealed
    /// Three consumers' logs c1.db, c2.db, c3.db (the poison's k-th receive in cK, the other lines round robin).
    case three
    /// The three logs, each sealed and archived to moto's S3, read as `--db s3://BUCKET/PREFIX`.
    case s3

    var testDescription: String { rawValue }
}

/// A built source: what to pass as `--db`, the environment to run with, and what to edit to tamper with it.
struct ReadSource {
    var kind: ReadSourceKind
    var dir: URL
    /// The `--db` values.
    var dbs: [String]
    var env: [String: String]
    /// Local log files: one.db; s.db; c1.db, c2.db, c3.db (also for s3, where they were archived from).
    var logs: [String]
    /// For s3: the bucket and prefix, and the moto endpoint.
    var bucket: String? = nil
    var prefix: String? = nil
    var endpoint: String? = nil

    var dbArgs: [String] { dbs.flatMap { ["--db", $0] } }

    /// Runs `ordlog args --db …` on this source.
    func run(_ args: [String]) throws -> ProcessResult { try CLI.run(args + dbArgs, env: env) }

    /// For s3: the same source read through a new, empty `ORDLOG_CACHE`.
    mutating func freshCache() {
        guard kind == .s3 else { return }
        env["ORDLOG_CACHE"] = dir.appendingPathComponent("cache-\(UUID().uuidString.prefix(8))").path
    }
}

enum ReadPath {
    static let poisonOrder = "ord-2004"

    // MARK: traffic

    /// The lines of `samples/order-traffic.jsonl` (13).
    static func sampleLines() throws -> [String] {
        let text = try String(contentsOfFile: CLI.sample("order-traffic.jsonl"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(lines.count == 13, "samples/order-traffic.jsonl has 13 lines")
        return lines
    }

    /// An SQS message line's member `key` (top level), as a string.
    static func member(_ line: String, _ key: String) -> String? {
        (try? JSONParser.parse(line))?.objectValue?[key]?.stringValue
    }

    /// Whether the line is a receive of the poison message (its body's order is ord-2004).
    static func isPoison(_ line: String) -> Bool {
        member(line, "Body")?.contains("\\\"orderId\\\": \\\"\(poisonOrder)\\\"") ?? false
    }

    /// The poison message's SQS MessageId, as the sample says.
    static func poisonMessageId() throws -> String {
        let ids = Set(try sampleLines().filter(isPoison).compactMap { member($0, "MessageId") })
        #expect(ids.count == 1, "the poison ord-2004 is one SQS message: \(ids)")
        return try #require(ids.first)
    }

    /// The distinct SQS MessageIds of the sample (every entry is an SQS message: no input errors).
    static func sampleMessageIds() throws -> Set<String> {
        Set(try sampleLines().compactMap { member($0, "MessageId") })
    }

    /// `line` without its `ApproximateReceiveCount` attribute (the rest byte for byte).
    static func withoutReceiveCount(_ line: String) -> String {
        line.replacingOccurrences(
            of: #""ApproximateReceiveCount": "\d+",? ?"#, with: "", options: .regularExpression)
    }

    /// T: the sample with ApproximateReceiveCount removed from the poison message's three receives.
    static func traffic() throws -> [String] {
        let lines = try sampleLines().map { isPoison($0) ? withoutReceiveCount($0) : $0 }
        let poison = lines.filter(isPoison)
        #expect(poison.count == 3, "the poison message is received 3 times")
        for p in poison {
            #expect(!p.contains("ApproximateReceiveCount"), "receive count not removed: \(p.prefix(80))")
            #expect((try? JSONParser.parse(p)) != nil, "the edited poison line is still JSON")
        }
        return lines
    }

    /// T's lines over three logs: the poison's k-th receive to log k, the others round robin, each log keeping
    /// the lines' relative order.
    static func splitOverThree(_ lines: [String]) -> [[String]] {
        var logs: [[String]] = [[], [], []]
        var poison = 0
        var other = 0
        for line in lines {
            if isPoison(line) {
                logs[poison % 3].append(line)
                poison += 1
            } else {
                logs[other % 3].append(line)
                other += 1
            }
        }
        return logs
    }

    // MARK: ordlog

    /// Writes `lines` as a JSON Lines file `dir/name` and returns its path.
    static func write(_ lines: [String], _ name: String, in dir: URL) throws -> String {
        let file = dir.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// `ordlog ingest --db db [--consumer-id consumer] FILE` of `lines`; expects exit 0.
    static func ingest(_ db: String, consumer: String?, _ lines: [String], in dir: URL) throws {
        let file = try write(lines, "part-\(UUID().uuidString.prefix(8)).jsonl", in: dir)
        let r = try CLI.run(["ingest", "--db", db] + (consumer.map { ["--consumer-id", $0] } ?? []) + [file])
        #expect(r.status == 0, "ingest into \(db): \(r.stderr)")
    }

    /// `ordlog seal --db db`; expects exit 0.
    static func seal(_ db: String) throws {
        let r = try CLI.run(["seal", "--db", db])
        #expect(r.status == 0, "seal \(db): \(r.stdout)\(r.stderr)")
    }

    static func json(_ text: String) throws -> JSONValue {
        try JSONParser.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func object(_ text: String, _ what: String) throws -> JSONObject {
        try #require(try json(text).objectValue, "\(what): stdout is not a JSON object: \(text.prefix(300))")
    }

    /// The MessageIds of JSON Lines on stdout (export).
    static func exportedIds(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").compactMap { member(String($0), "MessageId") }
    }

    // MARK: sources

    /// Builds `kind`'s source of T in a fresh directory (`server`: the moto_server, for s3).
    static func build(_ kind: ReadSourceKind, server: MotoServer? = nil) throws -> ReadSource {
        let dir = CLI.tempDir()
        let t = try traffic()
        _ = try write(t, "T.jsonl", in: dir)
        switch kind {
        case .one:
            let db = dir.appendingPathComponent("one.db").path
            try ingest(db, consumer: "c1", t, in: dir)
            return ReadSource(kind: kind, dir: dir, dbs: [db], env: [:], logs: [db])
        case .sealed:
            // The first half, seal; up to and including the poison's first receive, seal; the rest. So an older,
            // sealed segment holds a receive of the poison (the tamper test edits it) and its receives are spread
            // over a sealed segment and the live file.
            let db = dir.appendingPathComponent("s.db").path
            let firstPoison = try #require(t.firstIndex(where: isPoison))
            let half = t.count / 2
            #expect(half <= firstPoison)
            try ingest(db, consumer: "c1", Array(t[..<half]), in: dir)
            try seal(db)
            try ingest(db, consumer: "c1", Array(t[half...firstPoison]), in: dir)
            try seal(db)
            try ingest(db, consumer: "c1", Array(t[(firstPoison + 1)...]), in: dir)
            #expect(try sealedSegments(db).count == 2)
            return ReadSource(kind: kind, dir: dir, dbs: [db], env: [:], logs: [db])
        case .three:
            let dbs = try threeLogs(t, in: dir)
            return ReadSource(kind: kind, dir: dir, dbs: dbs, env: [:], logs: dbs)
        case .s3:
            let server = try #require(server, "the s3 source needs a moto_server")
            let dbs = try threeLogs(t, in: dir)
            let bucket = "readpath-\(UUID().uuidString.prefix(8).lowercased())"
            let prefix = "logs"
            try S3Py.run(server, ["mb", bucket])
            let env = s3Env(server, cache: dir.appendingPathComponent("cache"))
            for db in dbs {
                try seal(db)
                let a = try CLI.run(["archive", "--db", db, "--to", "s3://\(bucket)/\(prefix)"], env: env)
                #expect(a.status == 0, "archive \(db): \(a.stdout)\(a.stderr)")
            }
            let keys = try S3Py.list(server, bucket, prefix + "/")
            #expect(keys.filter { $0.hasSuffix(".ordlog") }.count == 3, "one segment per consumer: \(keys)")
            #expect(keys.filter { $0.hasSuffix(".manifest.json") }.count == 3, "one manifest per segment: \(keys)")
            return ReadSource(
                kind: kind, dir: dir, dbs: ["s3://\(bucket)/\(prefix)"], env: env, logs: dbs, bucket: bucket,
                prefix: prefix, endpoint: server.endpoint.absoluteString)
        }
    }

    /// c1.db, c2.db, c3.db of `lines` split by ``splitOverThree(_:)``, ingested as c1, c2, c3.
    static func threeLogs(_ lines: [String], in dir: URL) throws -> [String] {
        let parts = splitOverThree(lines)
        var dbs: [String] = []
        for (i, part) in parts.enumerated() {
            let db = dir.appendingPathComponent("c\(i + 1).db").path
            try ingest(db, consumer: "c\(i + 1)", part, in: dir)
            dbs.append(db)
        }
        return dbs
    }

    /// The environment for reading `s3://` from moto (AWS settings and a cache directory).
    static func s3Env(_ server: MotoServer, cache: URL) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": server.endpoint.absoluteString, "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "ORDLOG_CACHE": cache.path,
        ]
    }

    /// The sealed segment files of local log `db` (`db.segments/<consumer>/*.ordlog`), oldest first.
    static func sealedSegments(_ db: String) throws -> [String] {
        let root = db + ".segments"
        var out: [String] = []
        for consumer in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            let dir = root + "/" + consumer
            out += try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".ordlog") }
                .sorted().map { dir + "/" + $0 }
        }
        return out
    }

    // MARK: tampering (as an attacker with the sqlite3 shell would)

    /// Runs the sqlite3 shell; expects success; returns stdout trimmed.
    @discardableResult
    static func sqlite(_ db: String, _ sql: String) throws -> String {
        let r = try ProcessRunner.sqlite3(db, sql)
        #expect(r.status == 0, "sqlite3 \(db): \(sql): \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Drops every trigger of `db` (the append-only guards).
    static func dropTriggers(_ db: String) throws {
        let names = try sqlite(db, "SELECT name FROM sqlite_master WHERE type='trigger'")
            .split(separator: "\n").map(String.init)
        #expect(!names.isEmpty, "\(db) has append-only triggers")
        try sqlite(db, names.map { "DROP TRIGGER \"\($0)\";" }.joined(separator: " "))
    }

    /// Edits the body of the first receive of `messageId` in `db` (`user-` → `user-9`, still a valid body);
    /// returns its seq.
    @discardableResult
    static func editBody(_ db: String, messageId: String) throws -> Int64 {
        try dropTriggers(db)
        let seq = try #require(
            Int64(try sqlite(db, "SELECT min(seq) FROM receives WHERE message_id = '\(messageId)'")),
            "\(db) holds a receive of \(messageId)")
        try sqlite(
            db,
            "UPDATE receives SET body = CAST(replace(CAST(body AS TEXT), 'user-', 'user-9') AS BLOB) WHERE seq = \(seq)"
        )
        let edited = try sqlite(db, "SELECT instr(CAST(body AS TEXT), 'user-9') > 0 FROM receives WHERE seq = \(seq)")
        #expect(edited == "1", "the body of seq \(seq) in \(db) was edited")
        return seq
    }

    /// Rewrites the manifest next to `segment` (`segment.manifest.json`) so its sha256 and bytes match the file.
    static func rewriteManifest(segment: String, manifest: String) throws {
        let script = """
            import hashlib, json, os, sys
            seg, man = sys.argv[1], sys.argv[2]
            data = open(seg, "rb").read()
            m = json.load(open(man, encoding="utf-8"))
            assert m["sha256"] != hashlib.sha256(data).hexdigest(), "the segment was not changed"
            m["sha256"] = hashlib.sha256(data).hexdigest()
            m["bytes"] = len(data)
            open(man, "w", encoding="utf-8").write(json.dumps(m, separators=(",", ":"), ensure_ascii=False) + "\\n")
            """
        let r = try ProcessRunner.run(program: "python3", ["-c", script, segment, manifest])
        #expect(r.status == 0, "rewriting \(manifest): \(r.stderr)")
    }

    /// Tampers with `source`: edits the body of a receive of the poison message in one file (one.db; the older,
    /// sealed segment of s.db; c2.db; c2's segment in S3), keeping a segment's manifest in step with its bytes.
    /// Returns the name the read commands must give: the file's path, or `consumer/segment` for a segment.
    static func tamper(_ source: inout ReadSource, poison: String) throws -> String {
        switch source.kind {
        case .one:
            try editBody(source.logs[0], messageId: poison)
            return source.logs[0]
        case .three:
            try editBody(source.logs[1], messageId: poison)
            return source.logs[1]
        case .sealed:
            let segments = try sealedSegments(source.logs[0])
            // The newest sealed segment holds the poison's first receive; both are older than the live file.
            let segment = try #require(segments.last)
            try editBody(segment, messageId: poison)
            try rewriteManifest(segment: segment, manifest: segment + ".manifest.json")
            let url = URL(fileURLWithPath: segment)
            return url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
        case .s3:
            let server = try MotoContext.current()
            let bucket = try #require(source.bucket)
            let prefix = try #require(source.prefix)
            let key = try #require(
                try S3Py.list(server, bucket, prefix + "/c2/").filter { $0.hasSuffix(".ordlog") }.sorted().first)
            let local = source.dir.appendingPathComponent("downloaded-" + URL(fileURLWithPath: key).lastPathComponent)
                .path
            try S3Py.run(server, ["get", bucket, key, local])
            try S3Py.run(server, ["get", bucket, key + ".manifest.json", local + ".manifest.json"])
            try editBody(local, messageId: poison)
            try rewriteManifest(segment: local, manifest: local + ".manifest.json")
            try S3Py.run(server, ["put", bucket, key, local])
            try S3Py.run(server, ["put", bucket, key + ".manifest.json", local + ".manifest.json"])
            source.freshCache()
            return String(key.dropFirst(prefix.count + 1))  // c2/<first>-<last>.ordlog
        }
    }
}

/// S3 operations on moto through boto3 (so the tests do not depend on ordlog's own S3 client).
enum S3Py {
    static let script = """
        import boto3, sys
        endpoint, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        if op == "mb":
            s3.create_bucket(Bucket=args[0])
        elif op == "ls":
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args[0], Prefix=args[1]):
                for o in page.get("Contents", []):
                    print(o["Key"])
        elif op == "get":
            s3.download_file(args[0], args[1], args[2])
        elif op == "put":
            s3.upload_file(args[2], args[0], args[1])
        elif op == "rm":
            for key in args[1:]:
                s3.delete_object(Bucket=args[0], Key=key)
        else:
            sys.exit("unknown op " + op)
        """

    @discardableResult
    static func run(_ server: MotoServer, _ args: [String]) throws -> String {
        let r = try ProcessRunner.run(program: "python3", ["-c", script, server.endpoint.absoluteString] + args)
        #expect(r.status == 0, "boto3 \(args): \(r.stderr)")
        return r.stdout
    }

    static func list(_ server: MotoServer, _ bucket: String, _ prefix: String) throws -> [String] {
        try run(server, ["ls", bucket, prefix]).split(separator: "\n").map(String.init)
    }
}

extension JSONValue {
    /// An integer number's value.
    var readPathInt: Int? { if case .number(let n) = self { Int(n) } else { nil } }
    var readPathBool: Bool? { if case .bool(let b) = self { b } else { nil } }
}
