import Foundation
import Testing

@testable import OrdlogCore

/// Logs recorded by processor version 1 (`samples/logs/*.processor-v1.sql`: `sqlite3 .dump` of logs the
/// version-1 binary wrote with `ordlog ingest`) still verify, and replay says exactly which decisions version 2
/// makes differently.
@Suite struct ProcessorVersionCompatibilityTests {
    /// Opens a fresh log built from a dump.
    static func load(_ dump: String) throws -> EventLog {
        let path = Fixtures.tempDB()
        let sql = try String(contentsOfFile: Fixtures.sample("logs/\(dump)"), encoding: .utf8)
        do { try SQLiteConnection(path: path).execute(sql) }
        return try EventLog(path: path)
    }

    @Test("the shipped sample as logged by version 1 verifies with its head, and replays with no difference")
    func sampleLoggedByVersion1() throws {
        let log = try Self.load("order-traffic.processor-v1.sql")
        let verified = try Verifier.verify(log)
        #expect(verified.problem == nil)
        #expect(verified.verified == 26)
        #expect(
            verified.head?.description == "26:f9d067fea87f442624172b13a864095802a5f57a05178c39746a944c65ae4512")
        let scratch = try LocalProjection.open(path: Fixtures.tempDB())
        let result = try Replayer(log: log, processor: OrderProcessor()).run(
            filter: LogFilter(), into: scratch, verdict: true)
        #expect(result.processorVersion == "ordlog-processor/2")
        #expect(result.compared == 13)
        #expect(result.differences.isEmpty)
        #expect(result.digest == RecordHashStabilityTests.expectedDigest)
    }

    @Test("a version-1 log with 3.0, 1e2, 300e-2 and a lone surrogate: the verdict names the four new decisions")
    func quantitiesLoggedByVersion1() throws {
        let log = try Self.load("quantities.processor-v1.sql")
        #expect(try Verifier.verify(log).problem == nil)
        let scratch = try LocalProjection.open(path: Fixtures.tempDB())
        let result = try Replayer(log: log, processor: OrderProcessor()).run(
            filter: LogFilter(), into: scratch, verdict: true)
        #expect(result.compared == 7)
        let diffs = result.differences
        #expect(diffs.map(\.messageId) == ["m-q0", "m-q1", "m-q2", "m-s1"])
        for d in diffs.prefix(3) {
            #expect(d.recorded?.outcome == .rejected)
            #expect(d.recorded?.errorFingerprint == "order.field_invalid:quantity")
            #expect(d.replayed.outcome == .projected)
        }
        #expect(diffs.prefix(3).map { $0.replayed.item?.quantity } == [3, 100, 3])
        #expect(diffs[3].recorded?.outcome == .projected)
        #expect(diffs[3].recorded?.item?.itemName == "\u{FFFD}")  // what version 1 projected: nobody sent it
        #expect(diffs[3].replayed.outcome == .rejected)
        #expect(diffs[3].replayed.errorFingerprint == "order.unpaired_surrogate:itemName")
        // 2.5 and "2" are rejected by both versions; 3 projected by both.
        #expect(try scratch.orders().map(\.item.orderId) == ["ord-q0", "ord-q1", "ord-q2", "ord-q5"])
    }
}
