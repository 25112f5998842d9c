import Foundation
import Testing

@testable import OrdlogCore

/// Issue 8, "No value altered silently": a string that cannot be represented is rejected at whichever layer
/// holds it (the SQS record, the SNS envelope, the order), with the raw bytes kept and nothing projected; a
/// quantity is judged by its exact value.
@Suite struct InputFidelityTests {
    static let topic = "arn:aws:sns:us-east-1:123456789012:OrderTopic"

    /// An order's JSON text with `itemName` written as `itemName` (raw JSON, escapes as given).
    static func orderText(itemName: String = #""Widget""#, quantity: String = "1", extra: String = "") -> String {
        #"{"orderId":"o-1","userId":"u-1","itemName":"# + itemName + #","quantity":"# + quantity
            + #","status":"PENDING","timestamp":"2026-01-01T10:00:00.000Z""# + extra + "}"
    }

    /// JSON string literal content for `text` (quotes and backslashes escaped, nothing else).
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// An SNS envelope whose Message member is the JSON string literal content `messageLiteral`.
    static func envelope(messageLiteral: String, subjectLiteral: String = "Order") -> String {
        #"{"Type":"Notification","MessageId":"sns-1","TopicArn":""# + topic + #"","Subject":""# + subjectLiteral
            + #"","Message":""# + messageLiteral + #"","Timestamp":"2026-01-01T10:00:00.000Z"}"#
    }

    /// Ingests one message with `body` and returns the pipeline, its receive and its attempt's decision.
    static func ingest(body: [UInt8], messageId: String = "m-1", rules: ValidationRules = ValidationRules())
        throws -> (ProcessingStep, LoggedReceive, Decision)
    {
        let pipeline = try Fixtures.pipeline(rules: rules)
        var s = IngestSummary()
        try pipeline.ingest(batch: [IncomingMessage(messageId: messageId, body: body, source: "test")], summary: &s)
        let r = try #require(try pipeline.log.receives(messageId: messageId).first)
        let d = try #require(try pipeline.log.attempts(receiveSeq: r.seq).first?.decision)
        return (pipeline, r, d)
    }

    /// Ingests recorded traffic bytes and returns the pipeline and its receives.
    static func ingest(traffic: [UInt8], name: String = "t.jsonl") throws -> (ProcessingStep, [LoggedReceive]) {
        let pipeline = try Fixtures.pipeline()
        let (_, messages) = try TrafficReader.parse(traffic, name: name)
        var s = IngestSummary()
        try pipeline.ingest(batch: messages, summary: &s)
        return (pipeline, try pipeline.log.receives(where: "1"))
    }

    static func offset(of needle: String, in haystack: [UInt8]) -> Int? {
        let n = Array(needle.utf8)
        guard n.count <= haystack.count else { return nil }
        return (0...(haystack.count - n.count)).first { haystack[$0..<($0 + n.count)].elementsEqual(n) }
    }

    // MARK: Layer 3: the order

    @Test("order layer, raw delivery: a lone surrogate in itemName is rejected with field and offset into the body")
    func orderLayerRawDelivery() throws {
        for escape in [#"\ud83c"#, #"\udf6e"#] {
            let body = Array(Self.orderText(itemName: "\"Sushi " + escape + "\"").utf8)
            let (pipeline, r, d) = try Self.ingest(body: body)
            let at = try #require(Self.offset(of: escape, in: body))
            #expect(d.outcome == .rejected)
            #expect(d.errorKind == .permanent)
            #expect(d.errorCode == "order.unpaired_surrogate")
            #expect(d.errorField == "itemName")
            #expect(d.orderId == "o-1")
            #expect(
                d.errorMessage
                    == "order field itemName holds an unpaired surrogate escape \(escape) in string (not Unicode text)"
                    + " at byte \(at) of the body (itemName); it cannot be decoded without altering it")
            #expect(r.body == body)
            #expect(try pipeline.projection.orders().isEmpty)
        }
    }

    @Test("order layer, inside an SNS envelope: the offset counts into the Message text")
    func orderLayerInEnvelope() throws {
        let message = Self.orderText(itemName: #""\ud83c""#)  // the order JSON holds the escape
        let body = Array(Self.envelope(messageLiteral: Self.escaped(message)).utf8)
        let (pipeline, r, d) = try Self.ingest(body: body)
        let at = try #require(Self.offset(of: #"\ud83c"#, in: Array(message.utf8)))
        #expect(d.outcome == .rejected)
        #expect(d.errorCode == "order.unpaired_surrogate")
        #expect(d.errorField == "itemName")
        #expect(d.snsMessageId == "sns-1")
        #expect(d.errorMessage?.contains("at byte \(at) of the SNS Message text") == true, "\(d.errorMessage ?? "")")
        #expect(r.body == body)
        #expect(try pipeline.projection.orders().isEmpty)
        let anatomy = BodyAnatomy(body: r.body)  // what inspect-dlq shows
        #expect(anatomy.envelope?.messageId == "sns-1")
        #expect(anatomy.problem?.hasPrefix("the SNS Message cannot be read without altering it: unpaired") == true)
        #expect(anatomy.problem?.hasSuffix("(field itemName)") == true)
    }

    // MARK: Layer 2: the SNS envelope

    @Test("envelope layer: a lone surrogate in Message is rejected with field Message and offset into the body")
    func envelopeLayer() throws {
        // The envelope's Message string itself holds \ud83c: its text cannot be represented.
        let literal = Self.escaped(Self.orderText(itemName: #""Sushi X""#)).replacingOccurrences(
            of: "Sushi X", with: #"Sushi \ud83c"#)
        let body = Array(Self.envelope(messageLiteral: literal).utf8)
        let (pipeline, r, d) = try Self.ingest(body: body)
        let at = try #require(Self.offset(of: #"\ud83c"#, in: body))
        #expect(d.outcome == .rejected)
        #expect(d.errorKind == .permanent)
        #expect(d.errorCode == "envelope.unpaired_surrogate")
        #expect(d.errorField == "Message")
        #expect(
            d.errorMessage
                == #"SNS envelope field Message holds an unpaired surrogate escape \ud83c in string (not Unicode text)"#
                + " at byte \(at) of the body (Message); it cannot be decoded without altering it")
        #expect(r.body == body)
        #expect(try pipeline.projection.orders().isEmpty)
        #expect(
            BodyAnatomy(body: r.body).problem
                == #"body cannot be read without altering it: unpaired surrogate escape \ud83c in string (not Unicode text)"#
                + " at byte \(at) (field Message)")
    }

    @Test("fields ordlog does not read (envelope Subject, an extra order field) are kept as bytes, not rejected")
    func unreadFieldsKept() throws {
        let message = Self.orderText(extra: #","note":"\udf6e""#)
        let body = Array(Self.envelope(messageLiteral: Self.escaped(message), subjectLiteral: #"Re: \ud83c"#).utf8)
        let (pipeline, r, d) = try Self.ingest(body: body)
        #expect(d.outcome == .projected, "\(d.errorMessage ?? "")")
        #expect(d.item?.itemName == "Widget")
        #expect(r.body == body)
        #expect(try pipeline.projection.order("o-1")?.item.itemName == "Widget")
        // Exported as it is; but not redacted, which would need decoding it: it is left out, never leaked.
        #expect(Exporter.line(r, redactor: nil)?.line.starts(with: Array(#"{"MessageId":"m-1","Body":"#.utf8)) == true)
        #expect(Exporter.line(r, redactor: Redactor(fields: ["userId"], key: "k")) == nil)
    }

    @Test("duplicate keys: the last member wins (as JSON.parse), also when an earlier one is unrepresentable")
    func duplicateKeys() throws {
        let lastGood = Array(Self.orderText(itemName: #""\ud83c","itemName":"Tea""#).utf8)
        let (p1, _, d1) = try Self.ingest(body: lastGood)
        #expect(d1.outcome == .projected)
        #expect(try p1.projection.order("o-1")?.item.itemName == "Tea")
        let lastBad = Array(Self.orderText(itemName: #""Tea","itemName":"\ud83c""#).utf8)
        let (p2, _, d2) = try Self.ingest(body: lastBad)
        #expect(d2.errorCode == "order.unpaired_surrogate")
        #expect(try p2.projection.orders().isEmpty)
    }

    // MARK: Layer 1: the SQS record

    @Test("record layer: a lone surrogate in a JSON Lines entry's Body is logged as read and rejected")
    func recordLayerLine() throws {
        for escape in [#"\ud83c"#, #"\udf6e"#] {
            let bodyLiteral = Self.escaped(Self.orderText(itemName: #""Sushi X""#)).replacingOccurrences(
                of: "Sushi X", with: "Sushi " + escape)
            let line = #"{"MessageId":"m-rec","ReceiptHandle":"h","Body":""# + bodyLiteral + #""}"#
            let bytes = Array(line.utf8)
            let good = Array(#"{"MessageId":"m-ok","Body":"{}"}"#.utf8)
            let (pipeline, receives) = try Self.ingest(traffic: bytes + [0x0A] + good + [0x0A])
            #expect(receives.count == 2)  // the entry after it is read normally
            let r = receives[0]
            let at = try #require(Self.offset(of: escape, in: bytes))
            #expect(r.body == bytes)  // the record as read, byte for byte
            #expect(r.messageId == nil)
            #expect(r.source == "t.jsonl:1")
            #expect(
                r.inputError
                    == "SQS record field Body holds an unpaired surrogate escape \(escape) in string (not Unicode text)"
                    + " at byte \(at) of the line as read (kept byte for byte as this receive's body): it cannot be"
                    + " decoded without altering it, so the record was not read")
            let d = try #require(try pipeline.log.attempts(receiveSeq: r.seq).first?.decision)
            #expect(d.outcome == .rejected)
            #expect(d.errorKind == .permanent)
            #expect(d.errorCode == "record.unpaired_surrogate")
            #expect(d.errorField == "Body")
            #expect(d.errorMessage == r.inputError)
            #expect(try pipeline.projection.orders().isEmpty)
            #expect(receives[1].messageId == "m-ok")
        }
    }

    @Test("record layer: in a ReceiveMessage response only the record holding it is rejected, as its bytes read")
    func recordLayerDocument() throws {
        let bodyLiteral = #"{\"orderId\":\"o-1\",\"itemName\":\"\ud83c\"}"#
        let bad = "{\"MessageId\": \"b\", \"Body\": \"" + bodyLiteral + "\"}"
        let doc = "{\n  \"Messages\": [\n    {\"MessageId\": \"a\", \"Body\": \"{}\"},\n    " + bad + "\n  ]\n}\n"
        for (name, traffic) in [
            ("r.json", doc),
            ("r.jsonl", doc.replacingOccurrences(of: "\n", with: "") + "\n" + #"{"MessageId":"c","Body":"{}"}"# + "\n"),
        ] {
            let (pipeline, receives) = try Self.ingest(traffic: Array(traffic.utf8), name: name)
            try #require(receives.count == (name == "r.json" ? 2 : 3))
            #expect(receives[0].messageId == "a")  // the other records are read as usual
            #expect(receives[1].messageId == nil)
            #expect(receives[1].body == Array(bad.utf8))  // the record as read, byte for byte
            #expect(receives[1].source == (name == "r.json" ? "r.json#Messages[1]" : "r.jsonl:1#Messages[1]"))
            let at = try #require(Self.offset(of: #"\ud83c"#, in: Array(bad.utf8)))
            #expect(
                receives[1].inputError
                    == #"SQS record field Body holds an unpaired surrogate escape \ud83c in string (not Unicode text)"#
                    + " at byte \(at) of the record as read (kept byte for byte as this receive's body): it cannot be"
                    + " decoded without altering it, so the record was not read")
            let d = try #require(try pipeline.log.attempts(receiveSeq: receives[1].seq).first?.decision)
            #expect(d.errorCode == "record.unpaired_surrogate")
            #expect(d.errorField == "Body")
            #expect(try pipeline.projection.orders().isEmpty)
        }
    }

    @Test("record layer: a document whose records cannot be told apart is logged whole and rejected")
    func recordLayerWholeDocument() throws {
        let doc = #"{"MessageId":"m","Body":"\udf6e"}"# + "\n"
        let (pipeline, receives) = try Self.ingest(traffic: Array(doc.utf8), name: "one.json")
        #expect(receives.count == 1)
        #expect(receives[0].body == Array(doc.utf8.dropLast()))  // as read, without the newline after it
        #expect(receives[0].inputError?.contains("at byte 25 of the document as read") == true)
        let d = try #require(try pipeline.log.attempts(receiveSeq: receives[0].seq).first?.decision)
        #expect(d.errorCode == "record.unpaired_surrogate")
        #expect(d.errorField == "Body")
    }

    @Test("an entry of a document that is not an SQS message is logged with its bytes as written")
    func documentEntriesExact() throws {
        let doc = #"{"Messages": [ {"Body" : "no id"} , {"MessageId":"x","Body":"{}"} ]}"#
        let (_, receives) = try Self.ingest(traffic: Array(doc.utf8), name: "d.json")
        try #require(receives.count == 2)
        #expect(receives[0].body == Array(#"{"Body" : "no id"}"#.utf8))  // not re-serialised
        #expect(receives[0].inputError?.hasPrefix("SQS message has no string MessageId") == true)
    }

    // MARK: Invalid UTF-8

    @Test("invalid UTF-8 in a body is rejected naming the field and byte; the bytes are kept exactly")
    func invalidUTF8Body() throws {
        var body = Array(Self.orderText(itemName: #""Caf?""#).utf8)
        let at = try #require(Self.offset(of: "?", in: body))
        body[at] = 0xE9  // Latin-1 é: not UTF-8
        let (pipeline, r, d) = try Self.ingest(body: body)
        #expect(d.outcome == .rejected)
        #expect(d.errorKind == .permanent)
        #expect(d.errorCode == "body.invalid_utf8")
        #expect(d.errorField == "itemName")
        #expect(
            d.errorMessage
                == "body is not UTF-8: byte \(at) of the body (0xe9) in field itemName does not begin a UTF-8 character"
                + " (\(body.count) bytes, kept as received)")
        #expect(r.body == body)
        #expect(try pipeline.projection.orders().isEmpty)
        // What reads the body back does not alter or crash on it.
        #expect(RecordJSON.body(r.body).key == "bodyBase64")
        #expect(BodyAnatomy(body: r.body).problem?.contains("invalid UTF-8") == true)
        #expect(Exporter.line(r, redactor: nil) == nil)  // no ReceiveMessage line can carry these bytes
        // Outside a string too.
        let (_, _, d2) = try Self.ingest(body: [0x7B, 0xFF, 0x7D])
        #expect(d2.errorCode == "body.invalid_utf8")
        #expect(d2.errorMessage?.hasPrefix("body is not UTF-8: byte 1 of the body (0xff)") == true)
    }

    @Test("invalid UTF-8 inside a JSON Lines record is logged as read and rejected")
    func invalidUTF8Record() throws {
        var line = Array(#"{"MessageId":"m-x","Body":"Caf?"}"#.utf8)
        let at = try #require(Self.offset(of: "?", in: line))
        line[at] = 0xC3  // a lead byte without its continuation
        let good = Array(#"{"MessageId":"m-ok","Body":"{}"}"#.utf8)
        let (pipeline, receives) = try Self.ingest(traffic: line + [0x0A] + good + [0x0A])
        #expect(receives.count == 2)
        #expect(receives[0].body == line)
        #expect(
            receives[0].inputError
                == "SQS record field Body is not UTF-8 at byte \(at) of the line as read (kept byte for byte as this"
                + " receive's body), so the record was not read")
        let d = try #require(try pipeline.log.attempts(receiveSeq: receives[0].seq).first?.decision)
        #expect(d.errorCode == "record.invalid_utf8")
        #expect(d.errorField == "Body")
        #expect(try pipeline.projection.orders().isEmpty)
    }

    // MARK: Quantities

    @Test(
        "integral quantities are accepted by value and stored in canonical form",
        arguments: [
            ("3.0", Int64(3)), ("1e2", 100), ("300e-2", 3), ("3.000", 3), ("1E+2", 100), ("0.03e2", 3),
            ("9007199254740991.0", 9_007_199_254_740_991),
        ])
    func integralQuantities(literal: String, value: Int64) throws {
        let (pipeline, _, d) = try Self.ingest(body: Array(Self.orderText(quantity: literal).utf8))
        #expect(d.outcome == .projected, "\(d.errorMessage ?? "")")
        #expect(d.item?.quantity == value)
        let stored = try #require(try pipeline.projection.order("o-1"))
        #expect(stored.item.quantity == value)
        #expect(JSONWriter.string(RecordJSON.item(stored.item)).contains(#""quantity":\#(value),"#))
        #expect(DynamoDBProjection.item(for: stored.item)["quantity"] == .n(String(value)))
        // The attempt's item, as logged, holds the canonical integer.
        let a = try #require(try pipeline.log.attempts(messageId: "m-1").first)
        #expect(a.decision.item?.json.contains(#""quantity":\#(value),"#) == true)
        #expect(a.processorVersion == "ordlog-processor/2")
    }

    @Test("3.0 is stored as N \"3\" and 1e2 as N \"100\" in the DynamoDB item")
    func dynamoDBNumbers() throws {
        let (_, _, d1) = try Self.ingest(body: Array(Self.orderText(quantity: "3.0").utf8))
        #expect(DynamoDBProjection.item(for: try #require(d1.item))["quantity"] == .n("3"))
        let (_, _, d2) = try Self.ingest(body: Array(Self.orderText(quantity: "1e2").utf8))
        #expect(DynamoDBProjection.item(for: try #require(d2.item))["quantity"] == .n("100"))
    }

    @Test(
        "quantities that are not whole numbers in range are rejected with the reason",
        arguments: [
            ("2.5", "the number 2.5, expected an integer 1…9007199254740991 (not a whole number)"),
            (#""2""#, #"the string "2", expected an integer 1…9007199254740991"#),
            (
                "9007199254740993.0",
                "the number 9007199254740993.0, expected an integer 1…9007199254740991 (out of range)"
            ),
            ("1e400", "the number 1e400, expected an integer 1…9007199254740991 (out of range)"),
            ("1e-400", "the number 1e-400, expected an integer 1…9007199254740991 (not a whole number)"),
            ("-0", "the number -0, expected an integer 1…9007199254740991 (out of range)"),
            ("-3.0", "the number -3.0, expected an integer 1…9007199254740991 (out of range)"),
            ("0", "the number 0, expected an integer 1…9007199254740991 (out of range)"),
            ("1e99999999999999999999", "(out of range)"),
            ("1.0000000000000000000001", "(not a whole number)"),
        ])
    func rejectedQuantities(literal: String, reason: String) throws {
        let (pipeline, _, d) = try Self.ingest(body: Array(Self.orderText(quantity: literal).utf8))
        #expect(d.outcome == .rejected)
        #expect(d.errorKind == .permanent)
        #expect(d.errorCode == "order.field_invalid")
        #expect(d.errorField == "quantity")
        #expect(d.errorMessage?.hasPrefix("order field quantity is ") == true)
        #expect(d.errorMessage?.contains(reason) == true, "\(d.errorMessage ?? "")")
        #expect(try pipeline.projection.orders().isEmpty)
    }

    @Test("the strict rule accepts integer literals only, and says so in the processor version")
    func strictRule() throws {
        var rules = ValidationRules()
        rules.integerLiteralsOnly = true
        #expect(OrderProcessor(rules: rules).version == "ordlog-processor/2 (integerLiteralsOnly)")
        let (pipeline, _, d) = try Self.ingest(body: Array(Self.orderText(quantity: "3.0").utf8), rules: rules)
        #expect(d.outcome == .rejected)
        #expect(
            d.errorMessage
                == "order field quantity is the number 3.0, expected an integer 1…9007199254740991"
                + " (a JSON integer literal without fraction or exponent)")
        #expect(try pipeline.projection.orders().isEmpty)
        let (_, _, ok) = try Self.ingest(body: Array(Self.orderText(quantity: "3").utf8), rules: rules)
        #expect(ok.item?.quantity == 3)
    }

    @Test("exact values: no Double rounding, and a huge exponent costs nothing")
    func exactValues() {
        #expect(OrderProcessor.exactValue(ofLiteral: "9007199254740993.0") == .whole(9_007_199_254_740_993))
        #expect(OrderProcessor.exactValue(ofLiteral: "123456789012345678") == .whole(123_456_789_012_345_678))
        #expect(OrderProcessor.exactValue(ofLiteral: "1234567890123456789") == .outOfRange)
        #expect(OrderProcessor.exactValue(ofLiteral: "1e999999999999999999999999") == .outOfRange)
        #expect(OrderProcessor.exactValue(ofLiteral: "0e999999999999999999999999") == .whole(0))
        #expect(OrderProcessor.exactValue(ofLiteral: "5e-999999999999999999999999") == .notWhole)
        #expect(OrderProcessor.exactValue(ofLiteral: "120e-1") == .whole(12))
        #expect(OrderProcessor.exactValue(ofLiteral: "125e-1") == .notWhole)
    }

    // MARK: Parser

    @Test("the parser names the kind, the byte offset and the path of an unrepresentable string")
    func parserErrors() {
        func error(_ text: String) -> JSONParseError? {
            do {
                _ = try JSONParser.parse(text)
                return nil
            } catch { return error }
        }
        let e = error(#"{"Messages":[{"Body":"ab\ud83c"}]}"#)
        #expect(e?.kind == .unpairedSurrogate)
        #expect(e?.offset == 24)
        #expect(e?.field == "Messages[0].Body")
        #expect(error(#""\udf6e\ud83c""#)?.offset == 1)  // a low surrogate first is unpaired
        #expect(error(#""\ud83c\u0041""#)?.offset == 1)
        #expect(error(#""\ud83c"#)?.kind == .unpairedSurrogate)
        #expect((try? JSONParser.parse(#""\ud83c\udf63""#)) == .string("🍣"))
        #expect(error("\"a\u{0}b\"") != nil)  // a raw control character is malformed
        #expect((try? JSONParser.parse(#""a\u0000b""#)) == .string("a\u{0}b"))  // an escaped NUL is kept
        var bytes = Array(#"{"k":"xy"}"#.utf8)
        bytes[7] = 0xFF
        #expect(throws: JSONParseError(offset: 7, reason: "invalid UTF-8 in string", kind: .invalidUTF8, path: ["k"])) {
            try JSONParser.parse(bytes)
        }
        #expect(JSONParser.isSingleValue(Array(#"{"a":"\ud83c"}"#.utf8)))
        #expect(!JSONParser.isSingleValue(Array("{}\n{}".utf8)))
    }

    @Test("a selective parse keeps an unrepresentable kept member aside and never decodes skipped ones")
    func selectiveParse() throws {
        let o = try #require(
            try JSONParser.parseObject(
                Array(#"{"a":"\ud83c","b":"\udf6e","a":1,"c":"\ud800"}"#.utf8), keep: JSONKeySet(["a", "c"])))
        #expect(o.members.map(\.key) == ["a"])
        #expect(o.unrepresentableError("a") == nil)  // the later a (1) wins
        #expect(o.unrepresentableError("c")?.offset == 38)
        #expect(o.unrepresentableError("b") == nil)  // skipped: not decoded
    }

    // MARK: The rest of the input path (audit)

    @Test(
        "timestamps are stored as sent, never re-formatted; the ordering instant is exact to the nanosecond",
        arguments: [
            ("2026-01-01T11:00:00+01:00", Int64(1_767_261_600_000_000_000)),
            ("2026-01-01T10:00:00.123456789Z", 1_767_261_600_123_456_789),
            ("2026-01-01t10:00:00.5z", 1_767_261_600_500_000_000),
            ("2026-01-01T10:00:00.123456789999Z", 1_767_261_600_123_456_789),  // beyond ns: the string is kept
        ])
    func timestampsVerbatim(timestamp: String, ns: Int64) throws {
        let body = Array(Self.orderText().replacingOccurrences(of: "2026-01-01T10:00:00.000Z", with: timestamp).utf8)
        let (pipeline, _, d) = try Self.ingest(body: body)
        #expect(d.outcome == .projected)
        let stored = try #require(try pipeline.projection.order("o-1"))
        #expect(stored.item.timestamp == timestamp)
        #expect(stored.timestampNs == ns)
        let item = DynamoDBProjection.item(for: stored.item)
        #expect(item["timestamp"] == .s(timestamp))
        #expect(item[DynamoDBProjection.instantAttribute] == .n(String(ns)))
    }

    @Test("strings are kept as sent: whitespace, NUL, decomposed accents, escapes decoded exactly")
    func stringsVerbatim() throws {
        let body =
            Array(
                #"{"orderId":" o-1\t","userId":"u\u0000x","itemName":"Cafe\u0301 \/ \ud83c\udf63","quantity":1,"#
                    .utf8) + Array(#""status":"PENDING ","timestamp":"2026-01-01T10:00:00Z"}"#.utf8)
        let (pipeline, r, d) = try Self.ingest(body: body)
        #expect(d.outcome == .projected)
        #expect(r.body == body)
        let stored = try #require(try pipeline.projection.order(" o-1\t"))
        #expect(Array(stored.item.userId.utf8) == [0x75, 0x00, 0x78])
        #expect(Array(stored.item.itemName.utf8) == Array("Cafe\u{301} / 🍣".utf8))  // NFD kept, not NFC
        #expect(stored.item.status == "PENDING ")
        #expect(try pipeline.projection.order("o-1") == nil)
    }

    @Test("a body with a byte order mark is rejected as not JSON, with its bytes kept")
    func bomBody() throws {
        let body: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(Self.orderText().utf8)
        let (pipeline, r, d) = try Self.ingest(body: body)
        #expect(d.errorCode == "body.not_json")
        #expect(
            d.errorMessage?.hasPrefix("body is not JSON: unexpected character '\\xef', expected a value at byte 0")
                == true, "\(d.errorMessage ?? "")")
        #expect(r.body == body)
        #expect(try pipeline.projection.orders().isEmpty)
    }

    @Test("message attributes keep number literals and BinaryValue; integer system attributes are not ignored")
    func attributesKept() throws {
        let line =
            #"{"MessageId":"m-a","Body":"{}","Attributes":{"ApproximateReceiveCount":2,"SentTimestamp":"1767261600000"},"#
            + #""MessageAttributes":{"n":{"DataType":"Number","StringValue":"1.50"},"#
            + #""b":{"DataType":"Binary","BinaryValue":"AAEC/w=="},"x":1.50e3}}"#
        let (_, receives) = try Self.ingest(traffic: Array(line.utf8) + [0x0A])
        #expect(receives.count == 1)
        #expect(receives[0].receiveCount == 2)
        #expect(receives[0].sentTimestamp == 1_767_261_600_000)
        #expect(
            receives[0].messageAttributesJSON
                == #"{"n":{"DataType":"Number","StringValue":"1.50"},"b":{"DataType":"Binary","BinaryValue":"AAEC/w=="},"x":1.50e3}"#
        )
        #expect(receives[0].attributesJSON == #"{"ApproximateReceiveCount":2,"SentTimestamp":"1767261600000"}"#)
    }

    @Test("a lone surrogate in a message attribute rejects the record: the attribute is stored, so it would be altered")
    func surrogateInAttribute() throws {
        let line =
            #"{"MessageId":"m-a","Body":"{}","MessageAttributes":{"n":{"DataType":"String","StringValue":"\udf6e"}}}"#
        let (pipeline, receives) = try Self.ingest(traffic: Array(line.utf8) + [0x0A])
        #expect(receives.count == 1)
        #expect(receives[0].body == Array(line.utf8))
        let d = try #require(try pipeline.log.attempts(receiveSeq: receives[0].seq).first?.decision)
        #expect(d.errorCode == "record.unpaired_surrogate")
        #expect(d.errorField == "MessageAttributes.n.StringValue")
        #expect(try pipeline.projection.orders().isEmpty)
    }
}
