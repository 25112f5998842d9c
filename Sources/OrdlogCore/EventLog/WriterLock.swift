import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Another process holds the writer lock of a log.
public struct WriterLockError: Error, Sendable, CustomStringConvertible {
    public var logPath: String
    /// The holder's pid as it wrote it into the lock file, when known.
    public var pid: Int32?
    /// Set when the lock file itself could not be opened (not a conflict).
    public var failure: String?
    public var description: String {
        if let failure { return "cannot take the writer lock of \(logPath): \(failure)" }
        return "\(logPath) is being written by another ordlog process"
            + (pid.map { " (pid \($0))" } ?? "")
            + "; one writer per log: give each consumer its own --db"
    }
}

/// The one exclusive writer lock of an event log: `flock(LOCK_EX|LOCK_NB)` on the sidecar `<log>-writer.lock`.
///
/// Every command that appends to a log or rewrites it (ingest, consume, redrive, seal, reproject in place) takes it
/// for its whole run, so two processes never write one chain (a second consumer's identity record would make the
/// first one's later records count as the second's). Readers do not take it. A sidecar rather than the log file
/// itself: `seal` replaces the log file by rename, which would leave a lock on the old inode. The lock goes away
/// with the process (exit or crash: the kernel drops a flock with its last descriptor); the file stays, holding
/// the last holder's pid.
///
/// Within one process the lock is reentrant (the consumer seals itself with `--archive-every`): it is held from
/// the first ``acquire(forLog:)`` until ``release(forLog:)`` or the end of the process.
public enum WriterLock {
    /// The descriptor of each lock file this process holds, by ``key(_:)``.
    private static let held = Locked<[String: Int32]>([:])

    /// The lock file of the log at `path`.
    public static func lockPath(forLog path: String) -> String { path + "-writer.lock" }

    static func key(_ path: String) -> String { lockPath(forLog: URL(fileURLWithPath: path).standardizedFileURL.path) }

    /// Takes the writer lock of the log at `path` (until ``release(forLog:)`` or the end of the process), or throws
    /// ``WriterLockError`` at once (never waits) when another process holds it.
    /// - Returns: false when this process held it already.
    @discardableResult
    public static func acquire(forLog path: String) throws -> Bool {
        let key = Self.key(path)
        return try held.withLock { held in
            if held[key] != nil { return false }
            let fd = open(key, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                var e = WriterLockError(logPath: path)
                e.failure = "\(key): \(String(cString: strerror(errno)))"
                throw e
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let busy = errno == EWOULDBLOCK
                let reason = String(cString: strerror(errno))
                var buf = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &buf, 32, 0)
                close(fd)
                var e = WriterLockError(logPath: path)
                if busy {
                    e.pid = n > 0
                        ? Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                        : nil
                } else {
                    e.failure = "flock \(key): \(reason)"
                }
                throw e
            }
            let text = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            held[key] = fd
            return true
        }
    }

    /// Gives the lock up (a library caller that took it for one operation); the CLI keeps it until it exits.
    public static func release(forLog path: String) {
        let key = Self.key(path)
        held.withLock { held in
            if let fd = held.removeValue(forKey: key) { close(fd) }
        }
    }
}
