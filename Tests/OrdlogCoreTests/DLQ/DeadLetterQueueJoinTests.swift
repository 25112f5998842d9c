import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// ``LogSet/join(deadLetterQueue:)``: a DLQ message is in a log when any log of the set holds a receive of its
/// MessageId, whichever log that is.
@Suite struct DeadLetterQueueJoinTests {
    @Test("across three logs: a message in any of them is in a log, with its merged history; others are in no log")
    func joinAcrossLogs() throws {
        let (dir, urls) = try MultiLogTests.threeLogs(receiveCounts: true)
        // Received by a consumer of the third log only, not processed yet (its attempt never written).
        let unprocessed = MultiLogTests.message("m-unprocessed", body: Array("{}".utf8), sent: 3000, receiveCount: 1)
        let d = try EventLog(path: dir.appendingPathComponent("d.db").path)
        try d.write { _ = try d.append(unprocessed, receivedAt: 1_767_261_600_000) }
        let set = try MultiLogTests.open(urls + [dir.appendingPathComponent("d.db")])
        let dlq = [
            MultiLogTests.message(MultiLogTests.poisonId, body: Array("x".utf8), sent: 500, receiveCount: 4),
            MultiLogTests.message("m-never-logged", body: Array("raw \u{1}".utf8), sent: 700, receiveCount: 4),
            unprocessed,
            IncomingMessage(messageId: nil, body: Array("not an SQS message".utf8), source: "q", inputError: "bad"),
        ]
        let joined = try set.join(deadLetterQueue: dlq)
        #expect(joined.map(\.inLog) == [true, false, true, false])
        #expect(joined.map(\.queued) == dlq)  // the messages as the queue returned them, in order
        // The poison message's history is the set's: one receive and one attempt in each of the three logs.
        #expect(joined[0].history?.receives.count == 3)
        #expect(joined[0].history?.attempts.count == 3)
        #expect(joined[0].history?.deadLettered == true)
        #expect(joined[1].history == nil)
        #expect(joined[2].history == nil)  // in a log, but never attempted
        #expect(joined[3].history == nil)
    }
}
