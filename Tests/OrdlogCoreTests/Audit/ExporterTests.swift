import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// ``Exporter/export(_:filter:redactor:to:progress:)`` on `samples/order-traffic.jsonl`.
@Suite struct ExporterTests {
    static func sampleLog() throws -> EventLog {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        return p.log
    }

    /// Every receive's line, as ``Exporter/line(_:redactor:)`` writes it, in log order.
    static func expectedLines(_ log: EventLog, redactor: Redactor?) throws -> [UInt8] {
        try log.receives(where: "1=1").compactMap { Exporter.line($0, redactor: redactor)?.line }.flatMap { $0 }
    }

    @Test("the sink gets every line of the log, in order, and the counts say so")
    func exportsEveryMessage() throws {
        let log = try Self.sampleLog()
        var written: [UInt8] = []
        var calls = 0
        let counts = try Exporter.export(log, filter: LogFilter(), redactor: nil) { bytes in
            written += bytes
            calls += 1
        }
        #expect(written == (try Self.expectedLines(log, redactor: nil)))
        #expect(counts.exported == written.split(separator: 0x0A).count)
        #expect(counts.exported == 13)
        #expect(counts.redacted == 0 && counts.unredactable == 0 && counts.skippedInputErrors == 0)
        #expect(calls == 1, "a small export is one chunk")
        // What was written ingests back as the same messages.
        let dir = Fixtures.tempDir()
        let file = dir.appendingPathComponent("export.jsonl").path
        try Data(written).write(to: URL(fileURLWithPath: file))
        let (_, messages) = try TrafficReader.read(path: file)
        #expect(messages.map(\.messageId) == (try log.receives(where: "1=1").map(\.messageId)))
    }

    @Test("a filter and a redactor: only that order's lines, its fields replaced and counted")
    func filtersAndRedacts() throws {
        let log = try Self.sampleLog()
        var filter = LogFilter()
        filter.orderId = "ord-2004"
        let redactor = Redactor(fields: ["userId"], key: "test-key")
        var written: [UInt8] = []
        let counts = try Exporter.export(log, filter: filter, redactor: redactor) { written += $0 }
        let lines = written.split(separator: 0x0A)
        #expect(lines.count == counts.exported && counts.exported > 0)
        #expect(counts.redacted + counts.unredactable == counts.exported && counts.redacted > 0)
        let text = String(decoding: written, as: UTF8.self)
        #expect(text.contains("userId-"))
        #expect(!text.contains("ord-2001"))
    }

    @Test("what the sink throws ends the export")
    func sinkErrorsPropagate() throws {
        struct Full: Error {}
        let log = try Self.sampleLog()
        #expect(throws: Full.self) {
            try Exporter.export(log, filter: LogFilter(), redactor: nil) { _ in throw Full() }
        }
    }
}
