import Foundation
import Testing

@testable import OrdlogCore

/// redrive into a network projection: the write happens before the attempt is recorded, and the attempt says what
/// actually happened.
@Suite struct RedriveProjectionTests {
    static let fixable = "96f4d6b5-57d7-4367-b064-7f5e0a374915"  // moto 03: quantity "2", fixed by acceptNumericStrings

    static func fixedPipeline() throws -> Pipeline {
        let p = try SampleLog.pipeline()
        var rules = ValidationRules()
        rules.acceptNumericStrings = true
        return Pipeline(log: p.log, processor: OrderProcessor(rules: rules), clock: Fixtures.fixedClock)
    }

    @Test("a failed DynamoDB write during redrive is recorded as a transient failure, and a rerun retries it")
    func failedWriteIsTransientAndRetried() async throws {
        let p = try Self.fixedPipeline()
        var failing = FakeTable()
        failing.failing = [Self.fixable]
        let first = try await p.redrive(messageIds: [Self.fixable], dryRun: false, projections: [failing])
        #expect(first[0].after.decision.outcome == .failed)
        #expect(first[0].after.decision.errorCode == "projection.dynamodb_write_failed")
        #expect(try p.projection.order("ord-1003") == nil, "nothing projected locally when the table write failed")
        #expect(await failing.store.status("ord-1003") == nil)

        let working = FakeTable()
        let second = try await p.redrive(messageIds: [Self.fixable], dryRun: false, projections: [working])
        #expect(second[0].after.decision.outcome == .projected)
        #expect(await working.store.status("ord-1003") != nil)
        #expect(try p.projection.order("ord-1003")?.item.quantity == 2)
        #expect(try p.log.attempts(messageId: Self.fixable).suffix(2).map(\.decision.outcome) == [.failed, .projected])
    }

    @Test("a dry run writes nothing to the network projection")
    func dryRunWritesNothing() async throws {
        let p = try Self.fixedPipeline()
        let table = FakeTable()
        let out = try await p.redrive(messageIds: [Self.fixable], dryRun: true, projections: [table])
        #expect(out[0].after.decision.outcome == .projected)
        #expect(await table.store.puts == 0)
    }
}
