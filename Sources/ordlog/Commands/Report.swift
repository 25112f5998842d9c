import ArgumentParser
import Foundation
import OrdlogCore

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page: DLQ groups, order timelines and the log's integrity.",
        discussion: """
            The page opens anywhere, offline: inline CSS and SVG, one small inline script (filtering, expand \
            all; the page reads the same without it), nothing loaded from the network (a Content-Security-Policy \
            forbids it). It says which state of the log it describes: the log file, the head SEQ:HASH, the \
            result of the same hash-chain walk as `ordlog verify`, and when it was made.

            Contents: counts of attempts by outcome and a chart of them over time (all of the log, or the \
            --since/--until window, aggregated in SQL); the dead-letter groups by error fingerprint with counts, \
            first and last seen and the redrive command to preview; a swimlane timeline (SNS publish → each SQS \
            receive with its receive count → each attempt with its outcome and error → the item written) for \
            dead-lettered messages and for each --order-id, with the receives, attempts, SNS envelope fields \
            and raw body below it; and the orders table (current items).

            Default selection (no --order-id): every count and group, timelines of up to --max-timelines (50) \
            dead-lettered messages spread over the groups, and the --max-orders (100) most recently written \
            orders. With --order-id: those orders' timelines and rows; add --dead-lettered to keep the \
            dead-lettered timelines too. Caps are said in the page ("showing 50 of 1,234"). \
            --since/--until (RFC 3339; the receive's SentTimestamp, else received-at, as `export`) narrow the \
            counts, chart, groups and their timelines, and the table to orders with a message in the window \
            (an --order-id timeline shows all of that order).

            Every value from the log is HTML-escaped: bodies are untrusted input. --redact FIELDS pseudonymises \
            those order fields everywhere in the page, with the same pseudonyms and key rules as `export --redact` \
            (--redact-key or $ORDLOG_REDACT_KEY, else a random key); error messages about a redacted field are \
            withheld, since they quote the value. The same log and flags give the same bytes except the line \
            with id="made-at"; set SOURCE_DATE_EPOCH (seconds) to fix that too.

            \(severalLogsHelp)

            Examples:
              ordlog report --out report.html
              ordlog report --db 'logs/*.db' --out all-consumers.html
              ordlog report --out ord-2004.html --order-id ord-2004 --order-id ord-2001
              ordlog report --out incident.html --since 2026-01-01T10:00:00Z
              ordlog report --out share.html --redact userId,itemName
              ordlog report --out report.html --json | jq .bytes

            JSON: {"path":S,"bytes":N,"sections":[S…],"head":"SEQ:HASH"|null,"verified":B,"verifiedRecords":N,\
            "problem":S|null,"deadLettered":N,"groups":N,"timelines":N,"orders":N,"ordersShown":N,\
            "missingOrderIds":[S…],"unredactable":N}. \
            Exit codes: 0 written; 1 not written: the logs do not verify (named on stderr; `ordlog verify` says \
            where); 2 written, but \
            an --order-id has no message in the log (the page says which); 4 the output cannot be written; \
            64 usage; 70 the log cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("out"), help: ArgumentHelp("Write the HTML page here.", valueName: "file"))
    var outPath: String

    @Option(name: .customLong("order-id"), help: "Show this order's timeline and row (repeatable).")
    var orderId: [String] = []

    @Flag(
        name: .customLong("dead-lettered"),
        help: "Timelines of dead-lettered messages (the default when no --order-id is given).")
    var deadLettered = false

    @Option(help: ArgumentHelp("Only messages sent at or after this instant.", valueName: "rfc3339"))
    var since: String?

    @Option(help: ArgumentHelp("Only messages sent at or before this instant.", valueName: "rfc3339"))
    var until: String?

    @OptionGroup var redaction: RedactOptions

    @Option(name: .customLong("max-timelines"), help: "At most this many dead-lettered message timelines.")
    var maxTimelines = 50

    @Option(name: .customLong("max-orders"), help: "At most this many rows in the orders table.")
    var maxOrders = 100

    @Option(name: .customLong("max-order-messages"), help: "At most this many messages in one order's timeline.")
    var maxOrderMessages = 50

    func validate() throws {
        for (name, v) in [("--since", since), ("--until", until)] {
            if let v, RFC3339.milliseconds(v) == nil {
                throw ValidationError("\(name) must be an RFC 3339 instant such as 2026-01-01T14:00:00Z, got \(v)")
            }
        }
        for (name, v) in [("--max-timelines", maxTimelines), ("--max-orders", maxOrders)] where v < 0 {
            throw ValidationError("\(name) must be 0 or more, got \(v)")
        }
        if maxOrderMessages < 1 { throw ValidationError("--max-order-messages must be 1 or more") }
        if outPath.isEmpty { throw ValidationError("--out needs a file name") }
        if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], Int64(epoch) == nil {
            throw ValidationError("SOURCE_DATE_EPOCH must be whole seconds since the epoch, got \(epoch)")
        }
    }

    /// SOURCE_DATE_EPOCH (seconds) when set, so a build can reproduce the page byte for byte; else now.
    static func madeAt() -> Int64 {
        if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap({ Int64($0) }) {
            return epoch * 1000
        }
        return Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    func run() throws {
        try runReportingErrors {
            let logs = try global.openVerifiedLog(scratchPrefix: "ordlog-report", project: true)
            defer { withExtendedLifetime(logs) {} }
            let (set, log) = (logs.set, logs.log)
            var options = ReportOptions()
            options.orderIds = orderId
            options.deadLettered = deadLettered
            options.sinceMs = since.flatMap(RFC3339.milliseconds)
            options.untilMs = until.flatMap(RFC3339.milliseconds)
            options.maxTimelines = maxTimelines
            options.maxOrders = maxOrders
            options.maxMessagesPerOrder = maxOrderMessages
            options.redactor = redaction.makeRedactor(output: "report")
            let progress = Progress(label: "report")
            // Several logs: the page is about their merge (its head and records are the merged log's), named by the
            // sources as given (not resolved again: that would list S3 and check every sealed segment once more).
            let name =
                set.members.count > 1 ? "the merge of " + global.sources.joined(separator: ", ") : global.dbPath
            let data = try ReportData.gather(
                log: log, path: name, options: options, madeAtMs: Self.madeAt(),
                verified: VerifyResult(verified: logs.report.verified, head: try log.head()), sources: global.sources,
                chainHeads: set.heads().compactMap { c in c.head.map { (c.consumerId, $0) } }
            ) { progress.update($0) }
            let html = ReportHTML.render(data)
            progress.finish()
            let bytes = Array(html.utf8)
            guard FileManager.default.createFile(atPath: outPath, contents: Data(bytes)) else {
                throw CLIError(code: .badInput, message: CannotWrite.message(outPath))
            }
            var sections = ["summary", "dlq"]
            if options.showsDeadLetteredTimelines { sections.append("dead-lettered") }
            if !options.orderIds.isEmpty { sections.append("chosen") }
            sections.append("orders")
            let output = ReportOutput(path: outPath, bytes: bytes.count, sections: sections, data: data)
            if global.json { try printJSON(output) } else { say(output.summary) }
            if data.unredactableBodies > 0 {
                err(
                    "ordlog: \(plural(data.unredactableBodies, "body", "bodies")) in the page could not be redacted "
                        + "(not JSON or no such field) and are shown as they are: check before sharing")
            }
            if !data.verify.ok {
                throw CLIError(code: .checkFailed, message: "the log's hash chain is broken: \(data.verify.problem!)")
            }
            if !data.missingOrderIds.isEmpty {
                err(
                    "ordlog: the log has no message for order(s) \(data.missingOrderIds.joined(separator: ", ")) "
                        + "(the report says so)")
                throw ExitCode(ExitStatus.notFound.rawValue)
            }
        }
    }
}
