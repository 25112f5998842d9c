/// The SNS envelope fields of a body delivered without raw message delivery.
public struct SNSEnvelope: Sendable, Equatable {
    public var topicArn: String?
    public var messageId: String?
    public var timestamp: String?
    public var subject: String?
    public var messageAttributes: JSONValue?
}

/// A body taken apart as far as it goes: envelope, order, and where parsing stopped.
public struct BodyAnatomy: Sendable, Equatable {
    public var envelope: SNSEnvelope?
    /// The order object, when the body (or the envelope's Message) parsed as a JSON object.
    public var order: JSONObject?
    /// Why parsing stopped before the order, if it did.
    public var problem: String?

    public init(body: [UInt8]) {
        let value: JSONValue
        do { value = try JSONParser.parse(body) } catch {
            problem =
                error.kind == .syntax
                ? "body is not JSON: \(error)"
                : "body cannot be read without altering it: \(error)\(error.field.map { " (field \($0))" } ?? "")"
            return
        }
        guard case .object(let object) = value else {
            problem = "body is a JSON \(value.typeName), not an object"
            return
        }
        guard let arn = OrderProcessor.envelopeTopicArn(object) else {  // the processor's rule, not a copy
            order = object
            return
        }
        envelope = SNSEnvelope(
            topicArn: arn, messageId: object["MessageId"]?.stringValue, timestamp: object["Timestamp"]?.stringValue,
            subject: object["Subject"]?.stringValue, messageAttributes: object["MessageAttributes"])
        guard case .string(let message)? = object["Message"] else {
            problem = "the SNS envelope's Message is \(object["Message"].map { "a JSON \($0.typeName)" } ?? "missing")"
            return
        }
        do {
            let inner = try JSONParser.parse(Array(message.utf8))
            if case .object(let o) = inner { order = o } else { problem = "Message is a JSON \(inner.typeName)" }
        } catch {
            problem =
                error.kind == .syntax
                ? "the SNS Message is not JSON: \(error)"
                : "the SNS Message cannot be read without altering it: \(error)"
                    + (error.field.map { " (field \($0))" } ?? "")
        }
    }
}

/// One failed message with its whole history.
public struct FailedMessage: Sendable {
    public var messageId: String
    public var receives: [LoggedReceive]
    public var attempts: [LoggedAttempt]
    /// The latest attempt (dead-lettered for a dead-lettered message).
    public var latest: LoggedAttempt { attempts[attempts.count - 1] }
    /// The latest receive (the one a redrive runs against).
    public var latestReceive: LoggedReceive { receives[receives.count - 1] }
    public var anatomy: BodyAnatomy
    /// Read from several logs (``LogSet``): the consumer that logged each of ``receives`` and ``attempts``, in the
    /// same order; empty for a message read from one log.
    public var receiveConsumers: [String] = []
    public var attemptConsumers: [String] = []
    /// Dead-lettered: in one log, its latest attempt says so; across several logs it is judged on the merged
    /// receives (``LogSet/failedMessage(_:)``).
    public var isDeadLettered: Bool? = nil
    /// ``isDeadLettered`` when judged on merged receives, else the latest attempt's mark.
    public var deadLettered: Bool { isDeadLettered ?? latest.decision.deadLettered }
    public var fingerprint: String { latest.decision.errorFingerprint ?? "unknown" }
    public var orderId: String? { latest.decision.orderId ?? attempts.lazy.compactMap(\.decision.orderId).first }
}

/// Failed messages sharing an error fingerprint.
public struct FingerprintGroup: Sendable {
    public var fingerprint: String
    public var messages: [FailedMessage]
    /// Messages in the group: `messages.count`, or more when the report kept only some examples.
    public var count: Int
    /// Earliest and latest `received_at` among the group's receives (ms).
    public var firstSeen: Int64
    public var lastSeen: Int64
}

/// The dead-letter view: failed messages grouped by fingerprint, and input that was not an SQS message.
public struct DeadLetterReport: Sendable {
    public var groups: [FingerprintGroup]
    /// Receives that were not SQS messages at all (`input_error`), in log order.
    public var inputErrors: [LoggedReceive]
    /// Read from several logs: the consumer that logged each of ``inputErrors``; empty for one log.
    public var inputErrorConsumers: [String] = []
    public var messageCount: Int { groups.reduce(0) { $0 + $1.count } }
}

extension EventLog {
    /// Message ids whose latest attempt failed (rejected or failed), dead-lettered or not, in log order.
    public func failedMessageIds() throws -> [String] {
        try messageIdsWhoseLatestAttempt("a.outcome IN ('rejected', 'failed')")
    }

    /// One message with every receive and attempt, or nil when the log has no attempt for it.
    public func failedMessage(_ messageId: String) throws -> FailedMessage? {
        let receives = try receives(messageId: messageId)
        let attempts = try attempts(messageId: messageId)
        guard let last = receives.last, !attempts.isEmpty else { return nil }
        return FailedMessage(
            messageId: messageId, receives: receives, attempts: attempts,
            anatomy: BodyAnatomy(body: last.body))
    }

    /// The dead-letter report: dead-lettered messages (or, with `includeRetrying`, every message whose
    /// latest attempt failed), grouped by fingerprint (largest group first, then by fingerprint).
    /// - Parameters:
    ///   - examplesPerGroup: keep at most this many messages per group (the first in log order); `count`,
    ///     first and last seen still cover all of them.
    ///   - including: only messages for which this is true (a time window, say).
    public func deadLetterReport(
        includeRetrying: Bool = false, examplesPerGroup: Int = .max, including: (FailedMessage) -> Bool = { _ in true }
    ) throws -> DeadLetterReport {
        let ids = includeRetrying ? try failedMessageIds() : try deadLetteredMessageIds()
        var groups: [String: FingerprintGroup] = [:]
        for id in ids {
            guard let m = try failedMessage(id), including(m) else { continue }
            let times = m.receives.map(\.receivedAt)
            let first = times.min() ?? 0
            let last = times.max() ?? 0
            // Mutate in place: copying a group out and back would copy its message array every time.
            if groups[m.fingerprint] == nil {
                groups[m.fingerprint] = FingerprintGroup(
                    fingerprint: m.fingerprint, messages: [], count: 0, firstSeen: first, lastSeen: last)
            }
            groups[m.fingerprint]!.count += 1
            if groups[m.fingerprint]!.messages.count < examplesPerGroup { groups[m.fingerprint]!.messages.append(m) }
            groups[m.fingerprint]!.firstSeen = min(groups[m.fingerprint]!.firstSeen, first)
            groups[m.fingerprint]!.lastSeen = max(groups[m.fingerprint]!.lastSeen, last)
        }
        let sorted = groups.values.sorted {
            $0.count != $1.count
                ? $0.count > $1.count
                : $0.fingerprint.utf8.lexicographicallyPrecedes($1.fingerprint.utf8)
        }
        return DeadLetterReport(groups: sorted, inputErrors: try receives(where: "input_error IS NOT NULL"))
    }
}

/// What one redrive did (or, in a dry run, would do).
public struct RedriveOutcome: Sendable {
    public var messageId: String
    public var receive: LoggedReceive
    /// The latest attempt before the redrive; nil for a message the log had never attempted (taken from the SQS
    /// dead-letter queue, ``Redriver/run(fromQueue:messageIds:dryRun:table:limit:visibilityTimeout:)``).
    public var before: LoggedAttempt?
    /// The new attempt (in a dry run: what would have been appended; nothing was).
    public var after: LoggedAttempt
    /// What the write into the network projections (a DynamoDB table) did for this message.
    public var tableWrite: TableWrite = .none

    /// The effect of a redrive on the network projections, told from the projections' answers (never from a
    /// note's text).
    public enum TableWrite: Sendable, Equatable {
        /// Nothing was written: no network projection, a dry run, or a decision that writes nothing.
        case none
        /// Written: the new attempt is `projected`.
        case written
        /// A table held a newer version and kept it: the new attempt is `stale` because of it.
        case stale
        /// The write failed: the new attempt is a transient failure.
        case failed
    }
}

struct DryRunRollback: Error {
    var outcomes: [RedriveOutcome]
}

extension ProcessingStep {
    /// Re-processes messages against their latest receive, appending attempts with trigger `redrive`. Nothing
    /// is rewritten; the SQS MessageId stays the identity. The same step as a receive: decide, write the network
    /// `projections` (DynamoDB) outside the log's write lock, then record in one transaction what actually
    /// happened, so a failed DynamoDB write is a transient failure that a rerun retries. With `dryRun` nothing is
    /// written anywhere: the decisions are recorded and rolled back, so the reported outcomes are what a real run
    /// would append if every write succeeded.
    public func redrive(messageIds: [String], dryRun: Bool, projections: [any Projection]) async throws
        -> [RedriveOutcome]
    {
        try await redrive(try redriveTargets(messageIds), dryRun: dryRun, projections: projections)
    }

    /// ``redrive(messageIds:dryRun:projections:)`` into the local projection only.
    public func redrive(messageIds: [String], dryRun: Bool) throws -> [RedriveOutcome] {
        let chosen = try redriveTargets(messageIds)
        return try recordRedrive(chosen, results: chosen.map { _ in [] }, dryRun: dryRun)
    }

    /// A receive to redrive: the message, the receive the new attempt processes, and the latest attempt before.
    typealias RedriveTarget = (id: String, receive: LoggedReceive, before: LoggedAttempt?)

    private func redriveTargets(_ messageIds: [String]) throws -> [RedriveTarget] {
        var chosen: [RedriveTarget] = []
        for id in messageIds {
            guard let receive = try log.receives(messageId: id).last, let before = try log.attempts(messageId: id).last
            else { continue }
            chosen.append((id, receive, before))
        }
        return chosen
    }

    /// Re-processes messages received again from the SQS dead-letter queue, logged or not: each receive is
    /// appended first, like any receive (``EventLog/append(_:receivedAt:)``: source the queue's URL, the body's
    /// bytes as received, input that is not an SQS message kept with its error), in one transaction committed
    /// before anything is decided; then each is processed on the one step as ``redrive(messageIds:dryRun:projections:)``
    /// processes a logged one: decide, write the network `projections` outside the log's write lock, record the
    /// attempt with trigger `redrive`. A crash between the two leaves the receives logged and unprocessed (the next
    /// `ingest` or `consume` processes them), never a message processed but not logged.
    ///
    /// With `dryRun` the receives and the attempts are appended in one transaction and rolled back: nothing is
    /// written anywhere, and the outcomes are what a real run would append if every write succeeded.
    /// - Parameter messages: as the queue returned them
    ///   (``MessageQueue/receive(maxMessages:waitTimeSeconds:visibilityTimeout:)``).
    /// - Returns: one outcome per message, in the order given; ``RedriveOutcome/before`` is nil for a message the
    ///   log had never attempted. A receive the log holds already (the same receipt handle, count and body) is not
    ///   appended again; its logged receive is processed.
    /// - Throws: ``SQLiteError`` when the log cannot be written; then no attempt is kept (the receives may be).
    public func redrive(received messages: [IncomingMessage], dryRun: Bool, projections: [any Projection])
        async throws -> [RedriveOutcome]
    {
        func appendAll() throws -> [RedriveTarget] {
            let now = clock()
            return try messages.map { m in
                let before = try m.messageId.flatMap { try log.attempts(messageId: $0).last }
                switch try log.append(m, receivedAt: now) {
                case .appended(let r): return (m.messageId ?? "", r, before)
                case .alreadyLogged(let seq):
                    guard let r = try log.receive(seq: seq) else { preconditionFailure("receive \(seq) vanished") }
                    return (m.messageId ?? "", r, before)
                }
            }
        }
        if dryRun {
            do {
                return try log.write {
                    let chosen = try appendAll()
                    // As a real run without network projections would record them: nothing written but the local one.
                    let results: [[ProjectionResult]?] = chosen.map {
                        decide($0.receive).outcome == .projected ? [] : nil
                    }
                    throw DryRunRollback(outcomes: try recordRedriveInTransaction(chosen, results: results))
                }
            } catch let rollback as DryRunRollback {
                return rollback.outcomes
            }
        }
        let chosen = try log.write { try appendAll() }
        return try await redrive(chosen, dryRun: false, projections: projections)
    }

    private func redrive(_ chosen: [RedriveTarget], dryRun: Bool, projections: [any Projection]) async throws
        -> [RedriveOutcome]
    {
        var results: [[ProjectionResult]?] = []
        for c in chosen {
            let d = decide(c.receive)
            if dryRun || d.outcome != .projected {
                results.append(d.outcome == .projected ? [] : nil)
            } else {
                results.append(await project(d, receive: c.receive, into: projections))
            }
        }
        return try recordRedrive(chosen, results: results, dryRun: dryRun)
    }

    private func recordRedrive(_ chosen: [RedriveTarget], results: [[ProjectionResult]?], dryRun: Bool) throws
        -> [RedriveOutcome]
    {
        do {
            return try log.write {
                let outcomes = try recordRedriveInTransaction(chosen, results: results)
                if dryRun { throw DryRunRollback(outcomes: outcomes) }
                return outcomes
            }
        } catch let rollback as DryRunRollback {
            return rollback.outcomes
        }
    }

    /// Records a redrive attempt of each target. Must run inside `log.write`.
    private func recordRedriveInTransaction(_ chosen: [RedriveTarget], results: [[ProjectionResult]?]) throws
        -> [RedriveOutcome]
    {
        let now = clock()
        var outcomes: [RedriveOutcome] = []
        for (c, result) in zip(chosen, results) {
            // Decided here as recordInTransaction decides it, to tell a table's answer from the local rule.
            let local = decide(c.receive)
            let after = try recordInTransaction([c.receive], results: [result], trigger: .redrive, attemptedAt: now)[0]
            var o = RedriveOutcome(messageId: c.id, receive: c.receive, before: c.before, after: after)
            if local.outcome == .projected, let result, !result.isEmpty {
                switch after.decision.outcome {
                case .projected: o.tableWrite = .written
                case .stale: o.tableWrite = .stale
                default: o.tableWrite = .failed
                }
            }
            outcomes.append(o)
        }
        return outcomes
    }

    /// Writes one decision into every network projection concurrently; the answers in `projections`' order.
    public func project(_ decision: Decision, receive: LoggedReceive, into projections: [any Projection]) async
        -> [ProjectionResult]
    {
        await ProcessingStep.project(decision, receive: receive, into: projections)
    }

    /// Writes one decision into every network projection concurrently; the answers in `projections`' order.
    public static func project(_ decision: Decision, receive: LoggedReceive, into projections: [any Projection])
        async -> [ProjectionResult]
    {
        if projections.count == 1 { return [await projections[0].project(decision, receive: receive)] }
        return await withTaskGroup(of: (Int, ProjectionResult).self) { group in
            for (i, p) in projections.enumerated() {
                group.addTask { (i, await p.project(decision, receive: receive)) }
            }
            var out = [ProjectionResult](repeating: .applied, count: projections.count)
            for await (i, r) in group { out[i] = r }
            return out
        }
    }
}
