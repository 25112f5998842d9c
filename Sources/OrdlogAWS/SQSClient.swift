import Crypto
import Foundation
import Logging

/// Amazon SQS over AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Operation>`), as described in "Making API
/// requests using AWS JSON protocol"
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-json.html>)
/// and the [SQS API Reference](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/Welcome.html).
///
/// Every method throws ``AWSServiceError`` (e.g. `QueueDoesNotExist`, `ReceiptHandleIsInvalid`),
/// ``AWSTransportError`` or ``AWSResponseDecodingError``.
public struct SQSClient: Sendable {
    public static let targetPrefix = "AmazonSQS"
    public let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    /// A client from a resolved configuration (endpoint: `AWS_ENDPOINT_URL_SQS` etc.).
    public init(
        configuration: AWSConfiguration, transport: any HTTPTransport = CurlTransport.shared,
        retryPolicy: RetryPolicy = .standard, logger: Logger = Logger(label: "ordlog.aws.sqs")
    ) {
        self.client = AWSClient(
            service: .sqs, configuration: configuration, transport: transport,
            retryPolicy: retryPolicy, logger: logger)
    }

    private func call<I: Encodable, O: Decodable>(
        _ operation: String, _ input: I, _ output: O.Type = O.self,
        timeout: TimeInterval = 60
    ) async throws -> (O, HTTPResponse) {
        try await client.jsonCall(
            targetPrefix: Self.targetPrefix, operation: operation, input: input,
            output: output, timeout: timeout)
    }

    // MARK: Queues

    /// [CreateQueue](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
    ///
    /// - Parameter attributes: e.g. `["VisibilityTimeout": "30", "MessageRetentionPeriod": "1209600",
    ///   "RedrivePolicy": #"{"deadLetterTargetArn":"arn:…","maxReceiveCount":3}"#]` (all values strings).
    /// - Returns: the queue URL.
    public func createQueue(name: String, attributes: [String: String] = [:]) async throws -> String {
        struct Input: Encodable {
            var QueueName: String
            var Attributes: [String: String]?
        }
        struct Output: Decodable { var QueueUrl: String }
        return try await call(
            "CreateQueue", Input(QueueName: name, Attributes: attributes.isEmpty ? nil : attributes),
            Output.self
        ).0.QueueUrl
    }

    /// [GetQueueUrl](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueUrl.html).
    public func getQueueUrl(name: String, ownerAccountId: String? = nil) async throws -> String {
        struct Input: Encodable {
            var QueueName: String
            var QueueOwnerAWSAccountId: String?
        }
        struct Output: Decodable { var QueueUrl: String }
        return try await call(
            "GetQueueUrl", Input(QueueName: name, QueueOwnerAWSAccountId: ownerAccountId),
            Output.self
        ).0.QueueUrl
    }

    /// GetQueueAttributes.
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html>)
    ///
    /// - Returns: attribute name → string value (e.g. `QueueArn`, `ApproximateNumberOfMessages`).
    public func getQueueAttributes(queueUrl: String, names: [String] = ["All"]) async throws -> [String: String] {
        struct Input: Encodable {
            var QueueUrl: String
            var AttributeNames: [String]
        }
        struct Output: Decodable { var Attributes: [String: String]? }
        return try await call(
            "GetQueueAttributes", Input(QueueUrl: queueUrl, AttributeNames: names),
            Output.self
        ).0.Attributes ?? [:]
    }

    /// SetQueueAttributes.
    /// See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>.
    public func setQueueAttributes(queueUrl: String, attributes: [String: String]) async throws {
        struct Input: Encodable {
            var QueueUrl: String
            var Attributes: [String: String]
        }
        _ = try await call("SetQueueAttributes", Input(QueueUrl: queueUrl, Attributes: attributes), EmptyJSON.self)
    }

    /// The queue's ARN (`GetQueueAttributes` with `QueueArn`).
    public func queueArn(queueUrl: String) async throws -> String {
        let attributes = try await getQueueAttributes(queueUrl: queueUrl, names: ["QueueArn"])
        guard let arn = attributes["QueueArn"] else {
            throw AWSResponseDecodingError(
                service: "SQS", operation: "GetQueueAttributes",
                reason: "no QueueArn attribute", bodyExcerpt: "\(attributes)")
        }
        return arn
    }

    // MARK: Receiving

    /// [ReceiveMessage](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html)
    /// asking for all system attributes and all message attributes.
    ///
    /// - Parameters:
    ///   - maxNumberOfMessages: 1…10.
    ///   - waitTimeSeconds: long-poll time, 0…20 seconds (`nil` = the queue's default).
    ///   - visibilityTimeout: seconds the returned messages stay hidden (`nil` = the queue's default).
    /// - Returns: the decoded messages **and** the raw response body bytes exactly as received.
    public func receiveMessage(
        queueUrl: String, maxNumberOfMessages: Int = 10, waitTimeSeconds: Int? = nil,
        visibilityTimeout: Int? = nil, systemAttributeNames: [String] = ["All"],
        messageAttributeNames: [String] = ["All"]
    ) async throws -> SQSReceiveResult {
        struct Output: Decodable { var Messages: [SQSMessage]? }
        let input = ReceiveMessageInput(
            QueueUrl: queueUrl, MaxNumberOfMessages: maxNumberOfMessages,
            WaitTimeSeconds: waitTimeSeconds, VisibilityTimeout: visibilityTimeout,
            MessageSystemAttributeNames: systemAttributeNames,
            MessageAttributeNames: messageAttributeNames)
        let (output, response) = try await call(
            "ReceiveMessage", input, Output.self,
            timeout: TimeInterval(60 + (waitTimeSeconds ?? 20)))
        return SQSReceiveResult(
            messages: output.Messages ?? [], rawBody: response.body,
            requestId: response.header("x-amzn-RequestId"))
    }

    /// ReceiveMessage returning only the response body bytes, undecoded: for callers that parse the messages
    /// themselves from the bytes as received (the consumer does, once), so the body is not decoded twice.
    public func receiveMessageBody(
        queueUrl: String, maxNumberOfMessages: Int = 10, waitTimeSeconds: Int? = nil,
        visibilityTimeout: Int? = nil, systemAttributeNames: [String] = ["All"],
        messageAttributeNames: [String] = ["All"]
    ) async throws -> Data {
        let input = ReceiveMessageInput(
            QueueUrl: queueUrl, MaxNumberOfMessages: maxNumberOfMessages,
            WaitTimeSeconds: waitTimeSeconds, VisibilityTimeout: visibilityTimeout,
            MessageSystemAttributeNames: systemAttributeNames,
            MessageAttributeNames: messageAttributeNames)
        return try await client.jsonCall(
            targetPrefix: Self.targetPrefix, operation: "ReceiveMessage", body: AWSClient.jsonEncoder().encode(input),
            timeout: TimeInterval(60 + (waitTimeSeconds ?? 20))
        ).body
    }

    // MARK: Deleting and visibility

    /// Deletes any number of messages: DeleteMessageBatch in chunks of 10 (the API's limit), sent concurrently.
    /// Entry ids are the handles' indexes (`m0`, `m1`, …) in `receiptHandles`; per-entry failures are in the
    /// result and do not throw. The one place receipt handles are chunked.
    public func deleteMessages(queueUrl: String, receiptHandles: [String]) async throws -> SQSBatchResult {
        try await Self.inChunks(receiptHandles) { entries in
            try await deleteMessageBatch(
                queueUrl: queueUrl, entries: entries.map { SQSDeleteEntry(id: $0.id, receiptHandle: $0.handle) })
        }
    }

    /// Sets the visibility timeout of any number of messages (ChangeMessageVisibilityBatch in chunks of 10, sent
    /// concurrently); 0 makes them visible at once. Entry ids as in ``deleteMessages(queueUrl:receiptHandles:)``.
    public func changeMessageVisibility(queueUrl: String, receiptHandles: [String], visibilityTimeout: Int)
        async throws -> SQSBatchResult
    {
        try await Self.inChunks(receiptHandles) { entries in
            try await changeMessageVisibilityBatch(
                queueUrl: queueUrl,
                entries: entries.map {
                    SQSVisibilityEntry(id: $0.id, receiptHandle: $0.handle, visibilityTimeout: visibilityTimeout)
                })
        }
    }

    /// Runs `call` once per chunk of at most 10 handles, concurrently, and merges the results.
    static func inChunks(
        _ handles: [String], _ call: @escaping @Sendable ([(id: String, handle: String)]) async throws -> SQSBatchResult
    ) async throws -> SQSBatchResult {
        let entries = handles.enumerated().map { (id: "m\($0.offset)", handle: $0.element) }
        return try await withThrowingTaskGroup(of: SQSBatchResult.self) { group in
            for start in stride(from: 0, to: entries.count, by: 10) {
                let chunk = Array(entries[start..<min(start + 10, entries.count)])
                group.addTask { try await call(chunk) }
            }
            var merged = SQSBatchResult(successful: [], failed: [])
            for try await r in group {
                merged.successful += r.successful
                merged.failed += r.failed
            }
            return merged
        }
    }

    /// [DeleteMessage](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html).
    public func deleteMessage(queueUrl: String, receiptHandle: String) async throws {
        struct Input: Encodable {
            var QueueUrl: String
            var ReceiptHandle: String
        }
        _ = try await call("DeleteMessage", Input(QueueUrl: queueUrl, ReceiptHandle: receiptHandle), EmptyJSON.self)
    }

    /// DeleteMessageBatch: up to 10 entries. Per-entry failures do **not** throw; they are in
    /// ``SQSBatchResult/failed``.
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html>)
    public func deleteMessageBatch(queueUrl: String, entries: [SQSDeleteEntry]) async throws -> SQSBatchResult {
        struct Input: Encodable {
            var QueueUrl: String
            var Entries: [SQSDeleteEntry]
        }
        return try await call(
            "DeleteMessageBatch", Input(QueueUrl: queueUrl, Entries: entries),
            SQSBatchResult.self
        ).0
    }

    /// ChangeMessageVisibility: `visibilityTimeout` seconds (0…43200) from now; 0 makes the message visible at once.
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>)
    public func changeMessageVisibility(queueUrl: String, receiptHandle: String, visibilityTimeout: Int) async throws {
        struct Input: Encodable {
            var QueueUrl: String
            var ReceiptHandle: String
            var VisibilityTimeout: Int
        }
        _ = try await call(
            "ChangeMessageVisibility",
            Input(
                QueueUrl: queueUrl, ReceiptHandle: receiptHandle,
                VisibilityTimeout: visibilityTimeout),
            EmptyJSON.self)
    }

    /// ChangeMessageVisibilityBatch:
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibilityBatch.html>
    /// up to 10 entries; per-entry failures are in ``SQSBatchResult/failed``.
    public func changeMessageVisibilityBatch(
        queueUrl: String,
        entries: [SQSVisibilityEntry]
    ) async throws -> SQSBatchResult {
        struct Input: Encodable {
            var QueueUrl: String
            var Entries: [SQSVisibilityEntry]
        }
        return try await call(
            "ChangeMessageVisibilityBatch", Input(QueueUrl: queueUrl, Entries: entries),
            SQSBatchResult.self
        ).0
    }

    // MARK: Sending

    /// [SendMessage](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
    ///
    /// - Parameter delaySeconds: 0…900.
    public func sendMessage(
        queueUrl: String, body: String, delaySeconds: Int? = nil,
        messageAttributes: [String: SQSMessageAttributeValue] = [:]
    ) async throws -> SQSSendResult {
        struct Input: Encodable {
            var QueueUrl: String
            var MessageBody: String
            var DelaySeconds: Int?
            var MessageAttributes: [String: SQSMessageAttributeValue]?
        }
        let input = Input(
            QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds,
            MessageAttributes: messageAttributes.isEmpty ? nil : messageAttributes)
        return try await call("SendMessage", input, SQSSendResult.self).0
    }

    /// SendMessageBatch: up to 10 entries; per-entry failures are in ``SQSSendBatchResult/failed``.
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>)
    public func sendMessageBatch(queueUrl: String, entries: [SQSSendEntry]) async throws -> SQSSendBatchResult {
        struct Input: Encodable {
            var QueueUrl: String
            var Entries: [SQSSendEntry]
        }
        return try await call(
            "SendMessageBatch", Input(QueueUrl: queueUrl, Entries: entries),
            SQSSendBatchResult.self
        ).0
    }
}

/// The ReceiveMessage request body (AWS JSON 1.0), shared by both receive calls.
private struct ReceiveMessageInput: Encodable {
    var QueueUrl: String
    var MaxNumberOfMessages: Int
    var WaitTimeSeconds: Int?
    var VisibilityTimeout: Int?
    var MessageSystemAttributeNames: [String]
    var MessageAttributeNames: [String]
}
