import ArgumentParser
import Foundation
import OrdlogCore

/// The receive filters shared by `replay` and `export` (see `LogFilter`).
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("from-seq"), help: "Only receives with log seq ≥ this.")
    var fromSeq: Int64?
    @Option(name: .customLong("to-seq"), help: "Only receives with log seq ≤ this.")
    var toSeq: Int64?
    @Option(
        help: ArgumentHelp("Only messages sent at or after this instant (SQS SentTimestamp).", valueName: "rfc3339"))
    var since: String?
    @Option(
        help: ArgumentHelp("Only messages sent at or before this instant (SQS SentTimestamp).", valueName: "rfc3339"))
    var until: String?
    @Option(name: .customLong("order-id"), help: "Only messages the log attributed to this order.")
    var orderId: String?
    @Option(name: .customLong("message-id"), help: "Only this SQS MessageId (repeatable).")
    var messageId: [String] = []
    @Flag(name: .customLong("dead-lettered"), help: "Only messages whose latest attempt is dead-lettered.")
    var deadLettered = false

    var usesRecordedAttempts: Bool { orderId != nil || deadLettered }

    func validate() throws {
        for (name, v) in [("--since", since), ("--until", until)] {
            if let v, RFC3339.milliseconds(v) == nil {
                throw ValidationError("\(name) must be an RFC 3339 instant such as 2026-01-01T14:00:00Z, got \(v)")
            }
        }
    }

    var filter: LogFilter {
        var f = LogFilter()
        if let fromSeq { f.fromSeq = fromSeq }
        if let toSeq { f.toSeq = toSeq }
        f.sinceMs = since.flatMap(RFC3339.milliseconds)
        f.untilMs = until.flatMap(RFC3339.milliseconds)
        f.orderId = orderId
        f.messageIds = messageId
        f.deadLettered = deadLettered
        return f
    }
}

/// Flags mirroring `ValidationRules`: how to decide differently "after a fix".
struct RuleOptions: ParsableArguments {
    @Option(name: .customLong("max-receive-count"), help: "The redrive policy's maxReceiveCount.")
    var maxReceiveCount: Int64 = ValidationRules().maxReceiveCount
    @Option(name: .customLong("min-quantity"), help: "The smallest accepted quantity.")
    var minQuantity: Int64 = ValidationRules().minimumQuantity
    @Option(name: .customLong("max-quantity"), help: "The largest accepted quantity.")
    var maxQuantity: Int64 = ValidationRules().maximumQuantity
    @Flag(
        name: .customLong("integer-literals-only"),
        help:
            "Reject quantities like 3.0 or 1e2 whose value is a whole number (accepted and stored as 3, 100 by default)."
    )
    var integerLiteralsOnly = false
    /// Before processor version 2 this relaxed the default; integral decimals are now accepted by default.
    @Flag(name: .customLong("accept-integral-decimals"), help: .hidden)
    var acceptIntegralDecimals = false
    @Flag(name: .customLong("accept-numeric-strings"), help: "Accept quantities sent as digit strings (\"2\").")
    var acceptNumericStrings = false

    func validate() throws {
        guard maxReceiveCount >= 1, maxReceiveCount <= 1000 else {
            throw ValidationError("--max-receive-count must be 1…1000, got \(maxReceiveCount)")
        }
        guard minQuantity <= maxQuantity else { throw ValidationError("--min-quantity is above --max-quantity") }
        if integerLiteralsOnly, acceptIntegralDecimals {
            throw ValidationError("--integer-literals-only and --accept-integral-decimals contradict each other")
        }
    }

    var rules: ValidationRules {
        var r = ValidationRules()
        r.maxReceiveCount = maxReceiveCount
        r.minimumQuantity = minQuantity
        r.maximumQuantity = maxQuantity
        r.integerLiteralsOnly = integerLiteralsOnly
        r.acceptNumericStrings = acceptNumericStrings
        return r
    }
}

/// A private folder for scratch files (a merge of several logs), in the process's ``ScratchSpace``: removed when
/// released, and with the scratch space on every way out (exit, SIGINT, SIGTERM, SIGHUP, a closed stdout).
final class TempDir {
    let url: URL
    init(_ prefix: String) throws {
        url = URL(fileURLWithPath: try ScratchSpace.shared.makeDirectory(prefix: prefix))
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

func num(_ n: Int) -> JSONValue { .number(String(n)) }
func num(_ n: Int64) -> JSONValue { .number(String(n)) }
func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
func obj(_ m: [(key: String, value: JSONValue)]) -> JSONValue { .object(JSONObject(m)) }
func time(_ ms: Int64) -> String { RFC3339.format(milliseconds: ms) }

/// A body for display: its text when it is UTF-8, otherwise its length and base64 (never U+FFFD for its bytes).
func displayBody(_ bytes: [UInt8]) -> String {
    if JSONParser.firstInvalidUTF8(bytes) == nil { return String(decoding: bytes, as: UTF8.self) }
    return "(\(bytes.count) bytes, not UTF-8; base64: \(Data(bytes).base64EncodedString()))"
}

/// A decision in a few words: `projected ord-1 qty 2 PENDING` or `rejected order.field_invalid:quantity`.
func brief(_ d: Decision?) -> String {
    guard let d else { return "(none recorded)" }
    var s = d.outcome.rawValue + (d.deadLettered ? " (dead-lettered)" : "")
    if let fp = d.errorFingerprint { s += " \(fp)" }
    if let item = d.item, d.outcome != .rejected {
        s += " \(item.orderId) qty \(item.quantity) \(item.status) @\(item.timestamp)"
    } else if let id = d.orderId {
        s += " \(id)"
    }
    return s
}
