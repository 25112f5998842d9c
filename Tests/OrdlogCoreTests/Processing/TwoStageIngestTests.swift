import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// Ingest's two stages (``ProcessingStep/streamPrepared(path:batchSize:maxBatchBytes:maxBatchSeconds:_:)``): reading and
/// preparing on a second thread changes nothing in the log, and an error in either stage ends the run.
@Suite("Two-stage ingest")
struct TwoStageIngestTests {
    /// Every row of the log's and the projection's tables, as text, in key order.
    static func dump(_ log: EventLog) throws -> [String] {
        var rows: [String] = []
        for (table, order) in [
            ("receives", "seq"), ("attempts", "seq"), ("orders", "order_id"), ("applied_messages", "kind, id"),
        ] {
            let info = try log.db.prepare("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid")
            var columns: [String] = []
            while try info.step() { columns.append("quote(\(info.text(0)))") }
            let s = try log.db.prepare(
                "SELECT \(columns.joined(separator: " || '|' || ")) FROM \(table) ORDER BY \(order)")
            while try s.step() { rows.append("\(table): \(s.text(0))") }
        }
        return rows
    }

    static let files: [String] = [
        Fixtures.sample("order-traffic.jsonl"), Fixtures.sample("bad-input.jsonl"),
        (try? HostileReportTraffic.path()) ?? "",
    ]

    @Test("the two-stage ingest writes the same log, hashes and projection as reading on one thread")
    func sameLog() throws {
        #expect(!Self.files.contains(""))
        let oneThread = try Fixtures.pipeline()
        let twoStage = try Fixtures.pipeline()
        var s1 = IngestSummary()
        var s2 = IngestSummary()
        var batches1: [Int] = []
        var batches2: [Int] = []
        for file in Self.files {
            let r1 = try TrafficReader.stream(path: file, batchSize: 3) { batch in
                batches1.append(batch.count)
                try oneThread.ingest(batch: batch, summary: &s1)
            }
            let r2 = try twoStage.streamPrepared(path: file, batchSize: 3) { batch in
                batches2.append(batch.count)
                try twoStage.ingest(prepared: batch, summary: &s2)
            }
            #expect(r1 == r2)
        }
        #expect(batches1 == batches2)
        #expect(batches1.count > 5)
        #expect(s1 == s2)
        #expect(s1.received > 20 && s1.inputErrors > 0 && s1.projected > 0)
        let d1 = try Self.dump(oneThread.log)
        let d2 = try Self.dump(twoStage.log)
        #expect(d1.count == d2.count)
        #expect(d1 == d2)
        #expect(try oneThread.log.head() == twoStage.log.head())
        #expect(try Verifier.verify(twoStage.log).ok)
        // A rerun of the same files through the two stages logs nothing again.
        var again = IngestSummary()
        for file in Self.files {
            _ = try twoStage.streamPrepared(path: file, batchSize: 3) { try twoStage.ingest(prepared: $0, summary: &again) }
        }
        #expect(again.alreadyLogged == s1.appended && again.appended == 0 && again.projected == 0)
        #expect(try Self.dump(twoStage.log) == d2)
    }

    struct Refused: Error, Equatable {}

    @Test("an error while reading mid-file ends the run after the batches read before it, with that error")
    func readerError() throws {
        let p = try Fixtures.pipeline()
        let (_, messages) = try TrafficReader.read(path: Fixtures.sample("order-traffic.jsonl"))
        var summary = IngestSummary()
        var seen = 0
        #expect(throws: TrafficFileError.self) {
            _ = try p.streamPrepared(
                reading: { hand in
                    try hand(Array(messages[0..<5]))
                    try hand(Array(messages[5..<10]))
                    throw TrafficFileError(file: "f.jsonl", line: nil, reason: "read failed: EIO")
                }
            ) { batch in
                seen += batch.count
                try p.ingest(prepared: batch, summary: &summary)
            }
        }
        #expect(seen == 10)
        #expect(summary.appended == 10)
        #expect(try p.log.head()?.seq == 20)
        // A file that is not traffic at all is refused as before, nothing appended.
        let bad = Fixtures.tempDir().appendingPathComponent("not-traffic.bin")
        try Data([0x53, 0x51, 0x4C, 0x00, 0x01]).write(to: bad)
        #expect(throws: TrafficFileError.self) {
            _ = try p.streamPrepared(path: bad.path, batchSize: 10) { _ in Issue.record("no batch expected") }
        }
        #expect(throws: TrafficFileError.self) {
            _ = try p.streamPrepared(path: "/nonexistent/x.jsonl", batchSize: 10) { _ in }
        }
    }

    @Test(
        "an error while writing stops the reader: the error is thrown, no hang, later batches never written",
        .timeLimit(.minutes(1)))
    func writerError() throws {
        let p = try Fixtures.pipeline()
        var calls = 0
        // Batches of 1: the reader runs ahead and blocks on the hand-off, so it must be woken and stopped.
        #expect(throws: Refused.self) {
            _ = try p.streamPrepared(path: Fixtures.sample("order-traffic.jsonl"), batchSize: 1) { batch in
                calls += 1
                if calls == 2 { throw Refused() }
            }
        }
        #expect(calls == 2)
        // The disk refuses (SQLite fails the INSERT) in the third batch: that transaction is rolled back, the two
        // before it stay, and the SQLite error is what the run ends with.
        try p.log.db.execute(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON receives WHEN NEW.seq > 20 BEGIN SELECT RAISE(ABORT, 'disk refuses'); END"
        )
        var summary = IngestSummary()
        var batches = 0
        #expect(throws: SQLiteError.self) {
            _ = try p.streamPrepared(path: Fixtures.sample("order-traffic.jsonl"), batchSize: 5) { batch in
                batches += 1
                try p.ingest(prepared: batch, summary: &summary)
            }
        }
        #expect(batches == 3)
        #expect(summary.appended == 10)
        #expect(try p.log.head()?.seq == 20)
        #expect(try Verifier.verify(p.log).ok)
    }

    @Test("a projection write failing half-way in a batch is undone whole: the message fails transiently, the rest as without the failure")
    func projectionWriteFailsHalfWay() throws {
        let (_, messages) = try TrafficReader.read(path: Fixtures.sample("order-traffic.jsonl"))
        let batch = Array(messages[0..<10])
        let reference = try Fixtures.pipeline()
        var unused = IngestSummary()
        try reference.ingest(prepared: batch.map(reference.prepare), summary: &unused)
        // The last projected receive (ord-2003, whose order id no other receive of the batch has).
        let last = try #require(
            try reference.log.db.scalarInt("SELECT max(receive_seq) FROM attempts WHERE outcome = 'projected'"))
        let receives = try #require(try reference.log.db.scalarInt("SELECT count(*) FROM receives"))
        #expect(try reference.log.db.scalarText("SELECT order_id FROM attempts WHERE receive_seq = \(last)") == "ord-2003")
        let p = try Fixtures.pipeline()
        // Its order is upserted, then its first idempotency key is refused: the write fails half-way.
        try p.log.db.execute(
            "CREATE TEMP TRIGGER refuse_key BEFORE INSERT ON applied_messages WHEN NEW.seq = \(last) BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        var summary = IngestSummary()
        try p.ingest(prepared: batch.map(p.prepare), summary: &summary)
        #expect(summary.appended == Int(receives))
        #expect(summary.failed == 1)
        let failed = try p.log.attempts(receiveSeq: last)
        #expect(failed.map(\.decision.outcome) == [.failed])
        #expect(failed.first?.decision.errorCode == "projection.write_failed")
        // Nothing of the last receive's write stayed: neither its order version nor a key.
        #expect(try p.log.db.scalarInt("SELECT count(*) FROM orders WHERE last_seq = \(last)") == 0)
        #expect(try p.log.db.scalarInt("SELECT count(*) FROM applied_messages WHERE seq = \(last)") == 0)
        // Every other receive was decided and written as without the failure.
        for seq in Int64(1)...receives where seq != last {
            #expect(try p.log.attempts(receiveSeq: seq).map(\.decision) == reference.log.attempts(receiveSeq: seq).map(\.decision))
        }
        #expect(
            try p.log.db.scalarInt("SELECT count(*) FROM applied_messages")
                == reference.log.db.scalarInt("SELECT count(*) FROM applied_messages WHERE seq != \(last)"))
        #expect(try Verifier.verify(p.log).ok)
    }

    @Test("a log created for a file ingest has 16 KiB pages, other new logs SQLite's 4 KiB; an existing file keeps its own")
    func pageSize() throws {
        let bulk = Fixtures.tempDB()
        let log = try EventLog(path: bulk, newFilePageSize: EventLog.bulkPageSize)
        #expect(try log.db.scalarInt("PRAGMA page_size") == 16384)
        let plain = try EventLog(path: Fixtures.tempDB())
        #expect(try plain.db.scalarInt("PRAGMA page_size") == 4096)
        let reopened = try EventLog(path: plain.db.path, newFilePageSize: EventLog.bulkPageSize)
        #expect(try reopened.db.scalarInt("PRAGMA page_size") == 4096)
    }
}
