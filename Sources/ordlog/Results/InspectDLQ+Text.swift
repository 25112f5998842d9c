import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

// The text views of `inspect-dlq` (the summary, one message in detail) and the commands they suggest: the
// command's render half (``InspectDLQ/run()`` parses, calls the library, and renders through these).
extension InspectDLQ {
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

    /// The `--queue` view: one line per DLQ message, then each in detail; a message in no log says so, with its
    /// body and attributes as the queue returned them and the redrive that records it.
    func queueText(_ joined: [QueuedDeadLetter], url: String) {
        let logs = global.db.count > 1 ? "the \(global.db.count) logs given" : global.dbPath
        say(
            "Dead-letter queue \(url): \(joined.count) message(s), "
                + "\(joined.filter { $0.history != nil }.count) with history in \(logs), "
                + "\(joined.filter { !$0.inLog }.count) in no log."
        )
        say(
            "(Reading counts as a receive: each message's ApproximateReceiveCount went up by one. Nothing was deleted.)"
        )
        var t = Table("message", "receive count", "sent", "log attempts", "fingerprint", "last error")
        for j in joined {
            let m = j.queued
            let sent = m.sentTimestamp.map { RFC3339.format(milliseconds: $0) } ?? "-"
            t.add(
                m.messageId ?? "-", m.approximateReceiveCount.map { String($0) } ?? "-", sent,
                j.history.map { String($0.attempts.count) } ?? (j.inLog ? "0 (not processed yet)" : "in no log"),
                j.history?.fingerprint ?? "-", clip(j.history?.latest.decision.errorMessage ?? "-", 60))
        }
        say(t)
        for j in joined {
            say("")
            let m = j.queued
            if let history = j.history {
                detail(history)
                continue
            }
            if j.inLog {
                say(
                    "== \(m.messageId ?? "-"): received into a log but not processed yet "
                        + "(`ordlog ingest` or `ordlog consume` on that log processes it)")
            } else {
                let times = m.approximateReceiveCount.map { "\($0) time\($0 == 1 ? "" : "s") (this read included)" }
                let redrive =
                    "`ordlog redrive --db \(shellQuoted(global.dbPath)) --from-queue \(shellQuoted(url)) "
                    + (m.messageId.map { "--message-id \(shellQuoted($0))" } ?? "--all")
                    + " --target dynamodb --table Orders`"
                say(
                    "== \(m.messageId ?? "-"): in no log: SQS received it \(times ?? "an unknown number of times") and "
                        + "ordlog never logged it; \(redrive) records and reprocesses it")
            }
            say("   attributes: \(JSONWriter.string(.object(m.attributes)))")
            if let a = m.messageAttributes { say("   message attributes: \(JSONWriter.string(a))") }
            say("   body (\(m.body.count) bytes):")
            sayBlock(displayBody(m.body))
        }
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
