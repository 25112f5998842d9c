import Foundation
import Metrics

/// The event log's one writer: owns the ``ProcessingStep`` (the SQLite connection, the local projection) so that the
/// receive loops of a consumer append and record through it one transaction at a time. Each call is one short
/// transaction; no call awaits the network, so the write lock is never held across one.
public actor LogWriter {
    private(set) var pipeline: ProcessingStep
    /// Counts of everything appended and recorded through this writer.
    public private(set) var summary = IngestSummary()
    private let appendTimer = Metrics.Timer(label: OrdlogMetricName.logAppendDuration)

    public init(_ pipeline: sending ProcessingStep) {
        self.pipeline = pipeline
    }

    /// A batch appended (committed) and decided against the local state, before any network projection.
    public struct Appended: Sendable {
        /// The newly appended receives, in log order.
        public var receives: [LoggedReceive]
        /// The first decision of each (against the local state right after the append).
        public var decisions: [Decision]
        /// Receipt handles of receives the log already held with a final outcome (delete them).
        public var alreadyFinal: [String]
    }

    /// Appends `batch` in one committed transaction, then decides each new receive (reads only).
    public func append(_ batch: [IncomingMessage]) throws -> Appended {
        let start = DispatchTime.now().uptimeNanoseconds
        let (appended, already) = try pipeline.append(batch: batch, summary: &summary)
        appendTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        var alreadyFinal: [String] = []
        for seq in already {
            if let r = try pipeline.log.receive(seq: seq), let handle = r.receiptHandle,
                try pipeline.log.attempts(receiveSeq: seq).last?.decision.outcome.isFinal == true
            {
                alreadyFinal.append(handle)
            }
        }
        return Appended(receives: appended, decisions: appended.map(pipeline.decide), alreadyFinal: alreadyFinal)
    }

    /// Receives appended by an earlier, interrupted run and never processed, with their first decisions.
    public func unprocessed() throws -> Appended {
        let pending = try pipeline.log.unprocessedReceives()
        summary.resumed += pending.count
        return Appended(receives: pending, decisions: pending.map(pipeline.decide), alreadyFinal: [])
    }

    /// Records the attempts (``ProcessingStep/record(_:results:trigger:summary:)``): one transaction.
    public func record(_ receives: [LoggedReceive], results: [[ProjectionResult]?]) throws -> [LoggedAttempt] {
        guard !receives.isEmpty else { return [] }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { appendTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start)) }
        return try pipeline.record(receives, results: results, summary: &summary)
    }

    /// Seals the log's current segment (``Segments/seal(_:directory:ordlogVersion:now:)``) between two
    /// transactions, and continues on the new live file. Nil when there is nothing to seal.
    /// - Throws: ``SegmentError`` with `isBusy` while a batch is in work (appended, not yet recorded): try again.
    public func seal(directory: String?, ordlogVersion: String) throws -> SealResult? {
        let old = pipeline
        guard
            let result = try Segments.seal(
                old.log, directory: directory, ordlogVersion: ordlogVersion, now: old.clock())
        else { return nil }
        let log = try EventLog(path: old.log.db.path, logger: old.log.logger)
        pipeline = ProcessingStep(log: log, processor: old.processor, clock: old.clock, logger: old.logger)
        return result
    }

    /// Runs `body` with the pipeline on the writer (for reads in tests and reports).
    public func withPipeline<T: Sendable>(_ body: (ProcessingStep) throws -> T) rethrows -> T { try body(pipeline) }
}
