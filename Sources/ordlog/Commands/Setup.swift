import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Create the pipeline's AWS resources idempotently and report what was created or found.",
        discussion: """
            Creates the DynamoDB table Orders (partition key orderId, String, on-demand), the SNS topic \
            OrderTopic, the SQS queues OrderQueue and OrderDLQ (14-day retention) with the redrive policy \
            maxReceiveCount 3, the queue policy that lets the topic send, and the subscription. Running it \
            again changes nothing.

            Examples:
              ordlog setup --endpoint-url http://127.0.0.1:5000 --region us-east-1
              ordlog setup --raw-delivery --queue OrderQueueRaw
              ordlog setup --print-iam-policy --account-id 123456789012 > consumer-policy.json
              ordlog setup --print-iam-policy --archive-to s3://my-ordlog-archive/prod > consumer-policy.json

            JSON: {"tableName","topicArn","queueUrl","queueArn","dlqUrl","dlqArn","subscriptionArn",\
            "resources":[{"kind","id","status"}]}; --print-iam-policy prints the IAM policy document itself.

            The policy covers SQS, the DLQ and DynamoDB. It has no S3 statement unless --archive-to names the \
            archive: consume --durability s3, consume --archive-every/--archive-to, ordlog archive and reads of \
            --db s3://BUCKET/PREFIX need s3:PutObject, s3:GetObject, s3:DeleteObject and s3:AbortMultipartUpload \
            on BUCKET/PREFIX/*, and s3:ListBucket on the bucket for keys under PREFIX/.

            Exit codes: 0 done, 5 an AWS call failed, 64 usage error (including a malformed region or endpoint).
            """
    )

    @OptionGroup var aws: AWSOptions
    @Option(help: "DynamoDB table name.") var table = "Orders"
    @Option(help: "SNS topic name.") var topic = "OrderTopic"
    @Option(help: "SQS queue name.") var queue = "OrderQueue"
    @Option(help: "Dead-letter queue name.") var dlq = "OrderDLQ"
    @Option(help: "The redrive policy's maxReceiveCount.") var maxReceiveCount = 3
    @Option(help: "The queue's visibility timeout, in seconds.") var visibilityTimeout = 30
    @Flag(help: "Turn on raw message delivery on the subscription (no SNS envelope).") var rawDelivery = false
    @Flag(help: "Print the least-privilege IAM policy the consumer needs, and call nothing.") var printIamPolicy = false
    @Option(help: "Account id for --print-iam-policy resources (default *).") var accountId = "*"
    @Option(
        help: ArgumentHelp(
            "With --print-iam-policy: add the S3 statements for this archive (objects under PREFIX/, listing limited "
                + "to it). Without it the policy has no S3 statement.", valueName: "s3://BUCKET/PREFIX"))
    var archiveTo: String?
    @Flag(help: "Print the report as JSON.") var json = false
    /// --log-level and --log-format, as every command takes them.
    @OptionGroup var logging: LoggingOptions

    var resources: PipelineResources {
        var r = PipelineResources()
        r.tableName = table
        r.topicName = topic
        r.queueName = queue
        r.dlqName = dlq
        r.maxReceiveCount = maxReceiveCount
        r.visibilityTimeout = visibilityTimeout
        r.rawMessageDelivery = rawDelivery
        return r
    }

    func validate() throws {
        guard (1...1000).contains(maxReceiveCount) else { throw ValidationError("--max-receive-count must be 1…1000") }
        guard (0...43_200).contains(visibilityTimeout) else {
            throw ValidationError("--visibility-timeout must be 0…43200 seconds")
        }
        if let archiveTo {
            guard printIamPolicy else { throw ValidationError("--archive-to goes with --print-iam-policy") }
            guard let location = S3Location(parsing: archiveTo) else {
                throw ValidationError("--archive-to must be s3://BUCKET[/PREFIX], got \(archiveTo)")
            }
            if let problem = PipelineSetup.archivePolicyProblem(location) {
                throw ValidationError("--archive-to: \(problem)")
            }
        }
    }

    func run() async throws {
        try await runReportingErrorsAsync {
            if printIamPolicy {
                let region =
                    aws.region ?? ProcessInfo.processInfo.environment["AWS_REGION"]
                    ?? ProcessInfo.processInfo.environment["AWS_DEFAULT_REGION"] ?? "*"
                out(
                    PipelineSetup.consumerIAMPolicy(
                        resources, region: region, account: accountId,
                        archive: archiveTo.flatMap(S3Location.init(parsing:))))
                return
            }
            let config = try aws.configuration()
            err("ordlog: credentials from \(try await config.credentials().source)")
            let report = try await PipelineSetup.ensure(
                resources, sqs: SQSClient(configuration: config, logger: logging.awsLogger("ordlog.aws.sqs")),
                sns: SNSClient(configuration: config, logger: logging.awsLogger("ordlog.aws.sns")),
                dynamo: DynamoDBClient(configuration: config, logger: logging.awsLogger("ordlog.aws.dynamodb")))
            let output = SetupOutput(report)
            if json {
                try printJSON(output)
            } else {
                say(output.table)
                say(output.nextStep)
            }
        }
    }
}
