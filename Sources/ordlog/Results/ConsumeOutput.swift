import OrdlogCore

/// `consume --json` (documented in `ordlog consume --help`): the summary's counts (``IngestSummary``, in its order,
/// as ingest's), then the messages deleted, those made visible again on shutdown, the queue and the table or null.
struct ConsumeOutput: Encodable {
    var summary: IngestSummary
    var deleted: Int
    var released: Int
    var queueUrl: String
    var table: String?

    enum CodingKeys: String, CodingKey { case deleted, released, queueUrl, table }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(deleted, forKey: .deleted)
        try c.encode(released, forKey: .released)
        try c.encode(queueUrl, forKey: .queueUrl)
        try c.encode(table, forKey: .table)
    }
}
