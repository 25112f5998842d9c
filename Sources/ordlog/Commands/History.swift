import ArgumentParser
import OrdlogCore

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Every message, receive and attempt for one order, in log order (or merged across several logs).",
        discussion: """
            Shows each receive (log sequence, SQS MessageId, receive count, source) and each processing \
            attempt (outcome, error, processor version, item written) of every message attributed to the \
            order. Every record shown is verified first (its hash recomputed, its links to the records before \
            and after it checked): one that does not verify is refused, exit 1, naming its file (the whole \
            chain is walked by `ordlog verify`). Messages whose body could not be parsed far enough to find an orderId are not attributed \
            to any order; `ordlog inspect-dlq` lists them.

            Each record names the consumer that logged it (the log's identity record, or the file's name for a \
            log written before identity records existed). Several logs (repeated --db, a folder, a glob), one \
            per consumer: their records are merged in the documented order (each consumer's in log order; \
            between consumers by SQS SentTimestamp, then MessageId, then receive count, then consumer id, then \
            seq; each attempt after its receive), and a message that \
            several consumers attempted is summarised ("projected by c1, duplicate at c2").

            Examples:
              ordlog history ord-2001
              ordlog history ord-2004 --json
              ordlog history --db consumer-a.db --db consumer-b.db --db consumer-c.db ord-2004

            JSON: an array of records in log order. Receive: {"type":"receive","seq","messageId","receiptHandle",\
            "receiveCount","sentTimestamp","receivedAt","source","md5OfBody","md5Matches","attributes",\
            "messageAttributes","inputError","body" (or "bodyBase64" when not UTF-8),"hash"}. Attempt: \
            {"type":"attempt","seq","receiveSeq","messageId","outcome","errorKind","errorCode","errorField",\
            "errorMessage","deadLettered","orderId","snsMessageId","item","note","processorVersion","trigger",\
            "attemptedAt","hash","messageDeadLettered" (its message is dead-lettered, by the rule inspect-dlq uses)}. \
            Every record also has "consumer" (who logged it) and "file" (the log it is in). \
            Exit codes: 0 found, 1 a record shown (or a link between the logs) does not verify, 2 the log has \
            nothing for this order, 70 log error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The orderId (compared byte for byte).")
    var orderId: String

    @Flag(help: "Print message bodies in the table view.")
    var bodies = false

    func run() throws {
        try runReportingErrors {
            let set = try global.openLogSet()
            let records = try set.history(orderId: orderId)
            // What is printed is checked first: a record that does not verify is not shown as evidence.
            try set.requireShownVerified(records)
            // Each message's dead-letter judgment, by the set's one rule.
            var deadLettered: [String: Bool] = [:]
            for case .attempt(let a) in records.map(\.record) {
                guard let id = a.messageId, deadLettered[id] == nil else { continue }
                deadLettered[id] = try set.failedMessage(id)?.deadLettered ?? false
            }
            if !records.isEmpty {
                err(
                    "ordlog: verified the \(plural(records.count, "record")) shown (hashes and links); the rest of "
                        + "the chain was not walked (`ordlog verify` walks it)", level: .info)
            }
            let output = HistoryOutput(records: records, deadLettered: deadLettered)
            if global.json {
                try printJSON(output)
                if records.isEmpty { throw ExitCode(ExitStatus.notFound.rawValue) }
                return
            }
            guard !records.isEmpty else {
                err("ordlog: the log has no message for order \(orderId)")
                throw ExitCode(ExitStatus.notFound.rawValue)
            }
            output.printText(orderId: orderId, logCount: set.members.count, bodies: bodies)
        }
    }
}
