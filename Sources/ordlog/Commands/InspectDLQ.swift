import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

struct InspectDLQ: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect-dlq",
        abstract: "Every dead-lettered message with its full history, grouped by error fingerprint.",
        discussion: """
            SQS keeps only a receive count and forgets a message after at most 14 days; the log keeps \
            everything. The summary groups dead-lettered messages (latest attempt dead-lettered) by error \
            fingerprint (error code:field) with counts and first/last seen (when ordlog received them), lists \
            each message, then the input that was not an SQS message at all (input errors), and says what to \
            do next. With MESSAGE_ID: the detail view — every receive (time, receive count, receipt handle), \
            every attempt (time, outcome, error, processor version), the SNS envelope (TopicArn, SNS MessageId, \
            Timestamp, Subject, MessageAttributes), the order as far as it parsed, and the raw body.

            Several logs (repeated --db, a folder, a glob, a sealed log, s3://), e.g. one per consumer on one \
            queue: a message received by several consumers is one message with the receives and attempts of \
            each, merged in the documented order (each consumer's in log order; between consumers by SQS \
            SentTimestamp, then MessageId, then receive count, then consumer id, then seq), each naming the \
            consumer that logged it. One rule says which messages are dead-lettered, for every command and any \
            number of logs: the latest attempt in merge order is, as recorded or by the processor's rule on its \
            receive number counted in merge order (ApproximateReceiveCount, or without one its position among \
            the message's receives) against --max-receive-count. Every record shown is verified first (re-hashed, \
            its links checked): one that does not verify is refused, exit 1, naming its file.

            Examples:
              ordlog inspect-dlq
              ordlog inspect-dlq --db consumer-a.db --db consumer-b.db --db consumer-c.db
              ordlog inspect-dlq --all-failures
              ordlog inspect-dlq 6f1c2a9e-0010-4c1e-9d8a-000000000010
              ordlog inspect-dlq --json | jq '.groups[] | {fingerprint, count}'
              ordlog inspect-dlq --queue OrderDLQ --endpoint-url http://127.0.0.1:5000

            --queue-url/--queue reads the real DLQ without deleting anything (each read raises the messages' \
            receive counts: SQS has no peek) and joins every message to its history in the log by SQS \
            MessageId. JSON: {"queueUrl":S,"inQueue":N,"inLog":N,"messages":[{"messageId","queueReceiveCount",\
            "sentTimestamp","history":MESSAGE|null,"body"}]}.

            JSON (summary): {"deadLettered":N,"groups":[{"fingerprint":S,"count":N,"firstSeen":T,"lastSeen":T,\
            "messages":[MESSAGE…]}],"inputErrors":[RECEIVE…]}. MESSAGE: {"messageId":S,"fingerprint":S,\
            "orderId":S|null,"deadLettered":B,"latestAttempt":ATTEMPT,"receives":[RECEIVE…],"attempts":[ATTEMPT…],\
            "envelope":{"topicArn","snsMessageId","timestamp","subject","messageAttributes"}|null,\
            "order":{…}|null,"parseProblem":S|null,"body":S} (RECEIVE/ATTEMPT: the record shapes, receives \
            without body). MESSAGE also has "consumers" (who logged each receive, in order), \
            "attemptConsumers" and "outcomes" (e.g. "rejected at c1, rejected (dead-lettered) at c3"|null), \
            and each RECEIVE/ATTEMPT a "consumer". With MESSAGE_ID: that MESSAGE object. \
            Exit codes: 0, 1 a record shown (or a link between the logs) does not verify, 2 MESSAGE_ID has no \
            attempts in the log, 5 an AWS call failed, 70 log error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Show one message in detail.")
    var messageId: String?

    @Flag(
        name: .customLong("all-failures"),
        help: "Also messages whose latest attempt failed but that are not dead-lettered yet.")
    var allFailures = false

    @Option(
        help: ArgumentHelp(
            "Read this real dead-letter queue (nothing is deleted) and join each message to its history in the log.",
            valueName: "url"))
    var queueUrl: String?

    @Option(help: ArgumentHelp("The dead-letter queue by name (resolved with GetQueueUrl).", valueName: "name"))
    var queue: String?

    @Option(help: "With --queue-url: read at most this many messages.")
    var limit = 1000

    @Option(
        help: "The redrive policy's maxReceiveCount, to judge dead-lettering on the (merged) receives.")
    var maxReceiveCount: Int64 = 3

    @OptionGroup(title: "AWS") var aws: AWSOptions

    /// `--queue-url`: the real DLQ's messages, each joined to its history in the log by SQS MessageId.
    func inspectQueue() async throws {
        let sqs = SQSClient(configuration: try aws.configuration())
        let url: String
        if let queueUrl { url = queueUrl } else { url = try await sqs.getQueueUrl(name: queue!) }
        let messages = try await DeadLetterQueuePeek.messages(sqs: sqs, queueUrl: url, limit: limit)
        // Joined to every log given (one, several, a sealed log with its segments, s3://).
        let set = try global.openLogSet()
        set.maxReceiveCount = maxReceiveCount
        let joined = try messages.filter { messageId == nil || $0.messageId == messageId }
            .map { ($0, try set.failedMessage($0.messageId ?? "")) }
        try set.requireShownVerified(try set.records(messageIds: joined.compactMap { $0.1?.messageId }))
        if global.json {
            try printJSON(
                DeadLetterQueueOutput(
                    queueUrl: url, inQueue: joined.count, inLog: joined.filter { $0.1 != nil }.count,
                    messages: joined.map { DeadLetterQueueOutput.Message(queued: $0, history: $1) }))
            return
        }
        say(
            "Dead-letter queue \(url): \(joined.count) message(s), \(joined.filter { $0.1 != nil }.count) with history in \(global.dbPath)."
        )
        say(
            "(Reading counts as a receive: each message's ApproximateReceiveCount went up by one. Nothing was deleted.)"
        )
        var t = Table("message", "receive count", "sent", "log attempts", "fingerprint", "last error")
        for (m, history) in joined {
            let sent = m.sentTimestamp.map { RFC3339.format(milliseconds: $0) } ?? "-"
            t.add(
                m.messageId ?? "-", m.approximateReceiveCount.map { String($0) } ?? "-", sent,
                history.map { String($0.attempts.count) } ?? "not in log", history?.fingerprint ?? "-",
                clip(history?.latest.decision.errorMessage ?? "-", 60))
        }
        say(t)
        for (m, history) in joined {
            say("")
            if let history {
                detail(history)
            } else {
                say("== \(m.messageId ?? "-"): not in this log (consumed by another ordlog, or before this log existed)")
                say("   body: \(clip(String(decoding: m.body, as: UTF8.self), 200))")
            }
        }
    }

    func run() async throws {
        if queueUrl != nil || queue != nil {
            try await runReportingErrorsAsync { try await inspectQueue() }
            return
        }
        try runReportingErrors {
            let set = try global.openLogSet()
            set.maxReceiveCount = maxReceiveCount
            let several = set.consumerIds.count > 1
            if let messageId {
                guard let m = try set.failedMessage(messageId) else {
                    err("ordlog: \(several ? "no log has" : "the log has no") attempt for message \(messageId)")
                    throw ExitCode(ExitStatus.notFound.rawValue)
                }
                try set.requireShownVerified(try set.records(messageIds: [messageId]))
                if global.json { try printJSON(DeadLetterMessageOutput(message: m)) } else { detail(m, set: set) }
                return
            }
            let report = try set.deadLetterReport(includeRetrying: allFailures)
            // What is printed is checked first: the records of every message listed, and the input errors.
            let shown =
                try set.records(messageIds: report.groups.flatMap(\.messages).map(\.messageId))
                + set.inputErrorRecords()
            try set.requireShownVerified(shown)
            if !shown.isEmpty {
                err(
                    "ordlog: verified the \(plural(shown.count, "record")) of the messages listed (hashes and links); "
                        + "the rest of the chain was not walked (`ordlog verify` walks it)", level: .info)
            }
            if global.json {
                try printJSON(DeadLetterReportOutput(report))
            } else {
                if several {
                    say("Logs: \(set.members.map { "\($0.url.path) (\($0.consumerId))" }.joined(separator: ", "))")
                }
                summary(report, set: set)
            }
        }
    }

    /// The log a redrive of `m` runs on: the one holding its latest receive (several logs), else --db.
    func redriveDb(_ m: FailedMessage, _ set: LogSet?) -> String {
        guard let set, let consumer = m.receiveConsumers.last,
            let member = set.members.last(where: { $0.consumerId == consumer })
        else { return global.dbPath }
        return member.url.path
    }

    /// "rejected at c1, rejected (dead-lettered) at c3" when several consumers attempted `m`.
    func outcomes(_ m: FailedMessage) -> String? { DeadLetterMessageOutput(message: m).outcomes }

    /// The --db arguments as given (several logs), else --db PATH.
    var dbArgs: String {
        global.db.count > 1
            ? global.db.map { "--db \(shellQuoted($0))" }.joined(separator: " ") : "--db \(shellQuoted(global.dbPath))"
    }

    func summary(_ report: DeadLetterReport, set: LogSet? = nil) {
        let what = allFailures ? "Failed messages (dead-lettered or still retrying)" : "Dead-lettered messages"
        say(
            "\(what): \(report.messageCount) in \(report.groups.count) fingerprint group(s). "
                + "Input that was not an SQS message: \(report.inputErrors.count).")
        if !report.groups.isEmpty {
            say("")
            var t = Table("fingerprint", "count", "first seen", "last seen", "example error")
            for g in report.groups {
                t.add(
                    g.fingerprint, String(g.messages.count), time(g.firstSeen), time(g.lastSeen),
                    clip(g.messages[0].latest.decision.errorMessage ?? "-", 70))
            }
            say(t)
        }
        for g in report.groups {
            say("")
            say("== \(g.fingerprint): \(g.messages.count) message(s)")
            var t = Table("message", "order", "receives", "state", "last attempt", "error")
            for m in g.messages {
                t.add(
                    m.messageId, m.orderId ?? "-", String(m.receives.count),
                    m.deadLettered ? "dead-lettered" : "retrying",
                    time(m.latest.attemptedAt), clip(m.latest.decision.errorMessage ?? "-", 60))
            }
            say(t)
            say(
                "   Next: fix the producer (or the rule), preview with "
                    + "`ordlog redrive --db \(shellQuoted(redriveDb(g.messages[0], set))) --fingerprint \(shellQuoted(g.fingerprint)) --dry-run`, then run it without --dry-run.")
            say("   Details: `ordlog inspect-dlq \(dbArgs) \(shellQuoted(g.messages[0].messageId))`")
        }
        if !report.inputErrors.isEmpty {
            say("")
            say("== input errors: \(report.inputErrors.count) receive(s) that were not SQS messages (never redrivable)")
            let several = (set?.consumerIds.count ?? 1) > 1
            var t =
                several ? Table("consumer", "seq", "source", "error", "raw") : Table("seq", "source", "error", "raw")
            for (i, r) in report.inputErrors.enumerated() {
                let cells = [
                    String(r.seq), clip(r.source, 50), clip(r.inputError ?? "-", 60), clip(displayBody(r.body), 40),
                ]
                t.add(several ? [terminalSafe(report.inputErrorConsumers[i])] + cells : cells)
            }
            say(t)
            say("   Next: fix whatever wrote these entries; they are kept in the log as received.")
        }
        if report.groups.isEmpty, report.inputErrors.isEmpty {
            say(
                "Nothing to look at: no message is dead-lettered."
                    + (allFailures ? "" : " (--all-failures shows retrying ones.)"))
        }
    }

    func detail(_ m: FailedMessage, set: LogSet? = nil) {
        let d = m.latest.decision
        let several = (set?.consumerIds.count ?? 1) > 1
        say("Message \(terminalSafe(m.messageId))" + (m.orderId.map { "  (order \(terminalSafe($0)))" } ?? ""))
        say(
            "  state:        \(m.deadLettered ? "DEAD-LETTERED" : d.outcome.isFinal ? "ok (\(d.outcome.rawValue))" : "failing, still retrying")"
        )
        if let fp = d.errorFingerprint { say("  fingerprint:  \(fp)") }
        if let msg = d.errorMessage { say("  error:        \(d.errorKind?.rawValue ?? "") — \(msg)") }
        if several, let o = outcomes(m) { say("  outcomes:     \(o)") }
        say("")
        say("Receives (\(m.receives.count))")
        var r =
            several
            ? Table("consumer", "seq", "received at", "sent at", "count", "receipt handle", "source")
            : Table("seq", "received at", "sent at", "count", "receipt handle", "source")
        for (i, x) in m.receives.enumerated() {
            let cells = [
                String(x.seq), time(x.receivedAt), x.sentTimestamp.map(time) ?? "-", String(x.receiveCount),
                clip(x.receiptHandle ?? "-", 24), clip(x.source, 60),
            ]
            r.add(several ? [terminalSafe(m.receiveConsumers[i])] + cells : cells)
        }
        say(r)
        say("")
        say("Attempts (\(m.attempts.count))")
        var a =
            several
            ? Table("consumer", "seq", "attempted at", "trigger", "outcome", "error", "processor")
            : Table("seq", "attempted at", "trigger", "outcome", "error", "processor")
        for (i, x) in m.attempts.enumerated() {
            let e = x.decision
            let cells = [
                String(x.seq), time(x.attemptedAt), x.trigger.rawValue,
                e.outcome.rawValue + (e.deadLettered ? " (DLQ)" : ""),
                e.errorFingerprint.map { "\($0): \(clip(e.errorMessage ?? "", 60))" } ?? "-", x.processorVersion,
            ]
            a.add(several ? [terminalSafe(m.attemptConsumers[i])] + cells : cells)
        }
        say(a)
        say("")
        if let e = m.anatomy.envelope {
            say("SNS envelope")
            say("  TopicArn:          \(e.topicArn ?? "-")")
            say("  SNS MessageId:     \(e.messageId ?? "-")")
            say("  Timestamp:         \(e.timestamp ?? "-")")
            say("  Subject:           \(e.subject ?? "(none)")")
            say("  MessageAttributes: \(e.messageAttributes.map(JSONWriter.string) ?? "(none)")")
        } else {
            say("SNS envelope: none (raw message delivery, or the body is not an envelope)")
        }
        say("")
        if let order = m.anatomy.order {
            say("Order as parsed")
            let width = order.members.map(\.key.count).max() ?? 0
            for member in order.members {
                let mark = member.key == d.errorField ? "   <-- \(d.errorCode ?? "error")" : ""
                say(
                    "  \(member.key.padding(toLength: width, withPad: " ", startingAt: 0))  \(JSONWriter.string(member.value))\(mark)"
                )
            }
            if let field = d.errorField, order[field] == nil {
                say("  (\(field) is missing)   <-- \(d.errorCode ?? "error")")
            }
        } else {
            say("Order: could not be parsed — \(m.anatomy.problem ?? "unknown")")
        }
        say("")
        say("Raw body (latest receive, \(m.latestReceive.body.count) bytes)")
        sayBlock(displayBody(m.latestReceive.body))
        say("")
        if m.deadLettered || !d.outcome.isFinal {
            let db = shellQuoted(redriveDb(m, set))
            say(
                "Next: fix the producer (or the rule), then preview with "
                    + "`ordlog redrive --db \(db) --message-id \(shellQuoted(m.messageId)) --dry-run` and run it without --dry-run. "
                    + "Siblings: `ordlog redrive --db \(db) --fingerprint \(shellQuoted(m.fingerprint)) --dry-run`.")
        }
    }
}
