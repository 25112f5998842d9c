import Foundation

/// What one `ordlog replay` asks of ``Replayer/replay(_:progress:)``: the replay itself and what is recorded
/// around it.
///
/// Defaults: the whole log, no verdict, into a ``MemoryProjection``, 10 000 decisions per transaction, reading
/// on a second thread, nothing recorded.
public struct ReplayOptions: Sendable, Equatable {
    /// Which receives are replayed.
    public var filter = LogFilter()
    /// Compare each decision with the recorded one (``ReplayResult/differences``).
    public var verdict = false
    /// Decisions per transaction of a SQLite projection (`intoPath`).
    public var batchSize = 10_000
    /// Read and interpret the log on a second thread (false: one thread; the same results).
    public var concurrent = true
    /// Replay into a new SQLite projection file here (it must hold no orders); nil: in memory.
    public var intoPath: String?
    /// Write every decision as an expectations line (``Expectations/line(_:)``) to this file, replacing it.
    public var recordExpectationsPath: String?
    /// Compare the decisions with this expectations file (``Expectations/compare(expected:actual:)``).
    public var expectationsPath: String?
    /// Keep every decision in ``ReplayReport/decisions``.
    public var keepDecisions = false

    public init(
        filter: LogFilter = LogFilter(), verdict: Bool = false, batchSize: Int = 10_000, concurrent: Bool = true,
        intoPath: String? = nil, recordExpectationsPath: String? = nil, expectationsPath: String? = nil,
        keepDecisions: Bool = false
    ) {
        self.filter = filter
        self.verdict = verdict
        self.batchSize = batchSize
        self.concurrent = concurrent
        self.intoPath = intoPath
        self.recordExpectationsPath = recordExpectationsPath
        self.expectationsPath = expectationsPath
        self.keepDecisions = keepDecisions
    }
}

/// What a replay did, with what was recorded around it.
public struct ReplayReport {
    /// Counts, digest, orders, verdict.
    public var result: ReplayResult
    /// Every decision in log order, when ``ReplayOptions/keepDecisions``; else empty.
    public var decisions: [ReplayedDecision]
    /// The differences from ``ReplayOptions/expectationsPath`` (empty: as expected); nil when none was given.
    public var expectationDifferences: [Expectations.Difference]?
    /// The projection replayed into (a ``MemoryProjection`` or the ``LocalProjection`` at `intoPath`), to read
    /// or copy elsewhere (a DynamoDB shadow table).
    public var projection: any ReplayProjection
}

/// Why a replay could not start; nothing was replayed.
public struct ReplaySetupError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The expectations file cannot be read or is not expectations lines.
        case expectationsUnreadable
        /// The `intoPath` projection cannot be opened, or already holds orders.
        case projectionUnusable
        /// The file to record expectations into cannot be created.
        case expectationsUnwritable
    }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

extension Replayer {
    /// Replays the log as `ordlog replay` does: reads the expectations file, opens the projection (in memory, or
    /// a new or empty file), runs ``run(filter:into:verdict:batchSize:concurrent:onDecision:progress:)``, writes
    /// the expectations file and compares with the expected one.
    ///
    /// ```swift
    /// var options = ReplayOptions()
    /// options.recordExpectationsPath = "expect.jsonl"
    /// let report = try Replayer(log: log, processor: OrderProcessor()).replay(options)
    /// ```
    ///
    /// The log is read once, in order, with a small page cache (4 MiB: the B-tree's inner pages; a large cache
    /// only holds pages never read again). Expectation lines are written in chunks of 64 KiB; the file holds
    /// every decision once this returns.
    /// - Parameter progress: called every few thousand decisions with the current seq and the count so far.
    /// - Returns: the result, the decisions kept, the expectation differences and the projection.
    /// - Throws: ``ReplaySetupError`` before replaying anything (in this order: expectations file, projection,
    ///   file to record into); ``SQLiteError`` when the log cannot be read or the projection written.
    public func replay(_ options: ReplayOptions, progress: (Int64, Int) -> Void = { _, _ in }) throws -> ReplayReport {
        try log.db.execute("PRAGMA cache_size=-4096")
        var expected: [JSONObject]?
        if let path = options.expectationsPath {
            do { expected = try Expectations.read(path: path) } catch let error as TrafficFileError {
                throw ReplaySetupError(kind: .expectationsUnreadable, message: "\(error)")
            }
        }
        guard let into = options.intoPath else {
            return try replay(options, into: MemoryProjection(), expected: expected, progress: progress)
        }
        let projection: LocalProjection
        do { projection = try LocalProjection.open(path: into) } catch {
            throw ReplaySetupError(kind: .projectionUnusable, message: "cannot open projection \(into): \(error)")
        }
        let n = try projection.orderCount()
        if n > 0 {
            throw ReplaySetupError(
                kind: .projectionUnusable,
                message: "\(into) already holds \(n) orders; --into needs a new or empty projection file")
        }
        return try replay(options, into: projection, expected: expected, progress: progress)
    }

    private func replay(
        _ options: ReplayOptions, into projection: some ReplayProjection, expected: [JSONObject]?,
        progress: (Int64, Int) -> Void
    ) throws -> ReplayReport {
        var recorder = try options.recordExpectationsPath.map(ExpectationsRecorder.init(path:))
        var actual: [JSONObject] = []
        var kept: [ReplayedDecision] = []
        let result = try run(
            filter: options.filter, into: projection, verdict: options.verdict, batchSize: options.batchSize,
            concurrent: options.concurrent,
            onDecision: { d in
                recorder?.add(d)
                if expected != nil, case .object(let o) = Expectations.json(d) { actual.append(o) }
                if options.keepDecisions { kept.append(d) }
            },
            progress: progress)
        try recorder?.close()
        return ReplayReport(
            result: result, decisions: kept,
            expectationDifferences: expected.map { Expectations.compare(expected: $0, actual: actual) },
            projection: projection)
    }
}

/// Writes expectation lines to a file, buffered.
struct ExpectationsRecorder {
    let file: FileHandle
    var buffer: [UInt8] = []

    /// Creates (or empties) the file at `path`.
    /// - Throws: ``ReplaySetupError`` (`expectationsUnwritable`) when it cannot be created.
    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let h = FileHandle(forWritingAtPath: path)
        else { throw ReplaySetupError(kind: .expectationsUnwritable, message: CannotWrite.message(path)) }
        file = h
    }

    /// The first write error (a full disk), kept for ``close()``: `FileHandle.write(_:)` would trap on it.
    var failure: (any Error)?

    mutating func add(_ d: ReplayedDecision) {
        buffer += Expectations.line(d)
        if buffer.count > 1 << 16 { flush() }
    }

    private mutating func flush() {
        guard failure == nil else { return buffer.removeAll(keepingCapacity: true) }
        do { try file.write(contentsOf: buffer) } catch { failure = error }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and closes the file.
    /// - Throws: the first write error, or the close's.
    mutating func close() throws {
        flush()
        try file.close()
        if let failure { throw failure }
    }
}
