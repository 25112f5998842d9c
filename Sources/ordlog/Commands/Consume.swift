import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogOps
import Logging

struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Consume the SQS queue: log every message, project into DynamoDB, delete what is final.",
        discussion: """
            Runs --concurrency receive loops (default 16) in one process. Each long-polls the queue; each \
            received batch is appended to the event log in one transaction before anything else happens; then \
            each message is decided, its order written into DynamoDB (default table Orders; the PutItems of a \
            batch concurrently, with a conditional PutItem on the order's timestamp) and its attempt logged with \
            the local projection in a second transaction. The log's write lock is never held across a network \
            call. Only messages whose outcome is final (projected, duplicate, stale) are deleted (batched), and only \
            once their records are durable (--durability: disk, the default, fsyncs the WAL first, one fsync \
            shared by the batches waiting; s3 puts them in S3 first as a chained increment, at most every \
            --increment-every, and each --archive-every seals, uploads the segment and deletes the increments it \
            covers; none deletes after the commit, which a host crash can undo); failed \
            ones are left for SQS to redeliver, so the queue's redrive policy moves a poison message to the DLQ \
            while the log keeps every attempt. Every batch in work has its visibility extended each half \
            visibility timeout. Failed receives back off exponentially with jitter (up to 10 s); with \
            --wait-time 0 so do empty ones (up to 1 s).

            On start it prints to stderr the queue, the table, the log file, the concurrency and where the \
            credentials came from. SIGTERM/SIGINT: no new receive starts, receives in flight are abandoned and \
            what they still returned is made visible again, the batches in work are finished (with s3, one last \
            increment, then a seal and upload that a stop timeout may cut without loss), exit 0 (3 if messages were dead-lettered in the run; well \
            within ECS's 30 s stop timeout); a second signal exits at once (130).

            Examples:
              ordlog consume --queue OrderQueue             # into Orders, 16 loops
              ordlog consume --queue OrderQueue --table OrdersStaging --concurrency 4
              ordlog consume --queue-url $QUEUE_URL --until-empty --wait-time 1
              ordlog consume --queue OrderQueue --local-only
              ordlog consume --queue OrderQueue --metrics-address 0.0.0.0:9464 --log-format json

            Operating: --metrics-address HOST:PORT serves GET /metrics (Prometheus text format) and GET /healthz \
            (200 "ok" while receives succeed; 503 with the reason after 3 ReceiveMessage calls in a row failed, \
            each after its retries). Metrics: ordlog_messages_received_total, \
            ordlog_messages_processed_total{outcome}, ordlog_messages_dead_lettered_total, \
            ordlog_messages_in_flight, ordlog_processing_duration_seconds, \
            ordlog_aws_call_duration_seconds{service,operation}, ordlog_log_append_duration_seconds (histograms, \
            buckets 1 ms … 30 s), ordlog_last_successful_receive_timestamp_seconds.

            JSON: {"received","appended","alreadyLogged","resumed","projected","duplicate","stale","rejected",\
            "failed","deadLettered","inputErrors","deleted","released","queueUrl","table"} (as ingest's, plus \
            the messages deleted, those made visible again on shutdown, and the table or null).

            Exit codes: 0 stopped cleanly, 3 some messages were dead-lettered, 5 an AWS call failed (including \
            a missing table), 64 usage (including a malformed region or endpoint), 70 log error (or another ordlog \
            process is writing the log: one writer per log, so give each consumer its own --db).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSOptions

    @Option(help: consumerIdHelp) var consumerId: String?

    @Option(help: "The queue URL.") var queueUrl: String?
    @Option(help: "The queue name (resolved with GetQueueUrl).") var queue: String?
    @Option(help: "DynamoDB table to project into.") var table = "Orders"
    @Flag(help: "Project only into the local projection; write nothing to DynamoDB.") var localOnly = false
    @Option(help: "Receive loops in this process (each with at most one batch of 10 in work).") var concurrency = 16
    @Option(
        help:
            "Messages received and not yet deleted, at most (default: concurrency × 10; with --durability s3, × 160: messages waiting for their increment stay in flight)."
    )
    var maxInFlight: Int?
    @Option(
        help:
            "Messages received and not yet in the log, at most (default 40): what a killed consumer can strand, received by SQS and never logged."
    )
    var maxUnlogged = 40
    @Option(help: "Long-poll wait per receive, 0…20 s.") var waitTime = 20
    @Option(
        help:
            "Visibility timeout requested per receive and extended while a batch is in work, in seconds (default: the queue's)."
    )
    var visibilityTimeout: Int?
    @Option(help: "Visibility timeout set on failed messages, in seconds (0 = redeliver at once; default: leave them).")
    var failedVisibilityTimeout: Int?
    @Option(help: "Stop after this many messages.") var maxMessages: Int?
    @Flag(
        help:
            "Stop when a receive returns no message. Failed messages are then made visible again at once (as with --failed-visibility-timeout 0), so their redeliveries, and the redrive policy, play out in this run."
    )
    var untilEmpty = false
    @Option(help: "maxReceiveCount for marking dead-lettered attempts (default: the queue's RedrivePolicy, else 3).")
    var maxReceiveCount: Int64?
    @Flag(help: "Reject quantities like 3.0 or 1e2 whose value is a whole number (by default stored as 3, 100).")
    var integerLiteralsOnly = false
    @Option(
        help: ArgumentHelp(
            "Serve GET /metrics (Prometheus) and GET /healthz on HOST:PORT, e.g. 127.0.0.1:9464 or 0.0.0.0:9464 "
                + "(default: not served). Env: ORDLOG_METRICS_ADDRESS.", valueName: "host:port"))
    var metricsAddress: String?
    @Option(
        help: ArgumentHelp(
            "Seal the log and upload its sealed segments to --archive-to this often while consuming, e.g. 15m, 1h, "
                + "90s (between batches, never holding the log across the upload).", valueName: "duration"))
    var archiveEvery: String?
    @Option(help: ArgumentHelp("Where --archive-every uploads: s3://BUCKET/PREFIX.", valueName: "s3-url"))
    var archiveTo: String?
    @Option(help: ArgumentHelp("Where sealed segments go (default: <log>.segments).", valueName: "dir"))
    var segments: String?
    @Option(
        help: ArgumentHelp(
            "Where a message's records must be before it is deleted from SQS: disk (fsynced; survives a host "
                + "crash when the disk outlives it), s3 (uploaded to --archive-to; survives losing the disk: "
                + "Fargate, ephemeral storage), none (committed only; survives a killed process only).",
            valueName: "disk|s3|none"))
    var durability = DurabilityMode.disk
    @Option(
        help: ArgumentHelp(
            "With --durability s3: upload the records of messages waiting to be deleted this often at most, e.g. "
                + "1s or 0.5s (default 1s).", valueName: "duration"))
    var incrementEvery: String?

    /// Seconds as the start line shows them: `1s`, `0.5s`, `15m`, `2h`.
    static func seconds(_ s: Double) -> String {
        if s >= 3600, s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600))h" }
        if s >= 60, s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60))m" }
        return s == s.rounded() ? "\(Int(s))s" : "\(s)s"
    }

    /// `90s`, `15m`, `1h` (or plain seconds) in seconds, or nil.
    static func parseDuration(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        if let u = text.last, let f = units[u], let n = Double(text.dropLast()), n > 0 { return n * f }
        if let n = Double(text), n > 0 { return n }
        return nil
    }

    /// --metrics-address, else $ORDLOG_METRICS_ADDRESS (empty = off).
    var metricsListen: String? {
        let a = metricsAddress ?? ProcessInfo.processInfo.environment["ORDLOG_METRICS_ADDRESS"]
        return a?.isEmpty == false ? a : nil
    }

    func validate() throws {
        if queueUrl == nil && queue == nil { throw ValidationError("give --queue-url URL or --queue NAME") }
        guard (0...20).contains(waitTime) else { throw ValidationError("--wait-time must be 0…20 seconds") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1…256") }
        if let maxInFlight, maxInFlight < 1 { throw ValidationError("--max-in-flight must be at least 1") }
        if maxUnlogged < 1 { throw ValidationError("--max-unlogged must be at least 1") }
        if let visibilityTimeout, !(0...43200).contains(visibilityTimeout) {
            throw ValidationError("--visibility-timeout must be 0…43200 seconds")
        }
        if let archiveEvery, Self.parseDuration(archiveEvery) == nil {
            throw ValidationError("--archive-every must be a duration such as 90s, 15m or 1h, got \(archiveEvery)")
        }
        if durability == .s3 {
            guard archiveTo != nil else {
                throw ValidationError(
                    "--durability s3 needs --archive-to s3://BUCKET/PREFIX (where the records go before a delete)")
            }
        } else {
            if (archiveEvery == nil) != (archiveTo == nil) {
                throw ValidationError("--archive-every and --archive-to go together")
            }
            if incrementEvery != nil { throw ValidationError("--increment-every goes with --durability s3") }
        }
        if let incrementEvery, !(0.05...60).contains(Self.parseDuration(incrementEvery) ?? 0) {
            throw ValidationError(
                "--increment-every must be a duration from 0.05s to 60s (every delete waits for it), such as 1s or "
                    + "0.5s, got \(incrementEvery)")
        }
        if let archiveTo, S3Location(parsing: archiveTo) == nil {
            throw ValidationError("--archive-to must be s3://BUCKET[/PREFIX], got \(archiveTo)")
        }
        if let address = metricsListen {
            do {
                _ = try OpsListenAddress.parse(address)
            } catch {
                throw ValidationError("--metrics-address: \(error)")
            }
        }
    }

    func run() async throws {
        try await runReportingErrorsAsync {
            // The writer lock first, for the whole run: a second consumer on this log is refused before it touches
            // SQS (openLog below takes it, reentrantly, for a new log: no lock file is left beside a log that a
            // consume failing on its options never created).
            if FileManager.default.fileExists(atPath: global.dbPath) { try global.lockForWriting() }
            // One health object: the consumer reports its receives to it, /healthz reads it. The metrics backend
            // is bootstrapped here, before the consumer and its log writer create their metric handles.
            let health = ConsumerHealth()
            let opsServer = try startOpsServer(health: health)
            defer { opsServer?.stop() }
            let config = try aws.configuration()
            err("ordlog: credentials from \(try await config.credentials().source)")
            let dbPath = global.dbPath
            // Only the service's events touch it, one at a time.
            nonisolated(unsafe) let progress = Progress(label: "consume")
            let result: ConsumerService.RunReport
            do {
                result = try await ConsumerService.run(
                    serviceConfiguration(), aws: config, health: health, loggers: .init { global.makeLogger($0) },
                    stop: Interrupt.stop,
                    openLog: { url in
                        let log = try global.openLog(create: true, write: true)
                        return (log, try global.recordIdentity(log, consumerId: consumerId, queue: url).consumerId)
                    },
                    events: { event in
                        switch event {
                        case .started(let s):
                            err(
                                "ordlog: consuming \(s.queueUrl) into "
                                    + (s.table.map { "DynamoDB table \($0)" } ?? "the local projection only")
                                    + "; log \(dbPath); concurrency \(s.concurrency); visibility timeout "
                                    + (s.visibilityTimeout.map { "\($0) s" } ?? "the queue's") + "; maxReceiveCount "
                                    + "\(s.maxReceiveCount); region \(s.region); consumer \(s.consumerId); "
                                    + "durability \(s.durability)"
                                    + (s.archive.map { a in
                                        "; archive \(a.location)"
                                            + (s.incrementEvery.map { " (increments at most every \(Self.seconds($0)))" }
                                                ?? "") + ", sealed every \(Self.seconds(a.sealEvery))"
                                    } ?? ""))
                            Interrupt.install(notice: "stopping after the batch in flight (signal again to stop at once)")
                        case .progress(let p):
                            let rate = p.elapsed > 0 ? Double(p.summary.received) / p.elapsed : 0
                            progress.update(
                                "received \(p.summary.received), projected \(p.summary.projected), "
                                    + "failed \(p.summary.rejected + p.summary.failed), "
                                    + "\(String(format: "%.0f", rate)) msg/s")
                        case .consumerEnded:
                            progress.finish()
                        }
                    })
            } catch let e as ConsumerService.MissingTableError {
                throw CLIError(code: .aws, message: "\(e)")
            }
            let report = result.consumer
            let summary = report.summary
            if global.json {
                try printJSON(
                    ConsumeOutput(
                        summary: summary, deleted: report.deleted, released: report.released,
                        queueUrl: result.queueUrl, table: result.table))
            } else {
                out(renderSummary(summary))
                say("deleted \(report.deleted) messages from \(result.queueUrl)")
                if report.released > 0 {
                    say("made \(report.released) messages received during shutdown visible again")
                }
            }
            if summary.deadLettered > 0 { throw CLIError(code: .deadLettered, message: "") }
        }
    }
}
