import ArgumentParser
import Foundation
import OrdlogCore

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Append recorded SQS traffic to the event log, process it and project the orders.",
        discussion: """
            Reads SQS ReceiveMessage responses ({"Messages":[…]}), Lambda SQS events ({"Records":[…]}), \
            single SQS message objects, or JSON Lines of those; the format is detected per file. Each message \
            is appended to the log before it is processed. Re-ingesting a file is safe: receives already in \
            the log are counted as already-logged and not processed again.

            Transactions: recorded traffic is not a queue receive, so messages are appended and processed in \
            large transactions — up to --batch-size (default 10,000) messages, 16 MiB of message bodies or 2 s \
            after the transaction's first message was read, whichever comes first. A crash loses at most the \
            transaction in flight; rerunning the same command resumes after what was committed. Standard input \
            (-) is read live: what has arrived is committed before ordlog waits for more, so \
            `tail -f capture.jsonl | ordlog ingest -` never sits on uncommitted input.

            Recorded traffic has no queue to redeliver, so ordlog applies the redrive policy itself: a \
            message whose receive number --max-receive-count (ApproximateReceiveCount, or the count of \
            logged receives) fails is dead-lettered.

            Examples:
              ordlog ingest samples/order-traffic.jsonl
              ordlog ingest --json capture-*.json
              aws sqs receive-message --queue-url $Q --attribute-names All | ordlog ingest -

            JSON: {"received","appended","alreadyLogged","resumed","projected","duplicate","stale","rejected",\
            "failed","deadLettered","inputErrors","interrupted","files":[{"file","format","messages"}|{"file",\
            "error"}],"db"}. alreadyLogged: receives an earlier run logged (not processed again); resumed: \
            receives an interrupted earlier run logged but never processed, processed now.

            Exit codes: 0 the input was read and every message logged and decided, whatever was decided \
            (dead-lettered and rejected messages are outcomes: the summary counts them and names \
            `ordlog inspect-dlq`); 4 a file could not be read or is not recorded SQS traffic; 70 log error (or another \
            ordlog process is writing the log: one writer per log); 130 \
            interrupted (SIGINT/SIGTERM: the batch in flight is finished first). With --exit-code, also 3 when \
            messages were dead-lettered in this run and 4 when input entries were not SQS messages (4 before 3), \
            as `git diff --exit-code` reports differences:
              ordlog ingest --exit-code capture.jsonl || echo "dead-lettered or bad entries: see ordlog inspect-dlq"
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var exitCodes: ExitCodeOptions

    @Option(help: consumerIdHelp) var consumerId: String?


    @Argument(help: ArgumentHelp("Recorded traffic files; - reads standard input.", valueName: "file"))
    var files: [String]

    @Option(help: "The redrive policy's maxReceiveCount.")
    var maxReceiveCount: Int64 = 3

    @Option(
        help: ArgumentHelp(
            "Messages per transaction, at most (a transaction also ends at 16 MiB of message bodies or 2 s after "
                + "its first message was read, whichever comes first)."))
    var batchSize: Int = Ingest.defaultBatchSize

    /// Recorded traffic is not a queue receive: commit in large transactions, bounded by size and time.
    static let defaultBatchSize = 10_000
    static let maxTransactionBytes = 16 << 20
    static let maxTransactionSeconds = 2.0
    @Flag(help: "Reject quantities like 3.0 or 1e2 whose value is a whole number (by default stored as 3, 100).")
    var integerLiteralsOnly = false

    func validate() throws {
        guard maxReceiveCount >= 1, maxReceiveCount <= 1000 else {
            throw ValidationError("--max-receive-count must be 1…1000 (SQS allows 1…1000), got \(maxReceiveCount)")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        try runReportingErrors {
            let log = try global.openLog(create: true, write: true, newFilePageSize: EventLog.bulkPageSize)
            // The consumer identity is recorded before the first batch is appended, not before: a run that appends
            // nothing (every file refused) leaves the log as it was.
            var identityRecorded = false
            func recordIdentityOnce() throws {
                guard !identityRecorded else { return }
                _ = try global.recordIdentity(log, consumerId: consumerId, queue: files.joined(separator: " "))
                identityRecorded = true
            }
            var rules = ValidationRules()
            rules.maxReceiveCount = maxReceiveCount
            rules.integerLiteralsOnly = integerLiteralsOnly
            let pipeline = ProcessingStep(
                log: log, processor: OrderProcessor(rules: rules), logger: global.makeLogger("ordlog.pipeline"))
            var summary = IngestSummary()
            try pipeline.processUnprocessed(summary: &summary, beforeWriting: recordIdentityOnce)
            var fileErrors: [TrafficFileError] = []
            var formats: [(String, TrafficFormat, Int)] = []
            let progress = Progress(label: "ingest")
            Interrupt.install()
            for file in files {
                if Interrupt.requested { break }
                do {
                    let (format, count): (TrafficFormat, Int)
                    if file == "-" {
                        // Read live: each batch is written before the next wait for input.
                        (format, count) = try TrafficReader.stream(
                            path: file, batchSize: batchSize, maxBatchBytes: Ingest.maxTransactionBytes,
                            maxBatchSeconds: Ingest.maxTransactionSeconds, waiting: { Interrupt.waiting($0) }
                        ) { batch in
                            if Interrupt.requested { throw IngestInterrupted() }
                            try recordIdentityOnce()
                            try pipeline.ingest(batch: batch, summary: &summary)
                            progress.update("\(summary.received) messages, \(summary.projected) projected")
                        }
                    } else {
                        // A file: read, parsed and prepared on a second thread while the previous batch is written.
                        (format, count) = try pipeline.streamPrepared(
                            path: file, batchSize: batchSize, maxBatchBytes: Ingest.maxTransactionBytes,
                            maxBatchSeconds: Ingest.maxTransactionSeconds
                        ) { batch in
                            if Interrupt.requested { throw IngestInterrupted() }
                            try recordIdentityOnce()
                            try pipeline.ingest(prepared: batch, summary: &summary)
                            progress.update("\(summary.received) messages, \(summary.projected) projected")
                        }
                    }
                    formats.append((file == "-" ? "<stdin>" : file, format, count))
                } catch let error as TrafficFileError {
                    fileErrors.append(error)
                    err("ordlog: \(error)")
                } catch is IngestInterrupted {
                    break
                }
            }
            progress.finish()
            let interrupted = Interrupt.requested
            if global.json {
                try printJSON(
                    IngestOutput(
                        summary: summary, interrupted: interrupted,
                        files: formats.map { IngestOutput.File(file: $0.0, format: $0.1.rawValue, messages: $0.2) }
                            + fileErrors.map { IngestOutput.File(file: $0.file, error: $0.description) },
                        db: global.dbPath))
            } else {
                for (f, fmt, n) in formats { say("\(f): \(plural(n, "message")) (\(fmt.rawValue))") }
                // Every file refused: the errors above say it all; a table of zeros would only look like a run.
                if !formats.isEmpty || fileErrors.isEmpty { sayBlock(renderSummary(summary)) }
                if summary.deadLettered > 0 {
                    say("\(plural(summary.deadLettered, "message was", "messages were")) dead-lettered, "
                        + "kept with every attempt: `ordlog inspect-dlq --db \(shellQuoted(global.dbPath))` shows why"
                        + (exitCodes.exitCode ? " (exit status 3)." : "."))
                }
            }
            if interrupted {
                throw CLIError(
                    code: .interrupted,
                    message: "interrupted after \(summary.appended) messages were appended "
                        + "and processed; nothing of them is lost. Run the same command again: what is already logged is "
                        + "counted as already-logged and not processed twice.")
            }
            // A file that cannot be read or is not traffic: the job itself failed (its error is printed above).
            if !fileErrors.isEmpty { throw CLIError(code: .badInput, message: "") }
            if summary.inputErrors > 0 {
                err(
                    "ordlog: \(plural(summary.inputErrors, "input entry", "input entries")) read "
                        + (summary.inputErrors == 1 ? "was not an SQS message " : "were not SQS messages ")
                        + "(logged as rejected input: see `ordlog inspect-dlq --db \(shellQuoted(global.dbPath))`)")
            }
            try exitCodes.check(deadLettered: summary.deadLettered, inputErrors: summary.inputErrors)
        }
    }
}

func renderSummary(_ s: IngestSummary) -> String {
    var t = Table(
        "received", "appended", "already-logged", "projected", "duplicate", "stale", "rejected", "failed",
        "dead-lettered")
    t.add(
        String(s.received), String(s.appended), String(s.alreadyLogged), String(s.projected), String(s.duplicate),
        String(s.stale), String(s.rejected), String(s.failed), String(s.deadLettered))
    var text = t.render()
    if s.resumed > 0 { text += "\n(\(s.resumed) receives from an interrupted run were processed first)" }
    return text
}

/// Thrown from inside a streaming read to stop at a batch boundary after SIGINT/SIGTERM.
private struct IngestInterrupted: Error {}
