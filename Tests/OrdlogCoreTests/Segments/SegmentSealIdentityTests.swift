import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// ``Segments/seal(_:directory:ordlogVersion:consumerId:recordIdentity:)`` on `samples/order-traffic.jsonl`: the
/// segment is named after the log's consumer, recorded first when the log names none.
@Suite struct SegmentSealIdentityTests {
    static func sampleLog() throws -> EventLog {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        return p.log
    }

    @Test("a log without an identity gets one, with the newest receive's queue, before it is sealed")
    func recordsAnIdentityFirst() throws {
        let log = try Self.sampleLog()
        let newestQueue = try #require(try log.receives(where: "1=1").last).source
        var asked: [String] = []
        let sealed = try #require(
            try Segments.seal(log, directory: nil, ordlogVersion: "test", consumerId: nil) { queue in
                asked.append(queue)
                try log.write {
                    _ = try log.appendIdentity(
                        ConsumerIdentity(consumerId: "c1", ordlogVersion: "test", queue: queue), recordedAt: 0)
                }
            })
        #expect(asked == [newestQueue])
        #expect(sealed.manifest.consumerId == "c1")
    }

    @Test("another --consumer-id than the log's is refused and nothing is written")
    func refusesAnotherConsumer() throws {
        let log = try Self.sampleLog()
        try log.write {
            _ = try log.appendIdentity(
                ConsumerIdentity(consumerId: "c1", ordlogVersion: "test", queue: ""), recordedAt: 0)
        }
        let head = try log.head()
        #expect(throws: SealConsumerMismatch(recorded: "c1", given: "c2")) {
            try Segments.seal(log, directory: nil, ordlogVersion: "test", consumerId: "c2") { _ in
                Issue.record("the log names its consumer")
            }
        }
        #expect(try log.head() == head)
    }

    @Test("an empty log records no identity and seals nothing")
    func emptyLog() throws {
        let log = try EventLog(path: Fixtures.tempDB())
        let sealed = try Segments.seal(log, directory: nil, ordlogVersion: "test", consumerId: nil) { _ in
            Issue.record("nothing to name")
        }
        #expect(sealed == nil)
    }
}
