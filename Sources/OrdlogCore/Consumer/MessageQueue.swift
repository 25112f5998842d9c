import Foundation
import OrdlogAWS

/// What a batch call (delete, change visibility) did: how many entries succeeded, and the codes of those that did
/// not (e.g. `ReceiptHandleIsInvalid`).
public struct QueueBatchResult: Sendable, Equatable {
    public var succeeded: Int
    public var failureCodes: [String]

    public init(succeeded: Int, failureCodes: [String] = []) {
        self.succeeded = succeeded
        self.failureCodes = failureCodes
    }
}

/// The queue the consumer reads: SQS (``SQSMessageQueue``), or an in-memory fake in tests. The I/O edge on the
/// receiving side of the processing step.
public protocol MessageQueue: Sendable {
    /// The queue URL (recorded as each receive's source).
    var url: String { get }
    /// One ReceiveMessage: the messages decoded once from the response bytes, as the log keeps them.
    func receive(maxMessages: Int, waitTimeSeconds: Int, visibilityTimeout: Int?) async throws -> [IncomingMessage]
    /// Deletes any number of messages (batched by the implementation).
    func delete(receiptHandles: [String]) async throws -> QueueBatchResult
    /// Sets the visibility timeout of any number of messages (0 = visible at once; batched by the implementation).
    func changeVisibility(receiptHandles: [String], seconds: Int) async throws -> QueueBatchResult
}

/// ``MessageQueue`` over Amazon SQS.
public struct SQSMessageQueue: MessageQueue {
    public let sqs: SQSClient
    public let url: String

    public init(sqs: SQSClient, url: String) {
        self.sqs = sqs
        self.url = url
    }

    public func receive(maxMessages: Int, waitTimeSeconds: Int, visibilityTimeout: Int?) async throws
        -> [IncomingMessage]
    {
        let body = try await sqs.receiveMessageBody(
            queueUrl: url, maxNumberOfMessages: maxMessages, waitTimeSeconds: waitTimeSeconds,
            visibilityTimeout: visibilityTimeout)
        return try Self.messages(fromResponse: [UInt8](body), queueUrl: url)
    }

    /// The messages of a ReceiveMessage response body (`{"Messages":[…]}` or `{}`), parsed once from the bytes as
    /// received, with the queue URL as their source.
    /// - Throws: ``AWSResponseDecodingError`` when the body is not a ReceiveMessage response.
    public static func messages(fromResponse bytes: [UInt8], queueUrl: String) throws -> [IncomingMessage] {
        func bad(_ reason: String) -> AWSResponseDecodingError {
            AWSResponseDecodingError(
                service: "SQS", operation: "ReceiveMessage", reason: reason,
                bodyExcerpt: String(decoding: bytes.prefix(300), as: UTF8.self))
        }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw bad("\(error)") }
        guard case .object(let o) = value else { throw bad("not a JSON object") }
        guard o["Messages"] != nil else { return [] }  // `{}`: the poll returned nothing
        let parsed: [IncomingMessage]
        do { parsed = try TrafficReader.document(value, name: queueUrl, line: nil).1 } catch { throw bad("\(error)") }
        return parsed.map {
            var m = $0
            m.source = queueUrl
            return m
        }
    }

    public func delete(receiptHandles: [String]) async throws -> QueueBatchResult {
        guard !receiptHandles.isEmpty else { return QueueBatchResult(succeeded: 0) }
        let r = try await sqs.deleteMessages(queueUrl: url, receiptHandles: receiptHandles)
        return QueueBatchResult(succeeded: r.successful.count, failureCodes: r.failed.map(\.code))
    }

    public func changeVisibility(receiptHandles: [String], seconds: Int) async throws -> QueueBatchResult {
        guard !receiptHandles.isEmpty else { return QueueBatchResult(succeeded: 0) }
        let r = try await sqs.changeMessageVisibility(
            queueUrl: url, receiptHandles: receiptHandles, visibilityTimeout: seconds)
        return QueueBatchResult(succeeded: r.successful.count, failureCodes: r.failed.map(\.code))
    }
}
