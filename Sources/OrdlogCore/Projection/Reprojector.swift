import CSQLite
import Foundation

/// What `ordlog reproject` rebuilds.
public enum ReprojectTarget: Sendable, Equatable {
    /// The whole log (caught up to the head inside the final swap transaction).
    case all
    /// The log up to and including this sequence: exactly the projection after record N.
    case seq(Int64)
    /// The orders as of this instant (ms), by SQS SentTimestamp: messages sent after it are left out.
    case sent(Int64)

    /// The form stored in `reproject_checkpoint.target`.
    public var key: String {
        switch self {
        case .all: "all"
        case .seq(let n): "seq:\(n)"
        case .sent(let ms): "sent:\(ms)"
        }
    }
}

/// What a reprojection did.
public struct ReprojectResult: Sendable, Equatable {
    /// The checkpoint a rerun continued from (nil when the build started fresh).
    public var resumedFrom: Int64?
    /// Set when an in-progress build for a different target was discarded.
    public var discardedTarget: String?
    /// The last log sequence applied.
    public var throughSeq: Int64 = 0
    /// Attempts whose decision was applied in this run.
    public var applied = 0
    /// True when stopped by `shouldStop` before completion; the old projection is untouched.
    public var interrupted = false
    public var orders = 0
    /// ``LocalProjection/digest()`` of the new projection (empty when interrupted).
    public var digest = ""
}

/// Rebuilds the local projection from the event log, resumably, replacing the old one atomically.
///
/// **Semantics: recorded decisions are re-applied, nothing is re-decided.** The log's attempts are the
/// facts: every `projected` attempt's item is written and every final attempt's idempotency keys are
/// recorded, in log order, exactly as the live pipeline did (redrives included). So over the whole log the
/// result equals the live projection, whatever processor versions made the decisions. To see what a
/// different processor would decide, use `ordlog replay` (optionally `--into PATH`).
///
/// `.sent(T)` ("the orders at 14:00") takes the attempts of messages whose SentTimestamp (or received_at
/// when absent) is ≤ T. Because a recorded decision may have depended on a message sent later (stale or
/// duplicate because of it), items of `projected`, `stale` and `duplicate` attempts are applied by the
/// processor's ordering rule instead: an item replaces the stored version only when its (timestamp, log
/// sequence) is newer, and a duplicate whose key is already applied is skipped.
///
/// The build writes `orders_new` / `applied_messages_new` in the target file and records its progress in
/// `reproject_checkpoint`, one transaction per batch. A rerun with the same target continues from the
/// checkpoint; a rerun with another target discards the unfinished build. When complete, one transaction
/// drops the old tables and renames the new ones into place.
public final class Reprojector {
    public let log: EventLog
    /// The file the projection is rebuilt in: the log's own connection, or a separate file.
    public let target: SQLiteConnection
    let separate: Bool

    /// - Parameter intoPath: rebuild into this separate projection file instead of the log's file.
    public init(log: EventLog, intoPath: String? = nil) throws {
        self.log = log
        if let intoPath {
            target = try SQLiteConnection(path: intoPath)
            try target.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;")
            try Migrations.migrate(target, only: [Migrations.projectionMigrationID, "0003_reproject"])
            separate = true
        } else {
            target = log.db
            separate = false
        }
    }

    /// The projection tables' DDL from migration `0002_projection`, with `suffix` added to the table names, so
    /// a rebuild always has the live projection's schema.
    static func ddl(_ suffix: String) -> String {
        let sql = Migrations.sql(Migrations.projectionMigrationID)!
        return sql.replacingOccurrences(of: "CREATE TABLE orders (", with: "CREATE TABLE orders\(suffix) (")
            .replacingOccurrences(
                of: "CREATE TABLE applied_messages (", with: "CREATE TABLE applied_messages\(suffix) (")
    }

    /// The in-progress build's target and checkpoint, if any.
    public func checkpoint() throws -> (target: String, lastSeq: Int64)? {
        let s = try target.prepare("SELECT target, last_seq FROM reproject_checkpoint WHERE id = 1")
        return try s.firstRow { ($0.text(0), $0.int64(1)) }
    }

    /// Rebuilds the projection.
    /// - Parameters:
    ///   - batchSize: log records per transaction (and per checkpoint).
    ///   - shouldStop: polled after each checkpoint; returning true stops the run (resumable).
    ///   - onCheckpoint: called after each committed checkpoint with its seq and the head seq.
    public func run(
        _ what: ReprojectTarget, batchSize: Int = 5000, startedAt: Int64,
        shouldStop: () -> Bool = { false }, onCheckpoint: (Int64, Int64) -> Void = { _, _ in }
    ) throws -> ReprojectResult {
        var result = ReprojectResult()
        var last: Int64 = 0
        if let cp = try checkpoint() {
            if cp.target == what.key {
                last = cp.lastSeq
                result.resumedFrom = cp.lastSeq
            } else {
                result.discardedTarget = cp.target
            }
        }
        if result.resumedFrom == nil {
            try target.transaction {
                try target.execute("DROP TABLE IF EXISTS orders_new; DROP TABLE IF EXISTS applied_messages_new;")
                try target.execute(Self.ddl("_new"))
                try target.run("DELETE FROM reproject_checkpoint")
                try target.run(
                    "INSERT INTO reproject_checkpoint (id, target, last_seq, started_at) VALUES (1, ?, 0, ?)",
                    [.text(what.key), .int(startedAt)])
            }
        }
        let head = try log.head()?.seq ?? 0
        var through = head
        if case .seq(let n) = what { through = min(n, head) }
        while last < through {
            let upTo = min(last + Int64(batchSize), through)
            try target.transaction {
                result.applied += try apply(what, from: last + 1, through: upTo)
                try target.run("UPDATE reproject_checkpoint SET last_seq = ? WHERE id = 1", [.int(upTo)])
            }
            last = upTo
            onCheckpoint(last, through)
            if last < through, shouldStop() {
                result.interrupted = true
                result.throughSeq = last
                return result
            }
        }
        // Swap: one transaction. For the whole log, catch up first with anything appended meanwhile (the
        // write lock is held, so nothing more can be appended before the swap).
        try target.transaction {
            if what == .all {
                if separate {
                    let now = try log.head()?.seq ?? 0
                    if now > last {
                        result.applied += try apply(what, from: last + 1, through: now)
                        last = now
                    }
                } else {
                    let now = try currentHeadInTransaction()
                    if now > last {
                        result.applied += try apply(what, from: last + 1, through: now)
                        last = now
                    }
                }
            }
            try target.execute(
                """
                DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS applied_messages;
                ALTER TABLE orders_new RENAME TO orders;
                ALTER TABLE applied_messages_new RENAME TO applied_messages;
                DELETE FROM reproject_checkpoint;
                """)
        }
        result.throughSeq = last
        let projection = LocalProjection(db: target)
        result.digest = try projection.digest()
        result.orders = Int(try target.scalarInt("SELECT count(*) FROM orders") ?? 0)
        return result
    }

    private func currentHeadInTransaction() throws -> Int64 {
        let r = try target.scalarInt("SELECT max(seq) FROM receives") ?? 0
        let a = try target.scalarInt("SELECT max(seq) FROM attempts") ?? 0
        return max(r, a)
    }

    // The rebuild's statements, prepared once per run on the target (its tables are created before the first
    // batch and renamed only at the swap, so they stay valid until then).
    private var upsertNew: SQLiteStatement?
    private var insertKeyNew: SQLiteStatement?
    private var hasKeyNew: SQLiteStatement?
    private var versionNew: SQLiteStatement?
    private var sentOfReceive: SQLiteStatement?

    /// Applies the attempts with `from ≤ seq ≤ through` into the `_new` tables (reading attempts only, with
    /// statements prepared once and bound in place). Returns how many applied.
    private func apply(_ what: ReprojectTarget, from: Int64, through: Int64) throws -> Int {
        var applied = 0
        var cutoff: Int64? = nil
        if case .sent(let ms) = what { cutoff = ms }
        let upsert = try target.prepared(&upsertNew, LocalProjection.upsertSQL(table: "orders_new"))
        let insertKey = try target.prepared(
            &insertKeyNew, "INSERT OR IGNORE INTO applied_messages_new (kind, id, seq) VALUES (?,?,?)")
        func hasKey(_ kind: IdempotencyKind, _ id: String) throws -> Bool {
            let s = try target.prepared(&hasKeyNew, "SELECT 1 FROM applied_messages_new WHERE kind = ? AND id = ?")
            try s.bind(kind.rawValue, at: 1)
            try s.bind(id, at: 2)
            return try s.firstRow { _ in true } ?? false
        }
        func markApplied(_ kind: IdempotencyKind, _ id: String?, seq: Int64) throws {
            guard let id else { return }
            try insertKey.bind(kind.rawValue, at: 1)
            try insertKey.bind(id, at: 2)
            try insertKey.bind(seq, at: 3)
            try insertKey.step()
            insertKey.reset()
        }
        var cursor = try log.records(from: from, through: through, receives: false, applyColumnsOnly: true)
        while let record = try cursor.next() {
            guard case .attempt(let a) = record, a.decision.outcome.isFinal else { continue }
            let d = a.decision
            var writeItem = d.outcome == .projected
            if let cutoff {
                let s = try log.db.prepared(
                    &sentOfReceive, "SELECT coalesce(sent_timestamp, received_at) FROM receives WHERE seq = ?")
                try s.bind(a.receiveSeq, at: 1)
                guard let sent = try s.firstRow({ $0.optionalInt64(0) }) ?? nil, sent <= cutoff else { continue }
                var alreadyApplied = false
                if d.outcome == .duplicate {
                    if let id = a.messageId, try hasKey(.sqs, id) { alreadyApplied = true }
                    if let sns = d.snsMessageId, try hasKey(.sns, sns) { alreadyApplied = true }
                }
                writeItem = false
                if !alreadyApplied, let item = d.item, let ns = RFC3339.nanoseconds(item.timestamp) {
                    let s = try target.prepared(
                        &versionNew, "SELECT timestamp_ns, last_seq FROM orders_new WHERE order_id = ?")
                    try s.bind(item.orderId, at: 1)
                    let stored = try s.firstRow { ($0.int64(0), $0.int64(1)) }
                    writeItem = stored.map { (ns, a.receiveSeq) > $0 } ?? true
                }
            }
            if writeItem, let item = d.item {
                try upsert.bind(item.orderId, at: 1)
                try upsert.bind(item.userId, at: 2)
                try upsert.bind(item.itemName, at: 3)
                try upsert.bind(item.quantity, at: 4)
                try upsert.bind(item.status, at: 5)
                try upsert.bind(item.timestamp, at: 6)
                try upsert.bind(RFC3339.nanoseconds(item.timestamp) ?? 0, at: 7)
                try upsert.bind(a.receiveSeq, at: 8)
                try upsert.bind(a.messageId, at: 9)
                try upsert.step()
                upsert.reset()
            }
            try markApplied(.sqs, a.messageId, seq: a.receiveSeq)
            try markApplied(.sns, d.snsMessageId, seq: a.receiveSeq)
            applied += 1
        }
        return applied
    }
}
