import Foundation
import Logging
import OrdlogShared

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A swift-log handler writing one JSON object per line (JSON Lines), for CloudWatch Logs and other collectors:
///
///     {"timestamp":"2026-01-01T10:00:00.123Z","level":"warning","label":"ordlog.consumer",
///      "message":"DeleteMessageBatch failed…","source":"OrdlogCore","sqs.error_code":"…"}
///
/// `timestamp` is UTC, ISO 8601 with milliseconds. Metadata (the logger's, the provider's and the call's, the
/// call's winning) follows at the top level; nested dictionaries are flattened with dotted keys (`aws.operation`),
/// arrays stay arrays. A metadata key that would replace one of the fixed keys is written as `metadata.KEY`.
/// Every string is escaped per RFC 8259, so one event is always exactly one line.
public struct JSONLogHandler: LogHandler {
    /// The fixed keys, written first in this order.
    public static let fixedKeys: Set<String> = ["timestamp", "level", "label", "message", "source", "error"]

    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: JSONLogSink

    /// A handler writing to `sink` (stderr by default).
    public init(label: String, sink: JSONLogSink = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    /// A handler writing to stderr.
    public static func standardError(label: String) -> JSONLogHandler { JSONLogHandler(label: label) }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        let line = Self.line(
            timestamp: Self.timestamp(), level: event.level, label: label, message: event.message.description,
            source: event.source, error: event.error.map { "\($0)" }, metadata: merged)
        sink.write(line)
    }

    /// One event as a JSON object on one line, ending in `\n`.
    public static func line(
        timestamp: String, level: Logger.Level, label: String, message: String, source: String, error: String?,
        metadata: Logger.Metadata
    ) -> String {
        var out = "{\"timestamp\":"
        appendString(timestamp, to: &out)
        out += ",\"level\":"
        appendString(level.rawValue, to: &out)
        out += ",\"label\":"
        appendString(label, to: &out)
        out += ",\"message\":"
        appendString(message, to: &out)
        out += ",\"source\":"
        appendString(source, to: &out)
        if let error {
            out += ",\"error\":"
            appendString(error, to: &out)
        }
        var flat: [(String, Logger.MetadataValue)] = []
        flatten(metadata, prefix: "", into: &flat)
        var seen = fixedKeys
        for (key, value) in flat.sorted(by: { $0.0 < $1.0 }) {
            var k = key
            if seen.contains(k) { k = "metadata." + k }
            seen.insert(k)
            out += ","
            appendString(k, to: &out)
            out += ":"
            appendValue(value, to: &out)
        }
        out += "}\n"
        return out
    }

    static func flatten(_ metadata: Logger.Metadata, prefix: String, into out: inout [(String, Logger.MetadataValue)]) {
        for (key, value) in metadata {
            if case .dictionary(let nested) = value, !nested.isEmpty {
                flatten(nested, prefix: prefix + key + ".", into: &out)
            } else {
                out.append((prefix + key, value))
            }
        }
    }

    static func appendValue(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let s): appendString(s, to: &out)
        case .stringConvertible(let c): appendString(c.description, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                appendValue(item, to: &out)
            }
            out += "]"
        case .dictionary(let d):
            out += "{"
            for (i, key) in d.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                appendValue(d[key]!, to: &out)
            }
            out += "}"
        }
    }

    /// `s` as a JSON string: `"` and `\` escaped, control characters as `\n`, `\t`… or `\u00XX`, U+2028/9 as
    /// `\u2028`/`\u2029` (some log viewers break lines there) and DEL as `\u007f`; everything else as UTF-8
    /// (``JSONWriter/writeString(_:into:escapingLineSeparators:)``).
    public static func appendString(_ s: String, to out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count + 2)
        JSONWriter.writeString(s, into: &bytes, escapingLineSeparators: true)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Now, UTC, as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return format(epochMilliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000))
    }

    /// Epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, no time zone database).
    public static func format(epochMilliseconds ms: Int64) -> String { CivilTime.iso8601(milliseconds: ms) }
}

/// Where ``JSONLogHandler`` writes: whole lines, one `write(2)` each under a lock, so lines from several threads
/// never interleave.
public final class JSONLogSink: @unchecked Sendable {
    private let serial = Locked()
    private let emit: (String) -> Void

    /// A sink calling `emit` with each line (tests).
    public init(_ emit: @escaping (String) -> Void) {
        self.emit = emit
    }

    /// File descriptor 2.
    public static let standardError = JSONLogSink { line in
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                #if canImport(Glibc)
                    Glibc.write(2, $0.baseAddress! + offset, $0.count - offset)
                #else
                    Darwin.write(2, $0.baseAddress! + offset, $0.count - offset)
                #endif
            }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    func write(_ line: String) {
        serial.withLock { _ in emit(line) }
    }
}
