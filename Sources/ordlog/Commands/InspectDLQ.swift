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
            receive counts: SQS has no peek) and joins every message to its history in the logs given (--db, any \
            number of them) by SQS MessageId. A DLQ message that no log given holds is marked "in no log": SQS \
            counted its receives but ordlog never logged one (a consumer killed between ReceiveMessage and its \
            append, maxReceiveCount times; or a consumer whose log was not given). Its body and attributes are \
            shown as the queue returned them, and `ordlog redrive --from-queue` records and reprocesses it. \
            JSON: {"queueUrl":S,"inQueue":N,"inLog":N,"inNoLog":N,"messages":[{"messageId","inLog":B,\
            "queueReceiveCount","sentTimestamp","history":MESSAGE|null,"attributes":{…},"messageAttributes":{…}|null,\
            "md5OfBody","body"}]} ("inLog": some log holds a receive of it; "history" null also for a message \
            received but not processed yet).

            JSON (summary): {"deadLettered":N,"groups":[{"fingerprint":S,"count":N,"firstSeen":T,"lastSeen":T,\
            "messages":[MESSAGE…]}],"inputErrors":[RECEIVE…]}. MESSAGE: {"messageId":S,"fingerprint":S,\
            "orderId":S|null,"deadLettered":B,"latestAttempt":ATTEMPT,"receives":[RECEIVE…],"attempts":[ATTEMPT…],\
            "envelope":{"topicArn","snsMessageId","timestamp","subject","messageAttributes"}|null,\
            "order":{…}|null,"parseProblem":S|null,"body":S} (RECEIVE/ATTEMPT: the record shapes, receives \
            without body). MESSAGE also has "consumers" (who logged each receive, in order), \
            "attemptConsumers" and "outcomes" (e.g. "rejected at c1, rejected (dead-lettered) at c3"|null), \
            and each RECEIVE/ATTEMPT a "consumer". With MESSAGE_ID: that MESSAGE object. \
            Exit codes: 0, 1 a record shown (or a link between the logs) does not verify, or (--queue) a DLQ \
            message shown is in no log given (printed in full first: a gap in the audit trail, a difference \
            between the queue and the logs), 2 MESSAGE_ID has no attempts in the log, 5 an AWS call failed, 70 log \
            error.
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

    /// `--queue-url`: the real DLQ's messages, each joined to the logs by SQS MessageId
    /// (``LogSet/join(deadLetterQueue:)``); exit 1 after printing when one is in no log.
    func inspectQueue() async throws {
        let sqs = SQSClient(configuration: try aws.configuration())
        let url: String
        if let queueUrl { url = queueUrl } else { url = try await QueueAddress.resolve(queue!, sqs: sqs) }
        let messages = try await DeadLetterQueuePeek.messages(sqs: sqs, queueUrl: url, limit: limit)
        // Joined to every log given (one, several, a sealed log with its segments, s3://).
        let set = try global.openLogSet()
        set.maxReceiveCount = maxReceiveCount
        let joined = try set.join(deadLetterQueue: messages.filter { messageId == nil || $0.messageId == messageId })
        try set.requireShownVerified(
            try set.records(messageIds: joined.filter(\.inLog).compactMap(\.queued.messageId)))
        let inNoLog = joined.filter { !$0.inLog }.count
        if global.json {
            try printJSON(DeadLetterQueueOutput(queueUrl: url, joined: joined))
        } else {
            queueText(joined, url: url)
        }
        if inNoLog > 0 {
            throw CLIError(
                code: .checkFailed,
                message: "\(plural(inNoLog, "message")) in the dead-letter queue "
                    + "\(inNoLog == 1 ? "is" : "are") in no log given")
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
}
