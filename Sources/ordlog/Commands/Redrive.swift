import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

struct Redrive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Re-process dead-lettered messages after a fix, appending new attempts.",
        discussion: """
            Chooses dead-lettered messages (latest attempt dead-lettered) by --message-id, by --fingerprint \
            (error code:field, as `ordlog inspect-dlq` shows) or --all, and processes each again against its \
            latest receive with the current processor and rule flags. Each result is appended as a new \
            attempt with trigger redrive; nothing is rewritten, and the SQS MessageId stays the identity. A \
            success projects the order into the local projection and takes the message out of the log's DLQ \
            view; with --target dynamodb --table NAME the order is first written into DynamoDB (conditional \
            PutItem, as consume does) and the attempt records what happened: a failed write is a transient \
            failure, the message stays dead-lettered and a rerun retries it. Without --from-queue the SQS \
            dead-letter queue itself is not touched: once the fix is in, delete or move those messages there (SQS \
            StartMessageMoveTask or the console), or take them with --from-queue. --dry-run runs the \
            same work and rolls it back, so it shows exactly what would be appended.

            --from-queue NAME|URL takes the messages from the SQS dead-letter queue instead (a URL as given, a \
            name resolved with GetQueueUrl; --message-id ID for some, --all for every message in it): the way in \
            for a message that reached the DLQ without entering any log (a consumer killed between ReceiveMessage \
            and its append, maxReceiveCount times; `ordlog inspect-dlq --queue` marks it "in no log"). Each \
            message's receive from the DLQ is first recorded in the log like any receive (source the DLQ's URL, \
            the body's bytes as received; an entry that is not an SQS message is logged and rejected, never \
            dropped) and committed, then processed as above (trigger redrive; --target dynamodb writes the table \
            first, and is required without --dry-run: a message deleted from the DLQ must reach the table), and only once that attempt is recorded with a final outcome (projected, duplicate, stale) is \
            the message deleted from the DLQ. A message whose attempt is not final stays in the DLQ, visible \
            again, its receive and attempt in the log (exit 3). Messages in a log already are taken the same way \
            (their new receive is processed; one projected before is a duplicate, and deleted). --dry-run appends \
            and rolls back, and deletes nothing. Reading the DLQ raises each message's ApproximateReceiveCount.

            Examples:
              ordlog redrive --fingerprint order.field_invalid:quantity --dry-run
              ordlog redrive --message-id 6f1c2a9e-0010-4c1e-9d8a-000000000010 --dry-run
              ordlog redrive --all
              ordlog redrive --fingerprint order.field_invalid:quantity --accept-numeric-strings --target dynamodb --table Orders
              ordlog redrive --from-queue OrderDLQ --all --dry-run
              ordlog redrive --from-queue OrderDLQ --all --target dynamodb --table Orders
              ordlog redrive --from-queue OrderDLQ --message-id 6f1c2a9e-0010-4c1e-9d8a-000000000010 --target dynamodb --table Orders

            JSON: {"dryRun":B,"processorVersion":S,"redriven":[{"messageId":S,"receiveSeq":N,"before":ATTEMPT,\
            "after":ATTEMPT}],"skipped":[{"messageId":S,"reason":S}],"dynamodb":{"table","created","written",\
            "stale"}|null,"queue":{"queueUrl":S,"inQueue":N,"newToLog":[ID…],"deleted":[ID…],"left":[ID…],\
            "deleteFailures":[{"messageId","code"}]}|null} with the attempt record shape (in a dry run "after" is \
            what would have been appended; "before" is null for a message the log never attempted). \
            Exit codes: 0 done (or nothing to do), 2 a --message-id is not in the log (with --from-queue: not in \
            the queue), 3 some messages are (or in a dry run would stay) dead-lettered, 5 an AWS call failed, 64 \
            usage, 70 storage (or another ordlog process is writing the log).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @Option(name: .customLong("message-id"), help: "Redrive this SQS MessageId (repeatable).")
    var messageId: [String] = []
    @Option(help: "Redrive every dead-lettered message with this fingerprint (repeatable).")
    var fingerprint: [String] = []
    @Flag(help: "Redrive every dead-lettered message (with --from-queue: every message in the queue).")
    var all = false
    @Option(
        name: .customLong("from-queue"),
        help: ArgumentHelp(
            "Take the messages from this SQS dead-letter queue (name or URL): record each receive, process it, "
                + "delete it once its outcome is final.", valueName: "name-or-url"))
    var fromQueue: String?
    @Option(help: "With --from-queue: take at most this many messages (default 1000).")
    var limit: Int?
    @Flag(name: .customLong("dry-run"), help: "Show what would be appended; append nothing.")
    var dryRun = false
    @OptionGroup(title: "Target") var targetOptions: TargetOptions

    func validate() throws {
        if messageId.isEmpty, fingerprint.isEmpty, !all {
            throw ValidationError("choose messages: --message-id ID, --fingerprint CODE:FIELD or --all")
        }
        if fromQueue != nil, !fingerprint.isEmpty {
            throw ValidationError(
                "--fingerprint does not go with --from-queue (a message in no log has no fingerprint yet): "
                    + "choose --message-id ID or --all")
        }
        if let limit, fromQueue == nil || limit < 1 {
            throw ValidationError("--limit goes with --from-queue, and is 1 or more")
        }
        if fromQueue != nil, all, !messageId.isEmpty {
            throw ValidationError("--from-queue takes --message-id ID or --all, not both")
        }
        if fromQueue != nil, !dryRun, targetOptions.target != .dynamodb {
            throw ValidationError(
                "--from-queue deletes each message from the DLQ once it is processed: without --target dynamodb "
                    + "--table Orders its order would never reach the table. Add them (or --dry-run to preview)")
        }
    }

    func run() async throws {
        try await runReportingErrorsAsync {
            let redriver = Redriver(
                log: try global.openLog(write: !dryRun),  // a dry run only reads
                processor: OrderProcessor(rules: ruleOptions.rules), logger: global.makeLogger("ordlog.pipeline"))
            var table: (() throws -> any RedriveTable)?
            if targetOptions.target == .dynamodb, let name = targetOptions.table {
                table = {
                    DynamoDBProjection(
                        client: DynamoDBClient(configuration: try targetOptions.aws.configuration()), tableName: name)
                }
            }
            let report: RedriveReport
            if let fromQueue {
                let sqs = SQSClient(configuration: try targetOptions.aws.configuration())
                let queue = SQSMessageQueue(sqs: sqs, url: try await QueueAddress.resolve(fromQueue, sqs: sqs))
                report = try await redriver.run(
                    fromQueue: queue, messageIds: all ? nil : messageId, dryRun: dryRun, table: table,
                    limit: limit ?? 1000)
            } else {
                report = try await redriver.run(
                    RedriveSelection(messageIds: messageId, fingerprints: fingerprint, all: all), dryRun: dryRun,
                    table: table)
            }
            if global.json { try printJSON(RedriveOutput(report)) } else { printText(report) }
            if report.stillDeadLettered > 0 { throw CLIError(code: .deadLettered, message: "") }
            if report.requestedMessageMissing { throw ExitCode(2) }
        }
    }

    func printText(_ report: RedriveReport) {
        for s in report.skipped { say("Skipped \(s.messageId): \(s.reason.rawValue).") }
        let outcomes = report.outcomes
        guard !outcomes.isEmpty else {
            if let q = report.queue {
                say("Nothing to redrive: \(q.queueUrl) holds \(plural(q.inQueue, "message")), none chosen.")
            } else {
                say("Nothing to redrive: no dead-lettered message matches. `ordlog inspect-dlq` lists them.")
            }
            return
        }
        say(
            (report.dryRun ? "Dry run: would redrive" : "Redrove")
                + " \(plural(outcomes.count, "message")) with \(report.processorVersion)")
        var t = Table("message", "receive", "before", "after")
        for o in outcomes {
            t.add(
                o.messageId, "#\(o.receive.seq)", o.before.map { brief($0.decision) } ?? "in no log",
                brief(o.after.decision))
        }
        say(t)
        let fixed = report.fixed
        let stillDead = report.stillDeadLettered
        if report.dryRun {
            say("Nothing was appended. \(fixed) would be projected, \(stillDead) would stay dead-lettered.")
            if let q = report.queue { say("Nothing was deleted from \(q.queueUrl).") }
            return
        }
        say("\(fixed) now projected in the local projection, \(stillDead) still dead-lettered.")
        if let synced = report.table {
            say(
                "DynamoDB table \(synced.tableName): \(synced.written) written, \(synced.stale) left "
                    + "(the table held a newer version).")
        } else if fixed > 0 {
            say("DynamoDB was not written (add --target dynamodb --table NAME for that).")
        }
        if let q = report.queue {
            if !q.newToLog.isEmpty {
                let what: String =
                    q.newToLog.count == 1
                    ? "its receive from the dead-letter queue is recorded (source \(q.queueUrl)), then its attempt."
                    : "their receives from the dead-letter queue are recorded (source \(q.queueUrl)), then their "
                        + "attempts."
                say("\(plural(q.newToLog.count, "message")) had never been attempted in this log: " + what)
            }
            say(
                "Dead-letter queue \(q.queueUrl): \(q.deleted.count) deleted (attempt recorded, outcome final), "
                    + "\(q.left.count) left there.")
            for f in q.deleteFailures {
                say(
                    "Could not delete \(f.messageId) from the queue (\(f.code)): its attempt is recorded; "
                        + "delete it there.")
            }
        } else if fixed > 0 {
            say(
                "The SQS dead-letter queue is unchanged: delete or move the fixed messages there "
                    + "(StartMessageMoveTask) once the fix is deployed, or take them with --from-queue.")
        }
    }
}
