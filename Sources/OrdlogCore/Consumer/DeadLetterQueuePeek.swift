import OrdlogAWS

/// Reads a real dead-letter queue without deleting anything.
///
/// SQS has no "peek": ReceiveMessage is the only way to read, and every receive raises a message's
/// `ApproximateReceiveCount`. This receives with a visibility timeout long enough that a message is not
/// returned twice during one scan, stops at the first empty receive (or `limit`), and then sets every
/// received message's visibility back to 0 so the queue looks as it did, less the raised receive counts.
public enum DeadLetterQueuePeek {
    /// The distinct messages in the queue, in the order received.
    /// - Parameters:
    ///   - limit: stop after this many distinct messages.
    ///   - visibilityTimeout: seconds a received message stays hidden during the scan (released afterwards).
    /// - Throws: ``AWSServiceError`` / ``AWSTransportError``.
    public static func messages(sqs: SQSClient, queueUrl: String, limit: Int = 1000, visibilityTimeout: Int = 60)
        async throws -> [SQSMessage]
    {
        var seen: [String: SQSMessage] = [:]
        var order: [String] = []
        var handles: [String] = []
        do {
            while order.count < limit {
                let result = try await sqs.receiveMessage(
                    queueUrl: queueUrl, maxNumberOfMessages: min(10, limit - order.count), waitTimeSeconds: 1,
                    visibilityTimeout: visibilityTimeout)
                if result.messages.isEmpty { break }
                for m in result.messages {
                    handles.append(m.receiptHandle)
                    if seen[m.messageId] == nil { order.append(m.messageId) }
                    seen[m.messageId] = m
                }
            }
        } catch {
            try? await release(sqs: sqs, queueUrl: queueUrl, handles: handles)  // leave the queue as found
            throw error
        }
        try await release(sqs: sqs, queueUrl: queueUrl, handles: handles)
        return order.compactMap { seen[$0] }
    }

    static func release(sqs: SQSClient, queueUrl: String, handles: [String]) async throws {
        _ = try await sqs.changeMessageVisibility(queueUrl: queueUrl, receiptHandles: handles, visibilityTimeout: 0)
    }
}
