import Foundation
import Logging

/// Where increments go: ``SegmentArchive`` (S3), or a fake in tests.
public protocol IncrementStore: SegmentUploading {
    /// Puts an increment (segment, then manifest); a key already holding the same bytes counts as put.
    func put(_ increment: SegmentIncrement) async throws
    /// The manifests of one consumer's segments and increments (by name).
    func listed(consumerFileId: String) async throws -> [SegmentName]
    /// One manifest, or nil.
    func manifest(_ name: SegmentName) async throws -> SegmentManifest?
    /// Deletes the increments a sealed segment in the store covers; returns their names.
    func deleteCovered(by sealed: SegmentManifest) async throws -> [SegmentName]
}

extension SegmentArchive: IncrementStore {}

/// `consume --durability s3`: no message is deleted before its records are in S3.
///
/// While messages wait to be deleted, at most every ``Settings/incrementInterval`` seconds the log is cut where no
/// batch is in work (``LogWriter/quiesced(_:)``, appends held back for as long as the slowest batch in work takes
/// to be recorded) and the records since the last upload are put in S3 as an increment
/// (``Segments/increment(livePath:firstSeq:lastSeq:prevHash:consumerId:prevSegment:queue:ordlogVersion:now:)``):
/// a segment in every way a reader sees, chained to the one before it. The waiters it covers are then let go.
///
/// Every ``Settings/sealInterval`` seconds (`--archive-every`), and once more when the run ends, the log is sealed
/// and the segment uploaded as `consume --archive-every` does; the increments it covers are then deleted from S3.
/// So at the default settings one consumer leaves 2 objects (segment and manifest) per seal interval (192 a day at
/// 15 minutes), and holds at most 2 per increment interval between two seals (1,800 at 1 s and 15 minutes).
///
/// Uploads that fail are retried with back-off; the waiting messages stay invisible meanwhile (the batch
/// heartbeat), so nothing is deleted and nothing is lost; an upload refused for good (a key holding other bytes)
/// fails every waiter, which ends the run.
public final class S3Increments: DurabilityGate, Sendable {
    public struct Settings: Sendable {
        /// Seconds between two increments, at most one per interval and only while messages wait. Default 1.
        public var incrementInterval: Double = 1
        /// Seconds between two seals (whose segments replace the increments in S3). Default 900.
        public var sealInterval: Double = 900
        /// Where sealed segments are written locally.
        public var directory: String
        /// Recorded in each manifest.
        public var ordlogVersion: String
        /// The queue consumed (recorded in increments' manifests).
        public var queue: String

        public init(directory: String, ordlogVersion: String, queue: String) {
            self.directory = directory
            self.ordlogVersion = ordlogVersion
            self.queue = queue
        }
    }

    /// Where the chain stands in S3: the last record uploaded, its hash, and the object that holds it.
    struct Uploaded: Sendable {
        var seq: Int64
        var hash: [UInt8]
        var name: String
    }

    /// What went to S3 in a run (for tests and the closing line).
    public struct Counts: Sendable, Equatable {
        public var increments = 0
        public var seals = 0
        public var incrementsDeleted = 0
    }

    let store: any IncrementStore
    let settings: Settings
    let logger: Logger
    private let waiters: Locked<DurableHeadWaiters>
    private let uploaded: Locked<Uploaded>
    private let counts = Locked(Counts())

    public var uploadCounts: Counts { counts.withLock { $0 } }

    init(store: any IncrementStore, settings: Settings, logger: Logger, start: Uploaded) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.waiters = Locked(DurableHeadWaiters(head: start.seq))
        self.uploaded = Locked(start)
    }

    /// Checks the log against S3 before the consumer starts and returns the gate.
    ///
    /// First the log's sealed local segments are uploaded (a rerun after an archive that did not finish). Then the
    /// chain of this log's consumer in S3 must end inside the log: at or after the live file's first record, at or
    /// before its head, with the same hash there. The records after that point are uploaded by the first increment.
    /// A new log (no receive yet, never sealed) whose consumer id has a chain in S3 continues it
    /// (``LogWriter/startOver(continuing:)``): a task replaced with its disk and started again under the same
    /// consumer id (a StatefulSet pod on `emptyDir`, a fixed `--consumer-id`) goes on with the same chain.
    /// - Throws: ``SegmentError`` when S3 holds records of this consumer that a log with records of its own does
    ///   not (another consumer running with the same id), or lacks records the log says are sealed; the store's
    ///   errors.
    public static func start(
        writer: LogWriter, store: any IncrementStore, settings: Settings,
        logger: Logger = Logger(label: "ordlog.archive", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws -> S3Increments {
        let local = Segments.trustedSegments(in: settings.directory)
        let uploaded = try await store.upload(local)
        for t in local where uploaded.uploaded.contains(t.manifest.name) {
            _ = try await store.deleteCovered(by: t.manifest)  // a seal whose compaction a stop cut short
        }
        let (path, start, head, consumer) = try await writer.withPipeline { step in
            (
                step.log.db.path, step.log.segmentStart, step.log.knownHeadSeq,
                try step.log.segmentStart?.consumerId ?? step.log.identities().first?.identity.consumerId
            )
        }
        guard let consumer else {
            throw SegmentError("\(path) has no consumer identity: `consume` records one when it starts")
        }
        let fileId = SegmentName.fileSafe(consumer)
        let firstSeq = start?.firstSeq ?? 1
        let names = try await store.listed(consumerFileId: fileId)
        var at = Uploaded(
            seq: firstSeq - 1, hash: start?.prevHash ?? RecordHash.genesis, name: start?.prevSegment ?? "")
        if let newest = names.max(by: { $0.lastSeq < $1.lastSeq }), start == nil,
            try await writer.withPipeline({ try $0.log.db.scalarInt("SELECT count(*) FROM receives") }) == 0,
            let m = try await store.manifest(newest),
            try await writer.withPipeline({ try Segments.recordHash($0.log.db, seq: newest.lastSeq) }) != m.headHash
        {
            // A new log (identity records only) under a consumer id whose chain in S3 is not this log's: a task
            // replaced with its disk. Go on from there.
            try await writer.startOver(
                continuing: SegmentStart(
                    firstSeq: m.lastSeq + 1, prevHash: m.headHash, consumerId: consumer,
                    prevSegment: newest.description, sealedAt: ProcessingStep.systemClockMs()))
            logger.notice(
                "continuing this consumer's chain from S3",
                metadata: ["consumer": "\(consumer)", "from_seq": "\(m.lastSeq + 1)", "after": "\(newest)"])
            return S3Increments(
                store: store, settings: settings, logger: logger,
                start: Uploaded(seq: m.lastSeq, hash: m.headHash, name: newest.description))
        }
        if let newest = names.max(by: { $0.lastSeq < $1.lastSeq }) {
            guard newest.lastSeq <= head else {
                throw SegmentError(
                    "S3 (\(store.destination)) already holds consumer \(consumer)'s records up to seq "
                        + "\(newest.lastSeq), and \(path), which has records of its own, ends at seq \(head): "
                        + "another consumer writes under this consumer id. Give each running consumer its own "
                        + "--consumer-id (the default, host name + ECS task id or pod name, is unique per task)")
            }
            guard newest.lastSeq >= firstSeq - 1 else {
                throw SegmentError(
                    "S3 (\(store.destination)) holds consumer \(consumer)'s records only up to seq "
                        + "\(newest.lastSeq), but \(path) continues a segment ending at seq \(firstSeq - 1) that is "
                        + "not in \(settings.directory) to upload")
            }
            guard let manifest = try await store.manifest(newest) else {
                throw SegmentError("S3 (\(store.destination)): the manifest of \(newest) cannot be read")
            }
            let local: [UInt8]? =
                newest.lastSeq == firstSeq - 1
                ? at.hash
                : try await writer.withPipeline { try Segments.recordHash($0.log.db, seq: newest.lastSeq) }
            guard local == manifest.headHash else {
                throw SegmentError(
                    "S3 (\(store.destination)): \(newest) ends at seq \(newest.lastSeq) with another hash than "
                        + "\(path) has there: the chains differ (another consumer under this id?)")
            }
            at = Uploaded(seq: newest.lastSeq, hash: manifest.headHash, name: newest.description)
        }
        return S3Increments(store: store, settings: settings, logger: logger, start: at)
    }

    public func committed(upTo seq: Int64) {}

    public func waitDurable(upTo seq: Int64) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            waiters.withLock { $0.add(seq, c) }
        }
    }

    /// Uploads increments while messages wait, and seals every ``Settings/sealInterval``, until cancelled (the
    /// consumer has ended); `stop` only ends the wait between increments, so the last batches are let go quickly.
    /// Records the log holds beyond S3 when it starts go with the first increment (or the final one).
    public func run(writer: LogWriter, stop: StopSignal) async {
        var backoff = FullJitterBackoff(base: 0.5, cap: 10)
        var lastSeal = Date()
        var lastIncrement = Date.distantPast
        while !Task.isCancelled {
            do {
                if Date().timeIntervalSince(lastSeal) >= settings.sealInterval {
                    try await sealAndUpload(writer: writer)
                    lastSeal = Date()
                    continue
                }
                if waiters.withLock({ $0.isEmpty }) {
                    await sleepUntilWaiter(atMost: min(1, settings.sealInterval))
                    continue
                }
                let wait = settings.incrementInterval - Date().timeIntervalSince(lastIncrement)
                if wait > 0, !stop.isRequested { await stop.sleep(wait) }  // a stop lets the last batches go at once
                if Task.isCancelled { return }
                try await incrementOnce(writer: writer)
                lastIncrement = Date()
                backoff.reset()
            } catch is CancellationError {
                return
            } catch let e as SegmentError where !e.isBusy {
                logger.error("increment refused; nothing more is deleted", metadata: ["error": "\(e)"])
                waiters.withLock { $0.fail(DurabilityError("the records cannot be put in S3: \(e)")) }
                return
            } catch {
                let delay = backoff.next()
                logger.error(
                    "increment upload failed; the waiting messages stay invisible and it is tried again",
                    metadata: ["error": "\(error)", "backoff_s": "\(String(format: "%.2f", delay))"])
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
    }

    /// After the consumer has ended (its waiters all let go by then): one last increment, so S3 holds every record
    /// (the attempts of failed messages too), which takes one or two PUTs; then the seal, the upload of its
    /// segment and the deletion of the increments it covers, which take as long as the segment is large. A stop
    /// timeout that cuts the second part loses nothing: the increments are in S3, a cut upload leaves no trusted
    /// object, and the next run under this consumer id uploads the sealed segment it finds.
    public func finish(writer: LogWriter) async {
        do {
            try await incrementOnce(writer: writer)
        } catch {
            logger.error("final increment failed", metadata: ["error": "\(error)"])
        }
        do {
            try await sealAndUpload(writer: writer)
        } catch {
            logger.error("final seal or archive failed", metadata: ["error": "\(error)"])
        }
    }

    /// Sleeps until a message waits, `seconds` have passed, or the task is cancelled (polling every 20 ms: cheap,
    /// and nothing to leak when the run ends).
    private func sleepUntilWaiter(atMost seconds: Double) async {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end, !Task.isCancelled, waiters.withLock({ $0.isEmpty }) {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Cuts the log where no batch is in work and puts the records since the last upload.
    func incrementOnce(writer: LogWriter) async throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let cut = try await writer.quiesced { step in
            (
                path: step.log.db.path, head: step.log.knownHeadSeq,
                consumer: try step.log.segmentStart?.consumerId ?? step.log.identities().first?.identity.consumerId
            )
        }
        let at = uploaded.withLock { $0 }
        guard cut.head > at.seq, let consumer = cut.consumer else { return advance(to: at) }
        let increment = try Segments.increment(
            livePath: cut.path, firstSeq: at.seq + 1, lastSeq: cut.head, prevHash: at.hash, consumerId: consumer,
            prevSegment: at.name, queue: settings.queue, ordlogVersion: settings.ordlogVersion,
            now: ProcessingStep.systemClockMs())
        let cutAt = DispatchTime.now().uptimeNanoseconds
        try await store.put(increment)
        counts.withLock { $0.increments += 1 }
        logger.debug(
            "put an increment",
            metadata: [
                "segment": "\(increment.manifest.name)", "bytes": "\(increment.bytes.count)",
                "cut_ms": "\((cutAt - started) / 1_000_000)",
                "put_ms": "\((DispatchTime.now().uptimeNanoseconds - cutAt) / 1_000_000)",
            ])
        advance(
            to: Uploaded(
                seq: cut.head, hash: increment.manifest.headHash, name: increment.manifest.name.description))
    }

    /// Seals, uploads every sealed segment, and deletes the increments the new segment covers.
    func sealAndUpload(writer: LogWriter) async throws {
        let sealed = try await writer.seal(directory: settings.directory, ordlogVersion: settings.ordlogVersion)
        if let r = sealed { logger.notice("sealed a segment", metadata: ["segment": "\(r.segmentPath)"]) }
        let summary = try await store.upload(Segments.trustedSegments(in: settings.directory))
        if !summary.uploaded.isEmpty {
            logger.notice(
                "archived segments", metadata: ["count": "\(summary.uploaded.count)", "to": "\(store.destination)"])
        }
        guard let m = sealed?.manifest else { return }
        counts.withLock { $0.seals += 1 }
        advance(to: Uploaded(seq: m.lastSeq, hash: m.headHash, name: m.name.description))
        let deleted = try await store.deleteCovered(by: m)
        counts.withLock { $0.incrementsDeleted += deleted.count }
        if !deleted.isEmpty {
            logger.info("deleted the increments a sealed segment covers", metadata: ["count": "\(deleted.count)"])
        }
    }

    private func advance(to at: Uploaded) {
        let seq = uploaded.withLock { u in
            if at.seq > u.seq { u = at }
            return u.seq
        }
        waiters.withLock { $0.advance(to: seq) }
    }
}
