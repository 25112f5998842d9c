import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// `replay`'s default in-memory projection against the SQLite one (`--into`): the same decisions, orders,
/// applied keys, digest and verdict on every traffic the project has, hostile input included.
@Suite struct MemoryReplayTests {
    /// Traffic the memory projection must agree on: `orderId`s that are canonically equivalent Unicode but
    /// differ in bytes (two orders for SQLite and DynamoDB), SQS and SNS MessageIds equal up to normalisation
    /// (two keys), a timestamp tie broken by the log sequence, an older event (stale) and a redelivery.
    static let bytewiseTraffic: String = {
        func message(_ id: String, _ sns: String, _ order: String, _ status: String, _ ts: String) -> String {
            let o = #"{"orderId":"\#(order)","userId":"u","itemName":"caf\u00e9","quantity":1,"status":"\#(status)","timestamp":"\#(ts)"}"#
            let body = JSONWriter.string(
                .object(
                    JSONObject([
                        ("Type", .string("Notification")), ("MessageId", .string(sns)),
                        ("TopicArn", .string("arn:aws:sns:us-east-1:123456789012:OrderTopic")), ("Message", .string(o)),
                    ])))
            return JSONWriter.string(
                .object(
                    JSONObject([
                        ("MessageId", .string(id)), ("ReceiptHandle", .string("rh-" + id)), ("Body", .string(body)),
                        ("Attributes", .object(JSONObject([("ApproximateReceiveCount", .string("1"))]))),
                    ])))
        }
        let nfc = "ord-caf\u{E9}"  // é precomposed
        let nfd = "ord-cafe\u{301}"  // e + combining acute: == nfc for Swift's String, not in bytes
        return [
            message("m-1", "sns-\u{E9}", nfc, "PENDING", "2026-01-01T10:00:00Z"),
            message("m-2", "sns-e\u{301}", nfd, "PENDING", "2026-01-01T09:00:00Z"),  // another order, older: projected
            message("m-\u{E9}", "sns-3", nfc, "PAID", "2026-01-01T10:00:00Z"),  // same instant, later seq: projected
            message("m-e\u{301}", "sns-4", nfc, "SHIPPED", "2026-01-01T09:30:00Z"),  // older: stale
            message("m-5", "sns-\u{E9}", nfc, "DELIVERED", "2026-01-01T11:00:00Z"),  // SNS retry: duplicate
            message("m-1", "sns-6", nfd, "PAID", "2026-01-01T12:00:00Z"),  // same SQS MessageId: duplicate
        ].joined(separator: "\n") + "\n"
    }()

    static func traffic(_ name: String) throws -> [String] {
        switch name {
        case "samples": return try TestFixtures.sampleLogFiles()
        case "bad-input": return [Fixtures.sample("bad-input.jsonl")]
        case "quantities": return [Fixtures.sample("logs/quantities.jsonl")]
        case "hostile": return [try Fixtures.fixture("report/hostile.jsonl")]
        default:
            let path = Fixtures.tempDir().appendingPathComponent("bytewise.jsonl").path
            try Self.bytewiseTraffic.write(toFile: path, atomically: true, encoding: .utf8)
            return [path]
        }
    }

    static func replayBoth(_ log: EventLog, rules: ValidationRules = ValidationRules(), filter: LogFilter = LogFilter())
        throws -> (memory: (ReplayResult, MemoryProjection, [ReplayedDecision]), sqlite: (ReplayResult, LocalProjection, [ReplayedDecision]))
    {
        let replayer = Replayer(log: log, processor: OrderProcessor(rules: rules))
        let memory = MemoryProjection()
        var memoryDecisions: [ReplayedDecision] = []
        let m = try replayer.run(filter: filter, into: memory, verdict: true, onDecision: { memoryDecisions.append($0) })
        let sqlite = try LocalProjection.open(path: Fixtures.tempDB())
        var sqliteDecisions: [ReplayedDecision] = []
        let s = try replayer.run(
            filter: filter, into: sqlite, verdict: true, batchSize: 3, onDecision: { sqliteDecisions.append($0) })
        return ((m, memory, memoryDecisions), (s, sqlite, sqliteDecisions))
    }

    @Test(
        "in memory and in SQLite: the same decisions, orders, keys, digest and verdict",
        arguments: ["samples", "bad-input", "quantities", "hostile", "bytewise"])
    func memoryEqualsSQLite(_ name: String) throws {
        let p = try Fixtures.pipeline()
        _ = try Fixtures.ingest(try Self.traffic(name), into: p)
        for rules in [ValidationRules(), { var r = ValidationRules(); r.acceptNumericStrings = true; r.minimumQuantity = 2; return r }()] {
            let (m, s) = try Self.replayBoth(p.log, rules: rules)
            #expect(m.0.counts.replayed > 0)
            #expect(m.2 == s.2)
            #expect(m.0.counts == s.0.counts)
            #expect(m.0.compared == s.0.compared)
            #expect(m.0.differences == s.0.differences)
            #expect(m.0.digest == s.0.digest)
            #expect(m.0.digest == (try s.1.digest()))
            #expect(m.0.orders == s.0.orders)
            #expect(m.1.orders() == (try s.1.orders()))
            for kind in [IdempotencyKind.sqs, .sns] {
                let n = try s.1.db.scalarInt("SELECT count(*) FROM applied_messages WHERE kind = ?", [.text(kind.rawValue)])
                #expect(Int64(m.1.appliedCount(kind)) == n, "\(kind)")
            }
            if rules == ValidationRules() {
                #expect(m.0.differences.isEmpty)
                #expect(m.0.digest == (try p.projection.digest()))  // the live projection
            }
        }
    }

    @Test func byteWiseKeysKeepCanonicallyEquivalentIdsApart() throws {
        let p = try Fixtures.pipeline()
        _ = try Fixtures.ingest(try Self.traffic("bytewise"), into: p)
        let (m, _) = try Self.replayBoth(p.log)
        #expect(m.2.map(\.decision.outcome) == [.projected, .projected, .projected, .stale, .duplicate, .duplicate])
        #expect(m.1.orderCount() == 2)
        #expect(m.1.order("ord-caf\u{E9}")?.item.status == "PAID")
        #expect(m.1.order("ord-cafe\u{301}")?.item.status == "PENDING")
        let seqs = m.2.map(\.seq)
        #expect(m.1.appliedSeq(kind: .sqs, id: "m-e\u{301}") == seqs[3])
        #expect(m.1.appliedSeq(kind: .sqs, id: "m-\u{E9}") == seqs[2])
        #expect(m.1.appliedSeq(kind: .sqs, id: "m-1") == seqs[0])  // the first application stays
        #expect(m.1.appliedSeq(kind: .sns, id: "sns-e\u{301}") == seqs[1])
        #expect(m.1.appliedSeq(kind: .sns, id: "sns-\u{E9}") == seqs[0])
        #expect(m.1.orders().map(\.item.orderId).map { Array($0.utf8) } == [Array("ord-cafe\u{301}".utf8), Array("ord-caf\u{E9}".utf8)])
    }

    @Test func theVersion1SampleLogReplaysInMemoryToThePinnedDigest() throws {
        let log = try ProcessorVersionCompatibilityTests.load("order-traffic.processor-v1.sql")
        let result = try Replayer(log: log, processor: OrderProcessor()).run(
            filter: LogFilter(), into: MemoryProjection(), verdict: true)
        #expect(result.compared == 13)
        #expect(result.differences.isEmpty)
        #expect(result.digest == RecordHashStabilityTests.expectedDigest)
    }

    @Test func filtersAndAnEmptyReplayAgree() throws {
        let p = try SampleLog.pipeline()
        var f = LogFilter()
        f.orderId = "ord-2001"
        let (m, s) = try Self.replayBoth(p.log, filter: f)
        #expect(m.2.count == 5)
        #expect(m.2 == s.2)
        #expect(m.0.digest == s.0.digest)
        var none = LogFilter()
        none.messageIds = ["no-such-message"]
        let (m0, s0) = try Self.replayBoth(p.log, filter: none)
        #expect(m0.0.counts.replayed == 0)
        #expect(m0.0.digest == s0.0.digest)
        #expect(m0.0.digest == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func manyKeysSurviveTheIndexGrowing() {
        let t = ByteKeyTable()
        for i in 0..<20_000 { t.insert("key-\(i)", seq: Int64(i)) }
        t.insert("key-7", seq: 99)  // present: the first value stays
        #expect(t.count == 20_000)
        #expect(t.seq(of: "key-7") == 7)
        #expect(t.seq(of: "key-19999") == 19_999)
        #expect(t.seq(of: "key-20000") == nil)
        #expect(t.seq(of: "") == nil)
        t.insert("", seq: 5)
        #expect(t.seq(of: "") == 5)
        // UUIDs are stored packed, every other key as it is: still one key per distinct byte string
        let uuid = "6f1c2a9e-0001-4c1e-9d8a-000000000001"
        t.insert(uuid, seq: 1)
        t.insert(uuid.uppercased(), seq: 2)  // not packed: another key
        t.insert("6f1c2a9e-0001-4c1e-9d8a-00000000000g", seq: 3)  // not hex: another key
        t.insert("\u{01}" + String(repeating: "a", count: 16), seq: 4)  // looks like a stored UUID: another key
        #expect(t.seq(of: uuid) == 1)
        #expect(t.seq(of: uuid.uppercased()) == 2)
        #expect(t.seq(of: "6f1c2a9e-0001-4c1e-9d8a-00000000000g") == 3)
        #expect(t.seq(of: "6f1c2a9e-0001-4c1e-9d8a-000000000002") == nil)
        #expect(t.seq(of: "6f1c2a9e00001-4c1e-9d8a-000000000001") == nil)
        #expect(t.count == 20_005)
    }
}
