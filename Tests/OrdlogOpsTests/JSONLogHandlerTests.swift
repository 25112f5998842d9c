import Foundation
import Logging
import OrdlogOps
import Testing

/// The JSON Lines log handler, checked by parsing what it wrote.
@Suite struct JSONLogHandlerTests {
    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func append(_ s: String) { lock.withLock { lines.append(s) } }
    }

    static func logger(_ lines: Lines, level: Logger.Level = .trace) -> Logger {
        let sink = JSONLogSink { lines.append($0) }
        var logger = Logger(label: "ordlog.test") { JSONLogHandler(label: $0, sink: sink) }
        logger.logLevel = level
        return logger
    }

    static func parse(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("\n"))
        #expect(!line.dropLast().contains("\n"))
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("one object per line: timestamp with ms, level, label, message, source, flattened metadata, escaping")
    func shape() throws {
        let lines = Lines()
        var logger = Self.logger(lines)
        logger[metadataKey: "queue"] = "OrderQueue"
        let nasty = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} sep \u{2028} Café 東京 🍣"
        logger.warning(
            "DeleteMessageBatch failed: \(nasty)",
            metadata: [
                "aws": ["service": "sqs", "operation": "DeleteMessageBatch"], "count": "\(3)",
                "handles": ["a", "b"], "message": "collides", "queue": "override",
            ])
        let o = try Self.parse(try #require(lines.lines.first))
        #expect(o["level"] as? String == "warning")
        #expect(o["label"] as? String == "ordlog.test")
        #expect(o["message"] as? String == "DeleteMessageBatch failed: \(nasty)")
        #expect(o["source"] as? String == "OrdlogOpsTests")
        #expect(o["aws.service"] as? String == "sqs")
        #expect(o["aws.operation"] as? String == "DeleteMessageBatch")
        #expect(o["count"] as? String == "3")
        #expect(o["handles"] as? [String] == ["a", "b"])
        #expect(o["metadata.message"] as? String == "collides")
        #expect(o["queue"] as? String == "override")  // the call's metadata wins over the logger's
        let ts = try #require(o["timestamp"] as? String)
        #expect(ts.count == 24 && ts.hasSuffix("Z"))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = try #require(formatter.date(from: ts))
        #expect(abs(date.timeIntervalSinceNow) < 60)
    }

    @Test("levels below the logger's are dropped; lines from many threads never interleave")
    func levelsAndThreads() throws {
        let lines = Lines()
        let logger = Self.logger(lines, level: .info)
        logger.debug("hidden")
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            logger.info("line \(i)", metadata: ["i": "\(i)", "pad": .string(String(repeating: "x", count: 5000))])
        }
        #expect(lines.lines.count == 200)
        let seen = try Set(lines.lines.map { try Self.parse($0)["i"] as? String })
        #expect(seen.count == 200)
    }

    @Test("timestamps: epoch, leap days, before 1970")
    func timestamps() {
        #expect(JSONLogHandler.format(epochMilliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(JSONLogHandler.format(epochMilliseconds: 1_767_261_600_123) == "2026-01-01T10:00:00.123Z")
        #expect(JSONLogHandler.format(epochMilliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(JSONLogHandler.format(epochMilliseconds: -1) == "1969-12-31T23:59:59.999Z")
    }
}
