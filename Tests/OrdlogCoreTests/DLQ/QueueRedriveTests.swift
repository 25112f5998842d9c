import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// ``Redriver/run(fromQueue:messageIds:dryRun:table:limit:visibilityTimeout:)`` against an in-memory queue: each
/// receive is recorded first, bad input included, processed with trigger redrive, and deleted only once its attempt
/// is recorded and final; everything else is released.
@Suite struct QueueRedriveTests {
    static let valid =
        #"{"orderId":"ord-8001","userId":"u-1","itemName":"Kettle","quantity":2,"status":"PAID","timestamp":"2026-01-01T10:00:00Z"}"#

    @Test(
        "a body that is not JSON is recorded and rejected, and stays in the queue; a valid one is projected and deleted"
    )
    func badInputIsRecordedNotDropped() async throws {
        let log = try EventLog(path: Fixtures.tempDB())
        let queue = FakeQueue()
        await queue.send(Self.valid, id: "m-1")
        await queue.send("not json {", id: "m-2")
        let report = try await Redriver(log: log, processor: OrderProcessor())
            .run(fromQueue: queue, messageIds: nil, dryRun: false)

        #expect(report.outcomes.map(\.messageId) == ["m-1", "m-2"])
        #expect(report.outcomes.map(\.after.decision.outcome) == [.projected, .rejected])
        #expect(report.outcomes.map(\.after.trigger) == [.redrive, .redrive])
        #expect(report.outcomes.allSatisfy { $0.before == nil })
        #expect(report.queue?.newToLog == ["m-1", "m-2"])
        #expect(report.queue?.deleted == ["m-1"])
        #expect(report.queue?.left == ["m-2"])
        #expect(report.stillDeadLettered == 0)  // rejected on its first receive: retrying, not dead-lettered
        #expect(await queue.deleted == ["m-1#1"])
        #expect(await queue.messages.map(\.id) == ["m-2"])
        #expect(await queue.visibilityChanges.map { "\($0.handle)=\($0.seconds)" } == ["m-2#1=0"])

        let bad = try #require(try log.receives(messageId: "m-2").first)
        #expect(bad.body == Array("not json {".utf8))
        #expect(bad.source == queue.url)
        #expect(try log.attempts(messageId: "m-2").map(\.receiveSeq) == [bad.seq])
        #expect(try LocalProjection(db: log.db).orders().map(\.item.orderId) == ["ord-8001"])
    }

    @Test("a delete that fails comes after the attempt is recorded; the messages are released and the error thrown")
    func deleteOnlyAfterTheAttemptIsRecorded() async throws {
        let log = try EventLog(path: Fixtures.tempDB())
        let queue = FakeQueue()
        await queue.send(Self.valid, id: "m-1")
        await queue.failDeletes(1)
        await #expect(throws: AWSServiceError.self) {
            try await Redriver(log: log, processor: OrderProcessor())
                .run(fromQueue: queue, messageIds: nil, dryRun: false)
        }
        #expect(try log.attempts(messageId: "m-1").map(\.decision.outcome) == [.projected])
        #expect(await queue.messages.map(\.id) == ["m-1"])
        #expect(await queue.visibilityChanges.map { "\($0.handle)=\($0.seconds)" } == ["m-1#1=0"])
    }

    @Test("a dry run appends nothing and deletes nothing; a chosen MessageId not in the queue is skipped")
    func dryRunAndSelection() async throws {
        let log = try EventLog(path: Fixtures.tempDB())
        let queue = FakeQueue()
        await queue.send(Self.valid, id: "m-1")
        await queue.send(Self.valid, id: "m-2")
        let report = try await Redriver(log: log, processor: OrderProcessor())
            .run(fromQueue: queue, messageIds: ["m-2", "m-9"], dryRun: true)
        #expect(report.outcomes.map(\.messageId) == ["m-2"])
        #expect(report.outcomes.map(\.after.decision.outcome) == [.projected])
        #expect(report.skipped == [.init(messageId: "m-9", reason: .notInQueue)])
        #expect(try log.head() == nil)
        #expect(await queue.deleted.isEmpty)
        #expect(await queue.messages.map(\.id) == ["m-1", "m-2"])
        #expect(Set(await queue.visibilityChanges.map(\.handle)) == ["m-1#1", "m-2#1"])
    }
}
