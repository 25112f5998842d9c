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
        async throws -> [IncomingMessage]
    {
        let queue = SQSMessageQueue(sqs: sqs, url: queueUrl)
        var seen: [String: IncomingMessage] = [:]
        var order: [String] = []
        var handles: [String] = []
        do {
            while order.count < limit {
                let messages = try await queue.receive(
                    maxMessages: min(10, limit - order.count), waitTimeSeconds: 1, visibilityTimeout: visibilityTimeout)
                if messages.isEmpty { break }
                for m in messages {
                    if let handle = m.receiptHandle { handles.append(handle) }
                    guard let id = m.messageId else { continue }
                    if seen[id] == nil { order.append(id) }
                    seen[id] = m
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
