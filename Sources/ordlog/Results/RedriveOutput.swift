import OrdlogCore

/// `redrive --json` (documented in `ordlog redrive --help`): each redriven message with its attempt before and after
/// (the attempt record shape; in a dry run `after` is what would have been appended), the skipped ones, and the
/// DynamoDB write or null, and with `--from-queue` what was done with the SQS dead-letter queue (else null).
struct RedriveOutput: Encodable {
    struct Redriven: Encodable {
        var messageId: String
        var receiveSeq: Int64
        var before: JSONValue?
        var after: JSONValue
    }
    /// `queue` (redrive --from-queue): what was done with the SQS dead-letter queue.
    struct Queue: Encodable {
        struct DeleteFailure: Encodable {
            var messageId: String
            var code: String
        }
        var queueUrl: String
        var inQueue: Int
        var newToLog: [String]
        var deleted: [String]
        var left: [String]
        var deleteFailures: [DeleteFailure]
    }
    struct Skipped: Encodable {
        var messageId: String
        var reason: String
    }

    var dryRun: Bool
    var processorVersion: String
    var redriven: [Redriven]
    var skipped: [Skipped]
    var dynamodb: DynamoDBProjection.SyncResult?
    var queue: Queue?

    init(_ report: RedriveReport) {
        dryRun = report.dryRun
        processorVersion = report.processorVersion
        redriven = report.outcomes.map {
            Redriven(
                messageId: $0.messageId, receiveSeq: $0.receive.seq, before: $0.before.map(RecordJSON.attempt),
                after: RecordJSON.attempt($0.after))
        }
        skipped = report.skipped.map { Skipped(messageId: $0.messageId, reason: $0.reason.rawValue) }
        dynamodb = report.table
        queue = report.queue.map {
            Queue(
                queueUrl: $0.queueUrl, inQueue: $0.inQueue, newToLog: $0.newToLog, deleted: $0.deleted, left: $0.left,
                deleteFailures: $0.deleteFailures.map { .init(messageId: $0.messageId, code: $0.code) })
        }
    }
}
