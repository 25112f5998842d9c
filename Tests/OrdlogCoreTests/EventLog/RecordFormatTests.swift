import Crypto
import Foundation
import Testing

@testable import OrdlogCore

/// Record format 2 (migration 0004): a receive's hash and key cover SHA-256(body) instead of the body. Logs with
/// format-1 receives (written before it) still verify, and a rerun of their traffic finds every receive logged.
@Suite struct RecordFormatTests {
    static func ingestSample(into pipeline: ProcessingStep) throws -> IngestSummary {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.sample("order-traffic.jsonl"))))
        let (_, messages) = try TrafficReader.parse(bytes, name: "samples/order-traffic.jsonl")  // sources path-free
        var summary = IngestSummary()
        for start in stride(from: 0, to: messages.count, by: 10) {
            try pipeline.ingest(batch: Array(messages[start..<min(start + 10, messages.count)]), summary: &summary)
        }
        return summary
    }

    @Test("new receives are format 2 with narrow r2: keys; the attempts are unchanged")
    func newReceivesAreFormat2() throws {
        let pipeline = try Fixtures.pipeline()
        _ = try Self.ingestSample(into: pipeline)
        let db = pipeline.log.db
        #expect(try db.scalarInt("SELECT count(*) FROM receives WHERE format = 2") == 13)
        #expect(try db.scalarInt("SELECT count(*) FROM receives WHERE receive_key GLOB 'r2:*' AND length(receive_key) = 19") == 13)
        let r = try #require(try pipeline.log.receive(seq: 1))
        #expect(r.format == 2)
        // The hash covers the body's digest, not the body: recomputed here from the documented encoding.
        #expect(r.hash == RecordHash.hash(of: r, prev: RecordHash.genesis, bodyDigest: Array(SHA256.hash(data: r.body))))
        #expect(r.hash != RecordHash.hashFormat1(of: r, prev: RecordHash.genesis))
        #expect(try Verifier.verify(pipeline.log).verified == 26)
    }

    @Test("a log written in format 1 keeps its pinned head, then takes format-2 receives and verifies as one chain")
    func format1LogThenFormat2() throws {
        let pipeline = try Fixtures.pipeline()
        pipeline.log.receiveFormat = 1
        _ = try Self.ingestSample(into: pipeline)
        // The head pinned before format 2 existed: the format-1 encoding did not change by a byte.
        #expect(try pipeline.log.head()?.description == RecordHashStabilityTests.expectedHeadFormat1)
        #expect(try pipeline.log.db.scalarInt("SELECT count(*) FROM receives WHERE format IS NULL") == 13)

        pipeline.log.receiveFormat = 2
        // Rerunning the same traffic: every receive is found by its format-1 key, nothing is appended.
        let again = try Self.ingestSample(into: pipeline)
        #expect(again.alreadyLogged == 13)
        #expect(again.appended == 0)
        // New traffic goes in as format 2, on the same chain.
        var s = IngestSummary()
        try pipeline.ingest(
            batch: [IncomingMessage(messageId: "m-new", receiptHandle: "h", body: Array("{}".utf8), source: "t")],
            summary: &s)
        #expect(s.appended == 1)
        #expect(try pipeline.log.receive(seq: 27)?.format == 2)
        let result = try Verifier.verify(pipeline.log)
        #expect(result.problem == nil)
        #expect(result.verified == 28)
        // And the reopened log (which now starts with format-1 keys) still finds both kinds.
        let reopened = ProcessingStep(log: try EventLog(path: pipeline.log.db.path), clock: Fixtures.fixedClock)
        #expect(try Self.ingestSample(into: reopened).alreadyLogged == 13)
        try reopened.ingest(
            batch: [IncomingMessage(messageId: "m-new", receiptHandle: "h", body: Array("{}".utf8), source: "t")],
            summary: &s)
        #expect(s.alreadyLogged == 1)
    }

    @Test("verify finds an edit of any column of a format-2 receive")
    func everyColumnOfAFormat2ReceiveIsCovered() throws {
        let pipeline = try Fixtures.pipeline()
        _ = try Self.ingestSample(into: pipeline)
        let db = pipeline.log.db
        try db.execute("DROP TRIGGER receives_no_update")
        #expect(try Verifier.verify(pipeline.log).ok)
        // seq 3 has every optional column set (message attributes aside: set here from NULL).
        let edits: [(String, String)] = [
            ("receive_key", "'r2:0000000000000000'"), ("message_id", "message_id || 'x'"),
            ("receipt_handle", "receipt_handle || 'x'"), ("md5_of_body", "'x'"), ("md5_matches", "1 - md5_matches"),
            ("body", "CAST(CAST(body AS TEXT) || ' ' AS BLOB)"), ("attributes", "'{}'"),
            ("message_attributes", "'{}'"), ("md5_of_message_attributes", "'x'"),
            ("receive_count", "receive_count + 1"), ("sent_timestamp", "sent_timestamp + 1"),
            ("source", "source || 'x'"), ("input_error", "'x'"), ("received_at", "received_at + 1"),
            ("hash", "zeroblob(32)"), ("format", "NULL"),
        ]
        for (column, value) in edits {
            let old = try db.scalarText("SELECT quote(\(column)) FROM receives WHERE seq = 3")!
            try db.execute("UPDATE receives SET \(column) = \(value) WHERE seq = 3")
            let result = try Verifier.verify(pipeline.log)
            #expect(result.problem?.seq == 3, "edit of \(column) not found: \(String(describing: result.problem))")
            try db.execute("UPDATE receives SET \(column) = \(old) WHERE seq = 3")
            #expect(try Verifier.verify(pipeline.log).ok, "restoring \(column)")
        }
    }

    @Test("a receive hashed from its prepared template has the documented encoding's hash, for every field shape")
    func preparedTemplateHashesAsTheEncoding() throws {
        let body = Array(#"{"orderId":"o-1"}"#.utf8)
        let shapes: [IncomingMessage] = [
            IncomingMessage(
                messageId: "m-1", receiptHandle: "rh-1", md5OfBody: RecordHash.md5Hex(body), body: body,
                attributes: JSONObject([
                    ("ApproximateReceiveCount", .string("3")), ("SentTimestamp", .string("1767261600000")),
                ]), messageAttributes: .object(JSONObject([("k", .string("v"))])), md5OfMessageAttributes: "abc",
                source: "q"),
            // No receive count (counted from the log), no SentTimestamp, a wrong MD5, no receipt handle.
            IncomingMessage(messageId: "m-1", md5OfBody: "00", body: body, source: "file:2"),
            // Not an SQS message: no message id, an input error.
            IncomingMessage(messageId: nil, body: Array("not json".utf8), source: "file:3", inputError: "bad line"),
            // An encoding of more than 64 KiB: no template, hashed the ordinary way.
            IncomingMessage(
                messageId: "m-big", body: body,
                attributes: JSONObject([("Big", .string(String(repeating: "x", count: 70_000)))]), source: "q"),
        ]
        let prepared = shapes.map(PreparedReceive.init)
        #expect(prepared.map { $0.hashTemplate != nil } == [true, true, true, false])
        // Directly: the template with the log's fields written in equals the encoding of the whole record.
        var scratch: [UInt8] = []
        let prev = Array((0..<32).map { UInt8($0 * 7 & 0xFF) })
        for (p, seq, count, at) in [(prepared[0], 1, 3, 5), (prepared[1], 300, 2, -1), (prepared[2], .max, 1, 0)]
            as [(PreparedReceive, Int64, Int64, Int64)]
        {
            let m = p.message
            let r = LoggedReceive(
                seq: seq, receiveKey: p.receiveKey, messageId: m.messageId, receiptHandle: m.receiptHandle,
                md5OfBody: m.md5OfBody, md5Matches: p.md5Matches, body: m.body, attributesJSON: p.attributesJSON,
                messageAttributesJSON: p.messageAttributesJSON, md5OfMessageAttributes: m.md5OfMessageAttributes,
                receiveCount: count, sentTimestamp: m.sentTimestamp, source: m.source, inputError: m.inputError,
                receivedAt: at, prevHash: prev, hash: [])
            let t = try #require(p.hashTemplate)
            #expect(
                t.hash(prev: prev, seq: seq, receiveCount: count, receivedAt: at, scratch: &scratch)
                    == RecordHash.hash(of: r, prev: prev))
        }
        // Through the log: every appended receive's stored hash is the documented one, and the chain verifies.
        let pipeline = try Fixtures.pipeline()
        var s = IngestSummary()
        try pipeline.ingest(batch: shapes, summary: &s)
        #expect(s.appended == 4)
        for seq in Int64(1)...4 {
            let r = try #require(try pipeline.log.receive(seq: seq))
            #expect(r.hash == RecordHash.hash(of: r, prev: r.prevHash))
        }
        #expect(try pipeline.log.receive(seq: 2)?.receiveCount == 2)  // no count attribute: counted from the log
        #expect(try Verifier.verify(pipeline.log).verified == 8)
    }

    @Test("a receive whose 64-bit key is taken by another is keyed by its whole digest, and found again")
    func keyCollisionFallsBackToTheWholeDigest() throws {
        let pipeline = try Fixtures.pipeline()
        let a = IncomingMessage(messageId: "m-a", receiptHandle: "h", body: Array("{\"a\":1}".utf8), source: "t")
        let b = IncomingMessage(messageId: "m-b", receiptHandle: "h", body: Array("{\"b\":1}".utf8), source: "t")
        var s = IngestSummary()
        try pipeline.ingest(batch: [a], summary: &s)
        // A row that holds b's 64-bit key but is another receive (a's content), as a real collision would.
        let bDigest = RecordHash.receiveKeyDigest(
            messageId: "m-b", receiptHandle: "h", receiveCountAttribute: nil,
            bodyDigest: RecordHash.bodyDigest(b.body), source: "t")
        let short = RecordHash.receiveKeyText(bDigest)
        try pipeline.log.db.execute(
            """
            INSERT INTO receives (seq, receive_key, message_id, receipt_handle, md5_of_body, md5_matches, body,
              attributes, message_attributes, md5_of_message_attributes, receive_count, sent_timestamp, source,
              input_error, received_at, prev_hash, hash, format)
            SELECT 3, '\(short)', message_id, receipt_handle, md5_of_body, md5_matches, body, attributes,
              message_attributes, md5_of_message_attributes, receive_count, sent_timestamp, source, input_error,
              received_at, prev_hash, hash, format FROM receives WHERE seq = 1
            """)
        try pipeline.ingest(batch: [b], summary: &s)
        #expect(s.appended == 2)
        let key = try pipeline.log.db.scalarText("SELECT receive_key FROM receives WHERE message_id = 'm-b'")
        #expect(key == RecordHash.receiveKeyText(bDigest, full: true))
        #expect(key?.count == 67)
        try pipeline.ingest(batch: [a, b], summary: &s)
        #expect(s.alreadyLogged == 2)
        #expect(s.appended == 2)
    }

    @Test("a log written before 0004 keeps every attempt, its triggers and its outcome rule after the attempts rebuild")
    func attemptsRebuildKeepsTheLog() throws {
        let log = try ProcessorVersionCompatibilityTests.load("order-traffic.processor-v1.sql")
        #expect(try log.db.scalarInt("SELECT count(*) FROM attempts") == 13)
        #expect(try Verifier.verify(log).head?.description
            == "26:f9d067fea87f442624172b13a864095802a5f57a05178c39746a944c65ae4512")
        let seq = try #require(try log.db.scalarInt("SELECT min(seq) FROM attempts"))
        for sql in ["DELETE FROM attempts WHERE seq = \(seq)", "UPDATE attempts SET note = 'x' WHERE seq = \(seq)"] {
            let e = try #require(throws: SQLiteError.self, "\(sql) was not refused") { try log.db.execute(sql) }
            #expect(e.description.contains("append-only"))
        }
        let bogus = try #require(throws: SQLiteError.self) {
            try log.db.execute(
                "INSERT INTO attempts (seq, receive_seq, outcome, processor_version, attempted_at, prev_hash, hash) "
                    + "VALUES (99, 1, 'bogus', 'x', 0, x'', x'')")
        }
        #expect(bogus.extendedCode == 275)  // SQLITE_CONSTRAINT_CHECK
        #expect(try log.db.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'attempts_message_id'") == 0)
        // The point of the rebuild: an attempt's INSERT builds no ephemeral table for the outcome rule.
        let plan = try log.db.prepare(
            "EXPLAIN INSERT INTO attempts (seq, receive_seq, outcome, processor_version, attempted_at, prev_hash, hash) "
                + "VALUES (?,?,?,?,?,?,?)")
        var opcodes: [String] = []
        while try plan.step() { opcodes.append(plan.text(1)) }
        #expect(opcodes.contains("Insert"))
        #expect(!opcodes.contains("OpenEphemeral"))
    }
}
