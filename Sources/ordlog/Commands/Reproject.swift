import ArgumentParser
import Foundation
import OrdlogCore

struct Reproject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproject",
        abstract: "Rebuild the projection from the log, resumably, replacing the old one only when complete.",
        discussion: """
            Re-applies the decisions recorded in the log (it does not re-decide: that is `ordlog replay`), in \
            log order, into new tables, then swaps them in with one transaction. Over the whole log the result \
            equals the live projection (redrives included), whatever processor made the decisions.

            --as-of-seq N: the projection exactly as it was after log record N. \
            --as-of T: the orders as of instant T by SQS SentTimestamp ("the state at 14:00"): messages sent \
            after T are left out, and items are applied by the ordering rule (newest timestamp wins) since a \
            recorded stale/duplicate decision may have depended on a later message. Both write a historical \
            projection, so they need --into PATH (the live projection must keep following the log).

            Resumable: each --batch-size log records (default \(Reprojector.defaultBatchSize)) are folded in \
            memory, then written into the new tables in key order together with a checkpoint (table \
            reproject_checkpoint). Interrupted (Ctrl-C, SIGKILL, crash), the old projection is untouched and at \
            most the batch in progress is lost; running the same command again continues from the checkpoint \
            and ends with the same digest. A smaller --batch-size checkpoints more often and holds less in \
            memory. A different target discards the unfinished build.

            \(severalLogsHelp)

            Examples:
              ordlog reproject
              ordlog reproject --db consumer-a.db --db consumer-b.db --into /tmp/all.db   # several logs: --into
              ordlog reproject --as-of-seq 1200 --into /tmp/at-1200.db
              ordlog reproject --as-of 2026-01-01T14:00:00Z --into /tmp/at-14h.db && ordlog orders --db /tmp/at-14h.db
              ordlog reproject --target dynamodb --table Orders --endpoint-url http://127.0.0.1:5000

            --target dynamodb --table NAME rebuilds the DynamoDB table: the projection is built in a local file \
            (--into, default beside the log) and then every order is written with the conditional PutItem \
            consume uses, so an order the table holds in a newer version is left as it is.

            JSON: {"target":"all"|"seq:N"|"sent:MS","into":S|null,"resumedFrom":N|null,"discarded":S|null,\
            "throughSeq":N,"applied":N,"orders":N,"digest":S,"dynamodb":{"table","created","written","stale"}|null}. \
            Exit codes: 0 done, 5 an AWS call failed, 64 usage, 70 storage error (or, in place, \
            another ordlog process is writing the log), 130 interrupted (rerun to continue).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Target") var targetOptions: TargetOptions

    @Option(name: .customLong("as-of-seq"), help: "Rebuild as of this log sequence.")
    var asOfSeq: Int64?
    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp("Rebuild as of this instant (SentTimestamp).", valueName: "rfc3339"))
    var asOf: String?
    @Option(help: ArgumentHelp("Build into this projection file instead of the log's own.", valueName: "path"))
    var into: String?
    @Option(name: .customLong("batch-size"), help: "Log records per checkpoint (folded in memory, then written).")
    var batchSize = Reprojector.defaultBatchSize

    func validate() throws {
        if asOfSeq != nil, asOf != nil { throw ValidationError("give --as-of-seq or --as-of, not both") }
        if let asOf, RFC3339.milliseconds(asOf) == nil {
            throw ValidationError("--as-of must be an RFC 3339 instant such as 2026-01-01T14:00:00Z, got \(asOf)")
        }
        if asOfSeq != nil || asOf != nil, into == nil, targetOptions.target == .local {
            throw ValidationError(
                "--as-of-seq/--as-of build a historical projection: give --into PATH so the live one keeps following the log"
            )
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    var target: ReprojectTarget {
        if let asOfSeq { return .seq(asOfSeq) }
        if let asOf, let ms = RFC3339.milliseconds(asOf) { return .sent(ms) }
        return .all
    }

    func run() async throws {
        try await runReportingErrorsAsync {
            // In place (the log's own projection) it rewrites one log: one writer per log. Into a new file (or
            // DynamoDB) it reads the logs as every read command does, verified first.
            let logs =
                self.into == nil && targetOptions.target == .local
                ? nil : try global.openVerifiedLog(scratchPrefix: "ordlog-reproject")
            defer { withExtendedLifetime(logs) {} }
            let log = try logs?.log ?? global.openLog(write: true)
            var options = ReprojectOptions()
            options.target = target
            options.batchSize = batchSize
            options.intoPath = into
            options.forDynamoDB = targetOptions.target == .dynamodb
            options.dynamoDBTable = targetOptions.table
            Interrupt.install()
            options.testPauseAfterSeq = ProcessInfo.processInfo.environment["ORDLOG_TEST_PAUSE_AFTER_SEQ"].flatMap {
                Int64($0)
            }
            let progress = Progress(label: "reproject")
            let report: ReprojectReport
            do {
                report = try await Reprojector.rebuild(
                    options, log: log, logPath: global.dbPath, startedAt: ProcessingStep.systemClockMs(),
                    shouldStop: { Interrupt.requested },
                    onCheckpoint: { seq, through in progress.update("checkpoint at seq \(seq) of \(through)") },
                    onTestPause: { err("ordlog: test pause at checkpoint \($0)") },
                    publish: { projection in
                        progress.finish()
                        return try await targetOptions.syncIfDynamoDB(projection)
                    })
            } catch let e as ReprojectSetupError {
                throw CLIError(code: e.kind == .continuesSealedSegments ? .usage : .storage, message: "\(e)")
            }
            let result = report.result
            if result.interrupted {
                progress.finish()
                throw CLIError(
                    code: .interrupted,
                    message:
                        "interrupted at checkpoint seq \(result.throughSeq); the old projection is untouched. Run the same command again to continue."
                )
            }
            let into = report.buildPath
            let synced = report.published
            if global.json {
                try printJSON(ReprojectOutput(target: target, into: into, result: result, synced: synced))
                return
            }
            if let synced {
                say(
                    "DynamoDB table \(synced.tableName)\(synced.created ? " (created)" : ""): \(synced.written) orders "
                        + "written, \(synced.stale) left as they were (the table held a newer version)")
            }
            if let d = result.discardedTarget { say("Discarded an unfinished build for target \(d).") }
            if let r = result.resumedFrom { say("Resumed from checkpoint seq \(r).") }
            say(
                "Reprojected \(describe(target)) through seq \(result.throughSeq) into \(into ?? global.dbPath): "
                    + "\(result.applied) decisions applied, \(result.orders) orders")
            say("Digest: \(result.digest)")
        }
    }

    /// The target as a person reads it (`key` is the checkpoint's machine form, e.g. `sent:1767261900000`).
    func describe(_ target: ReprojectTarget) -> String {
        switch target {
        case .all: "the whole log"
        case .seq(let n): "as of seq \(n)"
        case .sent(let ms): "as of \(RFC3339.format(milliseconds: ms)) (SQS SentTimestamp)"
        }
    }
}
