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
/// **How it is built.** The attempts of each batch of `batchSize` log records are folded in memory
/// (``ReprojectFold``: the orders written in the batch, last write wins; the keys recorded, first one wins,
/// as `INSERT OR IGNORE` keeps it; for `.sent`, every order's version and every applied key so far), then
/// written into `orders_new` / `applied_messages_new` in key order (sequential B-tree appends, not one random
/// insert per key) in one transaction that also records the batch's last seq in `reproject_checkpoint`.
/// So the `_new` tables plus the checkpoint always hold exactly the attempts through `last_seq`, as before
/// the fold; the batch is what an interruption loses (default ``defaultBatchSize`` records, about a second).
/// A rerun with the same target continues from the checkpoint (for `.sent` it first reads the `_new`
/// tables' versions and keys back into memory); a rerun with another target discards the unfinished build.
/// When complete, one transaction drops the old tables and renames the new ones into place.
///
/// Memory: the orders written since the last checkpoint and their keys (bytes back to back, about 70 bytes
/// per key with the sort), plus for `.sent` every order's version and every applied key (``ByteKeyTable``).
public final class Reprojector {
    public let log: EventLog
    /// The file the projection is rebuilt in: the log's own connection, or a separate file.
    public let target: SQLiteConnection
    let separate: Bool

    /// Log records per checkpoint by default: 100k messages (200k records) are written once; at 1M messages
    /// the build writes 8 times, 12.1 s and 221 MB peak RSS `--into`, against 10.1 s / 330 MB with 1M records
    /// per checkpoint and 8.8 s / 353 MB in one write (Benchmarks/PROFILE.md).
    public static let defaultBatchSize = 250_000

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
    ///   - batchSize: log records per checkpoint (and per write of the `_new` tables): what an interruption
    ///     can lose, and what the fold holds in memory.
    ///   - shouldStop: polled after each checkpoint; returning true stops the run (resumable).
    ///   - onCheckpoint: called after each committed checkpoint with its seq and the head seq.
    /// - Throws: ``SQLiteError`` when the log cannot be read or the target written; the old projection is then
    ///   untouched and the last committed checkpoint stands.
    public func run(
        _ what: ReprojectTarget, batchSize: Int = Reprojector.defaultBatchSize, startedAt: Int64,
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
        let fold = ReprojectFold(what)
        if result.resumedFrom == nil {
            try target.transaction {
                try target.execute("DROP TABLE IF EXISTS orders_new; DROP TABLE IF EXISTS applied_messages_new;")
                try target.execute(Self.ddl("_new"))
                try target.run("DELETE FROM reproject_checkpoint")
                try target.run(
                    "INSERT INTO reproject_checkpoint (id, target, last_seq, started_at) VALUES (1, ?, 0, ?)",
                    [.text(what.key), .int(startedAt)])
            }
        } else {
            try fold.load(from: target)
        }
        let head = try log.head()?.seq ?? 0
        var through = head
        if case .seq(let n) = what { through = min(n, head) }
        while last < through {
            let upTo = min(last + Int64(max(batchSize, 1)), through)
            result.applied += try apply(fold, from: last + 1, through: upTo)
            try target.transaction {
                try fold.flush(into: target)
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
                let now = separate ? (try log.head()?.seq ?? 0) : try currentHeadInTransaction()
                if now > last {
                    result.applied += try apply(fold, from: last + 1, through: now)
                    try fold.flush(into: target)
                    last = now
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

    private var sentOfReceive: SQLiteStatement?

    /// Folds the attempts with `from ≤ seq ≤ through` into `fold` (reading attempts only). Returns how many
    /// applied.
    private func apply(_ fold: ReprojectFold, from: Int64, through: Int64) throws -> Int {
        var applied = 0
        var cursor = try log.records(from: from, through: through, receives: false, applyColumnsOnly: true)
        while let record = try cursor.next() {
            guard case .attempt(let a) = record, a.decision.outcome.isFinal else { continue }
            if let cutoff = fold.cutoff {
                let s = try log.db.prepared(
                    &sentOfReceive, "SELECT coalesce(sent_timestamp, received_at) FROM receives WHERE seq = ?")
                try s.bind(a.receiveSeq, at: 1)
                guard let sent = try s.firstRow({ $0.optionalInt64(0) }) ?? nil, sent <= cutoff else { continue }
            }
            fold.apply(a)
            applied += 1
        }
        return applied
    }
}

/// The in-memory state of a ``Reprojector`` build between two checkpoints, and the rules of re-applying a
/// recorded decision (the one copy of them).
final class ReprojectFold {
    /// `.sent(T)`'s instant: items are then applied by the ordering rule.
    let cutoff: Int64?
    /// Orders written since the last flush, by `orderId` bytes (the last write wins, as the upsert does).
    private var pending: [ByteString: ProjectedOrder] = [:]
    /// Keys recorded since the last flush, in log order (the first of equal keys wins): a tag byte for the
    /// kind (0 `sns`, 1 `sqs`: the order of the kind column) and the id's bytes, with the seq it was applied at.
    private var keys = ByteRun()
    private var keySeqs: [Int64] = []
    /// For `.sent`: every order's stored version so far (flushed or not).
    private var versions: [ByteString: OrderVersion] = [:]
    /// For `.sent`: every key applied so far.
    private let sqsApplied = ByteKeyTable()
    /// The kind column's values, as static bytes to bind.
    private static var sns: UnsafeRawBufferPointer { UnsafeRawBufferPointer(staticText: "sns") }
    private static var sqs: UnsafeRawBufferPointer { UnsafeRawBufferPointer(staticText: "sqs") }
    private let snsApplied = ByteKeyTable()

    init(_ what: ReprojectTarget) {
        if case .sent(let ms) = what { cutoff = ms } else { cutoff = nil }
    }

    /// Reads back what a `.sent` build needs of the `_new` tables (every order's version and every applied
    /// key) when it resumes; the other targets only ever add to the tables.
    func load(from db: SQLiteConnection) throws {
        guard cutoff != nil else { return }
        let o = try db.prepare("SELECT order_id, timestamp_ns, last_seq FROM orders_new")
        while try o.step() { versions[ByteString(o.text(0))] = OrderVersion(timestampNs: o.int64(1), seq: o.int64(2)) }
        let k = try db.prepare("SELECT kind, id, seq FROM applied_messages_new")
        while try k.step() {
            (k.text(0) == IdempotencyKind.sqs.rawValue ? sqsApplied : snsApplied).insert(k.text(1), seq: k.int64(2))
        }
    }

    /// Re-applies one final attempt (already selected: for `.sent`, sent at or before the cutoff).
    func apply(_ a: LoggedAttempt) {
        let d = a.decision
        var writeItem = d.outcome == .projected
        if cutoff != nil {
            var alreadyApplied = false
            if d.outcome == .duplicate {
                if let id = a.messageId, sqsApplied.seq(of: id) != nil { alreadyApplied = true }
                if let sns = d.snsMessageId, snsApplied.seq(of: sns) != nil { alreadyApplied = true }
            }
            writeItem = false
            if !alreadyApplied, let item = d.item, let ns = RFC3339.nanoseconds(item.timestamp) {
                let stored = versions[ByteString(item.orderId)]
                writeItem = stored.map { OrderVersion(timestampNs: ns, seq: a.receiveSeq).isNewer(than: $0) } ?? true
            }
        }
        if writeItem, let item = d.item {
            let key = ByteString(item.orderId)
            let ns = RFC3339.nanoseconds(item.timestamp) ?? 0
            // Each projected attempt was newer than the state it was decided against; in a log merged from several
            // (consumers, segments) two of one order may come in either order: the newer version stays.
            if let p = pending[key],
                !OrderVersion(timestampNs: ns, seq: a.receiveSeq).isNewer(
                    than: OrderVersion(timestampNs: p.timestampNs, seq: p.lastSeq))
            {
                writeItem = false
            }
        }
        if writeItem, let item = d.item {
            let key = ByteString(item.orderId)
            let ns = RFC3339.nanoseconds(item.timestamp) ?? 0
            pending[key] = ProjectedOrder(item: item, timestampNs: ns, lastSeq: a.receiveSeq, messageId: a.messageId)
            if cutoff != nil { versions[key] = OrderVersion(timestampNs: ns, seq: a.receiveSeq) }
        }
        if let id = a.messageId { markApplied(.sqs, id, seq: a.receiveSeq) }
        if let sns = d.snsMessageId { markApplied(.sns, sns, seq: a.receiveSeq) }
    }

    private func markApplied(_ kind: IdempotencyKind, _ id: String, seq: Int64) {
        keys.append(tag: kind == .sns ? 0 : 1, id)
        keySeqs.append(seq)
        if cutoff != nil { (kind == .sqs ? sqsApplied : snsApplied).insert(id, seq: seq) }
    }

    /// Writes what was folded since the last flush into `orders_new` / `applied_messages_new`, each in key
    /// order, and empties the batch. Call inside a transaction.
    func flush(into db: SQLiteConnection) throws {
        let orders = Array(pending.values)
        pending = [:]
        var ids = ByteRun()
        for o in orders { ids.append(tag: nil, o.item.orderId) }
        let upsert = try db.prepare(LocalProjection.upsertSQL(table: "orders_new", newerOnly: true))
        for i in ids.sortedIndices() {
            let o = orders[Int(i)]
            try upsert.bind(o.item.orderId, at: 1)
            try upsert.bind(o.item.userId, at: 2)
            try upsert.bind(o.item.itemName, at: 3)
            try upsert.bind(o.item.quantity, at: 4)
            try upsert.bind(o.item.status, at: 5)
            try upsert.bind(o.item.timestamp, at: 6)
            try upsert.bind(o.timestampNs, at: 7)
            try upsert.bind(o.lastSeq, at: 8)
            try upsert.bind(o.messageId, at: 9)
            try upsert.step()
            upsert.reset()
        }
        // Keys: sorted by (kind, id bytes), equal keys in log order, so the first one is inserted and the
        // others skipped; a key flushed by an earlier batch is kept by INSERT OR IGNORE (it was first).
        // Rows of `rowsPerInsert` per statement, the bytes bound in place (the arena outlives the steps):
        // binding and stepping once per key was most of the flush.
        var unique: [Int32] = []
        unique.reserveCapacity(keys.count)
        for i in keys.sortedIndices() {
            if let p = unique.last, keys.equal(Int(p), Int(i)) { continue }
            unique.append(i)
        }
        let rowsPerInsert = 64
        func insertSQL(_ rows: Int) -> String {
            "INSERT OR IGNORE INTO applied_messages_new (kind, id, seq) VALUES "
                + Array(repeating: "(?,?,?)", count: rows).joined(separator: ",")
        }
        let full = try db.prepare(insertSQL(rowsPerInsert))
        var start = 0
        try keys.withBytes { arena in
            while start < unique.count {
                let n = min(rowsPerInsert, unique.count - start)
                let insert = n == rowsPerInsert ? full : try db.prepare(insertSQL(n))
                for r in 0..<n {
                    let i = Int(unique[start + r])
                    let key = keys.range(i)
                    let column = Int32(r * 3)
                    try insert.bindStatic(arena[key.lowerBound] == 0 ? Self.sns : Self.sqs, at: column + 1)
                    try insert.bindStatic(UnsafeRawBufferPointer(rebasing: arena[(key.lowerBound + 1)..<key.upperBound]), at: column + 2)
                    try insert.bind(keySeqs[i], at: column + 3)
                }
                try insert.step()
                sqlite3_reset(insert.handle)
                start += n
            }
        }
        keys = ByteRun()
        keySeqs = []
    }
}

/// Byte strings stored back to back (one growing buffer, no `String` kept per key), sorted by index: what a
/// ``ReprojectFold`` flush sorts, without retaining and releasing a string per comparison.
struct ByteRun {
    private var bytes: [UInt8] = []
    /// Key i is `bytes[ends[i - 1] ..< ends[i]]` (from 0 for the first).
    private var ends: [Int] = []

    var count: Int { ends.count }

    /// Appends `tag` (when given) followed by the UTF-8 bytes of `s`.
    mutating func append(tag: UInt8?, _ s: String) {
        if let tag { bytes.append(tag) }
        ByteString.withBytes(s) { bytes.append(contentsOf: $0) }
        ends.append(bytes.count)
    }

    /// Where key `i` is in ``withBytes(_:)``'s buffer.
    func range(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// `body` over the buffer holding every key.
    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try bytes.withUnsafeBytes(body)
    }

    /// True when keys `i` and `j` have the same bytes.
    func equal(_ i: Int, _ j: Int) -> Bool {
        let a = range(i)
        let b = range(j)
        guard a.count == b.count else { return false }
        return bytes.withUnsafeBytes { a.isEmpty || memcmp($0.baseAddress! + a.lowerBound, $0.baseAddress! + b.lowerBound, a.count) == 0 }
    }

    /// The indices in the byte order of their keys (memcmp, a shorter prefix first: SQLite's BINARY
    /// collation), equal keys in index order. Sorts (first 8 bytes as a big-endian integer, index) pairs and
    /// compares the whole keys only when those bytes are equal (zero padding keeps that order exact: a key
    /// ending inside them is smaller unless the other holds only zeros there, and then the prefixes tie).
    func sortedIndices() -> [Int32] {
        precondition(count < Int(Int32.max), "more than 2^31 keys in one batch")
        return bytes.withUnsafeBytes { raw in
            ends.withUnsafeBufferPointer { ends in
                var pairs: [(prefix: UInt64, index: Int32)] = []
                pairs.reserveCapacity(ends.count)
                var start = 0
                for (i, end) in ends.enumerated() {
                    var p: UInt64 = 0
                    for j in 0..<8 { p = p << 8 | UInt64(start + j < end ? raw[start + j] : 0) }
                    pairs.append((p, Int32(i)))
                    start = end
                }
                let base = raw.baseAddress
                pairs.sort { a, b in
                    if a.prefix != b.prefix { return a.prefix < b.prefix }
                    let x = Int(a.index)
                    let y = Int(b.index)
                    let xs = x == 0 ? 0 : ends[x - 1]
                    let ys = y == 0 ? 0 : ends[y - 1]
                    let xn = ends[x] - xs
                    let yn = ends[y] - ys
                    let n = min(xn, yn)
                    if n > 8, let base {
                        let c = memcmp(base + xs + 8, base + ys + 8, n - 8)
                        if c != 0 { return c < 0 }
                    }
                    return xn != yn ? xn < yn : x < y
                }
                return pairs.map(\.index)
            }
        }
    }
}

extension UnsafeRawBufferPointer {
    /// The UTF-8 bytes of a string literal (static storage, valid for the whole run).
    init(staticText s: StaticString) { self.init(start: s.utf8Start, count: s.utf8CodeUnitCount) }
}

extension SQLiteStatement {
    /// Binds UTF-8 bytes as text to the 1-based parameter `index`, not copied: they must stay valid and
    /// unchanged until the statement is reset.
    func bindStatic(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return try bind("", at: index) }
        let rc = sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }
}
