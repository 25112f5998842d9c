import Foundation

/// An ordered source of log records, read one at a time: what a replay consumes (``Replayer/run(_:processor:filter:into:verdict:batchSize:onDecision:progress:)``).
/// ``LogCursor`` reads one log; a reader merging several logs into one ordered stream is another source.
public protocol LogRecordSource {
    /// The next record in order, or nil at the end.
    /// - Throws: a storage error when the record cannot be read.
    mutating func next() throws -> LogRecord?
}

/// One log's records in sequence order (``EventLog/records(from:through:attempts:decisionColumnsOnly:)``).
public struct LogCursor: LogRecordSource {
    private let receives: SQLiteStatement?
    private let attempts: SQLiteStatement?
    private var nextReceive: LoggedReceive?
    private var nextAttempt: LoggedAttempt?

    init(
        log: EventLog, from: Int64, through: Int64, receives withReceives: Bool, attempts withAttempts: Bool,
        decisionColumnsOnly: Bool, applyColumnsOnly: Bool = false
    ) throws {
        let columns = decisionColumnsOnly ? EventLog.decisionColumns : EventLog.receiveColumns
        // Fresh statements (not the connection's cache), so two cursors or a cursor and a lookup never share one.
        if withReceives {
            let r = try SQLiteStatement(
                connection: log.db, sql: "SELECT \(columns) FROM receives WHERE seq BETWEEN ? AND ? ORDER BY seq")
            try r.bind([.int(from), .int(through)])
            nextReceive = try r.step() ? EventLog.readReceive(r) : nil
            receives = r
        } else {
            receives = nil
        }
        if withAttempts {
            let a = try SQLiteStatement(
                connection: log.db,
                sql: "SELECT \(applyColumnsOnly ? EventLog.applyColumns : EventLog.attemptColumns) FROM attempts"
                    + " WHERE seq BETWEEN ? AND ? ORDER BY seq")
            try a.bind([.int(from), .int(through)])
            nextAttempt = try a.step() ? EventLog.readAttempt(a) : nil
            attempts = a
        } else {
            attempts = nil
        }
    }

    public mutating func next() throws -> LogRecord? {
        if let r = nextReceive, let s = receives, nextAttempt.map({ r.seq < $0.seq }) ?? true {
            nextReceive = try s.step() ? EventLog.readReceive(s) : nil
            return .receive(r)
        }
        if let a = nextAttempt, let s = attempts {
            nextAttempt = try s.step() ? EventLog.readAttempt(s) : nil
            return .attempt(a)
        }
        return nil
    }
}
