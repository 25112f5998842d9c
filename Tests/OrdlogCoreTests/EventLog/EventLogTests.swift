import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

@Suite struct EventLogTests {
    @Test("updating or deleting a log row with the sqlite3 CLI is refused")
    func immutableThroughSQLite3CLI() throws {
        let pipeline = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: pipeline)
        let path = pipeline.log.db.path
        for sql in [
            "UPDATE receives SET body = 'x' WHERE seq = 1", "DELETE FROM receives WHERE seq = 1",
            "UPDATE attempts SET outcome = 'projected'", "DELETE FROM attempts",
        ] {
            let r = try ProcessRunner.sqlite3(path, sql)
            #expect(r.status != 0, "\(sql) was not refused")
            #expect(r.stderr.contains("ordlog event log is append-only"), "\(r.stderr)")
        }
        let count = try pipeline.log.db.scalarInt("SELECT count(*) FROM attempts")
        #expect(count == 13)
    }

    @Test("the API's own connection cannot update the log either")
    func immutableThroughConnection() throws {
        let pipeline = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: pipeline)
        #expect(throws: SQLiteError.self) { try pipeline.log.db.execute("UPDATE receives SET source = 'x'") }
        // A row that exists (a DELETE matching no row fires no trigger and succeeds), and #require(throws:),
        // which fails the test when nothing is thrown (a do/catch would pass silently).
        let seq = try #require(try pipeline.log.db.scalarInt("SELECT min(seq) FROM attempts"))
        let e = try #require(throws: SQLiteError.self, "DELETE of attempt \(seq) was not refused") {
            try pipeline.log.db.execute("DELETE FROM attempts WHERE seq = \(seq)")
        }
        #expect(e.code == 19)  // SQLITE_CONSTRAINT (the trigger's RAISE(ABORT))
        #expect(e.description.contains("append-only"))
        #expect(try pipeline.log.db.scalarInt("SELECT count(*) FROM attempts WHERE seq = \(seq)") == 1)
    }

    @Test("sequence numbers are gapless across receives and attempts, and every hash chains")
    func gaplessAndChained() throws {
        let pipeline = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: pipeline)
        var expected: Int64 = 1
        var prev = RecordHash.genesis
        try pipeline.log.forEachRecord { record in
            #expect(record.seq == expected)
            switch record {
            case .receive(let r):
                #expect(r.prevHash == prev)
                #expect(RecordHash.hash(of: r, prev: prev) == r.hash)
                prev = r.hash
            case .attempt(let a):
                #expect(a.prevHash == prev)
                #expect(RecordHash.hash(of: a, prev: prev) == a.hash)
                prev = a.hash
            }
            expected += 1
            return true
        }
        #expect(expected == 27)  // 13 receives + 13 attempts
        let head = try #require(try pipeline.log.head())
        #expect(head.seq == 26)
        #expect(head.hash == prev)
    }

    @Test("a failed batch leaves nothing behind and the next batch continues the chain")
    func failedBatchRollsBack() throws {
        let pipeline = try Fixtures.pipeline()
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try pipeline.log.write {
                _ = try pipeline.log.append(
                    IncomingMessage(messageId: "m", body: Array("x".utf8), source: "t"), receivedAt: 0)
                throw Boom()
            }
        }
        #expect(try pipeline.log.head() == nil)
        var s = IngestSummary()
        try pipeline.ingest(batch: [IncomingMessage(messageId: "m", body: Array("x".utf8), source: "t")], summary: &s)
        #expect(try pipeline.log.head()?.seq == 2)
    }

    @Test("the shipped sample: lifecycle, duplicates, out-of-order, malformed and poison messages")
    func shippedSample() throws {
        let pipeline = try Fixtures.pipeline()
        let s = try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: pipeline)
        #expect(s.received == 13)
        #expect(s.projected == 6)
        #expect(s.duplicate == 2)
        #expect(s.stale == 1)
        #expect(s.rejected == 4)
        #expect(s.deadLettered == 1)
        let orders = try pipeline.projection.orders().map(\.item)
        #expect(orders.map(\.orderId) == ["ord-2001", "ord-2002", "ord-2003"])
        #expect(orders[0].status == "DELIVERED")
        #expect(orders[1].itemName == "Café crème – 東京 🍣")
        #expect(orders[2].status == "PAID")
        let dead = try pipeline.log.deadLetteredMessageIds()
        #expect(dead == ["6f1c2a9e-0010-4c1e-9d8a-000000000010"])
        let poison = try pipeline.log.attempts(messageId: dead[0])
        #expect(poison.map(\.decision.deadLettered) == [false, false, true])
        #expect(
            poison.allSatisfy {
                $0.decision.errorMessage
                    == #"order field quantity is the string "two", expected an integer 1…9007199254740991"#
            })
        let history = try pipeline.log.history(orderId: "ord-2001")
        #expect(history.count == 10)  // 5 receives (PENDING, PAID twice, DELIVERED, SHIPPED) and their attempts
    }
}

/// The hash chain's encoding is a file format: logs written by earlier versions must still verify.
@Suite struct RecordHashStabilityTests {
    @Test("the head of the shipped sample, ingested with a fixed clock, has a pinned hash")
    func pinnedHead() throws {
        let pipeline = try Fixtures.pipeline()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.sample("order-traffic.jsonl"))))
        let (_, messages) = try TrafficReader.parse(bytes, name: "samples/order-traffic.jsonl")  // sources path-free
        var summary = IngestSummary()
        for start in stride(from: 0, to: messages.count, by: 10) {
            try pipeline.ingest(batch: Array(messages[start..<min(start + 10, messages.count)]), summary: &summary)
        }
        let head = try #require(try pipeline.log.head())
        #expect(head.description == RecordHashStabilityTests.expectedHead, "\(head)")
        let digest = try pipeline.projection.digest()
        #expect(digest == RecordHashStabilityTests.expectedDigest, "\(digest)")
    }

    // Moved from 26:7eadc047… with record format 2 (migration 0004): a receive's hash covers its body's SHA-256.
    // The format-1 head stays pinned (expectedHeadFormat1, RecordFormatTests), so the old encoding cannot drift.
    static let expectedHead = "26:48db3da044eb91c24e1a793b2437ddd8dae95f85bddc6467b56832c0c3c99880"
    // Moved from 26:6c01d432… with processor version 2: each attempt hashes its processor_version. A log written
    // by version 1 still verifies: ProcessorVersionCompatibilityTests pins one's head.
    static let expectedHeadFormat1 = "26:7eadc04713572528f84ec17d49894439fb5a61cdece62fe8eb99c4b1a4cb97dc"
    static let expectedDigest = "32b9121dd633fe6bd15d8b9a2fd826cb4ec70c042f5eda0e5d2bb2a9c7f71b47"
}
