import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish orders to the SNS topic, as a producer would.",
        discussion: """
            Each non-blank line of FILE (JSON Lines, - for stdin) is published verbatim as one SNS Message: \
            ordlog does not validate what producers send, that is the consumer's job (a malformed line is \
            how you test the dead-letter path). Or give one order with the flags.

            Examples:
              ordlog publish --topic-arn arn:aws:sns:us-east-1:123456789012:OrderTopic orders.jsonl
              ordlog publish --topic OrderTopic --order-id ord-1 --user-id u-1 --item-name Widget --quantity 2 --status PENDING

            --topic looks the name up with ListTopics; a topic that does not exist is an error (it is never \
            created here: `ordlog setup` does that).
            Exit codes: 0 all published, 4 FILE unreadable, 5 an AWS call failed.
            """
    )

    @OptionGroup var aws: AWSOptions
    @Option(help: "The topic ARN.") var topicArn: String?
    @Option(help: "The topic name (looked up with ListTopics).") var topic: String?
    @Option(help: "SNS Subject for every message.") var subject: String?
    @Argument(help: "JSON Lines file of orders; - for stdin.") var file: String?
    @Option var orderId: String?
    @Option var userId: String?
    @Option var itemName: String?
    @Option var quantity: Int64?
    @Option var status: String?
    @Option(help: "RFC 3339 timestamp (default: now).") var timestamp: String?
    @Flag(help: "Print the SNS MessageIds as JSON.") var json = false
    /// --log-level and --log-format, as every command takes them.
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if topicArn == nil && topic == nil { throw ValidationError("give --topic-arn ARN or --topic NAME") }
        if file == nil && orderId == nil {
            throw ValidationError("give a FILE of orders, or --order-id and the other order flags")
        }
    }

    func run() async throws {
        try await runReportingErrorsAsync {
            var messages: [String] = []
            if let file {
                let data: Data?
                data =
                    file == "-"
                    ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
                guard let data else {
                    let exists = FileManager.default.fileExists(atPath: file)
                    throw CLIError(
                        code: .badInput,
                        message: "\(file): " + (exists ? "cannot be read (permissions?)" : "no such file"))
                }
                messages = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
                    .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
                    .filter { !$0.allSatisfy(\.isWhitespace) }
            }
            if let orderId {
                let ts = timestamp ?? RFC3339.format(milliseconds: ProcessingStep.systemClockMs())
                messages.append(
                    OrderItem(
                        orderId: orderId, userId: userId ?? "", itemName: itemName ?? "",
                        quantity: quantity ?? 1, status: status ?? "PENDING", timestamp: ts
                    ).json)
            }
            let config = try aws.configuration()
            let sns = SNSClient(configuration: config, logger: logging.awsLogger("ordlog.aws.sns"))
            let arn: String
            if let topicArn {
                arn = topicArn
            } else if let found = try await sns.topicArn(named: topic!) {
                arn = found
            } else {
                throw CLIError(
                    code: .aws,
                    message: "no SNS topic named \(topic!) in \(config.region) at "
                        + "\(config.endpoint(for: .sns)). Check the name, or create the pipeline with `ordlog setup`.")
            }
            var ids: [String] = []
            let progress = Progress(label: "publish")
            for message in messages {
                ids.append(try await sns.publish(topicArn: arn, message: message, subject: subject))
                progress.update("\(ids.count)/\(messages.count) published")
            }
            progress.finish()
            let output = PublishOutput(topicArn: arn, messageIds: ids)
            if json { try printJSON(output) } else { say(output.summary) }
        }
    }
}
