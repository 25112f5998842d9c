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
            failure, the message stays dead-lettered and a rerun retries it. The SQS dead-letter queue itself is not touched: once the fix is in, \
            delete or move those messages there (SQS StartMessageMoveTask or the console). --dry-run runs the \
            same work and rolls it back, so it shows exactly what would be appended.

            Examples:
              ordlog redrive --fingerprint order.field_invalid:quantity --dry-run
              ordlog redrive --message-id 6f1c2a9e-0010-4c1e-9d8a-000000000010 --dry-run
              ordlog redrive --all
              ordlog redrive --fingerprint order.field_invalid:quantity --accept-numeric-strings --target dynamodb --table Orders

            JSON: {"dryRun":B,"processorVersion":S,"redriven":[{"messageId":S,"receiveSeq":N,"before":ATTEMPT,\
            "after":ATTEMPT}],"skipped":[{"messageId":S,"reason":S}],"dynamodb":{"table","created","written",\
            "stale"}|null} with the attempt record shape (in a dry run "after" is what would have been \
            appended). \
            Exit codes: 0 done (or nothing to do), 2 a --message-id is not in the log, 3 some messages are (or \
            in a dry run would stay) dead-lettered, 5 an AWS call failed, 64 usage, 70 storage (or another ordlog \
            process is writing the log).
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
    @OptionGroup(title: "Target") var targetOptions: TargetOptions

    func validate() throws {
        if messageId.isEmpty, fingerprint.isEmpty, !all {
            throw ValidationError("choose messages: --message-id ID, --fingerprint CODE:FIELD or --all")
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
            let report = try await redriver.run(
                RedriveSelection(messageIds: messageId, fingerprints: fingerprint, all: all), dryRun: dryRun,
                table: table)
            if global.json { try printJSON(RedriveOutput(report)) } else { printText(report) }
            if report.stillDeadLettered > 0 { throw CLIError(code: .deadLettered, message: "") }
            if report.requestedMessageMissing { throw ExitCode(2) }
        }
    }

    func printText(_ report: RedriveReport) {
        for s in report.skipped { say("Skipped \(s.messageId): \(s.reason.rawValue).") }
        let outcomes = report.outcomes
        guard !outcomes.isEmpty else {
            say("Nothing to redrive: no dead-lettered message matches. `ordlog inspect-dlq` lists them.")
            return
        }
        say(
            (report.dryRun ? "Dry run: would redrive" : "Redrove")
                + " \(plural(outcomes.count, "message")) with \(report.processorVersion)")
        var t = Table("message", "receive", "before", "after")
        for o in outcomes {
            t.add(o.messageId, "#\(o.receive.seq)", brief(o.before.decision), brief(o.after.decision))
        }
        say(t)
        let fixed = report.fixed
        let stillDead = report.stillDeadLettered
        if report.dryRun {
            say("Nothing was appended. \(fixed) would be projected, \(stillDead) would stay dead-lettered.")
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
        if fixed > 0 {
            say(
                "The SQS dead-letter queue is unchanged: delete or move the fixed messages there "
                    + "(StartMessageMoveTask) once the fix is deployed.")
        }
    }
}
