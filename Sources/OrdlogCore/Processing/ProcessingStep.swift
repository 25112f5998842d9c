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

/// A message prepared for ``ProcessingStep/ingest(prepared:summary:)`` by ``ProcessingStep/prepare(_:processor:)``: its
/// receive record's log-independent fields and its body's interpretation, both computed without the log.
public struct PreparedMessage: Sendable {
    public var receive: PreparedReceive
    public var interpretation: Interpretation
    /// The interpretation's item (a valid order's) as the attempt stores it (``OrderItem/json``), built here once
    /// so the writer does not; nil for a rejection. A decision carrying another item gets that item's own JSON.
    var item: (item: OrderItem, json: String)?

    init(receive: PreparedReceive, interpretation: Interpretation) {
        self.receive = receive
        self.interpretation = interpretation
        if case .order(let item, _, _) = interpretation { self.item = (item, item.json) }
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
public final class ProcessingStep {
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
        clock: @escaping @Sendable () -> Int64 = ProcessingStep.systemClockMs,
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

    /// Everything about `m` that needs neither the log nor the projection: its receive record's
    /// log-independent fields (``PreparedReceive``) and what its body says (``OrderProcessor/interpret(body:inputError:)``).
    /// Pure: ingest's reading thread calls it ahead of the writer.
    public static func prepare(_ m: IncomingMessage, processor: OrderProcessor) -> PreparedMessage {
        PreparedMessage(
            receive: PreparedReceive(m), interpretation: processor.interpret(body: m.body, inputError: m.inputError))
    }

    /// ``prepare(_:processor:)`` with this pipeline's processor.
    public func prepare(_ m: IncomingMessage) -> PreparedMessage { Self.prepare(m, processor: processor) }

    /// Appends and processes one batch (one SQS receive's worth) in one transaction.
    /// - Throws: ``SQLiteError`` if the log itself cannot be written; then nothing of the batch is kept.
    @discardableResult
    public func ingest(batch: [IncomingMessage], summary: inout IngestSummary) throws -> [ProcessedReceive] {
        var processed: [ProcessedReceive] = []
        try ingest(prepared: batch.map(prepare), summary: &summary) { processed.append($0) }
        return processed
    }

    /// ``ingest(batch:summary:)`` for messages prepared ahead (``prepare(_:)``, e.g. on another thread by
    /// ``streamPrepared(path:batchSize:maxBatchBytes:maxBatchSeconds:_:)``): appends them, decides each from its
    /// interpretation against the local state, projects and records, in one transaction. What was appended and
    /// decided is in the log and ``IngestSummary``; nothing else is returned.
    /// - Precondition: each message was prepared with this pipeline's processor.
    /// - Throws: ``SQLiteError`` if the log itself cannot be written; then nothing of the batch is kept.
    public func ingest(prepared batch: [PreparedMessage], summary: inout IngestSummary) throws {
        try ingest(prepared: batch, summary: &summary, processed: nil)
    }

    /// Signals that a projection write failed in a batch run without per-message savepoints.
    private struct ProjectionWriteFailed: Error {}

    /// ``ingest(prepared:summary:)``, handing each processed receive to `processed` (in log order, after the
    /// transaction committed).
    func ingest(
        prepared batch: [PreparedMessage], summary: inout IngestSummary,
        processed: ((ProcessedReceive) -> Void)?
    ) throws {
        let now = clock()
        // Each message's projection write (an upsert and one or two idempotency keys) must be kept whole or not at
        // all: a failed one becomes a transient failure and the batch goes on. The batch runs first without a
        // savepoint per message; only if a projection write fails is it rolled back and run again, the same way,
        // with a savepoint around each write (the same receives, decisions and clock, so the same log).
        var out: [ProcessedReceive] = []
        var local = IngestSummary()
        do {
            try log.write {
                try ingestInTransaction(
                    batch, now: now, perMessageSavepoints: false, summary: &local, collect: processed != nil, out: &out)
            }
        } catch is ProjectionWriteFailed {
            local = IngestSummary()
            out.removeAll()
            try log.write {
                try ingestInTransaction(
                    batch, now: now, perMessageSavepoints: true, summary: &local, collect: processed != nil, out: &out)
            }
        }
        summary.add(local)
        if let processed { out.forEach(processed) }
    }

    private func ingestInTransaction(
        _ batch: [PreparedMessage], now: Int64, perMessageSavepoints: Bool, summary local: inout IngestSummary,
        collect: Bool, out: inout [ProcessedReceive]
    ) throws {
        // Every receive of the batch is appended first, then each is processed in log order and its attempt
        // appended (the log's layout: a batch's receives, then their attempts).
        var appended: [(LoggedReceive, Int)] = []
        appended.reserveCapacity(batch.count)
        // Indices, not `for … in`: a loop variable would be a copy of each message (a retain and a release of every
        // field of it, per message, on the writer's critical path).
        for i in batch.indices {
            if let r = try appendOne(batch[i].receive, receivedAt: now, summary: &local) { appended.append((r, i)) }
        }
        for j in appended.indices {
            let i = appended[j].1
            // The one step, with no network projection: decide, project locally, record.
            let decision = processor.resolve(
                processor.decide(batch[i].interpretation, receive: appended[j].0, state: projection), results: [],
                receive: appended[j].0)
            let attempt = try apply(
                appended[j].0, decision: decision, trigger: .receive, attemptedAt: now,
                savepoint: perMessageSavepoints ? .perMessage : .failBatch, preparedItem: batch[i].item)
            local.count(attempt.decision)
            if collect { out.append(ProcessedReceive(receive: appended[j].0, attempt: attempt)) }
        }
    }

    /// Reads a traffic file (``TrafficReader/stream(path:batchSize:maxBatchBytes:maxBatchSeconds:waiting:_:)``,
    /// same batches) and prepares each message (``prepare(_:)``) on a second thread, handing `body` the prepared
    /// batches in order on the calling thread: reading, parsing, hashing and interpreting batch n+1 overlap with
    /// writing batch n. At most one prepared batch waits while `body` runs (memory: about three batches).
    ///
    /// Not for standard input read live (`-`): there a batch is handed on when the input pauses, and an interrupt
    /// during the wait ends the process at once, which is safe only when nothing is being written meanwhile.
    /// - Returns: the detected format and the number of entries read.
    /// - Throws: ``TrafficFileError`` as ``TrafficReader/stream(path:batchSize:maxBatchBytes:maxBatchSeconds:waiting:_:)``
    ///   throws it, after `body` had every batch read before the error; or whatever `body` throws (reading stops
    ///   then, and the reading thread has ended when this returns).
    public func streamPrepared(
        path: String, batchSize: Int, maxBatchBytes: Int = .max, maxBatchSeconds: Double? = nil,
        _ body: ([PreparedMessage]) throws -> Void
    ) throws -> (TrafficFormat, Int) {
        try streamPrepared(
            reading: { hand in
                try TrafficReader.stream(
                    path: path, batchSize: batchSize, maxBatchBytes: maxBatchBytes, maxBatchSeconds: maxBatchSeconds,
                    hand)
            }, body)
    }

    /// ``streamPrepared(path:batchSize:maxBatchBytes:maxBatchSeconds:_:)`` over any reader: `source` runs on the
    /// second thread and hands on batches of messages as it reads them; they are prepared there and given to
    /// `body` in order on the calling thread.
    func streamPrepared(
        reading source: @escaping @Sendable (_ hand: ([IncomingMessage]) throws -> Void) throws -> (TrafficFormat, Int),
        _ body: ([PreparedMessage]) throws -> Void
    ) throws -> (TrafficFormat, Int) {
        typealias Handoff = BoundedHandOff<[PreparedMessage], (TrafficFormat, Int)>
        let handoff = Handoff()
        let processor = self.processor
        let reader = Thread {
            handoff.finish(
                Result {
                    try source { batch in
                        var prepared: [PreparedMessage] = []
                        prepared.reserveCapacity(batch.count)
                        for m in batch {
                            // The writer stopped (an interrupt, an error): stop here, not after the whole batch.
                            if handoff.isCancelled { throw Handoff.Cancelled() }
                            prepared.append(ProcessingStep.prepare(m, processor: processor))
                        }
                        guard handoff.put(prepared) else { throw Handoff.Cancelled() }
                    }
                })
        }
        reader.name = "ordlog.ingest.reader"
        reader.stackSize = 8 << 20
        reader.start()
        do {
            try log.withBackgroundCheckpoints {
                while let batch = handoff.take() { try body(batch) }
            }
        } catch {
            handoff.cancel()
            _ = handoff.waitFinished()
            throw error
        }
        return try handoff.waitFinished().get()
    }

    /// Appends one prepared receive; nil when it was already logged.
    private func appendOne(_ p: PreparedReceive, receivedAt: Int64, summary: inout IngestSummary) throws
        -> LoggedReceive?
    {
        summary.received += 1
        if p.message.inputError != nil { summary.inputErrors += 1 }
        switch try log.append(p, receivedAt: receivedAt) {
        case .appended(let r):
            summary.appended += 1
            return r
        case .alreadyLogged:
            summary.alreadyLogged += 1
            return nil
        }
    }

    /// Appends a batch in its own transaction and commits it, before anything is processed: the consumer's
    /// first step. Returns the newly appended receives and the sequences of receives already logged.
    /// - Throws: ``SQLiteError``; then nothing of the batch was appended.
    public func append(batch: [IncomingMessage], summary: inout IngestSummary) throws
        -> (appended: [LoggedReceive], alreadyLogged: [Int64])
    {
        var local = IngestSummary()
        var already: [Int64] = []
        let appended = try log.write { () throws -> [LoggedReceive] in
            let now = clock()
            var appended: [LoggedReceive] = []
            appended.reserveCapacity(batch.count)
            for message in batch {
                local.received += 1
                if message.inputError != nil { local.inputErrors += 1 }
                switch try log.append(PreparedReceive(message), receivedAt: now) {
                case .appended(let r):
                    local.appended += 1
                    appended.append(r)
                case .alreadyLogged(let seq):
                    local.alreadyLogged += 1
                    already.append(seq)
                }
            }
            return appended
        }
        summary.add(local)
        return (appended, already)
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
        _ receives: [LoggedReceive], results: [[ProjectionResult]?], trigger: AttemptTrigger = .receive,
        summary: inout IngestSummary
    ) throws -> [LoggedAttempt] {
        let attempts = try log.write { try recordInTransaction(receives, results: results, trigger: trigger) }
        for a in attempts { summary.count(a.decision) }
        return attempts
    }

    /// ``record(_:results:trigger:summary:)``'s body. Must run inside `log.write`.
    func recordInTransaction(
        _ receives: [LoggedReceive], results: [[ProjectionResult]?], trigger: AttemptTrigger, attemptedAt: Int64? = nil
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
    /// - Parameter beforeWriting: called once before anything is written, only when there is something to
    ///   process (a command records its consumer identity there, so a run that writes nothing adds nothing).
    public func processUnprocessed(summary: inout IngestSummary, beforeWriting: () throws -> Void = {}) throws {
        let pending = try log.unprocessedReceives()
        guard !pending.isEmpty else { return }
        try beforeWriting()
        var local = IngestSummary()
        try log.write {
            let todo = try pending.filter { try log.attempts(receiveSeq: $0.seq).isEmpty }
            let attempts = try recordInTransaction(todo, results: todo.map { _ in [] }, trigger: .receive)
            local.resumed += attempts.count
            for a in attempts { local.count(a.decision) }
        }
        summary.add(local)
    }

    /// How a projection write that fails half-way is undone.
    enum ProjectionWriteGuard {
        /// In a savepoint: the write is rolled back, the decision becomes a transient failure.
        case perMessage
        /// Not at all: the whole transaction is to be rolled back (``ProjectionWriteFailed`` is thrown).
        case failBatch
    }

    /// Applies `decision` to the local projection (turning a failed write into a transient failure) and appends
    /// the attempt. Must run inside `log.write`.
    /// - Parameter preparedItem: an item and its JSON text built ahead (``PreparedMessage``), used for the attempt
    ///   when the decision's item is that item.
    func apply(
        _ r: LoggedReceive, decision: Decision, trigger: AttemptTrigger, attemptedAt: Int64,
        savepoint: ProjectionWriteGuard = .perMessage, preparedItem: (item: OrderItem, json: String)? = nil
    ) throws -> LoggedAttempt {
        var decision = decision
        if decision.outcome.isFinal {
            do {
                switch savepoint {
                case .perMessage: try log.db.savepoint("project") { try projection.apply(decision, receive: r) }
                case .failBatch:
                    do { try projection.apply(decision, receive: r) } catch { throw ProjectionWriteFailed() }
                }
            } catch let error as ProjectionWriteFailed {
                throw error
            } catch {
                decision = processor.transientFailure(
                    decision, code: "projection.write_failed", message: "writing the local projection failed: \(error)",
                    receive: r)
            }
        }
        let itemJSON: String?
        if let item = decision.item {
            if let preparedItem, preparedItem.item == item { itemJSON = preparedItem.json } else { itemJSON = item.json }
        } else {
            itemJSON = nil
        }
        let attempt = try log.appendAttempt(
            receive: r, decision: decision, processorVersion: processor.version,
            trigger: trigger, attemptedAt: attemptedAt, itemJSON: itemJSON)
        logger.debug(
            "Processed message",
            metadata: [
                "event.sequence": "\(r.seq)", "sqs.message_id": "\(r.messageId ?? "-")",
                "order.outcome": "\(decision.outcome.rawValue)",
            ])
        return attempt
    }
}
