import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// Ingests the moto captures (scripts/capture-moto.py) and the public sample events in Tests/Fixtures and checks
/// every decision.
@Suite struct SharedSamplesIngestTests {
    static let widget = OrderItem(
        orderId: "ord-1001", userId: "user-42", itemName: "Widget", quantity: 3,
        status: "PENDING", timestamp: "2025-01-15T10:30:00.000Z")
    static let cafe = OrderItem(
        orderId: "ord-1002", userId: "user-7", itemName: "Café crème – 東京 🍣 \"quoted\"",
        quantity: 1, status: "PENDING", timestamp: "2025-01-15T10:30:00.000Z")
    static let sprocket = OrderItem(
        orderId: "ord-1006", userId: "user-10", itemName: "Sprocket", quantity: 10,
        status: "SHIPPED", timestamp: "2025-01-15T10:30:00.000Z")

    /// The first attempt of each logged receive, keyed by the sample file's label (e.g. "03-quantity-as-string").
    func decisionsByLabel(_ log: EventLog) throws -> [String: Decision] {
        var out: [String: Decision] = [:]
        try log.forEachRecord { record in
            if case .attempt(let a) = record, let r = try log.receive(seq: a.receiveSeq) {
                let label = URL(fileURLWithPath: r.source).lastPathComponent.replacingOccurrences(
                    of: ".sqs-message.json", with: "")
                out[label] = a.decision
            }
            return true
        }
        return out
    }

    @Test("moto-captured SNS-envelope messages: items and rejection reasons, value by value")
    func motoEnvelopeMessages() throws {
        let pipeline = try Fixtures.pipeline()
        let files = try Fixtures.fixtureFiles("moto-captured/messages")
        #expect(files.count == 7)
        let summary = try Fixtures.ingest(files, into: pipeline)
        #expect(summary.received == 7)
        #expect(summary.appended == 7)
        #expect(summary.projected == 4)
        #expect(summary.rejected == 3)
        #expect(summary.deadLettered == 0)  // each was received once: SQS would redeliver them

        let d = try decisionsByLabel(pipeline.log)
        #expect(d["01-normal"]?.item == Self.widget)
        #expect(d["01-normal"]?.snsMessageId == (try TestFixtures.motoSNSMessageId("01-normal")))
        #expect(d["02-non-ascii-item"]?.item == Self.cafe)
        #expect(d["06-with-subject-and-attributes"]?.item == Self.sprocket)
        #expect(d["07-duplicate-of-01"]?.outcome == .projected)  // new SNS MessageId: an identical re-publish

        #expect(d["03-quantity-as-string"]?.outcome == .rejected)
        #expect(d["03-quantity-as-string"]?.errorField == "quantity")
        #expect(d["03-quantity-as-string"]?.orderId == "ord-1003")
        #expect(
            d["03-quantity-as-string"]?.errorMessage
                == #"order field quantity is the string "2", expected an integer 1…9007199254740991"#)
        #expect(d["04-missing-orderId"]?.errorCode == "order.field_missing")
        #expect(d["04-missing-orderId"]?.errorMessage == "order field orderId is missing")
        #expect(d["05-not-json"]?.errorCode == "order.not_json")
        #expect(d["05-not-json"]?.errorKind == .permanent)
        #expect(d["05-not-json"]?.errorMessage?.hasPrefix("SNS Message is not JSON: ") == true)
        #expect(d["05-not-json"]?.errorMessage?.hasSuffix(": this is not json {orderId: ord-1005") == true)

        let orders = try pipeline.projection.orders().map(\.item)
        #expect(orders == [Self.widget, Self.cafe, Self.sprocket])
    }

    @Test("every logged body is byte-identical to the captured Body and its MD5OfBody matches")
    func bodiesKeptByteForByte() throws {
        let pipeline = try Fixtures.pipeline()
        for file in try Fixtures.fixtureFiles("moto-captured/messages")
            + Fixtures.fixtureFiles("moto-captured/messages-raw-delivery")
        {
            try Fixtures.ingest([file], into: pipeline)
            let raw =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
            let r = try #require(try pipeline.log.receives(messageId: raw["MessageId"] as! String).first)
            #expect(r.body == Array((raw["Body"] as! String).utf8))
            #expect(r.md5Matches == true)
            #expect(r.receiptHandle == raw["ReceiptHandle"] as? String)
            let attrs = raw["Attributes"] as! [String: String]
            #expect(r.sentTimestamp == Int64(attrs["SentTimestamp"]!))
            #expect(r.receiveCount == Int64(attrs["ApproximateReceiveCount"]!))
            #expect(try JSONParser.parse(r.attributesJSON).objectValue?["SenderId"] == .string("AIDAIT2UOQQY3AUEKVGXU"))
        }
    }

    @Test("moto-captured raw-delivery messages: the body is the order")
    func motoRawMessages() throws {
        let pipeline = try Fixtures.pipeline()
        let files = try Fixtures.fixtureFiles("moto-captured/messages-raw-delivery")
        let summary = try Fixtures.ingest(files, into: pipeline)
        #expect(summary.projected == 4)
        #expect(summary.rejected == 3)
        let d = try decisionsByLabel(pipeline.log)
        #expect(d["01-normal"]?.item == Self.widget)
        #expect(d["01-normal"]?.snsMessageId == nil)
        #expect(d["02-non-ascii-item"]?.item == Self.cafe)
        #expect(d["05-not-json"]?.errorCode == "body.not_json")
        #expect(d["03-quantity-as-string"]?.errorField == "quantity")
        let id06 = try TestFixtures.motoMessageId("06-with-subject-and-attributes", rawDelivery: true)
        let r = try #require(try pipeline.log.receives(messageId: id06).first)
        let attrs = try #require(try JSONParser.parse(r.messageAttributesJSON ?? "").objectValue)
        #expect(attrs["eventType"]?.objectValue?["StringValue"] == .string("OrderUpdated"))
    }

    @Test("the whole ReceiveMessage responses, and the DLQ receive with ApproximateReceiveCount 4")
    func receiveMessageResponses() throws {
        let pipeline = try Fixtures.pipeline()
        let queue = try Fixtures.ingest(
            [try Fixtures.fixture("moto-captured/receive-message-response.OrderQueue.json")], into: pipeline)
        #expect(queue.received == 7)
        #expect(queue.projected == 4)
        // The per-message files are the same receives: already logged, not processed again.
        let again = try Fixtures.ingest(try Fixtures.fixtureFiles("moto-captured/messages"), into: pipeline)
        #expect(again.alreadyLogged == 7)
        #expect(again.appended == 0)
        // In the DLQ each message shows receive count 4: successes are duplicates, failures dead-letter.
        let dlq = try Fixtures.ingest(
            [try Fixtures.fixture("moto-captured/receive-message-response.OrderDLQ.json")], into: pipeline)
        #expect(dlq.appended == 7)
        #expect(dlq.duplicate == 4)
        #expect(dlq.rejected == 3)
        #expect(dlq.deadLettered == 3)
        #expect(try pipeline.log.deadLetteredMessageIds().count == 3)
        #expect(try pipeline.projection.orders().count == 3)
    }

    @Test("public Lambda SQS events: camelCase records, envelopes detected, reasons given")
    func publicLambdaEvents() throws {
        let pipeline = try Fixtures.pipeline()
        let names = [
            "aws-lambda-go__sqs-event.json", "aws-lambda-java-libs__sqs_event_product.json",
            "powertools-python__snsSqsEvent.json", "powertools-python__snsSqsFifoEvent.json",
            "powertools-python__sqsDlqTriggerEvent.json", "powertools-python__sqsEvent.json",
        ]
        let summary = try Fixtures.ingest(names.map { try Fixtures.fixture("public/\($0)") }, into: pipeline)
        #expect(summary.received == 7)
        #expect(summary.rejected == 7)  // none of them carries an order
        func decision(_ id: String) throws -> Decision? { try pipeline.log.attempts(messageId: id).first?.decision }
        #expect(try decision("MessageID_1")?.errorCode == "body.not_json")
        #expect(try decision("d9144555-9a4f-4ec3-99a0-34ce359b4b54")?.errorMessage == "order field orderId is missing")
        let sns = try #require(try decision("79406a00-bf15-46ca-978c-22c3613fcb30"))
        #expect(sns.snsMessageId == "d88d4479-6ec0-54fe-b63f-1cf9df4bb16e")
        #expect(sns.errorCode == "order.field_missing")
        #expect(
            try decision("69bc4bbd-ed69-4325-a434-85c3b428ceab")?.snsMessageId == "a7c9d2fa-77fa-5184-9de9-89391027cc7d"
        )
        #expect(try decision("2e1424d4-f796-459a-8184-9c92662be6da")?.errorField == "orderId")
        let r = try #require(try pipeline.log.receives(messageId: "db37cc61-1bb0-4e77-b6f3-7cf87f44a72a").first)
        #expect(r.source.hasPrefix("arn:aws:sqs:eu-central-1:123456789012:sqs-redrive-SampleDLQ-Emgp9MFSLBZm ("))
        #expect(r.receiveCount == 2)
        #expect(try JSONParser.parse(r.attributesJSON).objectValue?["DeadLetterQueueSourceArn"] != nil)
    }

    @Test("files that are not SQS traffic are refused with the file and what was expected")
    func notTraffic() throws {
        for name in ["aws-lambda-go__sns-event.json", "aws-lambda-java-libs__sqs_batch_response.json"] {
            let path = try Fixtures.fixture("public/\(name)")
            let error = try #require(throws: TrafficFileError.self, "\(name) should be refused") {
                try TrafficReader.read(path: path)
            }
            #expect(error.description.hasPrefix(path))
            #expect(error.description.contains("expected an SQS ReceiveMessage response"))
        }
    }

    @Test("the SAM template is JSON with placeholders: logged, MD5 mismatch noted, rejected as not JSON")
    func samTemplate() throws {
        let pipeline = try Fixtures.pipeline()
        let template = try Fixtures.fixture("public/aws-sam-cli__Sqs.json.mustache")
        let summary = try Fixtures.ingest([template], into: pipeline)
        #expect(summary.rejected == 1)
        let r = try #require(try pipeline.log.receives(messageId: "19dd0b57-b21e-4ac1-bd88-01bbb068cb78").first)
        #expect(r.body == Array("{{{body}}}".utf8))
        #expect(r.md5Matches == false)
        #expect(try pipeline.log.attempts(receiveSeq: r.seq).first?.decision.errorCode == "body.not_json")
    }
}
