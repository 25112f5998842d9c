import Foundation
import Logging

/// Amazon SNS over the AWS query protocol (`Action=…&Version=2010-03-31`, form-encoded, XML responses), per the
/// [SNS API Reference](https://docs.aws.amazon.com/sns/latest/api/Welcome.html).
///
/// Every method throws ``AWSServiceError`` (e.g. `NotFound`, `InvalidParameter`), ``AWSTransportError`` or
/// ``AWSResponseDecodingError``.
public struct SNSClient: Sendable {
    public static let apiVersion = "2010-03-31"
    public let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    /// A client from a resolved configuration (endpoint: `AWS_ENDPOINT_URL_SNS` etc.).
    public init(
        configuration: AWSConfiguration, transport: any HTTPTransport = CurlTransport.shared,
        retryPolicy: RetryPolicy = .standard, logger: Logger = Logger(label: "ordlog.aws.sns")
    ) {
        self.client = AWSClient(
            service: .sns, configuration: configuration, transport: transport,
            retryPolicy: retryPolicy, logger: logger)
    }

    private func call(_ operation: String, _ parameters: [(String, String)], result: String...)
        async throws -> String
    {
        let (root, response) = try await client.queryCall(
            operation: operation, version: Self.apiVersion,
            parameters: parameters)
        var node: XMLElementNode? = root.child("\(operation)Result")
        for name in result { node = node?.child(name) }
        guard let value = node?.text else {
            throw AWSResponseDecodingError(
                service: "SNS", operation: operation,
                reason: "missing \(operation)Result/\(result.joined(separator: "/"))",
                bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return value
    }

    /// `Attributes.entry.N.key` / `Attributes.entry.N.value` (sorted by key, N from 1).
    static func attributeParameters(_ attributes: [String: String]) -> [(String, String)] {
        attributes.sorted { $0.key < $1.key }.enumerated().flatMap { index, pair in
            [("Attributes.entry.\(index + 1).key", pair.key), ("Attributes.entry.\(index + 1).value", pair.value)]
        }
    }

    /// [CreateTopic](https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html) (idempotent).
    ///
    /// - Returns: the topic ARN.
    public func createTopic(name: String, attributes: [String: String] = [:]) async throws -> String {
        try await call("CreateTopic", [("Name", name)] + Self.attributeParameters(attributes), result: "TopicArn")
    }

    /// [ListTopics](https://docs.aws.amazon.com/sns/latest/api/API_ListTopics.html), following `NextToken`
    /// to the end.
    ///
    /// - Returns: every topic ARN in the account and Region.
    public func listTopics() async throws -> [String] {
        var arns: [String] = []
        var token: String?
        repeat {
            var parameters: [(String, String)] = []
            if let token { parameters.append(("NextToken", token)) }
            let (root, _) = try await client.queryCall(
                operation: "ListTopics", version: Self.apiVersion,
                parameters: parameters)
            let result = root.child("ListTopicsResult")
            arns += result?.child("Topics")?.children("member").compactMap { $0.child("TopicArn")?.text } ?? []
            token = result?.child("NextToken")?.text
            if token?.isEmpty == true { token = nil }
        } while token != nil
        return arns
    }

    /// The ARN of the topic named `name` (looked up with ListTopics, never created), or nil.
    public func topicArn(named name: String) async throws -> String? {
        try await listTopics().first { $0.split(separator: ":").last.map(String.init) == name }
    }

    /// [Subscribe](https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html).
    ///
    /// - Parameters:
    ///   - protocol: e.g. `sqs`; `endpoint` is then the queue ARN.
    ///   - attributes: e.g. `["RawMessageDelivery": "true"]`.
    /// - Returns: the subscription ARN (`ReturnSubscriptionArn=true`, so never "pending confirmation").
    public func subscribe(
        topicArn: String, protocol proto: String, endpoint: String,
        attributes: [String: String] = [:]
    ) async throws -> String {
        try await call(
            "Subscribe",
            [
                ("TopicArn", topicArn), ("Protocol", proto), ("Endpoint", endpoint),
                ("ReturnSubscriptionArn", "true"),
            ] + Self.attributeParameters(attributes),
            result: "SubscriptionArn")
    }

    /// [SetSubscriptionAttributes](https://docs.aws.amazon.com/sns/latest/api/API_SetSubscriptionAttributes.html),
    /// e.g. `name: "RawMessageDelivery", value: "true"`.
    public func setSubscriptionAttributes(subscriptionArn: String, name: String, value: String) async throws {
        _ = try await client.queryCall(
            operation: "SetSubscriptionAttributes", version: Self.apiVersion,
            parameters: [
                ("SubscriptionArn", subscriptionArn), ("AttributeName", name),
                ("AttributeValue", value),
            ])
    }

    /// [Publish](https://docs.aws.amazon.com/sns/latest/api/API_Publish.html) to a topic.
    ///
    /// - Parameters:
    ///   - message: the exact message text (e.g. an order as JSON), up to 256 KiB.
    ///   - subject: optional; only appears in the non-raw envelope.
    ///   - messageAttributes: encoded as `MessageAttributes.entry.N.Name`, `….Value.DataType` and
    ///     `….Value.StringValue` (or `….Value.BinaryValue`, base64).
    /// - Returns: the SNS MessageId.
    public func publish(
        topicArn: String, message: String, subject: String? = nil,
        messageAttributes: [String: SNSMessageAttributeValue] = [:]
    ) async throws -> String {
        try await call(
            "Publish",
            Self.publishParameters(
                topicArn: topicArn, message: message, subject: subject,
                messageAttributes: messageAttributes),
            result: "MessageId")
    }

    /// The form parameters of a Publish call (exposed for tests).
    public static func publishParameters(
        topicArn: String, message: String, subject: String?,
        messageAttributes: [String: SNSMessageAttributeValue]
    ) -> [(String, String)] {
        var parameters: [(String, String)] = [("TopicArn", topicArn), ("Message", message)]
        if let subject { parameters.append(("Subject", subject)) }
        for (index, (name, value)) in messageAttributes.sorted(by: { $0.key < $1.key }).enumerated() {
            let prefix = "MessageAttributes.entry.\(index + 1)"
            parameters.append(("\(prefix).Name", name))
            parameters.append(("\(prefix).Value.DataType", value.dataType))
            switch value {
            case .binary(let data):
                parameters.append(("\(prefix).Value.BinaryValue", data.base64EncodedString()))
            default:
                parameters.append(("\(prefix).Value.StringValue", value.stringValue ?? ""))
            }
        }
        return parameters
    }
}

/// An SNS [MessageAttributeValue](https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html).
public enum SNSMessageAttributeValue: Sendable, Equatable {
    /// `DataType=String`.
    case string(String)
    /// `DataType=Number`; the value is the number's text.
    case number(String)
    /// `DataType=Binary`; sent base64-encoded.
    case binary(Data)
    /// `DataType=String.Array`; sent as a JSON array text, e.g. `["a","b"]`.
    case stringArray([String])

    public var dataType: String {
        switch self {
        case .string: "String"
        case .number: "Number"
        case .binary: "Binary"
        case .stringArray: "String.Array"
        }
    }

    /// The `StringValue` sent on the wire (nil for binary).
    public var stringValue: String? {
        switch self {
        case .string(let s), .number(let s): return s
        case .binary: return nil
        case .stringArray(let items):
            let data = (try? AWSClient.jsonEncoder().encode(items)) ?? Data("[]".utf8)
            return String(decoding: data, as: UTF8.self)
        }
    }
}
