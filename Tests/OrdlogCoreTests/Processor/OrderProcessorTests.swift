import Crypto
import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// Projection state held in memory, keyed by UTF-8 bytes (as the SQLite projection compares).
struct MemoryState: ProcessorState {
    var applied: [String: Int64] = [:]
    var versions: [[UInt8]: OrderVersion] = [:]
    func appliedSeq(kind: IdempotencyKind, id: String) throws -> Int64? { applied["\(kind.rawValue):\(id)"] }
    func currentVersion(orderId: String) throws -> OrderVersion? { versions[Array(orderId.utf8)] }
}

func makeReceive(_ body: String, seq: Int64 = 10, messageId: String? = "m-1", receiveCount: Int64 = 1) -> LoggedReceive
{
    LoggedReceive(
        seq: seq, receiveKey: "k", messageId: messageId, receiptHandle: "h", md5OfBody: nil, md5Matches: nil,
        body: Array(body.utf8), attributesJSON: "{}", messageAttributesJSON: nil, md5OfMessageAttributes: nil,
        receiveCount: receiveCount, sentTimestamp: nil, source: "test", inputError: nil, receivedAt: 0,
        prevHash: [], hash: [])
}

func order(_ fields: String) -> String {
    #"{"orderId":"o-1","userId":"u-1","itemName":"Widget","status":"PENDING","timestamp":"2025-01-15T10:30:00Z","#
        + fields + "}"
}

func envelope(_ message: String, snsId: String = "sns-1") -> String {
    JSONWriter.string(
        .object(
            JSONObject([
                ("Type", .string("Notification")), ("MessageId", .string(snsId)),
                ("TopicArn", .string("arn:aws:sns:us-east-1:123456789012:OrderTopic")), ("Message", .string(message)),
            ])))
}

@Suite struct OrderProcessorTests {
    let processor = OrderProcessor()

    @Test("an SNS envelope is unwrapped and its MessageId kept as the SNS idempotency key")
    func envelopeUnwrapped() {
        let d = processor.decide(makeReceive(envelope(order(#""quantity":3"#))), state: MemoryState())
        #expect(d.outcome == .projected)
        #expect(d.snsMessageId == "sns-1")
        #expect(
            d.item
                == OrderItem(
                    orderId: "o-1", userId: "u-1", itemName: "Widget", quantity: 3, status: "PENDING",
                    timestamp: "2025-01-15T10:30:00Z"))
    }

    @Test("under raw message delivery the body is the order")
    func rawDelivery() {
        let d = processor.decide(makeReceive(order(#""quantity":3"#)), state: MemoryState())
        #expect(d.outcome == .projected)
        #expect(d.snsMessageId == nil)
        #expect(d.item?.quantity == 3)
    }

    @Test("an order with a field named Message is not taken for an envelope")
    func orderWithMessageField() {
        let body = order(#""quantity":1,"Message":"{\"orderId\":\"evil\"}","Type":"Notification""#)
        let d = processor.decide(makeReceive(body), state: MemoryState())
        #expect(d.outcome == .projected)
        #expect(d.item?.orderId == "o-1")
    }

    @Test(
        "quantity rules",
        arguments: [
            ("3", true, ""), ("2.0", true, ""), ("2.5", false, "not a whole number"),
            (#""2""#, false, #"the string "2""#),
            ("9007199254740993", false, "out of range"), ("9007199254740991", true, ""), ("-1", false, "the number -1"),
            ("0", false, "the number 0"), ("2e0", true, ""), ("null", false, "null"),
            ("99999999999999999999", false, "out of range"),
        ])
    func quantityRules(literal: String, accepted: Bool, mentions: String) {
        let d = processor.decide(makeReceive(order("\"quantity\":\(literal)")), state: MemoryState())
        if accepted {
            #expect(d.outcome == .projected)
        } else {
            #expect(d.outcome == .rejected)
            #expect(d.errorKind == .permanent)
            #expect(d.errorCode == "order.field_invalid")
            #expect(d.errorField == "quantity")
            #expect(d.errorMessage?.contains(mentions) == true, "\(d.errorMessage ?? "")")
        }
    }

    @Test("relaxed rules accept \"2\"; strict rules reject 2.0")
    func relaxedRules() {
        var rules = ValidationRules()
        rules.acceptNumericStrings = true
        let p = OrderProcessor(rules: rules)
        #expect(p.decide(makeReceive(order(#""quantity":2.0"#)), state: MemoryState()).item?.quantity == 2)
        #expect(p.decide(makeReceive(order(#""quantity":"2""#)), state: MemoryState()).item?.quantity == 2)
        #expect(p.version == "ordlog-processor/2 (acceptNumericStrings)")
        rules.integerLiteralsOnly = true
        let strict = OrderProcessor(rules: rules)
        #expect(strict.decide(makeReceive(order(#""quantity":2.0"#)), state: MemoryState()).outcome == .rejected)
        #expect(strict.version == "ordlog-processor/2 (integerLiteralsOnly,acceptNumericStrings)")
    }

    @Test(
        "each rejection names the field and the bad value",
        arguments: [
            (
                #"{"userId":"u","itemName":"i","quantity":1,"status":"s","timestamp":"2025-01-15T10:30:00Z"}"#,
                "order.field_missing", "orderId", "order field orderId is missing"
            ),
            (
                #"{"orderId":"","userId":"u","itemName":"i","quantity":1,"status":"s","timestamp":"2025-01-15T10:30:00Z"}"#,
                "order.field_invalid", "orderId", #"order field orderId is the string "", expected a non-empty string"#
            ),
            (
                #"{"orderId":7,"userId":"u","itemName":"i","quantity":1,"status":"s","timestamp":"2025-01-15T10:30:00Z"}"#,
                "order.field_invalid", "orderId", "order field orderId is the number 7, expected a non-empty string"
            ),
            (
                #"{"orderId":"o","userId":null,"itemName":"i","quantity":1,"status":"s","timestamp":"2025-01-15T10:30:00Z"}"#,
                "order.field_invalid", "userId", "order field userId is null, expected a string"
            ),
            (
                #"{"orderId":"o","userId":"u","itemName":"i","quantity":1,"status":"s","timestamp":"yesterday"}"#,
                "order.field_invalid", "timestamp",
                #"order field timestamp is the string "yesterday", expected an RFC 3339"#
            ),
            (
                #"{"orderId":"o","userId":"u","itemName":"i","quantity":1,"timestamp":"2025-01-15T10:30:00Z"}"#,
                "order.field_missing", "status", "order field status is missing"
            ),
        ])
    func rejections(body: String, code: String, field: String, message: String) {
        let d = processor.decide(makeReceive(body), state: MemoryState())
        #expect(d.outcome == .rejected)
        #expect(d.errorCode == code)
        #expect(d.errorField == field)
        #expect(d.errorMessage?.hasPrefix(message) == true, "\(d.errorMessage ?? "")")
    }

    @Test("bodies that are not orders are rejected permanently with a reason")
    func notOrders() {
        #expect(processor.decide(makeReceive("not json"), state: MemoryState()).errorCode == "body.not_json")
        #expect(processor.decide(makeReceive("[1,2]"), state: MemoryState()).errorCode == "body.not_object")
        #expect(processor.decide(makeReceive(envelope("nope")), state: MemoryState()).errorCode == "order.not_json")
        let noMessage = #"{"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:1:T","MessageId":"x","Message":5}"#
        let d = processor.decide(makeReceive(noMessage), state: MemoryState())
        #expect(d.errorCode == "envelope.message_not_string")
        #expect(d.errorMessage == "SNS envelope field Message is a JSON number, expected a string")
    }

    @Test("orderIds that differ only in Unicode normalisation are two orders")
    func unicodeNormalisation() {
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        #expect(nfc == nfd)  // Swift's String == says equal …
        var state = MemoryState()
        state.versions[Array(nfc.utf8)] = OrderVersion(timestampNs: .max, seq: 1)
        let body = order(#""quantity":1"#).replacingOccurrences(of: "\"o-1\"", with: "\"\(nfd)\"")
        let d = processor.decide(makeReceive(body), state: state)
        #expect(d.outcome == .projected)  // … but the NFC order's newer version does not make the NFD one stale
        #expect(Array(d.item!.orderId.utf8) == Array(nfd.utf8))
    }

    @Test("duplicates by SQS or SNS MessageId, stale by (timestamp, seq)")
    func duplicatesAndStale() {
        var state = MemoryState()
        state.applied["sqs:m-1"] = 3
        #expect(processor.decide(makeReceive(order(#""quantity":1"#)), state: state).outcome == .duplicate)
        state = MemoryState()
        state.applied["sns:sns-1"] = 4
        let dup = processor.decide(makeReceive(envelope(order(#""quantity":1"#)), messageId: "m-2"), state: state)
        #expect(dup.outcome == .duplicate)
        #expect(dup.note == "SNS MessageId sns-1 already applied at log seq 4")
        state = MemoryState()
        let ts = RFC3339.nanoseconds("2025-01-15T10:30:00Z")!
        state.versions[Array("o-1".utf8)] = OrderVersion(timestampNs: ts + 1, seq: 1)
        #expect(processor.decide(makeReceive(order(#""quantity":1"#), seq: 10), state: state).outcome == .stale)
        state.versions[Array("o-1".utf8)] = OrderVersion(timestampNs: ts, seq: 9)  // same instant, earlier seq
        #expect(processor.decide(makeReceive(order(#""quantity":1"#), seq: 10), state: state).outcome == .projected)
        state.versions[Array("o-1".utf8)] = OrderVersion(timestampNs: ts, seq: 11)  // same instant, later seq
        #expect(processor.decide(makeReceive(order(#""quantity":1"#), seq: 10), state: state).outcome == .stale)
    }

    @Test("interpret reads the body alone; decide on its result checks the state and marks dead-lettering")
    func interpretThenDecide() {
        let ts = RFC3339.nanoseconds("2025-01-15T10:30:00Z")!
        #expect(
            processor.interpret(body: Array(envelope(order(#""quantity":3"#)).utf8), inputError: nil)
                == .order(
                    OrderItem(
                        orderId: "o-1", userId: "u-1", itemName: "Widget", quantity: 3, status: "PENDING",
                        timestamp: "2025-01-15T10:30:00Z"), timestampNs: ts, snsMessageId: "sns-1"))
        guard case .rejected(let r) = processor.interpret(body: Array("bad".utf8), inputError: nil) else {
            Issue.record("a body that is not JSON was not rejected")
            return
        }
        #expect(r.errorCode == "body.not_json")
        #expect(!r.deadLettered)  // marking depends on the receive count, which interpret does not see
        // The state half: what it decides from an interpretation, fixed values (not a comparison with
        // decide(_:state:), which is defined as this call).
        var state = MemoryState()
        state.applied["sns:sns-1"] = 4
        let enveloped = makeReceive(envelope(order(#""quantity":3"#)))
        let dup = processor.decide(
            processor.interpret(body: enveloped.body, inputError: nil), receive: enveloped, state: state)
        #expect(dup.outcome == .duplicate)
        #expect(dup.note == "SNS MessageId sns-1 already applied at log seq 4")
        let third = makeReceive("bad", receiveCount: 3)
        let dead = processor.decide(.rejected(r), receive: third, state: state)
        #expect(dead.outcome == .rejected && dead.errorCode == "body.not_json" && dead.deadLettered)
        let first = processor.decide(.rejected(r), receive: makeReceive("bad", receiveCount: 1), state: state)
        #expect(!first.deadLettered)
    }

    @Test("a failure on receive number maxReceiveCount is dead-lettered")
    func deadLetter() {
        for (count, expected) in [(Int64(1), false), (2, false), (3, true), (4, true)] {
            let d = processor.decide(makeReceive("bad", receiveCount: count), state: MemoryState())
            #expect(d.deadLettered == expected, "receive count \(count)")
        }
    }

    /// A stream of receives covering every outcome, decided in order against a state the projected ones update
    /// (as the projection would), each decision written out field by field.
    static func transcript(_ processor: OrderProcessor) -> String {
        let stream: [(body: String, messageId: String, receiveCount: Int64)] = [
            (envelope(order(#""quantity":3"#), snsId: "sns-a"), "m-1", 1),
            (envelope(order(#""quantity":3"#), snsId: "sns-a"), "m-2", 1),  // SNS retry: duplicate
            (order(#""quantity":3"#), "m-1", 2),  // same SQS MessageId: duplicate
            (order(#""quantity":2"#).replacingOccurrences(of: "10:30:00Z", with: "19:29:59.5+09:00"), "m-3", 1),
            (order(#""quantity":4"#).replacingOccurrences(of: "PENDING", with: "PAID"), "m-4", 1),
            (envelope(order(#""quantity":"2""#), snsId: "sns-b"), "m-5", 1),
            (envelope(order(#""quantity":"2""#), snsId: "sns-b"), "m-5", 3),  // third receive: dead-lettered
            (#"{"orderId":"caf\u00e9","userId":"ü","itemName":"Café – 東京 🍣","quantity":1,"status":"İ","#
                + #""timestamp":"2025-01-15T10:30:00.123456789Z"}"#, "m-6", 1),
            ("not json", "m-7", 1),
            (envelope("nope"), "m-8", 1),
            (
                #"{"orderId":"o-2","userId":"u","itemName":"i","quantity":1,"status":"s","timestamp":"yesterday"}"#,
                "m-9", 1
            ),
        ]
        var state = MemoryState()
        var lines: [String] = []
        for (i, m) in stream.enumerated() {
            let seq = Int64(i * 2 + 1)
            let d = processor.decide(
                makeReceive(m.body, seq: seq, messageId: m.messageId, receiveCount: m.receiveCount), state: state)
            if d.outcome == .projected, let item = d.item {
                state.applied["sqs:\(m.messageId)"] = seq
                if let sns = d.snsMessageId { state.applied["sns:\(sns)"] = seq }
                state.versions[Array(item.orderId.utf8)] = OrderVersion(
                    timestampNs: RFC3339.nanoseconds(item.timestamp)!, seq: seq)
            }
            let fields: [String?] = [
                d.outcome.rawValue, d.errorKind.map { "\($0)" }, d.errorCode, d.errorField, d.errorMessage,
                String(d.deadLettered), d.orderId, d.snsMessageId, d.item?.orderId, d.item?.userId, d.item?.itemName,
                d.item.map { String($0.quantity) }, d.item?.status, d.item?.timestamp, d.note,
            ]
            lines.append(fields.map { $0 ?? "-" }.joined(separator: "|"))
        }
        return lines.joined(separator: "\n")
    }

    /// The SHA-256 of ``transcript(_:)`` as this version of the processor decides it. Calling the processor twice
    /// in one process cannot see a decision that depends on the clock, randomness, the environment or the
    /// process's hash seed; a digest pinned in the source can, and so can a child process run under another time
    /// zone and locale (below). If a change of the rules is intended, update it.
    static let expectedTranscriptDigest = "b1288d958eed59e6313f74a76f22454647e8767edf46b14abe38d831f76998f0"

    @Test("the processor is deterministic: its decisions on a fixed stream equal the pinned ones")
    func deterministic() throws {
        let text = Self.transcript(processor)
        if let out = ProcessInfo.processInfo.environment["ORDLOG_TEST_TRANSCRIPT_OUT"] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: out))  // the child run below
            return
        }
        let digest = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(digest == Self.expectedTranscriptDigest, "decisions differ from the pinned ones:\n\(text)")
        #expect(Self.transcript(OrderProcessor()) == text)
        #if os(Linux)
            // The same test in a child process of this test binary, under another time zone and locale.
            let out = TemporaryDirectory.forTestProcess("ordlog-determinism").appendingPathComponent("t.txt")
            let child = try ProcessRunner.run(
                URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]),
                ["--testing-library", "swift-testing", "--filter", #"OrderProcessorTests/deterministic\(\)"#],
                environment: [
                    "ORDLOG_TEST_TRANSCRIPT_OUT": out.path, "TZ": "Asia/Tokyo", "LANG": "tr_TR.UTF-8",
                    "LC_ALL": "tr_TR.UTF-8",
                ])
            #expect(child.status == 0, "\(child.stdout)\(child.stderr)")
            #expect(try String(contentsOf: out, encoding: .utf8) == text, "decided differently in a child process")
        #endif
    }
}
