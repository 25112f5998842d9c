import OrdlogCore

/// `replay --json` (documented in `ordlog replay --help`): where the receives came from, the counts, the projection's
/// size and digest, then `decisions` (with --show-decisions), `verdict` (with --verdict), `expect` (with --expect)
/// and `dynamodb` (with --target dynamodb), each null without its option.
struct ReplayOutput: Encodable {
    struct Verdict: Encodable {
        var compared: Int
        var differences: [JSONValue]
    }
    struct Expect: Encodable {
        var file: String?
        var differences: [JSONValue]
    }

    /// `log` or `traffic`.
    var source: String
    var file: String?
    var format: String?
    var processorVersion: String
    var counts: JSONValue
    var orders: Int
    var digest: String
    var decisions: [JSONValue]?
    var verdict: Verdict?
    var expect: Expect?
    var dynamodb: DynamoDBProjection.SyncResult?

    init(
        _ report: ReplayReport, traffic: String?, format: TrafficFormat?, showDecisions: Bool, verdict: Bool,
        expect: String?, synced: DynamoDBProjection.SyncResult?
    ) {
        let r = report.result
        source = traffic == nil ? "log" : "traffic"
        file = traffic
        self.format = format?.rawValue
        processorVersion = r.processorVersion
        counts = r.counts.json
        orders = r.orders
        digest = r.digest
        decisions = showDecisions ? report.decisions.map(Expectations.json) : nil
        self.verdict = verdict ? Verdict(compared: r.compared, differences: r.differences.map(\.json)) : nil
        self.expect = report.expectationDifferences.map { Expect(file: expect, differences: $0.map(\.json)) }
        dynamodb = synced
    }
}
