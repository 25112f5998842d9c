import Foundation

/// Counts of replayed decisions by outcome.
public struct ReplayCounts: OutcomeCounts, Sendable, Equatable {
    public var replayed = 0
    public var projected = 0
    public var duplicate = 0
    public var stale = 0
    public var rejected = 0
    public var failed = 0
    public var deadLettered = 0

    public init() {}

    /// Counts one replayed decision.
    mutating func replayed(_ d: Decision) {
        replayed += 1
        count(d)
    }
}

/// One decision made by a replay.
public struct ReplayedDecision: Sendable, Equatable {
    public var seq: Int64
    public var messageId: String?
    public var receiveCount: Int64
    public var decision: Decision
}

/// A replayed decision that differs from the recorded one (see ``Decision/sameVerdict(as:)``).
public struct VerdictDifference: Sendable, Equatable {
    public var seq: Int64
    public var messageId: String?
    public var receiveCount: Int64
    /// The recorded decision (the receive's first attempt with trigger `receive`), nil when none was recorded.
    public var recorded: Decision?
    public var replayed: Decision
}

/// What a replay did.
public struct ReplayResult: Sendable {
    public var counts = ReplayCounts()
    /// ``OrdersDigest`` of the projection after the replay (``ReplayProjection/digest()``).
    public var digest = ""
    /// The number of orders in the projection after the replay.
    public var orders = 0
    public var processorVersion = ""
    /// Decisions compared with a recorded one (only with `verdict`).
    public var compared = 0
    /// Every difference, in log order (only with `verdict`).
    public var differences: [VerdictDifference] = []
}

extension Decision {
    /// True when `other` decided the same thing: outcome, error kind, code and field, dead-lettering, order,
    /// SNS MessageId and item. The human-readable `errorMessage` and `note` are not compared (their wording
    /// may change, and notes name log sequences).
    public func sameVerdict(as other: Decision) -> Bool {
        outcome == other.outcome && errorKind == other.errorKind && errorCode == other.errorCode
            && errorField == other.errorField && deadLettered == other.deadLettered && orderId == other.orderId
            && snsMessageId == other.snsMessageId && item == other.item
    }
}

/// Runs logged receives through an ``OrderProcessor`` again, in log order, into a projection: by default
/// ``MemoryProjection`` (no file), or a ``LocalProjection`` file (`replay --into`).
///
/// The engine, ``run(_:processor:filter:into:verdict:batchSize:onDecision:progress:)``, consumes an ordered
/// ``LogRecordSource`` (one log's ``LogCursor``, or a reader merging several logs), one record at a time:
/// memory is the projection's plus the receives awaiting their recorded attempt for the verdict (at most one
/// ingest batch). ``run(filter:into:verdict:batchSize:concurrent:onDecision:progress:)`` reads and interprets
/// one log on a second thread (``InterpretingReader``), bounded to a few chunks of records; the engine itself
/// decides on the calling thread, in order. Writes to a SQLite projection are committed in batches, never one
/// transaction per event.
/// Each receive is decided once; redrive attempts in the log are not replayed. The processor reads no clock,
/// time zone or locale, so the decisions and digest are the same on every machine.
public final class Replayer {
    public let log: EventLog
    public let processor: OrderProcessor

    public init(log: EventLog, processor: OrderProcessor) {
        self.log = log
        self.processor = processor
    }

    /// Replays the receives of this log matching `filter` into `projection`, streaming the log with one
    /// ``LogCursor`` (receives only, and only the columns deciding reads, unless `verdict` needs the attempts).
    ///
    /// With `concurrent` (the default), the replay uses two threads: a reader thread steps the cursor and
    /// computes each matching receive's ``OrderProcessor/interpret(body:inputError:)`` (the pure, state-free
    /// half of deciding) ahead of the calling thread — except for chunks read when nothing is queued for the
    /// calling thread, which it interprets itself, so the work is shared — and the calling thread does everything else
    /// exactly as a sequential replay does, in log order: ``OrderProcessor/decide(_:receive:state:)`` against the projection, applying,
    /// counting, the verdict, `onDecision` and `progress`. Records are handed over in chunks of
    /// ``pipelineChunk`` through a queue of at most ``pipelineDepth`` chunks, so memory stays bounded. The
    /// decisions, counts, verdicts and digest are the same either way. While the replay runs, the log's
    /// connection belongs to the reader thread: `onDecision`, `progress` and the projection must not use it (a
    /// ``LocalProjection`` on the log's own connection is replayed sequentially). The reader thread has ended
    /// when this returns or throws.
    /// - Parameters:
    ///   - verdict: compare each decision with the recorded one and collect the differences.
    ///   - batchSize: decisions per transaction of a SQLite projection.
    ///   - concurrent: interpret receives on a second thread (false: one thread, one record at a time).
    ///   - onDecision: called for every decision, in log order, on the calling thread.
    ///   - progress: called every few thousand decisions with the current seq and the count so far.
    /// - Throws: ``SQLiteError`` when the log cannot be read or the projection written, or what `onDecision`
    ///   throws.
    public func run(
        filter: LogFilter, into projection: some ReplayProjection, verdict: Bool = false, batchSize: Int = 10_000,
        concurrent: Bool = true,
        onDecision: (ReplayedDecision) throws -> Void = { _ in },
        progress: (Int64, Int) -> Void = { _, _ in }
    ) throws -> ReplayResult {
        let resolved = try filter.resolve(in: log)
        var cursor = try log.records(from: filter.fromSeq, attempts: verdict, decisionColumnsOnly: true)
        let sharesConnection = (projection as? LocalProjection).map { $0.db === log.db } ?? false
        if concurrent && !sharesConnection {
            return try Self.runConcurrently(
                cursor, processor: processor, filter: resolved, into: projection, verdict: verdict,
                batchSize: batchSize, onDecision: onDecision, progress: progress)
        }
        return try Self.run(
            &cursor, processor: processor, filter: resolved, into: projection, verdict: verdict,
            batchSize: batchSize, onDecision: onDecision, progress: progress)
    }

    /// ``run(_:processor:filter:into:verdict:batchSize:onDecision:progress:)`` with `records` read and
    /// interpreted on a reader thread (``InterpretingReader``), which owns `records` from now on and has ended
    /// when this returns or throws.
    static func runConcurrently<Records: LogRecordSource>(
        _ records: Records, processor: OrderProcessor, filter: ResolvedLogFilter,
        into projection: some ReplayProjection, verdict: Bool, batchSize: Int,
        chunkSize: Int = pipelineChunk, depth: Int = pipelineDepth, interpreting: InterpretAhead = .whenEngineBusy,
        onDecision: (ReplayedDecision) throws -> Void, progress: (Int64, Int) -> Void
    ) throws -> ReplayResult {
        var source = InterpretingReader(
            records, processor: processor, filter: filter, chunkSize: chunkSize, depth: depth, interpreting: interpreting)
        defer { source.stop() }
        return try engine(
            &source, processor: processor, filter: filter, into: projection, verdict: verdict, batchSize: batchSize,
            onDecision: onDecision, progress: progress)
    }

    /// Records per hand-off from the reader thread of a concurrent replay.
    public static let pipelineChunk = 256
    /// Chunks a concurrent replay's reader thread may be ahead of the deciding thread.
    public static let pipelineDepth = 3

    /// The replay engine: decides every receive of `records` matching `filter`, in the order given, against
    /// and into `projection`; with `verdict`, compares each with the first `receive`-triggered attempt of that
    /// receive seen later in `records`.
    ///
    /// `records` must be ordered (each receive before its attempts; receives in the order to decide them).
    /// Stops after the last record, or at the first record past `filter.toSeq` once no receive awaits its
    /// recorded attempt.
    /// - Throws: what `records`, the projection or `onDecision` throw (a SQLite projection's open batch is
    ///   rolled back).
    public static func run(
        _ records: inout some LogRecordSource, processor: OrderProcessor, filter: ResolvedLogFilter,
        into projection: some ReplayProjection, verdict: Bool = false, batchSize: Int = 10_000,
        onDecision: (ReplayedDecision) throws -> Void = { _ in },
        progress: (Int64, Int) -> Void = { _, _ in }
    ) throws -> ReplayResult {
        var source = SequentialSource(records: records)
        defer { records = source.records }
        return try engine(
            &source, processor: processor, filter: filter, into: projection, verdict: verdict, batchSize: batchSize,
            onDecision: onDecision, progress: progress)
    }

    /// The one replay loop, over records that may come with their receive's interpretation already computed.
    static func engine(
        _ records: inout some InterpretedRecordSource, processor: OrderProcessor, filter: ResolvedLogFilter,
        into projection: some ReplayProjection, verdict: Bool, batchSize: Int,
        onDecision: (ReplayedDecision) throws -> Void, progress: (Int64, Int) -> Void
    ) throws -> ReplayResult {
        var result = ReplayResult()
        result.processorVersion = processor.version
        let toSeq = filter.filter.toSeq
        var pending: [Int64: ReplayedDecision] = [:]
        try projection.beginReplay()
        var inBatch = 0
        do {
            loop: while let (record, interpreted) = try records.next() {
                switch record {
                case .receive(let r):
                    if r.seq > toSeq {
                        if verdict && !pending.isEmpty { continue loop }
                        break loop
                    }
                    guard filter.matches(r) else { continue loop }
                    let interpretation = interpreted ?? processor.interpret(body: r.body, inputError: r.inputError)
                    let d = processor.decide(interpretation, receive: r, state: projection)
                    if d.outcome.isFinal { try projection.apply(d, receive: r) }
                    result.counts.replayed(d)
                    let replayed = ReplayedDecision(
                        seq: r.seq, messageId: r.messageId, receiveCount: r.receiveCount, decision: d)
                    try onDecision(replayed)
                    if verdict { pending[r.seq] = replayed }
                    inBatch += 1
                    if inBatch >= batchSize {
                        try projection.replayBatchEnded()
                        inBatch = 0
                    }
                    if result.counts.replayed % 4096 == 0 { progress(r.seq, result.counts.replayed) }
                case .attempt(let a):
                    if verdict, a.trigger == .receive, let p = pending.removeValue(forKey: a.receiveSeq) {
                        result.compared += 1
                        if !p.decision.sameVerdict(as: a.decision) {
                            result.differences.append(
                                VerdictDifference(
                                    seq: p.seq, messageId: p.messageId, receiveCount: p.receiveCount,
                                    recorded: a.decision, replayed: p.decision))
                        }
                    }
                    if a.seq > toSeq, pending.isEmpty { break loop }
                }
            }
            try projection.endReplay()
        } catch {
            projection.abortReplay()
            throw error
        }
        for p in pending.values.sorted(by: { $0.seq < $1.seq }) {
            result.differences.append(
                VerdictDifference(
                    seq: p.seq, messageId: p.messageId, receiveCount: p.receiveCount, recorded: nil,
                    replayed: p.decision))
        }
        result.differences.sort { $0.seq < $1.seq }
        result.digest = try projection.digest()
        result.orders = try projection.orderCount()
        return result
    }

    /// Loads captured traffic (any ``TrafficFormat``) into a fresh event log at `path`, without processing
    /// it, so it can be replayed without touching the real log. Received-at times are 0 (not the wall
    /// clock), so the result is the same on every run.
    public static func trafficLog(file: String, path: String) throws -> (EventLog, TrafficFormat, Int) {
        let (format, messages) = try TrafficReader.read(path: file)
        let log = try EventLog(path: path)
        try log.write {
            for m in messages { _ = try log.append(m, receivedAt: 0) }
        }
        return (log, format, messages.count)
    }
}
