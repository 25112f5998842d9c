import Foundation
import Testing

@testable import OrdlogCore

/// Bad input is data, not a crash: each is logged with its raw bytes and a clear recorded error.
@Suite struct BadInputTests {
    func message(_ id: String, body: [UInt8]) -> String {
        JSONWriter.string(
            .object(
                JSONObject([
                    ("MessageId", .string(id)), ("ReceiptHandle", .string("h-\(id)")),
                    ("Body", .string(String(decoding: body, as: UTF8.self))),
                ])))
    }

    @Test("truncated, binary, deeply nested and huge bodies are logged and rejected with a clear error")
    func hostileBodies() throws {
        let pipeline = try Fixtures.pipeline()
        let valid = Array(envelope(order(#""quantity":1"#)).utf8)
        let truncated = Array(valid.prefix(valid.count / 2))
        // Printable ASCII noise with UTF-8 sequences mixed in: not JSON, but representable as an SQS body.
        var binary: [UInt8] = Array(0x20..<0x7F).map { UInt8($0) }
        binary += [0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0x01]
        let nested = Array((String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)).utf8)
        let nestedInEnvelope = Array(
            envelope(String(repeating: "{\"a\":", count: 10_000) + "1" + String(repeating: "}", count: 10_000)).utf8)
        let huge = Array(("{\"orderId\":\"o-big\",\"pad\":\"" + String(repeating: "x", count: 4_000_000) + "\"}").utf8)
        let lines = [
            message("truncated", body: truncated), message("binary", body: binary), message("nested", body: nested),
            message("nested-envelope", body: nestedInEnvelope), message("huge", body: huge),
        ].joined(separator: "\n")
        let (_, messages) = try TrafficReader.parse(Array(lines.utf8), name: "hostile.jsonl")
        var summary = IngestSummary()
        try pipeline.ingest(batch: messages, summary: &summary)
        #expect(summary.rejected == 5)
        func check(_ id: String, _ code: String, _ text: String) throws {
            let r = try #require(try pipeline.log.receives(messageId: id).first)
            let original = messages.first { $0.messageId == id }!.body
            #expect(r.body == original, "\(id): body not kept byte for byte")
            let d = try #require(try pipeline.log.attempts(receiveSeq: r.seq).first?.decision)
            #expect(d.outcome == .rejected)
            #expect(d.errorCode == code, "\(id)")
            #expect(d.errorMessage?.contains(text) == true, "\(id): \(d.errorMessage ?? "")")
        }
        try check("truncated", "body.not_json", "unterminated string")
        try check("binary", "body.not_json", "body is not JSON")
        try check("nested", "body.not_json", "nesting deeper than 128 levels")
        try check("nested-envelope", "order.not_json", "nesting deeper than 128 levels")
        try check("huge", "order.field_missing", "order field userId is missing")
    }

    @Test("JSON Lines entries that are not SQS messages are logged with file, line and the raw bytes")
    func badLines() throws {
        let pipeline = try Fixtures.pipeline()
        let (format, messages) = try TrafficReader.read(path: Fixtures.sample("bad-input.jsonl"))
        #expect(format == .jsonLines)
        var summary = IngestSummary()
        try pipeline.ingest(batch: messages, summary: &summary)
        #expect(summary.received == 4)
        #expect(summary.inputErrors == 3)
        #expect(summary.rejected == 4)  // the three entries, and 2.5 as a quantity
        let bad = try pipeline.log.receives(where: "input_error IS NOT NULL")
        #expect(
            bad.map(\.source) == [
                "\(Fixtures.sample("bad-input.jsonl")):1", "\(Fixtures.sample("bad-input.jsonl")):2",
                "\(Fixtures.sample("bad-input.jsonl")):4",
            ])
        #expect(bad[1].body == Array("this line is not JSON at all".utf8))
        #expect(bad[1].inputError?.hasPrefix("line is not JSON (") == true)
        #expect(bad[2].inputError == #""Records" is a JSON string, expected an array of SQS records"#)
        let attempt = try #require(try pipeline.log.attempts(receiveSeq: bad[0].seq).first)
        #expect(attempt.decision.errorCode == "input.not_sqs_message")
        let quantity = try #require(try pipeline.log.attempts(messageId: "m-2").first?.decision)
        #expect(quantity.errorMessage?.contains("the number 2.5") == true)
    }

    @Test("an empty or binary file is refused as a whole, naming the file")
    func wholeFileErrors() throws {
        #expect(throws: TrafficFileError.self) { try TrafficReader.parse([], name: "empty.json") }
        #expect(throws: TrafficFileError.self) { try TrafficReader.parse([0x00, 0xFF, 0x10, 0x0A, 0x01], name: "bin") }
        #expect(throws: TrafficFileError.self) { try TrafficReader.read(path: "/nonexistent/file.json") }
        // #require(throws:) fails the test when nothing is thrown (a do/catch would pass silently).
        let e = try #require(throws: TrafficFileError.self, "a file of blank lines was not refused") {
            try TrafficReader.parse(Array("\n\n  \n".utf8), name: "blank.jsonl")
        }
        #expect(e.description == "blank.jsonl: file is empty; \(TrafficReader.expected)")
    }
}

/// Ingest's transactions: TrafficReader.stream hands on batches bounded by count and by body bytes.
@Suite struct StreamBatchBoundsTests {
    func file(lines: Int, bodyBytes: Int) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bounds-\(UUID().uuidString).jsonl")
        let body = String(repeating: "x", count: bodyBytes)
        let text = (0..<lines).map { #"{"MessageId":"m-\#($0)","ReceiptHandle":"r","Body":"\#(body)"}"# }
            .joined(separator: "\n")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test("JSON Lines: at most batchSize messages and about maxBatchBytes of bodies per batch, in order")
    func bounds() throws {
        let path = try file(lines: 25, bodyBytes: 100)
        var sizes: [Int] = []
        var ids: [String] = []
        _ = try TrafficReader.stream(path: path, batchSize: 10, maxBatchSeconds: 2) { b in
            sizes.append(b.count)
            ids += b.compactMap(\.messageId)
        }
        #expect(sizes == [10, 10, 5])
        #expect(ids == (0..<25).map { "m-\($0)" })
        sizes = []
        _ = try TrafficReader.stream(path: path, batchSize: 10_000, maxBatchBytes: 350) { sizes.append($0.count) }
        #expect(sizes == [4, 4, 4, 4, 4, 4, 1])
    }
}
