import OrdlogCore

/// `reproject --json` (documented in `ordlog reproject --help`).
struct ReprojectOutput: Encodable {
    /// `all`, `seq:N` or `sent:MS` (``ReprojectTarget/key``).
    var target: String
    /// The file built, or null when the log's own projection was rebuilt in place.
    var into: String?
    var resumedFrom: Int64?
    var discarded: String?
    var throughSeq: Int64
    var applied: Int
    var orders: Int
    var digest: String
    var dynamodb: DynamoDBProjection.SyncResult?

    init(target: ReprojectTarget, into: String?, result: ReprojectResult, synced: DynamoDBProjection.SyncResult?) {
        self.target = target.key
        self.into = into
        resumedFrom = result.resumedFrom
        discarded = result.discardedTarget
        throughSeq = result.throughSeq
        applied = result.applied
        orders = result.orders
        digest = result.digest
        dynamodb = synced
    }
}
