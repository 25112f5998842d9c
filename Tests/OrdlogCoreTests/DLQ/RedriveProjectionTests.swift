import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// redrive into a network projection: the write happens before the attempt is recorded, and the attempt says what
/// actually happened.
@Suite struct RedriveProjectionTests {
    /// moto 03: quantity "2", fixed by acceptNumericStrings.
    static var fixable: String { get throws { try TestFixtures.motoMessageId("03-quantity-as-string") } }

    static func fixedPipeline() throws -> ProcessingStep {
        let p = try SampleLog.pipeline()
        var rules = ValidationRules()
        rules.acceptNumericStrings = true
        return ProcessingStep(log: p.log, processor: OrderProcessor(rules: rules), clock: Fixtures.fixedClock)
    }

    @Test("a failed DynamoDB write during redrive is recorded as a transient failure, and a rerun retries it")
    func failedWriteIsTransientAndRetried() async throws {
        let p = try Self.fixedPipeline()
        var failing = FakeTable()
        let fixable = try Self.fixable
        failing.failing = [fixable]
        let first = try await p.redrive(messageIds: [fixable], dryRun: false, projections: [failing])
        try #require(first.count == 1)
        #expect(first[0].after.decision.outcome == .failed)
        #expect(first[0].after.decision.errorCode == "projection.dynamodb_write_failed")
        #expect(try p.projection.order("ord-1003") == nil, "nothing projected locally when the table write failed")
        #expect(await failing.store.status("ord-1003") == nil)

        let working = FakeTable()
        let second = try await p.redrive(messageIds: [fixable], dryRun: false, projections: [working])
        #expect(second[0].after.decision.outcome == .projected)
        #expect(await working.store.status("ord-1003") != nil)
        #expect(try p.projection.order("ord-1003")?.item.quantity == 2)
        #expect(try p.log.attempts(messageId: fixable).suffix(2).map(\.decision.outcome) == [.failed, .projected])
    }

    @Test("a dry run writes nothing to the network projection")
    func dryRunWritesNothing() async throws {
        let p = try Self.fixedPipeline()
        let table = FakeTable()
        let out = try await p.redrive(messageIds: [try Self.fixable], dryRun: true, projections: [table])
        try #require(out.count == 1)
        #expect(out[0].after.decision.outcome == .projected)
        #expect(await table.store.puts == 0)
    }
}
