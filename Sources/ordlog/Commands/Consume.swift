import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogOps

struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Consume the SQS queue: log every message, project into DynamoDB, delete what is final.",
        discussion: """
            Long-polls the queue. Each received batch is appended to the event log in one transaction before \
            anything else happens; then each message is decided, projected into the local projection and (with \
            --table) into DynamoDB with a conditional PutItem on the order's timestamp, and its attempt is \
            logged. Only messages whose outcome is final (projected, duplicate, stale) are deleted; failed ones \
            are left for SQS to redeliver, so the queue's redrive policy moves a poison message to the DLQ \
            while the log keeps every attempt. Visibility is extended for slow batches. SIGINT/SIGTERM finish \
            the batch in flight and exit cleanly; a second signal exits at once.

            Examples:
              ordlog consume --queue OrderQueue --table Orders
              ordlog consume --queue-url $QUEUE_URL --table Orders --until-empty --wait-time 1   # drain, then exit
              AWS_ENDPOINT_URL=http://127.0.0.1:5000 ordlog consume --queue OrderQueue --table Orders --max-messages 100
              ordlog consume --queue OrderQueue --table Orders --metrics-address 0.0.0.0:9464 --log-format json

            Operating: --metrics-address HOST:PORT serves GET /metrics (Prometheus text format) and GET /healthz \
            (200 "ok" while receives succeed; 503 with the reason after 3 ReceiveMessage calls in a row failed, \
            each after its retries). Metrics: ordlog_messages_received_total, \
            ordlog_messages_processed_total{outcome}, ordlog_messages_dead_lettered_total, \
            ordlog_messages_in_flight, ordlog_processing_duration_seconds, \
            ordlog_aws_call_duration_seconds{service,operation}, ordlog_log_append_duration_seconds (histograms, \
            buckets 1 ms … 30 s), ordlog_last_successful_receive_timestamp_seconds. Without --until-empty a \
            receive that fails after its retries (endpoint down, throttling, 5xx) is retried with back-off \
            (0.5 s doubling to 20 s) instead of ending the run; credential and permission errors still exit 5.

            JSON: {"received","appended","alreadyLogged","resumed","projected","duplicate","stale","rejected",\
            "failed","deadLettered","inputErrors","deleted","queueUrl"} (as ingest's, plus the messages deleted).

            Exit codes: 0 stopped cleanly, 3 some messages were dead-lettered, 5 an AWS call failed, 64 usage \
            (including a malformed region or endpoint), 70 log error.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSOptions
    @Option(help: "The queue URL.") var queueUrl: String?
    @Option(help: "The queue name (resolved with GetQueueUrl).") var queue: String?
    @Option(help: "DynamoDB table to project into (omit to project only locally).") var table: String?
    @Option(help: "Long-poll wait per receive, 0…20 s.") var waitTime = 20
    @Option(help: "Visibility timeout requested per receive, in seconds (default: the queue's).") var visibilityTimeout:
        Int?
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
    @Option(
        help: ArgumentHelp(
            "Serve GET /metrics (Prometheus) and GET /healthz on HOST:PORT, e.g. 127.0.0.1:9464 or 0.0.0.0:9464 "
                + "(default: not served). Env: ORDLOG_METRICS_ADDRESS.", valueName: "host:port"))
    var metricsAddress: String?

    /// --metrics-address, else $ORDLOG_METRICS_ADDRESS (empty = off).
    var metricsListen: String? {
        let a = metricsAddress ?? ProcessInfo.processInfo.environment["ORDLOG_METRICS_ADDRESS"]
        return a?.isEmpty == false ? a : nil
    }

    func validate() throws {
        if queueUrl == nil && queue == nil { throw ValidationError("give --queue-url URL or --queue NAME") }
        guard (0...20).contains(waitTime) else { throw ValidationError("--wait-time must be 0…20 seconds") }
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
            // One health object: the consumer reports its receives to it, /healthz reads it.
            let health = ConsumerHealth()
            var opsServer: OpsHTTPServer?
            if let address = metricsListen {
                let registry = MetricsBackend.registry  // bootstraps MetricsSystem (once, here in the executable)
                do {
                    opsServer = try OpsHTTPServer(
                        address: address, metrics: { registry.emitToBuffer() },
                        health: { MetricsBackend.healthStatus(health) })
                } catch {
                    throw CLIError(code: .usage, message: "--metrics-address: \(error)")
                }
                opsServer?.start()
                global.makeLogger("ordlog.consumer").notice(
                    "serving /metrics and /healthz", metadata: ["address": "\(opsServer!.address)"])
            }
            defer { opsServer?.stop() }
            let config = try aws.configuration()
            let sqs = SQSClient(configuration: config, logger: global.makeLogger("ordlog.aws"))
            let url: String
            if let queueUrl { url = queueUrl } else { url = try await sqs.getQueueUrl(name: queue!) }
            var c = ConsumerConfiguration(queueUrl: url, tableName: table)
            c.waitTimeSeconds = waitTime
            c.visibilityTimeout = visibilityTimeout
            c.failedVisibilityTimeout = failedVisibilityTimeout ?? (untilEmpty ? 0 : nil)
            c.maxMessages = maxMessages
            c.untilEmpty = untilEmpty
            if let maxReceiveCount {
                c.maxReceiveCount = maxReceiveCount
            } else if let fromQueue = try await Consumer.maxReceiveCount(sqs: sqs, queueUrl: url) {
                c.maxReceiveCount = fromQueue
            }
            var rules = ValidationRules()
            rules.maxReceiveCount = c.maxReceiveCount
            let log = try global.openLog(create: true)
            let pipeline = Pipeline(
                log: log, processor: OrderProcessor(rules: rules), logger: global.makeLogger("ordlog.pipeline"))
            let dynamo = table.map {
                DynamoDBProjection(
                    client: DynamoDBClient(configuration: config, logger: global.makeLogger("ordlog.aws")),
                    tableName: $0)
            }
            let consumer = Consumer(
                pipeline: pipeline, sqs: sqs, dynamo: dynamo, configuration: c, health: health,
                logger: global.makeLogger("ordlog.consumer"))
            let stop = StopFlag()
            stop.installSignalHandlers()
            let progress = Progress(label: "consume")
            let summary = try await consumer.run(shouldStop: { stop.isSet }) { p in
                let rate = p.elapsed > 0 ? Double(p.summary.received) / p.elapsed : 0
                progress.update(
                    "received \(p.summary.received), projected \(p.summary.projected), "
                        + "failed \(p.summary.rejected + p.summary.failed), \(String(format: "%.0f", rate)) msg/s")
            }
            progress.finish()
            if global.json {
                var o = summaryJSON(summary)
                o.members.append(("deleted", .number(String(consumer.deleted))))
                o.members.append(("queueUrl", .string(url)))
                out(JSONWriter.string(.object(o)))
            } else {
                out(renderSummary(summary))
                out("deleted \(consumer.deleted) messages from \(url)")
            }
            if summary.deadLettered > 0 { throw CLIError(code: .deadLettered, message: "") }
        }
    }
}
