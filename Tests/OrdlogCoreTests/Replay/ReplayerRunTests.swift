import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// ``Replayer/replay(_:progress:)`` on `samples/order-traffic.jsonl`: expectations recorded and checked, the
/// projection chosen, the setup errors.
@Suite struct ReplayerRunTests {
    static func sampleLog() throws -> EventLog {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        return p.log
    }

    @Test("recorded expectations are every decision's line; checked against the same rules they all match")
    func recordsThenChecksExpectations() throws {
        let log = try Self.sampleLog()
        let file = Fixtures.tempDir().appendingPathComponent("expect.jsonl").path
        var options = ReplayOptions()
        options.recordExpectationsPath = file
        options.keepDecisions = true
        let recorded = try Replayer(log: log, processor: OrderProcessor()).replay(options)
        #expect(recorded.expectationDifferences == nil)
        #expect(recorded.decisions.count == recorded.result.counts.replayed)
        let bytes = try #require(FileManager.default.contents(atPath: file))
        #expect(Array(bytes) == recorded.decisions.flatMap(Expectations.line))
        #expect(recorded.projection is MemoryProjection)

        var check = ReplayOptions()
        check.expectationsPath = file
        let same = try Replayer(log: log, processor: OrderProcessor()).replay(check)
        #expect(same.expectationDifferences == [])
        #expect(same.decisions.isEmpty, "decisions are kept only when asked")
        #expect(same.result.digest == recorded.result.digest)

        var stricter = ValidationRules()
        stricter.minimumQuantity = 2
        let changed = try Replayer(log: log, processor: OrderProcessor(rules: stricter)).replay(check)
        let diffs = try #require(changed.expectationDifferences)
        #expect(!diffs.isEmpty && diffs.allSatisfy { $0.kind == .changed })
    }

    @Test("into a file: the projection is that file; a file that holds orders is refused before replaying")
    func intoAFile() throws {
        let log = try Self.sampleLog()
        var options = ReplayOptions()
        options.intoPath = Fixtures.tempDB()
        let report = try Replayer(log: log, processor: OrderProcessor()).replay(options)
        #expect(report.projection is LocalProjection)
        #expect(try report.projection.orderCount() == report.result.orders && report.result.orders > 0)
        #expect {
            try Replayer(log: log, processor: OrderProcessor()).replay(options)
        } throws: { ($0 as? ReplaySetupError)?.kind == .projectionUnusable }
    }

    @Test("an expectations file that cannot be read, or one that cannot be written, is a setup error")
    func setupErrors() throws {
        let log = try Self.sampleLog()
        var unreadable = ReplayOptions()
        unreadable.expectationsPath = Fixtures.tempDir().appendingPathComponent("missing.jsonl").path
        #expect {
            try Replayer(log: log, processor: OrderProcessor()).replay(unreadable)
        } throws: { ($0 as? ReplaySetupError)?.kind == .expectationsUnreadable }
        var unwritable = ReplayOptions()
        unwritable.recordExpectationsPath = Fixtures.tempDir().appendingPathComponent("no/such/dir/e.jsonl").path
        #expect {
            try Replayer(log: log, processor: OrderProcessor()).replay(unwritable)
        } throws: { ($0 as? ReplaySetupError)?.kind == .expectationsUnwritable }
    }
}
