import OrdlogAWS

/// The seed pipeline's AWS resources and their settings. Every name is overridable.
public struct PipelineResources: Sendable, Equatable {
    /// DynamoDB table, partition key `orderId` (S), on-demand. Default `Orders`.
    public var tableName = "Orders"
    /// SNS topic. Default `OrderTopic`.
    public var topicName = "OrderTopic"
    /// Standard SQS queue subscribed to the topic. Default `OrderQueue`.
    public var queueName = "OrderQueue"
    /// Its dead-letter queue. Default `OrderDLQ`.
    public var dlqName = "OrderDLQ"
    /// The redrive policy's maxReceiveCount. Default 3.
    public var maxReceiveCount = 3
    /// `OrderQueue`'s visibility timeout in seconds. Default 30 (the SQS default).
    public var visibilityTimeout = 30
    /// The DLQ's retention in seconds: the maximum, 1,209,600 (14 days), so failures outlive their source.
    public var dlqRetentionSeconds = 1_209_600
    /// Turn on raw message delivery on the subscription (the SQS body is the order, no SNS envelope).
    public var rawMessageDelivery = false

    public init() {}
}

/// What `setup` created or found.
public struct SetupReport: Sendable {
    /// One line per resource: kind, identifier, and `created`, `found` or `ensured`.
    public struct Entry: Sendable, Equatable {
        public var kind: String
        public var identifier: String
        public var status: String
    }
    public var entries: [Entry] = []
    public var tableName = ""
    public var topicArn = ""
    public var queueUrl = ""
    public var queueArn = ""
    public var dlqUrl = ""
    public var dlqArn = ""
    public var subscriptionArn = ""
}

/// Creates the seed pipeline's resources idempotently: running it twice changes nothing the second time.
public enum PipelineSetup {
    /// Ensures the table, topic, DLQ, queue (with redrive policy and the queue policy that lets the topic send)
    /// and the subscription exist, and reports what it created or found.
    /// - Throws: ``AWSServiceError`` / ``AWSTransportError`` from the first call that fails.
    public static func ensure(_ r: PipelineResources, sqs: SQSClient, sns: SNSClient, dynamo: DynamoDBClient)
        async throws
        -> SetupReport
    {
        var report = SetupReport()
        // DynamoDB table.
        report.tableName = r.tableName
        let created = try await DynamoDBProjection(client: dynamo, tableName: r.tableName).ensureTable()
        report.entries.append(
            .init(kind: "dynamodb-table", identifier: r.tableName, status: created ? "created" : "found"))
        // SNS topic (CreateTopic is idempotent and returns the existing ARN).
        report.topicArn = try await sns.createTopic(name: r.topicName)
        report.entries.append(.init(kind: "sns-topic", identifier: report.topicArn, status: "ensured"))
        // Dead-letter queue.
        let (dlqUrl, dlqStatus) = try await ensureQueue(
            sqs, name: r.dlqName, attributes: ["MessageRetentionPeriod": String(r.dlqRetentionSeconds)])
        report.dlqUrl = dlqUrl
        report.dlqArn = try await sqs.queueArn(queueUrl: dlqUrl)
        report.entries.append(.init(kind: "sqs-queue", identifier: dlqUrl, status: dlqStatus))
        // Source queue with the redrive policy.
        let redrive = JSONWriter.string(
            .object(
                JSONObject([
                    ("deadLetterTargetArn", .string(report.dlqArn)),
                    ("maxReceiveCount", .number(String(r.maxReceiveCount))),
                ])))
        let (queueUrl, queueStatus) = try await ensureQueue(
            sqs, name: r.queueName,
            attributes: ["RedrivePolicy": redrive, "VisibilityTimeout": String(r.visibilityTimeout)])
        report.queueUrl = queueUrl
        report.queueArn = try await sqs.queueArn(queueUrl: queueUrl)
        report.entries.append(.init(kind: "sqs-queue", identifier: queueUrl, status: queueStatus))
        // The queue policy that lets the topic send to the queue.
        try await sqs.setQueueAttributes(
            queueUrl: queueUrl,
            attributes: [
                "Policy": queuePolicy(queueArn: report.queueArn, topicArn: report.topicArn)
            ])
        report.entries.append(
            .init(kind: "sqs-queue-policy", identifier: "\(r.queueName) ← \(r.topicName)", status: "ensured"))
        // The subscription (Subscribe is idempotent for the same topic, protocol and endpoint).
        report.subscriptionArn = try await sns.subscribe(
            topicArn: report.topicArn, protocol: "sqs", endpoint: report.queueArn)
        try await sns.setSubscriptionAttributes(
            subscriptionArn: report.subscriptionArn, name: "RawMessageDelivery",
            value: r.rawMessageDelivery ? "true" : "false")
        report.entries.append(
            .init(
                kind: "sns-subscription", identifier: report.subscriptionArn,
                status: "ensured (raw message delivery \(r.rawMessageDelivery ? "on" : "off"))"))
        return report
    }

    static func ensureQueue(_ sqs: SQSClient, name: String, attributes: [String: String]) async throws -> (
        String, String
    ) {
        do {
            let url = try await sqs.getQueueUrl(name: name)
            try await sqs.setQueueAttributes(queueUrl: url, attributes: attributes)
            return (url, "found")
        } catch let e as AWSServiceError
            where e.is(.queueDoesNotExist, .nonExistentQueue)
        {
            return (try await sqs.createQueue(name: name, attributes: attributes), "created")
        }
    }

    /// The SQS queue policy allowing only `topicArn` to send to `queueArn`
    /// (<https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html>).
    public static func queuePolicy(queueArn: String, topicArn: String) -> String {
        JSONWriter.string(
            .object(
                JSONObject([
                    ("Version", .string("2012-10-17")),
                    (
                        "Statement",
                        .array([
                            .object(
                                JSONObject([
                                    ("Sid", .string("AllowOrderTopicToSend")), ("Effect", .string("Allow")),
                                    ("Principal", .object(JSONObject([("Service", .string("sns.amazonaws.com"))]))),
                                    ("Action", .string("sqs:SendMessage")), ("Resource", .string(queueArn)),
                                    (
                                        "Condition",
                                        .object(
                                            JSONObject([
                                                (
                                                    "ArnEquals",
                                                    .object(JSONObject([("aws:SourceArn", .string(topicArn))]))
                                                )
                                            ]))
                                    ),
                                ]))
                        ])
                    ),
                ])))
    }

    /// The least-privilege IAM policy an `ordlog consume` (and `inspect-dlq --queue-url`) process needs, as JSON.
    /// `account` may be `*` when unknown.
    ///
    /// With `archive` (`s3://BUCKET/PREFIX`), two statements more for everything ordlog does under that prefix:
    /// `consume --durability s3` (increments put, read back and deleted once a sealed segment covers them),
    /// `consume --archive-every --archive-to` and `ordlog archive` (segments and manifests put, HEAD before and after
    /// each put, a GET when a multipart object has no whole-object checksum, AbortMultipartUpload when a part fails),
    /// and every read of `--db s3://BUCKET/PREFIX` (a listing, then GETs). See ``archiveStatements(_:)``.
    public static func consumerIAMPolicy(
        _ r: PipelineResources, region: String, account: String, archive: S3Location? = nil
    ) -> String {
        let q = "arn:aws:sqs:\(region):\(account):\(r.queueName)"
        let dlq = "arn:aws:sqs:\(region):\(account):\(r.dlqName)"
        let table = "arn:aws:dynamodb:\(region):\(account):table/\(r.tableName)"
        var statements: [JSONValue] = [
            iamStatement(
                "ConsumeOrderQueue",
                [
                    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                ], [q]),
            iamStatement(
                "InspectDeadLetterQueue",
                [
                    "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                ], [dlq]),
            iamStatement(
                "ProjectOrders", ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DescribeTable"], [table]),
        ]
        if let archive { statements += archiveStatements(archive) }
        return JSONWriter.string(
            .object(JSONObject([("Version", .string("2012-10-17")), ("Statement", .array(statements))])))
    }

    /// The S3 statements for an archive at `location`:
    /// - `ArchiveLogObjects`: `s3:PutObject` (single PUTs and every step of a multipart upload),
    ///   `s3:GetObject` (GET and HEAD), `s3:DeleteObject` (increments a sealed segment covers) and
    ///   `s3:AbortMultipartUpload` on `arn:aws:s3:::BUCKET/PREFIX/*` only;
    /// - `ListArchiveLog`: `s3:ListBucket` on the bucket, with the condition `s3:prefix` like `PREFIX/*`, so the
    ///   listing is limited to the prefix. ListBucket is also what makes S3 answer a HEAD of a missing key with 404
    ///   (absent) rather than 403, which the upload's "already there?" check relies on.
    ///
    /// An empty prefix (`s3://BUCKET`) gives the whole bucket: `arn:aws:s3:::BUCKET/*` and no condition.
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions>,
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>.)
    public static func archiveStatements(_ location: S3Location) -> [JSONValue] {
        let bucket = "arn:aws:s3:::\(location.bucket)"
        let objects = bucket + (location.prefix.isEmpty ? "/*" : "/\(location.prefix)/*")
        var list = JSONObject([
            ("Sid", .string("ListArchiveLog")), ("Effect", .string("Allow")),
            ("Action", .array([.string("s3:ListBucket")])),
            ("Resource", .array([.string(bucket)])),
        ])
        if !location.prefix.isEmpty {
            let like = JSONObject([("s3:prefix", .array([.string(location.prefix + "/*")]))])
            list.members.append(("Condition", .object(JSONObject([("StringLike", .object(like))]))))
        }
        return [
            iamStatement(
                "ArchiveLogObjects", ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                [objects]),
            .object(list),
        ]
    }

    /// Why `location` cannot be written into a policy, or nil: `*` and `?` are wildcards in an IAM resource and in
    /// `StringLike`, and `${` starts a policy variable, so a prefix holding them would grant more (or other) keys
    /// than the archive's.
    public static func archivePolicyProblem(_ location: S3Location) -> String? {
        if location.prefix.contains("*") || location.prefix.contains("?") || location.prefix.contains("${") {
            return
                "the prefix \(location.prefix) holds *, ? or ${, which an IAM policy reads as wildcards or a variable"
        }
        return nil
    }

    static func iamStatement(_ sid: String, _ actions: [String], _ resources: [String]) -> JSONValue {
        .object(
            JSONObject([
                ("Sid", .string(sid)), ("Effect", .string("Allow")),
                ("Action", .array(actions.map(JSONValue.string))),
                ("Resource", .array(resources.map(JSONValue.string))),
            ]))
    }
}
