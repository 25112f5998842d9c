/// `--consumer-id` names another consumer than the one the log records as its writer; nothing was sealed.
public struct SealConsumerMismatch: Error, Sendable, Equatable, CustomStringConvertible {
    /// The consumer the log names (its segment start or identity record).
    public var recorded: String
    /// The consumer the caller gave.
    public var given: String
    public var description: String {
        "the log of consumer \(recorded) (its identity record), not \(given)"
    }
}

extension Segments {
    /// Seals the log as `ordlog seal` does: first makes sure the log names its consumer (the segment is named
    /// after it), then ``seal(_:directory:ordlogVersion:now:)``.
    ///
    /// The consumer is the log's segment start's, else its first identity record's. A log that names none but
    /// holds records (a log from before identity records) gets one first: `recordIdentity` is called with the
    /// queue of the newest receive (empty when it has none) and appends it. An empty log gets none.
    ///
    /// ```swift
    /// let sealed = try Segments.seal(log, ordlogVersion: "1.4.0", consumerId: nil) { queue in
    ///     try log.write { _ = try log.appendIdentity(identity(queue), recordedAt: now) }
    /// }
    /// ```
    /// - Parameters:
    ///   - consumerId: the consumer the caller expects (nil: whichever the log names).
    ///   - recordIdentity: appends an identity record for a log that has none; given the newest receive's queue.
    /// - Returns: the sealed segment, or nil when the current segment has no records.
    /// - Throws: ``SealConsumerMismatch`` when `consumerId` differs from the log's (nothing is written);
    ///   what `recordIdentity` throws; what ``seal(_:directory:ordlogVersion:now:)`` throws.
    public static func seal(
        _ log: EventLog, directory: String?, ordlogVersion: String, consumerId: String?,
        recordIdentity: (_ queue: String) throws -> Void
    ) throws -> SealResult? {
        if let known = try log.segmentStart?.consumerId ?? log.identities().first?.identity.consumerId {
            if let consumerId, consumerId != known { throw SealConsumerMismatch(recorded: known, given: consumerId) }
        } else if try log.head() != nil {
            try recordIdentity(try log.db.scalarText("SELECT source FROM receives ORDER BY seq DESC LIMIT 1") ?? "")
        }
        return try seal(log, directory: directory, ordlogVersion: ordlogVersion)
    }
}
