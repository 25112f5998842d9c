import Foundation
import OrdlogCore
import Testing

/// Issue 19, "output from types": the `--json` of history, orders and report, now printed from result types, keep
/// the member names and order their `--help` documents (and `null` where a value is absent).
@Suite struct HistoryOrdersReportOutputTests {
    static func sampleLog() throws -> (dir: URL, db: String) {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("sample.db").path
        let r = try CLI.run(["ingest", "--db", db, "--consumer-id", "c1", CLI.sample("order-traffic.jsonl")])
        #expect(r.status == 0, "\(r.stderr)")
        return (dir, db)
    }

    static func keys(_ v: JSONValue?) -> [String] { v?.objectValue?.members.map(\.key) ?? [] }

    static let orderKeys = ["orderId", "userId", "itemName", "quantity", "status", "timestamp", "lastSeq", "messageId"]

    @Test("orders --json: an array of the documented order shape; ORDER_ID one object; an unknown one null, exit 2")
    func ordersShape() throws {
        let (_, db) = try Self.sampleLog()
        let all = try CLI.run(["orders", "--db", db, "--json"])
        #expect(all.status == 0, "\(all.stderr)")
        let rows = try #require(try JSONParser.parse(all.stdout.trimmingCharacters(in: .newlines)).arrayValue)
        #expect(!rows.isEmpty)
        for row in rows { #expect(Self.keys(row) == Self.orderKeys) }
        #expect(rows.first?.objectValue?["quantity"].map { if case .number = $0 { true } else { false } } == true)

        let one = try CLI.run(["orders", "--db", db, "--json", "ord-2001"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(Self.keys(try JSONParser.parse(one.stdout.trimmingCharacters(in: .newlines))) == Self.orderKeys)

        let missing = try CLI.run(["orders", "--db", db, "--json", "ord-none"])
        #expect(missing.status == 2)
        #expect(missing.stdout == "null\n")
    }

    @Test("history --json: receives and attempts in their record shapes, then consumer, file (and messageDeadLettered)")
    func historyShape() throws {
        let (_, db) = try Self.sampleLog()
        let r = try CLI.run(["history", "--db", db, "--json", "ord-2004"])
        #expect(r.status == 0, "\(r.stderr)")
        let records = try #require(try JSONParser.parse(r.stdout.trimmingCharacters(in: .newlines)).arrayValue)
        let receive = [
            "type", "seq", "messageId", "receiptHandle", "receiveCount", "sentTimestamp", "receivedAt", "source",
            "md5OfBody", "md5Matches", "attributes", "messageAttributes", "inputError", "body", "hash", "consumer",
            "file",
        ]
        let attempt = [
            "type", "seq", "receiveSeq", "messageId", "outcome", "errorKind", "errorCode", "errorField",
            "errorMessage", "deadLettered", "orderId", "snsMessageId", "item", "note", "processorVersion", "trigger",
            "attemptedAt", "hash", "consumer", "file", "messageDeadLettered",
        ]
        var seen = Set<String>()
        for record in records {
            let type = record.objectValue?["type"]
            if type == .string("receive") {
                #expect(Self.keys(record) == receive)
            } else {
                #expect(Self.keys(record) == attempt)
            }
            if case .string(let t)? = type { seen.insert(t) }
            #expect(record.objectValue?["consumer"] == .string("c1"))
        }
        #expect(seen == ["receive", "attempt"])

        let none = try CLI.run(["history", "--db", db, "--json", "ord-none"])
        #expect(none.status == 2)
        #expect(none.stdout == "[]\n")
    }

    @Test("report --json: the documented members in order, head a string, problem null on a good log")
    func reportShape() throws {
        let (dir, db) = try Self.sampleLog()
        let out = dir.appendingPathComponent("r.html").path
        let r = try CLI.run(["report", "--db", db, "--out", out, "--json"], env: ["SOURCE_DATE_EPOCH": "1767225600"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try JSONParser.parse(r.stdout.trimmingCharacters(in: .newlines))
        #expect(
            Self.keys(o) == [
                "path", "bytes", "sections", "head", "verified", "verifiedRecords", "problem", "deadLettered", "groups",
                "timelines", "orders", "ordersShown", "missingOrderIds", "unredactable",
            ])
        #expect(o.objectValue?["problem"] == .null)
        #expect(o.objectValue?["verified"] == .bool(true))
        if case .string = o.objectValue?["head"] {} else { Issue.record("head: \(String(describing: o.objectValue?["head"]))") }
        let size = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.intValue
        #expect(o.objectValue?["bytes"] == .number(String(size ?? -1)))
    }
}
