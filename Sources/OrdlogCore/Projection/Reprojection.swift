import Foundation

/// What one `ordlog reproject` asks of ``Reprojector/rebuild(_:log:logPath:startedAt:shouldStop:onCheckpoint:onTestPause:publish:)``.
///
/// Where the projection is built: `intoPath` when given; else, for a DynamoDB table (`dynamoDBTable`), a staging
/// file beside the log (``stagingPath(logPath:)``), kept while the build is unfinished (a rerun resumes it) and
/// removed once the table is written; else the log's own projection, in place.
public struct ReprojectOptions: Sendable, Equatable {
    /// What to rebuild (default the whole log).
    public var target: ReprojectTarget = .all
    /// Log records per checkpoint (``Reprojector/defaultBatchSize``).
    public var batchSize = Reprojector.defaultBatchSize
    /// Build into this projection file instead of the log's own.
    public var intoPath: String?
    /// The result goes to DynamoDB: the name of the table (`"dynamodb"` in the staging file's name when nil).
    /// Nil with `forDynamoDB` false: a local projection.
    public var dynamoDBTable: String?
    /// The result goes to DynamoDB (the build is staged unless `intoPath` is given).
    public var forDynamoDB = false
    /// **Testing only.** After a committed checkpoint at or past this seq (and before the end), the run calls
    /// `onTestPause` and then sleeps for ever, so a test can SIGKILL the process at a known checkpoint. The
    /// `reproject` command reads it from `ORDLOG_TEST_PAUSE_AFTER_SEQ`. Nil (the default): no pause.
    public var testPauseAfterSeq: Int64?

    public init() {}

    /// The file the projection is built in: `intoPath`, else the staging file for DynamoDB, else nil (in place).
    public func buildPath(logPath: String) -> String? {
        intoPath ?? (forDynamoDB ? stagingPath(logPath: logPath) : nil)
    }

    /// The staging file of a DynamoDB rebuild: `<log>.reproject-<table>-<target key, ':' as '-'>.db`.
    public func stagingPath(logPath: String) -> String {
        logPath + ".reproject-\(dynamoDBTable ?? "dynamodb")-\(target.key.replacingOccurrences(of: ":", with: "-")).db"
    }
}

/// What a rebuild did.
public struct ReprojectReport {
    public var result: ReprojectResult
    /// The file built in (nil: the log's own projection).
    public var buildPath: String?
    /// What `publish` returned (nil when it returned nil or the run was interrupted).
    public var published: DynamoDBProjection.SyncResult?
}

/// Why a rebuild could not start; nothing was changed.
public struct ReprojectSetupError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// In place, on a log that continues sealed segments: its file alone does not hold the whole history.
        case continuesSealedSegments
        /// The projection file cannot be opened.
        case projectionUnusable
    }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

extension Reprojector {
    /// Rebuilds a projection as `ordlog reproject` does: chooses the build file, runs
    /// ``run(_:batchSize:startedAt:shouldStop:onCheckpoint:)``, and once complete hands the built projection to
    /// `publish` (which writes it into DynamoDB), then removes a staging file.
    ///
    /// ```swift
    /// var options = ReprojectOptions()
    /// options.intoPath = "/tmp/all.db"
    /// let report = try await Reprojector.rebuild(options, log: log, logPath: "orders.db", startedAt: now) { _ in nil }
    /// ```
    ///
    /// In place, the caller holds the log's writer lock.
    /// - Parameters:
    ///   - logPath: the log's path, for messages and the staging file's name.
    ///   - startedAt: ms since the epoch, recorded in the checkpoint.
    ///   - shouldStop: polled after each checkpoint; true stops the run (``ReprojectResult/interrupted``: the old
    ///     projection is untouched, a rerun continues). `publish` is then not called.
    ///   - onCheckpoint: after each committed checkpoint, with its seq and the seq the build goes to.
    ///   - onTestPause: called before the ``ReprojectOptions/testPauseAfterSeq`` pause, with the checkpoint's seq.
    ///   - publish: given the complete projection (the build file, or the log's own); returns what it wrote.
    /// - Returns: the result, the build file and what `publish` returned.
    /// - Throws: ``ReprojectSetupError`` before anything is built; ``SQLiteError`` from the build (the last
    ///   committed checkpoint stands); what `publish` throws (the build file is then kept).
    public static func rebuild(
        _ options: ReprojectOptions, log: EventLog, logPath: String, startedAt: Int64,
        shouldStop: () -> Bool = { false }, onCheckpoint: (Int64, Int64) -> Void = { _, _ in },
        onTestPause: (Int64) -> Void = { _ in },
        publish: (LocalProjection) async throws -> DynamoDBProjection.SyncResult?
    ) async throws -> ReprojectReport {
        let into = options.buildPath(logPath: logPath)
        // In place, only a log never sealed (read alone, a sealed log's live segment holds only its newest part).
        if into == nil, let start = log.segmentStart {
            throw ReprojectSetupError(
                kind: .continuesSealedSegments,
                message: "\(logPath) continues sealed segments (from seq \(start.firstSeq)): its projection "
                    + "cannot be rebuilt from this file alone. Build it from the whole chain with --into NEW.db")
        }
        let reprojector: Reprojector
        do { reprojector = try Reprojector(log: log, intoPath: into) } catch {
            throw ReprojectSetupError(
                kind: .projectionUnusable, message: "cannot open projection \(into ?? logPath): \(error)")
        }
        let result = try reprojector.run(
            options.target, batchSize: options.batchSize, startedAt: startedAt, shouldStop: shouldStop,
            onCheckpoint: { seq, through in
                onCheckpoint(seq, through)
                if let pauseAt = options.testPauseAfterSeq, seq >= pauseAt, seq < through {
                    onTestPause(seq)
                    while true { sleep(60) }
                }
            })
        var report = ReprojectReport(result: result, buildPath: into)
        guard !result.interrupted else { return report }
        report.published = try await publish(try LocalProjection.open(path: into ?? logPath))
        if report.published != nil, options.intoPath == nil, let into {
            // The build file beside the log was only a staging area: written into DynamoDB, it goes.
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: into + suffix) }
        }
        return report
    }
}
