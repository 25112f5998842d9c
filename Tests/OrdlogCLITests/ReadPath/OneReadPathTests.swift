import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

/// Issue 18: one reader for one or many logs. The same traffic T (the sample, the poison's receive counts removed)
/// read as one log, a sealed log, three consumers' logs and three archived logs in S3: every read command gives
/// the one answer. One moto_server for the suite; the kinds run one after another.
@Suite(.serialized, .motoServer()) struct OneReadPathTests {
    static func build(_ kind: ReadSourceKind) throws -> ReadSource {
        try ReadPath.build(kind, server: kind == .s3 ? try MotoContext.current() : nil)
    }

    static func records(_ stdout: String, _ what: String) throws -> [JSONObject] {
        let array = try #require(
            try ReadPath.json(stdout).arrayValue, "\(what): not a JSON array: \(stdout.prefix(300))")
        return array.compactMap(\.objectValue)
    }

    // MARK: 1. dead-lettered

    @Test(
        "1. dead-lettered = exactly the poison's MessageId, in inspect-dlq, history, replay, report and export",
        arguments: ReadSourceKind.allCases)
    func deadLetteredIsThePoisonInEveryReadCommand(kind: ReadSourceKind) throws {
        let source = try Self.build(kind)
        let poison = try ReadPath.poisonMessageId()

        let dlq = try source.run(["inspect-dlq", "--json"])
        #expect(dlq.status == 0, "[\(kind)] inspect-dlq --json exit \(dlq.status): \(dlq.stderr)")
        let d = try ReadPath.object(dlq.stdout, "[\(kind)] inspect-dlq --json")
        let dlqIds = Set(
            (d["groups"]?.arrayValue ?? []).flatMap { $0.objectValue?["messages"]?.arrayValue ?? [] }
                .compactMap { $0.objectValue?["messageId"]?.stringValue })
        #expect(dlqIds == [poison], "[\(kind)] inspect-dlq --json: groups[].messages[] messageIds")

        let history = try source.run(["history", ReadPath.poisonOrder, "--json"])
        #expect(history.status == 0, "[\(kind)] history ord-2004 --json exit \(history.status): \(history.stderr)")
        let records = try Self.records(history.stdout, "[\(kind)] history ord-2004 --json")
        let attempts = records.filter { $0["type"]?.stringValue == "attempt" }
        #expect(
            records.filter { $0["type"]?.stringValue == "receive" }.count == 3, "[\(kind)] history ord-2004: 3 receives"
        )
        #expect(attempts.count == 3, "[\(kind)] history ord-2004: 3 attempts")
        for a in attempts {
            let seq = a["seq"]?.readPathInt ?? -1
            #expect(
                a["messageDeadLettered"]?.readPathBool != nil,
                "[\(kind)] history ord-2004 --json: attempt seq \(seq) has no boolean messageDeadLettered")
        }
        let judged = Dictionary(grouping: attempts, by: { $0["messageId"]?.stringValue ?? "" })
            .mapValues { Set($0.map { $0["messageDeadLettered"]?.readPathBool }) }
        for (id, values) in judged {
            #expect(
                values.count == 1, "[\(kind)] history ord-2004: messageDeadLettered differs between attempts of \(id)")
        }
        let historyIds = Set(
            attempts.filter { $0["messageDeadLettered"]?.readPathBool == true }
                .compactMap { $0["messageId"]?.stringValue })
        #expect(historyIds == [poison], "[\(kind)] history ord-2004 --json: messageIds with messageDeadLettered true")

        let replay = try source.run(["replay", "--json", "--show-decisions"])
        #expect(replay.status == 0, "[\(kind)] replay --json --show-decisions exit \(replay.status): \(replay.stderr)")
        let r = try ReadPath.object(replay.stdout, "[\(kind)] replay --json --show-decisions")
        #expect(
            r["counts"]?.objectValue?["deadLettered"]?.readPathInt == 1, "[\(kind)] replay --json: counts.deadLettered")
        let decided = Set(
            (r["decisions"]?.arrayValue ?? []).compactMap(\.objectValue)
                .filter { $0["deadLettered"]?.readPathBool == true }.compactMap { $0["messageId"]?.stringValue })
        #expect(
            decided == [poison], "[\(kind)] replay --show-decisions: messageIds of decisions with deadLettered true")

        let html = source.dir.appendingPathComponent("report-\(kind).html").path
        let report = try source.run(["report", "--out", html, "--json"])
        #expect(report.status == 0, "[\(kind)] report --json exit \(report.status): \(report.stderr)")
        let rep = try ReadPath.object(report.stdout, "[\(kind)] report --json")
        #expect(rep["deadLettered"]?.readPathInt == 1, "[\(kind)] report --json: deadLettered")

        let export = try source.run(["export", "--dead-lettered"])
        #expect(export.status == 0, "[\(kind)] export --dead-lettered exit \(export.status): \(export.stderr)")
        #expect(Set(ReadPath.exportedIds(export.stdout)) == [poison], "[\(kind)] export --dead-lettered: MessageIds")
    }

    // MARK: 2–4. history, projection, export agree

    struct Answers {
        /// history ord-2001 --json: sorted "type messageId" (each record's recorded outcome is what its consumer
        /// decided with its own log, evidence that is not rewritten: split over three logs, c1 alone recorded
        /// 0003's second delivery and 0007 as projected, where the one log recorded duplicate and stale).
        var history: [String]
        var replayDigest: String?
        var reprojectDigest: String?
        /// orders --json without lastSeq and messageId, by orderId.
        var orders: [JSONObject]
        var exportIds: Set<String>
    }

    static func answers(_ source: ReadSource) throws -> Answers {
        let kind = source.kind
        let history = try source.run(["history", "ord-2001", "--json"])
        #expect(history.status == 0, "[\(kind)] history ord-2001 --json exit \(history.status): \(history.stderr)")
        let triples = try records(history.stdout, "[\(kind)] history ord-2001 --json").map {
            [$0["type"]?.stringValue ?? "-", $0["messageId"]?.stringValue ?? "-"].joined(separator: " ")
        }.sorted()

        let replay = try source.run(["replay", "--json"])
        #expect(replay.status == 0, "[\(kind)] replay --json exit \(replay.status): \(replay.stderr)")
        let into = source.dir.appendingPathComponent("new-\(UUID().uuidString.prefix(8)).db").path
        let reproject = try source.run(["reproject", "--into", into, "--json"])
        #expect(
            reproject.status == 0, "[\(kind)] reproject --into --json exit \(reproject.status): \(reproject.stderr)")

        let orders = try source.run(["orders", "--json"])
        #expect(orders.status == 0, "[\(kind)] orders --json exit \(orders.status): \(orders.stderr)")
        let rows = try records(orders.stdout, "[\(kind)] orders --json").map { o in
            JSONObject(o.members.filter { $0.key != "lastSeq" && $0.key != "messageId" })
        }.sorted { ($0["orderId"]?.stringValue ?? "") < ($1["orderId"]?.stringValue ?? "") }

        let export = try source.run(["export"])
        #expect(export.status == 0, "[\(kind)] export exit \(export.status): \(export.stderr)")
        return Answers(
            history: triples,
            replayDigest: try? ReadPath.object(replay.stdout, "[\(kind)] replay --json")["digest"]?.stringValue,
            reprojectDigest: try? ReadPath.object(reproject.stdout, "[\(kind)] reproject --json")["digest"]?
                .stringValue,
            orders: rows, exportIds: Set(ReadPath.exportedIds(export.stdout)))
    }

    @Test(
        "2–4. history ord-2001, replay and reproject digests, orders and export of KIND equal those of one log",
        arguments: [ReadSourceKind.sealed, .three, .s3])
    func answersEqualTheOneLog(kind: ReadSourceKind) throws {
        let one = try Self.answers(try Self.build(.one))
        // The one log's answers are the sample's (so equality below is not equality of two empty answers).
        let p = "6f1c2a9e-"
        #expect(
            one.history == [
                "attempt \(p)0001-4c1e-9d8a-000000000001",
                "attempt \(p)0003-4c1e-9d8a-000000000003",
                "attempt \(p)0003-4c1e-9d8a-000000000003",
                "attempt \(p)0006-4c1e-9d8a-000000000006",
                "attempt \(p)0007-4c1e-9d8a-000000000007", "receive \(p)0001-4c1e-9d8a-000000000001",
                "receive \(p)0003-4c1e-9d8a-000000000003", "receive \(p)0003-4c1e-9d8a-000000000003",
                "receive \(p)0006-4c1e-9d8a-000000000006", "receive \(p)0007-4c1e-9d8a-000000000007",
            ], "[one] history ord-2001 --json")
        #expect(one.replayDigest?.count == 64, "[one] replay --json digest")
        #expect(one.reprojectDigest == one.replayDigest, "[one] reproject --into digest equals replay digest")
        #expect(one.orders.compactMap { $0["orderId"]?.stringValue } == ["ord-2001", "ord-2002", "ord-2003"])
        #expect(
            one.orders.map { $0["status"]?.stringValue } == ["DELIVERED", "PENDING", "PAID"], "[one] orders --json")
        #expect(one.exportIds == (try ReadPath.sampleMessageIds()), "[one] export: every message's id")
        #expect(one.exportIds.count == 10)

        let other = try Self.answers(try Self.build(kind))
        #expect(other.history == one.history, "history ord-2001 --json: [\(kind)] disagrees with [one]")
        #expect(other.replayDigest == one.replayDigest, "replay --json .digest: [\(kind)] disagrees with [one]")
        #expect(
            other.reprojectDigest == one.reprojectDigest,
            "reproject --into --json .digest: [\(kind)] disagrees with [one]")
        #expect(
            other.orders == one.orders, "orders --json (without lastSeq, messageId): [\(kind)] disagrees with [one]")
        #expect(other.exportIds == one.exportIds, "export MessageIds: [\(kind)] disagrees with [one]")
    }

    // MARK: 5. tamper

    /// Every read command, with fresh output paths in `dir`.
    static func readCommands(_ dir: URL) -> [(label: String, args: [String])] {
        let tag = UUID().uuidString.prefix(8)
        return [
            ("verify", ["verify"]),
            ("history ord-2004", ["history", ReadPath.poisonOrder]),
            ("inspect-dlq", ["inspect-dlq"]),
            ("replay", ["replay"]),
            ("reproject --into", ["reproject", "--into", dir.appendingPathComponent("new-\(tag).db").path]),
            ("export", ["export"]),
            ("orders", ["orders"]),
            ("report --out", ["report", "--out", dir.appendingPathComponent("report-\(tag).html").path]),
        ]
    }

    @Test(
        "5. a body edited in one file: every read command exits 1 and names that file",
        arguments: ReadSourceKind.allCases)
    func anEditedBodyMakesEveryReadCommandExitOneNamingTheFile(kind: ReadSourceKind) throws {
        var source = try Self.build(kind)
        let before = try source.run(["verify"])
        #expect(before.status == 0, "[\(kind)] verify before the edit: \(before.stdout)\(before.stderr)")
        let name = try ReadPath.tamper(&source, poison: try ReadPath.poisonMessageId())
        for (label, args) in Self.readCommands(source.dir) {
            let r = try source.run(args)
            let output = r.stdout + r.stderr
            #expect(
                r.status == 1,
                "[\(kind)] \(label) over an edited log: exit \(r.status), want 1: \(r.stderr.suffix(400))")
            #expect(
                output.contains(name),
                "[\(kind)] \(label) does not name the edited file \(name): \(r.stderr.suffix(400))")
        }
    }
}
