import ArgumentParser
import OrdlogCore

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Every message, receive and attempt for one order, in log order.",
        discussion: """
            Shows each receive (log sequence, SQS MessageId, receive count, source) and each processing \
            attempt (outcome, error, processor version, item written) of every message attributed to the \
            order. Messages whose body could not be parsed far enough to find an orderId are not attributed \
            to any order; `ordlog inspect-dlq` lists them.

            Examples:
              ordlog history ord-2001
              ordlog history ord-2004 --json

            JSON: an array of records in log order. Receive: {"type":"receive","seq","messageId","receiptHandle",\
            "receiveCount","sentTimestamp","receivedAt","source","md5OfBody","md5Matches","attributes",\
            "messageAttributes","inputError","body" (or "bodyBase64" when not UTF-8),"hash"}. Attempt: \
            {"type":"attempt","seq","receiveSeq","messageId","outcome","errorKind","errorCode","errorField",\
            "errorMessage","deadLettered","orderId","snsMessageId","item","note","processorVersion","trigger",\
            "attemptedAt","hash"}. \
            Exit codes: 0 found, 2 the log has nothing for this order, 70 log error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The orderId (compared byte for byte).")
    var orderId: String

    @Flag(help: "Print message bodies in the table view.")
    var bodies = false

    func run() throws {
        try runReportingErrors {
            let log = try global.openReadLog()
            let records = try log.history(orderId: orderId)
            if global.json {
                out(JSONWriter.string(.array(records.map(RecordJSON.record))))
                if records.isEmpty { throw ExitCode(2) }
                return
            }
            guard !records.isEmpty else {
                err("ordlog: the log has no message for order \(orderId)")
                throw ExitCode(2)
            }
            out("History of order \(terminalSafe(orderId)): \(plural(records.count, "record"))")
            for record in records {
                switch record {
                case .receive(let r):
                    let sent = r.sentTimestamp.map { RFC3339.format(milliseconds: $0) } ?? "-"
                    out(
                        "#\(r.seq)  receive  message \(r.messageId ?? "-")  receive #\(r.receiveCount)  sent \(sent)  from \(r.source)"
                    )
                    if r.md5Matches == false { out("      MD5OfBody does not match the body") }
                    if bodies { out("      body: \(displayBody(r.body))") }
                case .attempt(let a):
                    let d = a.decision
                    var line = "#\(a.seq)  attempt  \(d.outcome.rawValue)"
                    if d.deadLettered { line += " (dead-lettered)" }
                    line +=
                        "  for receive #\(a.receiveSeq)  \(a.processorVersion)  at \(RFC3339.format(milliseconds: a.attemptedAt))"
                    out(line)
                    if let item = d.item, d.outcome == .projected {
                        out("      wrote \(item.json)")
                    }
                    if let note = d.note { out("      \(note)") }
                    if let message = d.errorMessage {
                        out("      \(d.errorKind?.rawValue ?? "error") error \(d.errorFingerprint ?? ""): \(message)")
                    }
                }
            }
        }
    }
}
