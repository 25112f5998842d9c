import Foundation

/// A thread with its own connection to a log file that runs a passive WAL checkpoint after each commit it is
/// told of (``EventLog/withBackgroundCheckpoints(_:)``). Checkpoint errors are ignored: a checkpoint that does not
/// happen leaves the pages in the WAL, where every reader finds them and the next checkpoint copies them.
final class BackgroundCheckpointer: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending = false
    private var running = false
    private var stopping = false
    private var stopped = false
    private let walPath: String
    /// A write waits for the checkpoint under way when the WAL file is larger than this. A write transaction that
    /// begins while the WAL holds pages not yet copied cannot start the WAL over from its beginning, so without
    /// the wait the WAL would grow by every transaction of the run.
    static let maxWALBytes = 64 << 20

    init(path: String) throws {
        walPath = path + "-wal"
        // Used by the checkpoint thread only, from here on.
        nonisolated(unsafe) let connection = try SQLiteConnection(path: path)
        let thread = Thread { [self] in run(connection) }
        thread.name = "ordlog.checkpoint"
        thread.start()
    }

    private func run(_ connection: SQLiteConnection) {
        while true {
            condition.lock()
            while !pending, !stopping { condition.wait() }
            let stop = stopping
            pending = false
            running = !stop
            condition.unlock()
            if stop { break }
            try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// A transaction committed: checkpoint when the previous checkpoint is done.
    func committed() {
        condition.lock()
        pending = true
        condition.broadcast()
        condition.unlock()
    }

    /// Before a write transaction begins: when the WAL has grown past ``maxWALBytes``, waits until the pages
    /// committed so far are copied, so this transaction starts the WAL over.
    func beforeWrite() {
        var st = stat()
        guard stat(walPath, &st) == 0, Int(st.st_size) > Self.maxWALBytes else { return }
        condition.lock()
        while pending || running, !stopped { condition.wait() }
        condition.unlock()
    }

    /// Ends the thread, after the checkpoint under way (its connection closes with it).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }
}
