/// Which receives a command works on: the filters shared by `replay` and `export`.
///
/// All given filters must match (logical AND):
/// - `fromSeq`/`toSeq`: the receive's log sequence, inclusive.
/// - `sinceMs`/`untilMs`: the receive's SQS `SentTimestamp` (ms, inclusive); a receive without one is
///   placed by `received_at` instead.
/// - `orderId`: messages that any recorded attempt attributed to this order (byte-wise).
/// - `messageIds`: these SQS MessageIds.
/// - `deadLettered`: messages whose latest attempt is dead-lettered.
public struct LogFilter: Sendable, Equatable {
    public var fromSeq: Int64 = 1
    public var toSeq: Int64 = .max
    public var sinceMs: Int64?
    public var untilMs: Int64?
    public var orderId: String?
    public var messageIds: [String] = []
    public var deadLettered = false

    public init() {}

    /// Resolves the order and dead-letter filters to a set of message ids against `log`.
    public func resolve(in log: EventLog) throws -> ResolvedLogFilter {
        var allowed: Set<String>? = messageIds.isEmpty ? nil : Set(messageIds)
        func intersect(_ ids: Set<String>) {
            allowed = allowed.map { $0.intersection(ids) } ?? ids
        }
        if let orderId {
            let s = try log.db.prepare(
                "SELECT DISTINCT message_id FROM attempts WHERE order_id = ? AND message_id IS NOT NULL")
            try s.bind([.text(orderId)])
            var ids = Set<String>()
            while try s.step() { ids.insert(s.text(0)) }
            intersect(ids)
        }
        if deadLettered { intersect(Set(try log.deadLetteredMessageIds())) }
        return ResolvedLogFilter(filter: self, allowedMessageIds: allowed)
    }
}

/// A ``LogFilter`` whose message-id filters have been looked up; tests one receive at a time.
public struct ResolvedLogFilter: Sendable {
    public let filter: LogFilter
    /// nil: any message; otherwise only receives of these SQS MessageIds.
    public let allowedMessageIds: Set<String>?

    public func matches(_ r: LoggedReceive) -> Bool {
        if r.seq < filter.fromSeq || r.seq > filter.toSeq { return false }
        if filter.sinceMs != nil || filter.untilMs != nil {
            let t = r.sentTimestamp ?? r.receivedAt
            if let since = filter.sinceMs, t < since { return false }
            if let until = filter.untilMs, t > until { return false }
        }
        if let allowed = allowedMessageIds {
            guard let id = r.messageId, allowed.contains(id) else { return false }
        }
        return true
    }
}
