import ArgumentParser
import Foundation
import OrdlogCore

struct Redrive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Re-process dead-lettered messages after a fix, appending new attempts.",
        discussion: """
            Chooses dead-lettered messages (latest attempt dead-lettered) by --message-id, by --fingerprint \
            (error code:field, as `ordlog inspect-dlq` shows) or --all, and processes each again against its \
            latest receive with the current processor and rule flags. Each result is appended as a new \
            attempt with trigger redrive; nothing is rewritten, and the SQS MessageId stays the identity. A \
            success projects the order and takes the message out of the DLQ view. --dry-run runs the same \
            work and rolls it back, so it shows exactly what would be appended.

            Examples:
              ordlog redrive --fingerprint order.field_invalid:quantity --dry-run
              ordlog redrive --message-id 6f1c2a9e-0010-4c1e-9d8a-000000000010 --accept-numeric-strings
              ordlog redrive --all

            JSON: {"dryRun":B,"processorVersion":S,"redriven":[{"messageId":S,"receiveSeq":N,"before":ATTEMPT,\
            "after":ATTEMPT}],"skipped":[{"messageId":S,"reason":S}]} with the attempt record shape (in a dry \
            run "after" is what would have been appended). \
            Exit codes: 0 done (or nothing to do), 3 some messages are still dead-lettered, 64 usage, 70 storage.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @Option(name: .customLong("message-id"), help: "Redrive this SQS MessageId (repeatable).")
    var messageId: [String] = []
    @Option(help: "Redrive every dead-lettered message with this fingerprint (repeatable).")
    var fingerprint: [String] = []
    @Flag(help: "Redrive every dead-lettered message.")
    var all = false
    @Flag(name: .customLong("dry-run"), help: "Show what would be appended; append nothing.")
    var dryRun = false

    func validate() throws {
        if messageId.isEmpty, fingerprint.isEmpty, !all {
            throw ValidationError("choose messages: --message-id ID, --fingerprint CODE:FIELD or --all")
        }
    }

    func run() throws {
        try runReportingErrors {
            let log = try global.openLog()
            let report = try log.deadLetterReport()
            let dlq = report.groups.flatMap(\.messages)
            var chosen: [String] = []
            var skipped: [(String, String)] = []
            for m in dlq where all || messageId.contains(m.messageId) || fingerprint.contains(m.fingerprint) {
                chosen.append(m.messageId)
            }
            let dlqIds = Set(dlq.map(\.messageId))
            for id in messageId where !dlqIds.contains(id) {
                skipped.append((id, try log.attempts(messageId: id).isEmpty ? "not in the log" : "not dead-lettered"))
            }
            let pipeline = Pipeline(log: log, processor: OrderProcessor(rules: ruleOptions.rules),
                                    logger: global.makeLogger("ordlog.pipeline"))
            let outcomes = chosen.isEmpty ? [] : try pipeline.redrive(messageIds: chosen, dryRun: dryRun)
            let stillDead = outcomes.filter { $0.after.decision.deadLettered }.count
            if global.json {
                out(JSONWriter.string(obj([
                    ("dryRun", .bool(dryRun)), ("processorVersion", .string(pipeline.processor.version)),
                    ("redriven", .array(outcomes.map { o in
                        obj([
                            ("messageId", .string(o.messageId)), ("receiveSeq", num(o.receive.seq)),
                            ("before", RecordJSON.attempt(o.before)), ("after", RecordJSON.attempt(o.after)),
                        ])
                    })),
                    ("skipped", .array(skipped.map { obj([("messageId", .string($0.0)), ("reason", .string($0.1))]) })),
                ])))
            } else {
                for (id, why) in skipped { out("Skipped \(id): \(why).") }
                if outcomes.isEmpty {
                    out("Nothing to redrive: no dead-lettered message matches. `ordlog inspect-dlq` lists them.")
                } else {
                    out((dryRun ? "Dry run: would redrive" : "Redrove") + " \(outcomes.count) messages with \(pipeline.processor.version)")
                    var t = Table("message", "receive", "before", "after")
                    for o in outcomes {
                        t.add(o.messageId, "#\(o.receive.seq)", brief(o.before.decision), brief(o.after.decision))
                    }
                    out(t.render())
                    let fixed = outcomes.count - stillDead
                    if dryRun {
                        out("Nothing was appended. \(fixed) would leave the DLQ, \(stillDead) would stay.")
                    } else {
                        out("\(fixed) left the DLQ, \(stillDead) still dead-lettered.")
                    }
                }
            }
            if !dryRun, stillDead > 0 { throw CLIError(code: .deadLettered, message: "") }
        }
    }
}
