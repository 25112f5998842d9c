import Foundation
import Logging

/// Counts by outcome; ``count(_:)`` adds one decision. Shared by ingest/consume summaries and replay counts.
public protocol OutcomeCounts {
    var projected: Int { get set }
    var duplicate: Int { get set }
    var stale: Int { get set }
    var rejected: Int { get set }
    var failed: Int { get set }
    var deadLettered: Int { get set }
}

extension OutcomeCounts {
    /// Counts one decision under its outcome (and under dead-lettered when it is).
    mutating func count(_ d: Decision) {
        switch d.outcome {
        case .projected: projected += 1
        case .duplicate: duplicate += 1
        case .stale: stale += 1
        case .rejected: rejected += 1
        case .failed: failed += 1
        }
        if d.deadLettered { deadLettered += 1 }
    }
}

/// Counts of what one run did. Every field is a count of receives (input messages) unless noted.
public struct IngestSummary: OutcomeCounts, Sendable, Equatable, Codable {
    /// Input entries read (messages, including entries that were not SQS messages).
    public var received = 0
    /// Newly appended to the event log.
    public var appended = 0
    /// Already in the log from an earlier run (same receive): not appended again, not processed again.
    public var alreadyLogged = 0
    /// Receives found in the log without an attempt (an interrupted earlier run) and processed now.
    public var resumed = 0
    public var projected = 0
    public var duplicate = 0
    public var stale = 0
    /// Permanent failures (invalid order, not JSON, not an SQS message).
    public var rejected = 0
    /// Transient failures (the projection write failed).
    public var failed = 0
    /// Failures that exhausted maxReceiveCount: the message is dead-lettered.
    public var deadLettered = 0
    /// Entries that were not SQS messages at all (logged and rejected, counted in ``rejected`` too).
    public var inputErrors = 0

    public init() {}

    /// Adds `other`'s counts to these.
    public mutating func add(_ other: IngestSummary) {
        received += other.received
        appended += other.appended
        alreadyLogged += other.alreadyLogged
        resumed += other.resumed
        projected += other.projected
        duplicate += other.duplicate
        stale += other.stale
        rejected += other.rejected
        failed += other.failed
        deadLettered += other.deadLettered
        inputErrors += other.inputErrors
    }
}

/// The result of processing one receive.
public struct ProcessedReceive: Sendable {
    public var receive: LoggedReceive
    public var attempt: LoggedAttempt
}

/// Append → decide → project → record: the one processing step of ingest, consume (through ``LogWriter``) and
/// redrive. The network projections (``Projection``) are written between ``append(batch:summary:)`` and
/// ``record(_:results:trigger:summary:)``, outside the log's write lock; ingest has none.
///
/// For ingest each batch runs in one transaction: its receives are appended first, then each is processed in log
/// order and its attempt appended. A crash loses at most the batch in flight, and a rerun of the same input
/// finds every committed receive already logged (see ``IngestSummary/alreadyLogged``), so nothing is
/// projected twice.
public final class Pipeline {
    public let log: EventLog
    public let projection: LocalProjection
    public let processor: OrderProcessor
    let clock: @Sendable () -> Int64
    let logger: Logger

    /// - Parameters:
    ///   - clock: the wall clock in ms since the epoch, for `received_at`/`attempted_at` only (the processor
    ///     never sees it).
    public init(
        log: EventLog, processor: OrderProcessor = OrderProcessor(),
        clock: @escaping @Sendable () -> Int64 = Pipeline.systemClockMs,
        logger: Logger = Logger(label: "ordlog.pipeline", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.log = log
        self.projection = LocalProjection(db: log.db)
        self.processor = processor
        self.clock = clock
        self.logger = logger
    }

    /// Milliseconds since the Unix epoch from the system clock.
    @Sendable public static func systemClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Appends and processes one batch (one SQS receive's worth) in one transaction.
    /// - Throws: ``SQLiteError`` if the log itself cannot be written; then nothing of the batch is kept.
    @discardableResult
    public func ingest(batch: [IncomingMessage], summary: inout IngestSummary) throws -> [ProcessedReceive] {
        var local = IngestSummary()
        let processed = try log.write { () throws -> [ProcessedReceive] in
            let now = clock()
            let appended = try appendInTransaction(batch, receivedAt: now, summary: &local)
            // The one step, with no network projection: decide, project locally, record.
            let attempts = try recordInTransaction(
                appended, results: appended.map { _ in [] }, trigger: "receive", attemptedAt: now)
            for a in attempts { local.count(a.decision) }
            return zip(appended, attempts).map { ProcessedReceive(receive: $0.0, attempt: $0.1) }
        }
        summary.add(local)
        return processed
    }

    /// Appends a batch in its own transaction and commits it, before anything is processed: the consumer's
    /// first step. Returns the newly appended receives and the sequences of receives already logged.
    /// - Throws: ``SQLiteError``; then nothing of the batch was appended.
    public func append(batch: [IncomingMessage], summary: inout IngestSummary) throws
        -> (appended: [LoggedReceive], alreadyLogged: [Int64])
    {
        var local = IngestSummary()
        var already: [Int64] = []
        let appended = try log.write {
            try appendInTransaction(batch, receivedAt: clock(), summary: &local, alreadyLogged: &already)
        }
        summary.add(local)
        return (appended, already)
    }

    private func appendInTransaction(_ batch: [IncomingMessage], receivedAt: Int64, summary: inout IngestSummary)
        throws -> [LoggedReceive]
    {
        var ignored: [Int64] = []
        return try appendInTransaction(batch, receivedAt: receivedAt, summary: &summary, alreadyLogged: &ignored)
    }

    private func appendInTransaction(
        _ batch: [IncomingMessage], receivedAt: Int64, summary: inout IngestSummary,
        alreadyLogged: inout [Int64]
    ) throws -> [LoggedReceive] {
        var appended: [LoggedReceive] = []
        appended.reserveCapacity(batch.count)
        for message in batch {
            summary.received += 1
            if message.inputError != nil { summary.inputErrors += 1 }
            switch try log.append(message, receivedAt: receivedAt) {
            case .appended(let r):
                summary.appended += 1
                appended.append(r)
            case .alreadyLogged(let seq):
                summary.alreadyLogged += 1
                alreadyLogged.append(seq)
            }
        }
        return appended
    }

    /// Decides what `receive` means given the local projection's state (no writes).
    public func decide(_ receive: LoggedReceive) -> Decision {
        processor.decide(receive, state: projection)
    }

    /// Records the attempts of receives whose network projections have answered, in one transaction, in log
    /// order: the second half of the one processing step (decide → project everywhere → record what happened).
    ///
    /// Each receive is decided again against the local state as it is now (another batch may have been recorded
    /// since the first decision), the network results are folded in (``OrderProcessor/resolve(_:results:receive:)``),
    /// the local projection is written and the attempt appended. No network call happens while the write lock is
    /// held.
    /// - Parameter results: per receive, the answers of the network projections written for its first decision,
    ///   or nil when none was written (that decision was not `projected`). With no network projections, `[]`.
    /// - Throws: ``SQLiteError``; then no attempt of the batch is kept (the receives stay, unprocessed).
    public func record(
        _ receives: [LoggedReceive], results: [[ProjectionResult]?], trigger: String = "receive",
        summary: inout IngestSummary
    ) throws -> [LoggedAttempt] {
        let attempts = try log.write { try recordInTransaction(receives, results: results, trigger: trigger) }
        for a in attempts { summary.count(a.decision) }
        return attempts
    }

    /// ``record(_:results:trigger:summary:)``'s body. Must run inside `log.write`.
    func recordInTransaction(
        _ receives: [LoggedReceive], results: [[ProjectionResult]?], trigger: String, attemptedAt: Int64? = nil
    ) throws -> [LoggedAttempt] {
        precondition(receives.count == results.count)
        let now = attemptedAt ?? clock()
        var out: [LoggedAttempt] = []
        out.reserveCapacity(receives.count)
        for (r, result) in zip(receives, results) {
            let decision = processor.resolve(decide(r), results: result, receive: r)
            out.append(try apply(r, decision: decision, trigger: trigger, attemptedAt: now))
        }
        return out
    }

    /// Processes receives that were appended but never processed (an interrupted consumer).
    public func processUnprocessed(summary: inout IngestSummary) throws {
        let pending = try log.unprocessedReceives()
        guard !pending.isEmpty else { return }
        var local = IngestSummary()
        try log.write {
            let todo = try pending.filter { try log.attempts(receiveSeq: $0.seq).isEmpty }
            let attempts = try recordInTransaction(todo, results: todo.map { _ in [] }, trigger: "receive")
            local.resumed += attempts.count
            for a in attempts { local.count(a.decision) }
        }
        summary.add(local)
    }

    /// Applies `decision` to the local projection (turning a failed write into a transient failure) and appends
    /// the attempt. Must run inside `log.write`.
    func apply(_ r: LoggedReceive, decision: Decision, trigger: String, attemptedAt: Int64) throws -> LoggedAttempt {
        var decision = decision
        if decision.outcome.isFinal {
            do {
                try log.db.savepoint("project") { try projection.apply(decision, receive: r) }
            } catch {
                decision = processor.transientFailure(
                    decision, code: "projection.write_failed", message: "writing the local projection failed: \(error)",
                    receive: r)
            }
        }
        let attempt = try log.appendAttempt(
            receive: r, decision: decision, processorVersion: processor.version,
            trigger: trigger, attemptedAt: attemptedAt)
        logger.debug(
            "Processed message",
            metadata: [
                "event.sequence": "\(r.seq)", "sqs.message_id": "\(r.messageId ?? "-")",
                "order.outcome": "\(decision.outcome.rawValue)",
            ])
        return attempt
    }
}
