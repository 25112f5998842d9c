import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// A table that keeps a newer version of some orders, with a note that does not name DynamoDB: the redriver must
/// count stale writes from the answer, not from the note's text.
private actor Answers {
    var puts: [String] = []
    func put(_ orderId: String) { puts.append(orderId) }
}

private struct KeepingTable: RedriveTable {
    let tableName = "Shadow"
    let keepsNewer: Set<String>
    let answers = Answers()
    var name: String { "shadow" }
    func ensureExists() async throws {}
    func ensureTable() async throws -> Bool { true }
    func project(_ decision: Decision, receive: LoggedReceive) async -> ProjectionResult {
        guard decision.outcome == .projected, let item = decision.item else { return .applied }
        await answers.put(item.orderId)
        return keepsNewer.contains(item.orderId) ? .stale(note: "kept a newer version") : .applied
    }
}

/// ``Redriver`` on `samples/order-traffic.jsonl`: selection, skipped ids, and the table's counts as data.
@Suite struct RedriverTests {
    static let poison = "6f1c2a9e-0010-4c1e-9d8a-000000000010"  // quantity "two", dead-lettered on receive 3

    static func sampleLog(rules: ValidationRules = ValidationRules()) throws -> EventLog {
        let p = try Fixtures.pipeline(rules: rules)
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        return p.log
    }

    @Test("a fingerprint selects the dead-lettered poison message; an unknown id is skipped as not in the log")
    func selectsByFingerprintAndSkipsUnknownIds() async throws {
        let log = try Self.sampleLog()
        let head = try log.head()
        let report = try await Redriver(log: log, processor: OrderProcessor()).run(
            RedriveSelection(messageIds: ["no-such-message"], fingerprints: ["order.field_invalid:quantity"]),
            dryRun: true,
            table: {
                Issue.record("no table in a dry run")
                return KeepingTable(keepsNewer: [])
            })
        #expect(report.outcomes.map(\.messageId) == [Self.poison])
        #expect(report.skipped == [.init(messageId: "no-such-message", reason: .notInLog)])
        #expect(report.stillDeadLettered == 1 && report.fixed == 0)
        #expect(!report.requestedMessageMissing)
        #expect(report.table == nil)
        #expect(try log.head() == head, "a dry run appends nothing")
    }

    @Test("nothing chosen: no table is made, and a missing id is reported")
    func nothingChosen() async throws {
        let log = try Self.sampleLog()
        let projected = try #require(try log.receives(where: "message_id IS NOT NULL").first?.messageId)
        #expect(try log.attempts(messageId: projected).last?.decision.outcome == .projected)
        let report = try await Redriver(log: log, processor: OrderProcessor()).run(
            RedriveSelection(messageIds: ["no-such-message", projected]), dryRun: false,
            table: {
                Issue.record("nothing to write")
                return KeepingTable(keepsNewer: [])
            })
        #expect(report.outcomes.isEmpty)
        #expect(report.skipped.map(\.reason) == [.notInLog, .notDeadLettered])
        #expect(report.requestedMessageMissing)
    }

    @Test("written and stale are counted from the table's answers, and a locally stale decision is neither")
    func countsTableWritesFromAnswers() async throws {
        // Dead-letter every failure on its first receive, and reject quantity 1: most orders end dead-lettered.
        var strict = ValidationRules()
        strict.minimumQuantity = 2
        strict.maxReceiveCount = 1
        let log = try Self.sampleLog(rules: strict)
        let redriver = Redriver(log: log, processor: OrderProcessor())
        let dry = try await redriver.run(RedriveSelection(all: true), dryRun: true)
        let projectedOrders = dry.outcomes.filter { $0.after.decision.outcome == .projected }
            .compactMap(\.after.decision.orderId)
        let kept = try #require(projectedOrders.first)
        let table = KeepingTable(keepsNewer: [kept])
        let report = try await redriver.run(RedriveSelection(all: true), dryRun: false, table: { table })
        let counts = try #require(report.table)
        #expect(counts.tableName == "Shadow" && counts.created)
        let stale = report.outcomes.filter { $0.tableWrite == .stale }
        #expect(counts.stale == stale.count && counts.stale >= 1)
        #expect(
            stale.allSatisfy { $0.after.decision.orderId == kept && $0.after.decision.note == "kept a newer version" })
        #expect(counts.written == report.outcomes.filter { $0.after.decision.outcome == .projected }.count)
        #expect(report.outcomes.filter { $0.tableWrite == .written }.count == counts.written)
        #expect(await table.answers.puts.count >= counts.written + counts.stale)
        #expect(try Verifier.verify(log).ok)
    }
}
