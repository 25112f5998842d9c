import OrdlogCore

/// `redrive --json` (documented in `ordlog redrive --help`): each redriven message with its attempt before and after
/// (the attempt record shape; in a dry run `after` is what would have been appended), the skipped ones, and the
/// DynamoDB write or null.
struct RedriveOutput: Encodable {
    struct Redriven: Encodable {
        var messageId: String
        var receiveSeq: Int64
        var before: JSONValue
        var after: JSONValue
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

    init(_ report: RedriveReport) {
        dryRun = report.dryRun
        processorVersion = report.processorVersion
        redriven = report.outcomes.map {
            Redriven(
                messageId: $0.messageId, receiveSeq: $0.receive.seq, before: RecordJSON.attempt($0.before),
                after: RecordJSON.attempt($0.after))
        }
        skipped = report.skipped.map { Skipped(messageId: $0.messageId, reason: $0.reason.rawValue) }
        dynamodb = report.table
    }
}
