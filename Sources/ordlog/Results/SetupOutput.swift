import OrdlogCore

/// `setup --json` (documented in `ordlog setup --help`): the pipeline's names and ARNs, then each resource created
/// or found. The text view (``table``, ``nextStep``) renders the same value.
struct SetupOutput: Encodable {
    struct Resource: Encodable {
        var kind: String
        var id: String
        var status: String
    }

    var tableName: String
    var topicArn: String
    var queueUrl: String
    var queueArn: String
    var dlqUrl: String
    var dlqArn: String
    var subscriptionArn: String
    var resources: [Resource]

    init(_ report: SetupReport) {
        tableName = report.tableName
        topicArn = report.topicArn
        queueUrl = report.queueUrl
        queueArn = report.queueArn
        dlqUrl = report.dlqUrl
        dlqArn = report.dlqArn
        subscriptionArn = report.subscriptionArn
        resources = report.entries.map { Resource(kind: $0.kind, id: $0.identifier, status: $0.status) }
    }

    /// The text view's table: one row per resource.
    var table: Table {
        var t = Table("resource", "id", "status")
        for r in resources { t.add(r.kind, r.id, r.status) }
        return t
    }

    /// The text view's last line: the commands that use what was set up.
    var nextStep: String {
        "Next: ordlog publish --topic-arn \(topicArn) FILE; ordlog consume --queue-url \(queueUrl) --table \(tableName)"
    }
}
