import Foundation

#if canImport(Glibc)
    import Glibc
#endif
import Metrics

/// The event log's one writer: owns the ``ProcessingStep`` (the SQLite connection, the local projection) so that the
/// receive loops of a consumer append and record through it one transaction at a time. Each call is one short
/// transaction; no call awaits the network, so the write lock is never held across one.
public actor LogWriter {
    private(set) var pipeline: ProcessingStep
    /// Counts of everything appended and recorded through this writer.
    public private(set) var summary = IngestSummary()
    private let appendTimer = Metrics.Timer(label: OrdlogMetricName.logAppendDuration)
    /// Told of every commit (the consumer waits on it before deleting).
    public private(set) var gate: any DurabilityGate
    /// Receives appended (or found unprocessed) whose attempts are not recorded yet.
    private var pendingReceives = 0
    /// Appends held back while ``quiesced(_:)`` waits for the batches in work.
    private var holding = false
    private var heldAppends: [CheckedContinuation<Void, Never>] = []
    private var quiescedWaiter: CheckedContinuation<Void, Never>?

    /// - Parameter gate: told of every commit; ``CommitIsEnough`` by default.
    public init(_ pipeline: sending ProcessingStep, gate: any DurabilityGate = CommitIsEnough()) {
        self.pipeline = pipeline
        self.gate = gate
        gate.committed(upTo: pipeline.log.knownHeadSeq)
    }

    /// The seq of the log's newest record (0 for an empty log).
    public var headSeq: Int64 { pipeline.log.knownHeadSeq }

    /// Replaces the durability gate (one that reads the log to start, ``S3Increments``, is made after the writer),
    /// before the consumer runs.
    public func use(gate: any DurabilityGate) {
        self.gate = gate
        gate.committed(upTo: headSeq)
    }

    /// A batch appended (committed) and decided against the local state, before any network projection.
    public struct Appended: Sendable {
        /// The newly appended receives, in log order.
        public var receives: [LoggedReceive]
        /// The first decision of each (against the local state right after the append).
        public var decisions: [Decision]
        /// Receipt handles of receives the log already held with a final outcome (delete them).
        public var alreadyFinal: [String]
        /// The log's head right after the append: the records a delete of ``alreadyFinal`` depends on are at or
        /// before it.
        public var headSeq: Int64 = 0
    }

    /// Appends `batch` in one committed transaction, then decides each new receive (reads only). Waits first while
    /// ``quiesced(_:)`` holds appends back.
    public func append(_ batch: [IncomingMessage]) async throws -> Appended {
        while holding { await withCheckedContinuation { heldAppends.append($0) } }
        let start = DispatchTime.now().uptimeNanoseconds
        let (appended, already) = try pipeline.append(batch: batch, summary: &summary)
        appendTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        pendingReceives += appended.count
        gate.committed(upTo: headSeq)
        var alreadyFinal: [String] = []
        for seq in already {
            if let r = try pipeline.log.receive(seq: seq), let handle = r.receiptHandle,
                try pipeline.log.attempts(receiveSeq: seq).last?.decision.outcome.isFinal == true
            {
                alreadyFinal.append(handle)
            }
        }
        return Appended(
            receives: appended, decisions: appended.map(pipeline.decide), alreadyFinal: alreadyFinal, headSeq: headSeq)
    }

    /// Receives appended by an earlier, interrupted run and never processed, with their first decisions.
    public func unprocessed() throws -> Appended {
        let pending = try pipeline.log.unprocessedReceives()
        summary.resumed += pending.count
        pendingReceives += pending.count
        return Appended(
            receives: pending, decisions: pending.map(pipeline.decide), alreadyFinal: [], headSeq: headSeq)
    }

    /// Records the attempts (``ProcessingStep/record(_:results:trigger:summary:)``): one transaction.
    public func record(_ receives: [LoggedReceive], results: [[ProjectionResult]?]) throws -> [LoggedAttempt] {
        guard !receives.isEmpty else { return [] }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { appendTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start)) }
        // Counted done even when the write fails: the run then ends, and a quiesced(_:) waiting must not hang.
        defer {
            pendingReceives -= receives.count
            if pendingReceives <= 0, let w = quiescedWaiter {
                quiescedWaiter = nil
                w.resume()
            }
        }
        let attempts = try pipeline.record(receives, results: results, summary: &summary)
        gate.committed(upTo: headSeq)
        return attempts
    }

    /// Runs `body` at a moment when every appended receive has its attempt recorded: holds new appends back, waits
    /// for the batches in work to be recorded, runs `body`, lets the appends go on. The log's records up to its
    /// head are then closed: no attempt recorded later refers to a receive among them (a segment or an increment
    /// cut there holds each attempt with its receive).
    ///
    /// The wait lasts as long as the slowest batch in work (its network projection); one caller at a time.
    public func quiesced<T>(_ body: (ProcessingStep) throws -> T) async rethrows -> T {
        await holdAppends()
        defer { releaseAppends() }
        return try body(pipeline)
    }

    private func holdAppends() async {
        // One holder at a time: a second waits for the first to release.
        while holding { await withCheckedContinuation { heldAppends.append($0) } }
        holding = true
        if pendingReceives > 0 { await withCheckedContinuation { quiescedWaiter = $0 } }
    }

    private func releaseAppends() {
        holding = false
        let held = heldAppends
        heldAppends = []
        for c in held { c.resume() }
    }

    /// Seals the log's current segment (``Segments/seal(_:directory:ordlogVersion:now:)``) at a moment when no batch
    /// is in work (``quiesced(_:)``), and continues on the new live file. Nil when there is nothing to seal.
    /// - Throws: ``SegmentError`` (with `isBusy` when another process has the log open: try again).
    public func seal(directory: String?, ordlogVersion: String) async throws -> SealResult? {
        await holdAppends()
        defer { releaseAppends() }
        let old = pipeline
        guard
            let result = try Segments.seal(
                old.log, directory: directory, ordlogVersion: ordlogVersion, now: old.clock())
        else { return nil }
        let log = try EventLog(path: old.log.db.path, logger: old.log.logger)
        pipeline = ProcessingStep(log: log, processor: old.processor, clock: old.clock, logger: old.logger)
        return result
    }

    /// Starts the log over as the continuation of a chain kept elsewhere (``S3Increments``: a task replaced with its
    /// disk, started again under the same consumer id): the live file is replaced by one that begins with `start`,
    /// and the identity records it held are appended again after it. Only a log that holds no receive, no attempt
    /// and no segment start can start over: nothing is lost.
    /// - Throws: ``SegmentError`` when the log holds records other than identities; ``SQLiteError``.
    public func startOver(continuing start: SegmentStart) async throws {
        await holdAppends()
        defer { releaseAppends() }
        let old = pipeline
        let db = old.log.db
        let path = db.path
        guard old.log.segmentStart == nil,
            try db.scalarInt("SELECT (SELECT count(*) FROM receives) + (SELECT count(*) FROM attempts)") == 0
        else {
            throw SegmentError("\(path) already holds records of its own: it cannot continue another chain")
        }
        let identities = try old.log.identities()
        let next = path + ".continuing-\(getpid())"
        unlink(next)
        defer { unlink(next) }
        do {
            let c = try SQLiteConnection(path: next)
            try Migrations.migrate(c)
            try start.insert(into: c)
        }
        try Segments.fsyncFile(next)
        // Out of WAL mode first: a WAL left beside the new file would be read as its own.
        guard try db.scalarText("PRAGMA journal_mode=DELETE") == "delete" else {
            throw SegmentError.busy("\(path) is open in another process: it cannot start over")
        }
        try Segments.renameSynced(next, path)
        let log = try EventLog(path: path, logger: old.log.logger)
        try log.write {
            for i in identities { _ = try log.appendIdentity(i.identity, recordedAt: i.recordedAt) }
        }
        pipeline = ProcessingStep(log: log, processor: old.processor, clock: old.clock, logger: old.logger)
        gate.committed(upTo: headSeq)
    }

    /// Runs `body` with the pipeline on the writer (for reads in tests and reports).
    public func withPipeline<T: Sendable>(_ body: (ProcessingStep) throws -> T) rethrows -> T { try body(pipeline) }
}
