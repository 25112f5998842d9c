import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a message's records must be before the consumer deletes the message from SQS (`consume --durability`).
///
/// Once a message is deleted, SQS forgets it: its receive and final attempt in the log are then the only record.
/// The mode says which failure that record survives.
public enum DurabilityMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The records are fsynced to the log's disk first (``GroupSync``): survives a killed process and a host crash
    /// or power loss, as long as the disk outlives the host (EBS, a host volume, a Kubernetes PersistentVolume).
    case disk
    /// The records are uploaded to S3 first, as chained increments (``S3Increments``): survives a killed process,
    /// a host crash and a replaced task whose disk is gone (Fargate, ephemeral storage).
    case s3
    /// The commit alone (SQLite WAL, `synchronous=NORMAL`): survives a killed process, not a host crash or power
    /// loss, where the last commits before it may be lost after their messages were deleted.
    case none

    public var description: String {
        switch self {
        case .disk: "disk (each delete waits for an fsync of its records)"
        case .s3: "s3 (each delete waits for its records to be in S3)"
        case .none: "none (deletes follow the commit, unsynced: a host crash can lose acknowledged records)"
        }
    }
}

/// The consumer's durability gate: every commit of the log's writer is reported to it, and before a delete the
/// consumer waits until the records it depends on are durable.
///
/// Positions are log sequence numbers: a record is durable once the durable head (the highest seq known
/// durable, counted without gaps from the log's start) has reached its seq.
public protocol DurabilityGate: Sendable {
    /// The writer committed records up to `seq` (called in the writer, after each commit).
    func committed(upTo seq: Int64)
    /// Returns once every record up to `seq` is durable.
    /// - Throws: the error that made durability impossible (a failed fsync, an S3 upload given up on): the caller
    ///   must not delete, and should stop.
    func waitDurable(upTo seq: Int64) async throws
}

/// `--durability none`: a committed record counts as durable.
public struct CommitIsEnough: DurabilityGate {
    public init() {}
    public func committed(upTo seq: Int64) {}
    public func waitDurable(upTo seq: Int64) async throws {}
}

/// Why records could not be made durable.
public struct DurabilityError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Waiters on a durable head: resumed, in any order, once the head reaches what they wait for.
struct DurableHeadWaiters {
    private(set) var head: Int64
    private(set) var failure: DurabilityError?
    private var waiters: [(seq: Int64, continuation: CheckedContinuation<Void, any Error>)] = []

    init(head: Int64) { self.head = head }

    /// Adds a waiter, or resumes it at once when `seq` is durable already (or durability failed).
    mutating func add(_ seq: Int64, _ c: CheckedContinuation<Void, any Error>) {
        if let failure { return c.resume(throwing: failure) }
        if seq <= head { return c.resume() }
        waiters.append((seq, c))
    }

    /// The head moved to `seq`: resumes the waiters it covers.
    mutating func advance(to seq: Int64) {
        guard seq > head else { return }
        head = seq
        var kept: [(seq: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
        for w in waiters {
            if w.seq <= seq { w.continuation.resume() } else { kept.append(w) }
        }
        waiters = kept
    }

    /// Durability failed: every waiter, now and later, gets the error.
    mutating func fail(_ error: DurabilityError) {
        failure = error
        for w in waiters { w.continuation.resume(throwing: error) }
        waiters = []
    }

    var isEmpty: Bool { waiters.isEmpty }
}

/// `--durability disk`: group commit of fsyncs. One thread fsyncs the log's WAL (`<log>-wal`; the database file
/// when there is no WAL) whenever commits are waiting; every commit made before an fsync started is durable when
/// it returns, so the waiters of all the batches committed meanwhile share one fsync.
///
/// Why a file descriptor of its own covers SQLite's writes: `fdatasync(2)` flushes the file's (the inode's) dirty
/// pages whichever descriptor wrote them. A commit writes its WAL frames before it returns, so an fsync begun
/// after the commit covers them. Records SQLite already moved into the database file by a checkpoint are durable
/// too: in WAL mode a checkpoint syncs the WAL before copying and the database file before the WAL is reused
/// (<https://www.sqlite.org/pragma.html#pragma_synchronous>). The WAL is opened anew for each fsync, so a log
/// replaced by a seal is followed; the directory is fsynced once per new WAL file, so its name survives too.
///
/// A failed fsync is final (after a failed fsync the kernel may have dropped the dirty pages: retrying proves
/// nothing): every waiter then throws ``DurabilityError``, so nothing more is deleted.
public final class GroupSync: DurabilityGate, @unchecked Sendable {
    private let condition = NSCondition()
    private var committedHead: Int64
    private var state: DurableHeadWaiters
    private var stopping = false
    private let path: String
    private var syncedWAL: (dev: UInt64, ino: UInt64)?
    private var syncs = 0

    /// fsyncs done so far.
    public var syncCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return syncs
    }

    /// The highest seq covered by a finished fsync.
    public var durableHead: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return state.head
    }

    /// - Parameters:
    ///   - logPath: the log file; its WAL is `logPath + "-wal"`.
    ///   - head: the log's head when the consumer starts (durable: it was written before this process, or synced
    ///     when opened).
    public init(logPath: String, head: Int64) {
        path = logPath
        committedHead = head
        state = DurableHeadWaiters(head: head)
        let thread = Thread { [self] in run() }
        thread.name = "ordlog.fsync"
        thread.start()
    }

    public func committed(upTo seq: Int64) {
        condition.lock()
        if seq > committedHead { committedHead = seq }
        condition.unlock()
    }

    public func waitDurable(upTo seq: Int64) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            condition.lock()
            state.add(seq, c)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Ends the thread after the fsync under way; waiters still waiting get ``DurabilityError``.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            // Sync only when someone waits for a commit not yet synced.
            while !stopping, state.failure == nil, state.isEmpty || committedHead <= state.head {
                condition.wait()
            }
            if stopping || state.failure != nil {
                state.fail(state.failure ?? DurabilityError("the consumer stopped before the records were synced"))
                condition.unlock()
                return
            }
            let target = committedHead
            condition.unlock()
            let error = syncOnce()
            condition.lock()
            if let error { state.fail(error) } else { state.advance(to: target) }
            syncs += 1
            condition.unlock()
        }
    }

    /// fsyncs the WAL (the database file when the log has none); nil on success.
    private func syncOnce() -> DurabilityError? {
        Self.sync(logPath: path, syncedWAL: &syncedWAL)
    }

    /// fsyncs the log at `logPath` once, now, and its directory: what a one-off writer (`redrive --from-queue`)
    /// does before it deletes a message from SQS.
    /// - Throws: ``DurabilityError``.
    public static func syncNow(logPath: String) throws {
        guard logPath != ":memory:", !logPath.isEmpty else { return }  // a log in memory has no disk to sync
        var seen: (dev: UInt64, ino: UInt64)?
        if let error = sync(logPath: logPath, syncedWAL: &seen) { throw error }
    }

    /// fsyncs the WAL (the database file when there is none), and the directory when the file is a new one (not
    /// `syncedWAL`, which it updates); nil on success.
    private static func sync(logPath path: String, syncedWAL: inout (dev: UInt64, ino: UInt64)?) -> DurabilityError? {
        var fd = open(path + "-wal", O_RDONLY | O_CLOEXEC)
        var synced = path + "-wal"
        if fd < 0 {
            guard errno == ENOENT else { return DurabilityError("cannot open \(synced) to fsync it: errno \(errno)") }
            fd = open(path, O_RDONLY | O_CLOEXEC)
            synced = path
            guard fd >= 0 else { return DurabilityError("cannot open \(path) to fsync it: errno \(errno)") }
        }
        defer { close(fd) }
        if fdatasync(fd) != 0 { return DurabilityError("fsync of \(synced) failed: errno \(errno)") }
        var st = stat()
        if fstat(fd, &st) == 0 {
            let id = (UInt64(st.st_dev), UInt64(st.st_ino))
            if syncedWAL.map({ $0 != id }) ?? true {
                // A new file: its directory entry must survive as well.
                let dir = (path as NSString).deletingLastPathComponent
                let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_CLOEXEC)
                if dfd >= 0 {
                    let r = fsync(dfd)
                    close(dfd)
                    if r != 0 { return DurabilityError("fsync of the directory of \(path) failed: errno \(errno)") }
                }
                syncedWAL = id
            }
        }
        return nil
    }
}
