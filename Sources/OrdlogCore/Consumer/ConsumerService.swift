import Foundation
import Logging
import OrdlogAWS

/// Where sealed segments are uploaded: ``SegmentArchive`` (S3), or a fake in tests.
public protocol SegmentUploading: Sendable {
    /// Where the segments go, as logged (`to`), e.g. `s3://bucket/prefix`.
    var destination: String { get }
    /// Uploads each segment and its manifest (idempotent: a segment already there is skipped).
    /// - Throws: whatever the upload fails with; ``ConsumerService`` logs it and tries again at the next interval.
    func upload(_ segments: [TrustedSegment]) async throws -> ArchiveSummary
}

extension SegmentArchive: SegmentUploading {
    /// The archive's ``S3Location``, `s3://BUCKET/PREFIX`.
    public var destination: String { location.description }
}

/// `ordlog consume` as one value a test can drive in-process: a ``Consumer``'s receive loops and, with
/// ``Archiving``, the periodic seal and upload beside them, with one stop path.
///
/// ```swift
/// let service = ConsumerService(
///     consumer: consumer,
///     archiving: .init(uploader: archive, directory: "orders.db.segments", interval: 900, ordlogVersion: "1.4.0"))
/// let report = try await service.run(stop: stop)  // stop.request() from a signal handler ends it
/// ```
///
/// The stop path: a stop request (``StopSignal/request()``) ends the consumer (no new receive starts, the
/// batches in work are finished, messages received after the stop are made visible again: see
/// ``Consumer/run(stop:progress:)``) and the archive loop's wait. A seal or upload already in progress is
/// finished, not cut. Once the consumer has ended (a stop, `maxMessages`, `untilEmpty`), what was logged since the
/// last seal is sealed and uploaded once more, the final archive (a task's disk may not outlive it), and then
/// ``run(stop:events:)`` returns. Cancelling the calling task ends both loops as a stop does, but the final
/// archive, cancelled too, may then neither seal nor upload.
public struct ConsumerService: Sendable {
    /// The periodic seal and upload of the log's sealed segments (`consume --archive-every --archive-to`).
    public struct Archiving: Sendable {
        /// Where sealed segments are uploaded.
        public var uploader: any SegmentUploading
        /// Where sealed segments are written (`<log>.segments` by default in the CLI).
        public var directory: String
        /// Seconds between two seals, counted from the end of the previous seal and upload.
        public var interval: Double
        /// Recorded in each segment's manifest.
        public var ordlogVersion: String
        /// Seconds between two seal attempts while a batch is in work (the seal waits for a moment between two
        /// transactions). Default 0.2.
        public var sealRetryInterval: Double = 0.2
        /// Logs `sealed a segment`, `archived segments` (notice) and `seal failed`, `archive failed` (error).
        public var logger: Logger

        public init(
            uploader: any SegmentUploading, directory: String, interval: Double, ordlogVersion: String,
            logger: Logger = Logger(label: "ordlog.archive", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.uploader = uploader
            self.directory = directory
            self.interval = interval
            self.ordlogVersion = ordlogVersion
            self.logger = logger
        }
    }

    /// What a run reports while it runs, one event at a time (never two calls at once).
    public enum Event: Sendable {
        /// Everything is connected and the log opened; the receive loops start next
        /// (only from ``run(_:aws:health:loggers:stop:openLog:events:)``).
        case started(Start)
        /// After every batch.
        case progress(ConsumerProgress)
        /// The receive loops have ended; the final archive (with ``Archiving``) follows.
        case consumerEnded
    }

    /// What ``run(_:aws:health:loggers:stop:openLog:events:)`` starts with, for the start-up line.
    public struct Start: Sendable {
        public var queueUrl: String
        /// The DynamoDB table, or nil for a local-only consumer.
        public var table: String?
        public var concurrency: Int
        /// Seconds; nil when the queue's own visibility timeout applies (the queue did not say).
        public var visibilityTimeout: Int?
        public var maxReceiveCount: Int64
        public var region: String
        public var consumerId: String
        /// Where records must be before their messages are deleted.
        public var durability: DurabilityMode
        /// With an archive: where segments (and, in the s3 mode, increments) go, and how often a seal happens
        /// (seconds); nil without one.
        public var archive: (location: String, sealEvery: Double)? = nil
        /// In the s3 mode: seconds between two increments, at most.
        public var incrementEvery: Double? = nil
    }

    public let consumer: Consumer
    public let archiving: Archiving?
    /// `--durability s3`: the increments, the periodic seal and upload (in place of ``archiving``).
    public let increments: S3Increments?

    /// - Parameters:
    ///   - consumer: the consumer; its ``Consumer/writer`` is the log the archive seals.
    ///   - archiving: the periodic seal and upload, or nil for none.
    ///   - increments: the S3 durability gate (the consumer's writer's ``LogWriter/gate``), which also seals and
    ///     uploads; then `archiving` is not used.
    public init(consumer: Consumer, archiving: Archiving? = nil, increments: S3Increments? = nil) {
        self.consumer = consumer
        self.archiving = increments == nil ? archiving : nil
        self.increments = increments
    }

    /// Consumes until `stop` is requested (or the consumer ends on its own), archiving every
    /// ``Archiving/interval`` seconds, then archives once more (see the type's description).
    ///
    /// Archive failures are logged and retried at the next interval; they never end the run.
    /// - Parameters:
    ///   - stop: the one stop request (SIGTERM/SIGINT in the CLI).
    ///   - events: told of the progress after every batch and of the consumer's end, one event at a time.
    /// - Returns: the consumer's report (``ConsumerReport/stopped`` when a stop request ended it).
    /// - Throws: what ``Consumer/run(stop:progress:)`` throws (``SQLiteError``, a fatal receive error), once a seal
    ///   or upload in progress has finished; there is no final archive then.
    public func run(
        stop: StopSignal = StopSignal(), events: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws -> ConsumerReport {
        let events = OneAtATime(events)
        let writer = consumer.writer
        // The archive loop is a child task (cancelled with the caller, on the caller's executor): ended when the
        // consumer has ended, whatever ended it.
        let report = try await withThrowingTaskGroup(of: Void.self) { group in
            if let archiving { group.addTask { await archiving.loop(writer: writer, stop: stop) } }
            if let increments { group.addTask { await increments.run(writer: writer, stop: stop) } }
            let report = try await consumer.run(stop: stop) { events.send(.progress($0)) }
            events.send(.consumerEnded)
            group.cancelAll()
            try await group.waitForAll()
            return report
        }
        await archiving?.archiveOnce(writer: writer)
        await increments?.finish(writer: writer)
        return report
    }
}

extension ConsumerService.Archiving {
    /// Every `interval` seconds until cancelled or stopped (either ends only the wait): seal inside the writer,
    /// then upload the sealed segments outside it, so the log is never held across the upload.
    func loop(writer: LogWriter, stop: StopSignal) async {
        while !Task.isCancelled && !stop.isRequested {
            await stop.sleep(interval)
            if Task.isCancelled || stop.isRequested { return }
            // Not cancelled with the loop: a seal or upload in progress finishes (the final archive follows it).
            await Task.detached { await self.archiveOnce(writer: writer) }.value
        }
    }

    /// Seals (retrying while a batch is in work, unless cancelled) and uploads every sealed segment.
    func archiveOnce(writer: LogWriter) async {
        var sealed = false
        while !Task.isCancelled && !sealed {
            do {
                if let r = try await writer.seal(directory: directory, ordlogVersion: ordlogVersion) {
                    logger.notice("sealed a segment", metadata: ["segment": "\(r.segmentPath)"])
                }
                sealed = true
            } catch let e as SegmentError where e.isBusy {
                try? await Task.sleep(nanoseconds: UInt64(sealRetryInterval * 1e9))
            } catch {
                logger.error("seal failed", metadata: ["error": "\(error)"])
                break
            }
        }
        do {
            let summary = try await uploader.upload(Segments.trustedSegments(in: directory))
            if !summary.uploaded.isEmpty {
                logger.notice(
                    "archived segments",
                    metadata: ["count": "\(summary.uploaded.count)", "to": "\(uploader.destination)"])
            }
        } catch is CancellationError {
            // Stopping: the final archive after the run uploads it.
        } catch {
            logger.error("archive failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Calls a handler one call at a time, whichever receive loop sends.
private final class OneAtATime<Value: Sendable>: Sendable {
    private let turn = Locked<Void>(())
    private let handler: @Sendable (Value) -> Void

    init(_ handler: @escaping @Sendable (Value) -> Void) { self.handler = handler }

    func send(_ value: Value) { turn.withLock { _ in handler(value) } }
}
