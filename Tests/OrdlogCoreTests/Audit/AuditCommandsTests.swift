import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// The sample log: the moto captures (both delivery modes), the Lambda SQS events in public/, and the
/// project's own order traffic.
enum SampleLog {
    static var publicSQS: [String] { TestFixtures.publicSQSEvents }
    static func files() throws -> [String] { try TestFixtures.sampleLogFiles() }
    /// moto 03-quantity-as-string, SNS envelope and raw delivery (SQS MessageIds, read from the captures).
    static func quantityAsString() throws -> Set<String> {
        [
            try TestFixtures.motoMessageId("03-quantity-as-string"),
            try TestFixtures.motoMessageId("03-quantity-as-string", rawDelivery: true),
        ]
    }

    static func pipeline() throws -> ProcessingStep {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest(try files(), into: p)
        return p
    }
}

@Suite struct ReplayTests {
    @Test func replayWithTheSameRulesHasNoDifferencesAndMatchesTheLiveDigest() throws {
        let p = try SampleLog.pipeline()
        let scratch = try LocalProjection.open(path: Fixtures.tempDB())
        let result = try Replayer(log: p.log, processor: OrderProcessor())
            .run(filter: LogFilter(), into: scratch, verdict: true)
        #expect(result.counts.replayed == 34)
        #expect(result.compared == 34)
        #expect(result.differences.isEmpty)
        #expect(result.digest == (try p.projection.digest()))
        #expect(result.counts.projected == 14)
        #expect(result.counts.deadLettered == 1)
    }

    @Test func acceptingNumericStringsChangesExactlyTheQuantityAsStringMessages() throws {
        let p = try SampleLog.pipeline()
        var rules = ValidationRules()
        rules.acceptNumericStrings = true
        let scratch = try LocalProjection.open(path: Fixtures.tempDB())
        let result = try Replayer(log: p.log, processor: OrderProcessor(rules: rules))
            .run(filter: LogFilter(), into: scratch, verdict: true)
        #expect(Set(result.differences.compactMap(\.messageId)) == (try SampleLog.quantityAsString()))
        #expect(result.differences.count == 2)
        for d in result.differences {
            #expect(d.recorded?.outcome == .rejected)
            #expect(d.recorded?.errorFingerprint == "order.field_invalid:quantity")
            #expect(d.replayed.outcome == .projected)
            #expect(d.replayed.item?.orderId == "ord-1003")
            #expect(d.replayed.item?.quantity == 2)
        }
        #expect(try scratch.order("ord-1003")?.item.quantity == 2)
    }

    @Test func filtersSelectByOrderAndSeq() throws {
        let p = try SampleLog.pipeline()
        var f = LogFilter()
        f.orderId = "ord-2001"
        var seen: [String?] = []
        _ = try Replayer(log: p.log, processor: OrderProcessor())
            .run(
                filter: f, into: try LocalProjection.open(path: Fixtures.tempDB()),
                onDecision: { seen.append($0.messageId) })
        #expect(
            seen == [
                "6f1c2a9e-0001-4c1e-9d8a-000000000001", "6f1c2a9e-0003-4c1e-9d8a-000000000003",
                "6f1c2a9e-0003-4c1e-9d8a-000000000003", "6f1c2a9e-0006-4c1e-9d8a-000000000006",
                "6f1c2a9e-0007-4c1e-9d8a-000000000007",
            ])
        var g = LogFilter()
        g.fromSeq = 1
        g.toSeq = 4
        var seqs: [Int64] = []
        _ = try Replayer(log: p.log, processor: OrderProcessor())
            .run(
                filter: g, into: try LocalProjection.open(path: Fixtures.tempDB()), onDecision: { seqs.append($0.seq) })
        #expect(seqs == [1, 3])
    }

    @Test func expectationsRoundTripAndDetectAChange() throws {
        let p = try SampleLog.pipeline()
        var lines: [JSONObject] = []
        _ = try Replayer(log: p.log, processor: OrderProcessor())
            .run(
                filter: LogFilter(), into: try LocalProjection.open(path: Fixtures.tempDB()),
                onDecision: {
                    lines.append(try #require(Expectations.json($0).objectValue))
                })
        #expect(lines.count == 34)
        #expect(Expectations.compare(expected: lines, actual: lines).isEmpty)
        var rules = ValidationRules()
        rules.acceptNumericStrings = true
        var changed: [JSONObject] = []
        _ = try Replayer(log: p.log, processor: OrderProcessor(rules: rules))
            .run(
                filter: LogFilter(), into: try LocalProjection.open(path: Fixtures.tempDB()),
                onDecision: {
                    changed.append(try #require(Expectations.json($0).objectValue))
                })
        let diffs = Expectations.compare(expected: lines, actual: changed)
        #expect(diffs.map(\.kind) == [.changed, .changed])
        #expect(Set(diffs.map { String($0.key.prefix(36)) }) == (try SampleLog.quantityAsString()))
    }
}

@Suite struct ReprojectTests {
    @Test func reprojectOverTheWholeLogEqualsTheLiveProjection() throws {
        let p = try SampleLog.pipeline()
        let live = try p.projection.orders()
        let liveDigest = try p.projection.digest()
        let liveKeys = try p.log.db.scalarInt("SELECT count(*) FROM applied_messages")
        let result = try Reprojector(log: p.log).run(.all, batchSize: 7, startedAt: 0)
        #expect(result.digest == liveDigest)
        #expect(result.orders == 6)
        #expect(result.throughSeq == 68)
        #expect(try p.projection.orders() == live)
        #expect(try p.log.db.scalarInt("SELECT count(*) FROM applied_messages") == liveKeys)
        #expect(try Reprojector(log: p.log).checkpoint() == nil)
    }

    @Test func anInterruptedBuildResumesAndEndsWithTheSameDigest() throws {
        let p = try SampleLog.pipeline()
        let liveDigest = try p.projection.digest()
        var checkpoints = 0
        let first = try Reprojector(log: p.log).run(
            .all, batchSize: 10, startedAt: 0,
            shouldStop: {
                checkpoints += 1
                return checkpoints == 3
            })
        #expect(first.interrupted)
        #expect(first.throughSeq == 30)
        #expect(try p.projection.digest() == liveDigest)  // old projection untouched
        #expect(try Reprojector(log: p.log).checkpoint()?.lastSeq == 30)
        let second = try Reprojector(log: p.log).run(.all, batchSize: 10, startedAt: 0)
        #expect(second.resumedFrom == 30)
        #expect(second.digest == liveDigest)
    }

    @Test func asOfSeqAndAsOfInstantIntoSeparateFiles() throws {
        let p = try SampleLog.pipeline()
        let atSeq = Fixtures.tempDB()
        let r = try Reprojector(log: p.log, intoPath: atSeq).run(.seq(4), startedAt: 0)
        let proj = try LocalProjection.open(path: atSeq)
        #expect(r.throughSeq == 4)
        #expect(try proj.orders().map(\.item.orderId) == ["ord-1001", "ord-1002"])
        // The order traffic was sent on 2026-01-01 from 10:00. Seq 49 (ord-2001 SHIPPED @10:20, sent 10:20:01)
        // was recorded stale because seq 48 (DELIVERED @10:30, sent 10:30) arrived first; as of 10:25 the
        // DELIVERED version did not exist yet, so the order is SHIPPED.
        let atTime = Fixtures.tempDB()
        _ = try Reprojector(log: p.log, intoPath: atTime).run(
            .sent(try #require(RFC3339.milliseconds("2026-01-01T10:25:00Z"))), startedAt: 0)
        let early = try LocalProjection.open(path: atTime)
        #expect(try early.orders().map(\.item.orderId) == ["ord-2001", "ord-2002"])
        #expect(try early.order("ord-2001")?.item.status == "SHIPPED")
        #expect(try early.order("ord-2001")?.lastSeq == 49)
        #expect(try p.projection.order("ord-2001")?.item.status == "DELIVERED")
    }
}

@Suite struct DeadLetterTests {
    @Test func reportGroupsByFingerprintAndKeepsInputErrors() throws {
        let p = try SampleLog.pipeline()
        try Fixtures.ingest([Fixtures.sample("bad-input.jsonl")], into: p)
        let report = try p.log.deadLetterReport()
        #expect(report.groups.map(\.fingerprint) == ["order.field_invalid:quantity"])
        let m = try #require(report.groups.first?.messages.first)
        #expect(m.messageId == "6f1c2a9e-0010-4c1e-9d8a-000000000010")
        #expect(m.orderId == "ord-2004")
        #expect(m.receives.map(\.receiveCount) == [1, 2, 3])
        #expect(m.attempts.map(\.decision.deadLettered) == [false, false, true])
        #expect(m.anatomy.envelope?.messageId == "a1b2c3d4-0010-5e6f-8a9b-000000000010")
        #expect(m.anatomy.envelope?.topicArn == "arn:aws:sns:us-east-1:123456789012:OrderTopic")
        #expect(m.anatomy.order?["quantity"] == .string("two"))
        #expect(report.inputErrors.count == 3)
        let all = try p.log.deadLetterReport(includeRetrying: true)
        #expect(all.messageCount > 1)
        #expect(all.groups.contains { $0.fingerprint == "body.not_json" })
    }

    @Test func redriveAppendsAttemptsAndADryRunAppendsNothing() throws {
        let p = try SampleLog.pipeline()
        let head = try p.log.head()
        let id = "6f1c2a9e-0010-4c1e-9d8a-000000000010"
        let dry = try p.redrive(messageIds: [id], dryRun: true)
        #expect(dry.count == 1)
        #expect(dry[0].after.trigger == .redrive)
        #expect(try p.log.head() == head)
        let real = try p.redrive(messageIds: [id], dryRun: false)
        #expect(real[0].after.seq == head!.seq + 1)
        #expect(real[0].after.receiveSeq == real[0].receive.seq)
        #expect(real[0].after.decision.deadLettered)
        #expect(try p.log.attempts(messageId: id).map(\.trigger) == [.receive, .receive, .receive, .redrive])
        #expect(try Verifier.verify(p.log).ok)
    }

    @Test func redriveAfterAFixProjectsTheOrder() throws {
        let p = try SampleLog.pipeline()
        var rules = ValidationRules()
        rules.acceptNumericStrings = true
        let fixed = ProcessingStep(log: p.log, processor: OrderProcessor(rules: rules), clock: Fixtures.fixedClock)
        // moto 03 is not dead-lettered (receive count 1), but redrive works on any message id.
        let id = try TestFixtures.motoMessageId("03-quantity-as-string")
        let out = try fixed.redrive(messageIds: [id], dryRun: false)
        #expect(out[0].after.decision.outcome == .projected)
        #expect(out[0].after.processorVersion == "ordlog-processor/2 (acceptNumericStrings)")
        #expect(try p.projection.order("ord-1003")?.item.quantity == 2)
        // Reproject re-applies recorded decisions, redrives included: still equal to the live projection.
        let digest = try p.projection.digest()
        #expect(try Reprojector(log: p.log).run(.all, startedAt: 0).digest == digest)
    }
}

@Suite struct ExportTests {
    @Test func redactedExportReingestsCleanlyWithoutPersonalValues() throws {
        let p = try SampleLog.pipeline()
        let redactor = Redactor(fields: ["userId", "itemName"], key: "test-key")
        var text: [UInt8] = []
        try p.log.forEachRecord { r in
            if case .receive(let x) = r, let l = Exporter.line(x, redactor: redactor) { text += l.line }
            return true
        }
        let s = String(decoding: text, as: UTF8.self)
        for personal in ["user-42", "user-17", "Espresso machine", "Widget", "Milk frother", "user-51"] {
            #expect(!s.contains(personal))
        }
        #expect(s.contains(redactor.pseudonym(field: "userId", value: "user-42")))
        #expect(redactor.pseudonym(field: "userId", value: "user-42").hasPrefix("userId-"))
        #expect(redactor.pseudonym(field: "userId", value: "user-42").count == 19)
        let (_, messages) = try TrafficReader.parse(text, name: "export.jsonl")
        let fresh = try Fixtures.pipeline()
        var summary = IngestSummary()
        try fresh.ingest(batch: messages, summary: &summary)
        #expect(summary.appended == 34)
        #expect(summary.inputErrors == 0)
        // Redacted bodies get a recomputed MD5OfBody; only the public samples' fake MD5s (as captured) differ.
        #expect(
            try fresh.log.db.scalarInt("SELECT count(*) FROM receives WHERE md5_matches = 0")
                == (try p.log.db.scalarInt("SELECT count(*) FROM receives WHERE md5_matches = 0")))
        #expect(try fresh.log.db.scalarInt("SELECT count(*) FROM receives WHERE md5_matches = 0") == 5)
        #expect(summary.projected == 14)
    }
}
