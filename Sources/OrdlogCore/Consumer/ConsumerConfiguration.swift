import Foundation

/// How ``Consumer`` consumes a queue. Every property has a default that matches the seed pipeline.
public struct ConsumerConfiguration: Sendable {
    /// Receive loops in this process. Default 16: each loop has at most one batch (≤ 10 messages) in work, and a
    /// batch spends most of its time waiting on the network (receive, the PutItems, the delete: ~3 round trips),
    /// so 16 loops keep ~160 messages and up to ~160 requests in flight with little CPU each; one process is then
    /// bound by CPU, not by latency. At most ``maxUnlogged`` messages are being received at once (4 long polls at
    /// the default), the rest of the loops work on their batches. The SQLite log has one writer whatever this is.
    public var concurrency = 16
    /// Long-poll wait per ReceiveMessage, 0…20 seconds. Default 20.
    public var waitTimeSeconds = 20
    /// Messages per ReceiveMessage, 1…10. Default 10.
    public var maxNumberOfMessages = 10
    /// Messages received and not yet deleted or released, at most; nil = concurrency × maxNumberOfMessages.
    public var maxInFlight: Int?
    /// Messages received and not yet appended to the log, at most. Default 40 (4 receives of 10). A consumer
    /// killed in that window strands them: SQS counts them received, the log never saw them, and after
    /// maxReceiveCount such receives a message reaches the DLQ unlogged (`inspect-dlq --queue` marks it). The
    /// receives beyond this wait; an append takes milliseconds, so they wait little.
    public var maxUnlogged = 40
    /// Visibility timeout requested on receive, in seconds; nil uses the queue's. When known, also the heartbeat:
    /// every batch still in work has its visibility extended by this much each time half of it has passed.
    public var visibilityTimeout: Int?
    /// Visibility timeout set on messages whose attempt failed, in seconds (0 = redeliver at once); nil leaves
    /// them until their visibility timeout ends.
    public var failedVisibilityTimeout: Int?
    /// Seconds a receive in flight when a stop is requested still has to answer before it is cancelled (its
    /// messages, if any, are then made visible again at once). Default 1.
    public var stopGrace: Double = 1
    /// Stop after receiving this many messages.
    public var maxMessages: Int?
    /// Stop when a receive returns no message (each loop stops at its first empty receive).
    public var untilEmpty = false
    /// Back-off after a failed receive (throttling, 5xx, network), and after a batch whose DynamoDB writes failed
    /// even after the client's retries: exponential with full jitter, in seconds.
    public var errorBackoff = FullJitterBackoff(base: 0.2, cap: 10)
    /// Retryable receive failures in a row (each after the AWS client's own retries) after which a loop gives up,
    /// when no receive has succeeded yet or with `untilEmpty`. Default 5.
    public var maxReceiveFailures = 5
    /// Back-off after an empty receive when not long-polling (wait time 0).
    public var emptyBackoff = FullJitterBackoff(base: 0.05, cap: 1)

    public init() {}
}
