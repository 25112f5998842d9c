import OrdlogAWS

/// Reads a real dead-letter queue without deleting anything.
///
/// SQS has no "peek": ReceiveMessage is the only way to read, and every receive raises a message's
/// `ApproximateReceiveCount`. This receives with a visibility timeout long enough that a message is not
/// returned twice during one scan, stops at the first empty receive (or `limit`), and then sets every
/// received message's visibility back to 0 so the queue looks as it did, less the raised receive counts.
public enum DeadLetterQueuePeek {
    /// What one scan of a queue received: each distinct message once, still hidden from other readers until its
    /// visibility timeout ends or it is released (``release(_:receiptHandles:)``).
    public struct Scan: Sendable {
        /// The distinct messages in the order first received, each as its latest receive returned it (that
        /// receive's receipt handle is the one that deletes it). Entries that are not SQS messages (no MessageId)
        /// are kept, each as its own message.
        public var messages: [IncomingMessage]
        /// Every receipt handle the scan got, in order (a message received twice has two).
        public var receiptHandles: [String]
    }

    /// The distinct messages in the queue, in the order received; the queue is left as it was found (every
    /// message released), less the raised receive counts.
    /// - Parameters:
    ///   - limit: stop after this many distinct messages.
    ///   - visibilityTimeout: seconds a received message stays hidden during the scan (released afterwards).
    /// - Throws: ``AWSServiceError`` / ``AWSTransportError``.
    public static func messages(sqs: SQSClient, queueUrl: String, limit: Int = 1000, visibilityTimeout: Int = 60)
        async throws -> [IncomingMessage]
    {
        let queue = SQSMessageQueue(sqs: sqs, url: queueUrl)
        let scan = try await scan(queue, limit: limit, visibilityTimeout: visibilityTimeout)
        try await release(queue, receiptHandles: scan.receiptHandles)
        return scan.messages
    }

    /// Receives the queue's messages and keeps them hidden: the caller releases them
    /// (``release(_:receiptHandles:)``) or deletes them. On an error every message received so far is released
    /// before it is thrown.
    /// - Parameters:
    ///   - limit: stop after this many distinct messages.
    ///   - visibilityTimeout: seconds each received message stays hidden (a scan and what the caller does next
    ///     must fit in it: a message visible again may be received by someone else).
    /// - Throws: what ``MessageQueue/receive(maxMessages:waitTimeSeconds:visibilityTimeout:)`` throws
    ///   (``AWSServiceError`` / ``AWSTransportError`` for SQS).
    public static func scan(_ queue: any MessageQueue, limit: Int = 1000, visibilityTimeout: Int = 60) async throws
        -> Scan
    {
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
                    // Not an SQS message (no MessageId): kept as its own entry, never dropped.
                    let key = m.messageId.map { "id:" + $0 } ?? "entry:\(handles.count):\(order.count)"
                    if seen[key] == nil { order.append(key) }
                    seen[key] = m
                }
            }
        } catch {
            try? await release(queue, receiptHandles: handles)  // leave the queue as found
            throw error
        }
        return Scan(messages: order.compactMap { seen[$0] }, receiptHandles: handles)
    }

    /// Makes received messages visible again at once (visibility timeout 0).
    /// - Throws: what ``MessageQueue/changeVisibility(receiptHandles:seconds:)`` throws.
    public static func release(_ queue: any MessageQueue, receiptHandles: [String]) async throws {
        guard !receiptHandles.isEmpty else { return }
        _ = try await queue.changeVisibility(receiptHandles: receiptHandles, seconds: 0)
    }
}
