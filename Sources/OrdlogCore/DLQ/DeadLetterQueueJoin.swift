/// One message of a real SQS dead-letter queue joined to the logs by its SQS MessageId.
///
/// A message can reach the DLQ without ever entering a log: a consumer killed between a ReceiveMessage and its
/// append leaves the message counted as received by SQS, and after maxReceiveCount such receives SQS moves it to the
/// DLQ. Such a message is ``inLog`` false: the audit trail has a gap that only the queue shows, and
/// `ordlog redrive --from-queue` closes it (records the receive, then processes it).
public struct QueuedDeadLetter: Sendable {
    /// The message as the DLQ returned it: body bytes, attributes and message attributes as received (its
    /// `ApproximateReceiveCount` includes the read that returned it).
    public var queued: IncomingMessage
    /// True when some log holds a receive of its MessageId (false for an entry without one).
    public var inLog: Bool
    /// Its receives and attempts in the logs, or nil when no log has an attempt for it (in no log, or received
    /// and not processed yet).
    public var history: FailedMessage?

    public init(queued: IncomingMessage, inLog: Bool, history: FailedMessage?) {
        self.queued = queued
        self.inLog = inLog
        self.history = history
    }
}

extension LogSet {
    /// Joins the messages of a real dead-letter queue (``DeadLetterQueuePeek/messages(sqs:queueUrl:limit:visibilityTimeout:)``)
    /// to every log of the set by SQS MessageId: whether a log holds a receive of it, and its history (the set's
    /// ``failedMessage(_:maxReceiveCount:)``).
    /// - Parameter messages: as the queue returned them.
    /// - Returns: one entry per message, in the order given.
    /// - Throws: ``SQLiteError`` when a log cannot be read.
    public func join(deadLetterQueue messages: [IncomingMessage]) throws -> [QueuedDeadLetter] {
        try messages.map { m in
            guard let id = m.messageId else { return QueuedDeadLetter(queued: m, inLog: false, history: nil) }
            let inLog = try members.contains { !(try $0.log.receives(messageId: id).isEmpty) }
            return QueuedDeadLetter(queued: m, inLog: inLog, history: inLog ? try failedMessage(id) : nil)
        }
    }
}
