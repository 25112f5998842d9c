import Foundation
/// A stored order: the item plus where it came from.
public struct ProjectedOrder: Sendable, Equatable {
    public var item: OrderItem
    /// The order's timestamp as an instant, ns since the epoch.
    public var timestampNs: Int64
    /// Log sequence of the receive that wrote this version.
    public var lastSeq: Int64
    /// SQS MessageId that wrote this version.
    public var messageId: String?
}

/// The local projection: the `Orders` table as SQLite tables (`orders`, `applied_messages`), the embedded
/// stand-in for the DynamoDB table. It lives in the event log's file (so an append and its projection
/// commit in one transaction) or in a scratch file for replays.
///
/// Writes follow the DynamoDB rules: an item is replaced whole, keyed by `orderId` compared byte for byte.
public final class LocalProjection: ReplayProjection {
    public let db: SQLiteConnection

    /// Wraps a connection whose database already has the projection tables (migration `0002_projection`).
    public init(db: SQLiteConnection) { self.db = db }

    /// Opens or creates a standalone projection database at `path` (for replays and re-projections).
    /// The projection file at `path` (written by `reproject --into` or `replay --into`: an `orders` table and no
    /// `receives`), opened read-only; nil for a missing file, an event log, or any file that cannot be probed.
    public static func openProjectionFile(_ path: String) -> LocalProjection? {
        guard FileManager.default.fileExists(atPath: path),
            let db = try? SQLiteConnection(path: path, readOnly: true),
            let tables = try? db.scalarInt(
                "SELECT sum(name = 'orders') * 2 + sum(name = 'receives') FROM sqlite_master WHERE type = 'table'"),
            tables == 2
        else { return nil }
        return LocalProjection(db: db)
    }

    public static func open(path: String) throws -> LocalProjection {
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;")
        try Migrations.migrate(db, only: [Migrations.projectionMigrationID])
        return LocalProjection(db: db)
    }

    // Hot-path statements, prepared once per projection.
    private var selectApplied: SQLiteStatement?
    private var selectVersion: SQLiteStatement?
    private var upsertOrder: SQLiteStatement?
    private var insertApplied: SQLiteStatement?

    /// The log sequence at which the key was applied (table `applied_messages`), or nil.
    public func appliedSeq(kind: IdempotencyKind, id: String) throws -> Int64? {
        let s = try db.prepared(&selectApplied, "SELECT seq FROM applied_messages WHERE kind = ? AND id = ?")
        try s.bind(kind.rawValue, at: 1)
        try s.bind(id, at: 2)
        return try s.firstRow { $0.int64(0) }
    }

    /// The stored version of `orderId` (byte-wise primary-key lookup), or nil.
    public func currentVersion(orderId: String) throws -> OrderVersion? {
        let s = try db.prepared(&selectVersion, "SELECT timestamp_ns, last_seq FROM orders WHERE order_id = ?")
        try s.bind(orderId, at: 1)
        return try s.firstRow { OrderVersion(timestampNs: $0.int64(0), seq: $0.int64(1)) }
    }

    /// Applies a final decision (``Decision/forEachProjectionWrite(receive:item:key:)``): writes the item for
    /// `projected`, and records the idempotency keys for `projected`, `duplicate` and `stale`. Other outcomes
    /// change nothing.
    /// - Throws: ``SQLiteError`` when the write fails (the caller records a transient failure).
    public func apply(_ decision: Decision, receive: LoggedReceive) throws {
        try decision.forEachProjectionWrite(
            receive: receive,
            item: { item, ns in
                let s = try db.prepared(&upsertOrder, Self.upsertSQL(table: "orders"))
                try s.bind(item.orderId, at: 1)
                try s.bind(item.userId, at: 2)
                try s.bind(item.itemName, at: 3)
                try s.bind(item.quantity, at: 4)
                try s.bind(item.status, at: 5)
                try s.bind(item.timestamp, at: 6)
                try s.bind(ns, at: 7)
                try s.bind(receive.seq, at: 8)
                try s.bind(receive.messageId, at: 9)
                try s.step()
            },
            key: { kind, id in try markApplied(kind, id, seq: receive.seq) })
    }

    /// A replay into this projection writes in transactions of `batchSize` decisions, unsynchronised (a
    /// scratch file: a crash loses the replay, never the log).
    public func beginReplay() throws {
        try db.execute("PRAGMA synchronous=OFF")
        try db.execute("BEGIN")
    }
    public func replayBatchEnded() throws { try db.execute("COMMIT; BEGIN") }
    public func endReplay() throws { try db.execute("COMMIT") }
    public func abortReplay() { try? db.execute("ROLLBACK") }

    /// The orders upsert, the one copy (the local projection and the re-projector's `orders_new`): the item is
    /// replaced whole. Binds: order_id, user_id, item_name, quantity, status, timestamp, timestamp_ns, last_seq,
    /// message_id.
    /// - Parameter newerOnly: keep a stored version that is newer than the one written (``OrderVersion/isNewer(than:)``:
    ///   (timestamp_ns, last_seq) compared as a pair).
    static func upsertSQL(table: String, newerOnly: Bool = false) -> String {
        """
        INSERT INTO \(table) (order_id, user_id, item_name, quantity, status, timestamp, timestamp_ns, last_seq, message_id)
        VALUES (?,?,?,?,?,?,?,?,?)
        ON CONFLICT(order_id) DO UPDATE SET user_id=excluded.user_id, item_name=excluded.item_name,
          quantity=excluded.quantity, status=excluded.status, timestamp=excluded.timestamp,
          timestamp_ns=excluded.timestamp_ns, last_seq=excluded.last_seq, message_id=excluded.message_id
        """ + (newerOnly
            ? " WHERE (excluded.timestamp_ns, excluded.last_seq) > (\(table).timestamp_ns, \(table).last_seq)" : "")
    }

    private func markApplied(_ kind: IdempotencyKind, _ id: String, seq: Int64) throws {
        let s = try db.prepared(&insertApplied, "INSERT OR IGNORE INTO applied_messages (kind, id, seq) VALUES (?,?,?)")
        try s.bind(kind.rawValue, at: 1)
        try s.bind(id, at: 2)
        try s.bind(seq, at: 3)
        try s.step()
    }

    /// All orders, sorted by `orderId` bytes.
    public func orders() throws -> [ProjectedOrder] {
        try query(
            "SELECT order_id, user_id, item_name, quantity, status, timestamp, timestamp_ns, last_seq, message_id FROM orders ORDER BY order_id"
        )
    }

    /// The order `orderId` (byte-wise), or nil.
    public func order(_ orderId: String) throws -> ProjectedOrder? {
        try query(
            "SELECT order_id, user_id, item_name, quantity, status, timestamp, timestamp_ns, last_seq, message_id FROM orders WHERE order_id = ?",
            [.text(orderId)]
        ).first
    }

    /// Orders from a query selecting the columns `orders()` selects, in that order.
    func query(_ sql: String, _ values: [SQLiteValue] = []) throws -> [ProjectedOrder] {
        let s = try db.prepare(sql)
        try s.bind(values)
        var out: [ProjectedOrder] = []
        while try s.step() {
            out.append(
                ProjectedOrder(
                    item: OrderItem(
                        orderId: s.text(0), userId: s.text(1), itemName: s.text(2), quantity: s.int64(3),
                        status: s.text(4), timestamp: s.text(5)),
                    timestampNs: s.int64(6), lastSeq: s.int64(7), messageId: s.optionalText(8)))
        }
        return out
    }

    /// ``OrdersDigest`` of every order item in `orderId` byte order: equal digests mean equal `Orders` tables.
    /// Only the six item attributes count, not which log record wrote them.
    public func digest() throws -> String {
        var d = OrdersDigest()
        let s = try db.prepare(
            "SELECT order_id, user_id, item_name, quantity, status, timestamp FROM orders ORDER BY order_id")
        while try s.step() {
            d.add(
                orderId: s.text(0), userId: s.text(1), itemName: s.text(2), quantity: s.int64(3), status: s.text(4),
                timestamp: s.text(5))
        }
        return d.finalize()
    }

    /// The number of orders.
    public func orderCount() throws -> Int { Int(try db.scalarInt("SELECT count(*) FROM orders") ?? 0) }
}
