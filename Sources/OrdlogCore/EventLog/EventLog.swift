import Crypto
import Foundation
import Logging

/// The result of appending one received message.
public enum AppendResult: Sendable, Equatable {
    /// Newly appended at this log record.
    case appended(LoggedReceive)
    /// This exact receive (same receive key) was already in the log, at this sequence.
    case alreadyLogged(seq: Int64)
}

/// The head of the log: the newest record's sequence number and hash.
public struct LogHead: Sendable, Equatable, CustomStringConvertible {
    public var seq: Int64
    public var hash: [UInt8]

    public init(seq: Int64, hash: [UInt8]) {
        self.seq = seq
        self.hash = hash
    }

    /// `SEQ:HEXHASH`, the form `ordlog head` prints and `ordlog verify --head` takes.
    public var description: String { "\(seq):\(RecordHash.hex(hash))" }
}

/// One record of the log, receive or attempt, in sequence order.
public enum LogRecord: Sendable {
    case receive(LoggedReceive)
    case attempt(LoggedAttempt)

    public var seq: Int64 {
        switch self {
        case .receive(let r): r.seq
        case .attempt(let a): a.seq
        }
    }
}

/// ordlog's event log: an append-only, hash-chained SQLite file.
///
/// Every received SQS message is appended (table `receives`) before anything else happens to it, and every
/// processing attempt is appended too (table `attempts`). Both share one gapless, increasing log sequence
/// number and one SHA-256 hash chain (see ``RecordHash``). Nothing is ever updated or deleted: this type has
/// no API for it, and triggers in the schema abort any `UPDATE` or `DELETE` on the log tables.
///
/// The file is opened in WAL mode with `synchronous=NORMAL` (a committed transaction survives a process
/// crash; the last transactions before a power loss may be lost, never corrupted). Migrations in
/// `migrations/*.sql` are applied on open. One `EventLog` is used by one task at a time; several processes
/// may share a file, since every write transaction is `BEGIN IMMEDIATE` and re-reads the head.
public final class EventLog {
    /// The underlying connection (the same file also holds the local projection).
    public let db: SQLiteConnection
    let logger: Logger
    private var nextSeq: Int64 = 1
    private var headHash: [UInt8] = RecordHash.genesis
    /// Whether the log holds format-1 receives (written before migration 0004 or by an older ordlog): then a
    /// message is also looked up by its format-1 receive key, which hashes the whole body again.
    private var hasFormat1Receives = false
    /// The format new receives are written in: 2, or 1 to write a log as ordlog did before migration 0004 (for
    /// the tests that prove such logs still verify and deduplicate).
    var receiveFormat = 2
    /// Where this file's part of the chain starts when it is a segment after a seal (``SegmentStart``), else nil
    /// (the chain starts at seq 1 after 32 zero bytes). Written once, when the file is created by a seal.
    public private(set) var segmentStart: SegmentStart?
    // Hot-path statements, prepared once.
    private var selectReceiveKey: SQLiteStatement?
    private var selectKeyedReceive: SQLiteStatement?
    private var selectMinKey: SQLiteStatement?
    private var countReceives: SQLiteStatement?
    private var insertReceive: SQLiteStatement?
    private var insertAttempt: SQLiteStatement?
    /// Reused by ``append(_:receivedAt:)`` to encode a receive from its ``PreparedReceive/hashTemplate``.
    private var hashScratch: [UInt8] = []

    /// The page size for a log created by a file ingest: 16 KiB. A receive row is ~1.7 KB, so a 4 KiB page holds
    /// two with a fifth of it unused, a 16 KiB page nine: a 100k-message log is 246 MB instead of 270 MB, and the
    /// ingest writes that much less, twice (WAL, then checkpoint). Not the default for every new log: a consumer
    /// commits a few messages at a time, and each commit writes every page it touched whole.
    public static let bulkPageSize = 16384

    /// Opens or creates the log at `path`, applying pending migrations.
    /// - Parameters:
    ///   - readOnly: open for reading only (the audit commands): nothing is written to the file — no
    ///     migration, no journal-mode change — so evidence stays byte for byte as it was. Appending throws.
    ///   - writer: the log is opened to append to it or rewrite it (ingest, consume, redrive, seal, an in-place
    ///     reproject): its ``WriterLock`` is taken first, for the rest of the process (one writer per log).
    ///   - newFilePageSize: the SQLite page size in bytes (a power of two, 512…65536) when this creates the file;
    ///     nil for SQLite's default (4096). A file that exists keeps its own. ``bulkPageSize`` suits a log filled by
    ///     large transactions (file ingest).
    /// - Throws: ``SQLiteError`` if the file cannot be opened or is not an ordlog database;
    ///   ``EventLogNeedsMigration`` when `readOnly` and the file was written by an older ordlog;
    ///   ``WriterLockError`` when `writer` and another process writes the log.
    public init(
        path: String, logger: Logger = Logger(label: "ordlog.eventlog", factory: { _ in SwiftLogNoOpLogHandler() }),
        readOnly: Bool = false, writer: Bool = false, newFilePageSize: Int? = nil
    ) throws {
        precondition(!(readOnly && writer), "a log is opened to read or to write")
        if writer { try WriterLock.acquire(forLog: path) }
        self.db = try SQLiteConnection(path: path, readOnly: readOnly)
        self.logger = logger
        if readOnly {
            try db.execute("PRAGMA cache_size=-65536;")
            let pending = try Migrations.pending(db)
            guard pending.isEmpty else { throw EventLogNeedsMigration(path: path, pending: pending) }
        } else {
            // An existing file keeps its page size: the pragma changes nothing there.
            if let newFilePageSize { try db.execute("PRAGMA page_size=\(newFilePageSize)") }
            try db.execute(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;")
            try Migrations.migrate(db)
        }
        segmentStart = try SegmentStart.read(db)
        try loadHead()
    }

    private func loadHead() throws {
        var best: (Int64, [UInt8])? = nil
        for table in ["receives", "attempts", "identities"] {
            let s = try db.prepare("SELECT seq, hash FROM \(table) ORDER BY seq DESC LIMIT 1")
            if let (seq, hash) = try s.firstRow({ ($0.int64(0), $0.blob(1)) }) {
                if best == nil || seq > best!.0 { best = (seq, hash) }
            }
        }
        // A segment continues the sealed previous one: seqs go on from its last, the first prev_hash is its head.
        nextSeq = (best?.0 ?? ((segmentStart?.firstSeq ?? 1) - 1)) + 1
        headHash = best?.1 ?? segmentStart?.prevHash ?? RecordHash.genesis
        // Format-2 keys start with "r2:", which sorts after every format-1 key (64 lowercase hex digits).
        let minKey = try db.prepared(&selectMinKey, "SELECT min(receive_key) FROM receives")
        let smallest = try minKey.firstRow { $0.optionalText(0) } ?? nil
        hasFormat1Receives = smallest.map { !$0.hasPrefix("r2:") } ?? false
    }

    /// The newest record's sequence as of this connection's last read or write, without reading the file: 0 for
    /// an empty log; for a segment with no records yet, the sealed previous segment's last seq.
    public var knownHeadSeq: Int64 { nextSeq - 1 }

    /// The newest record's sequence and hash, or nil for an empty log. For a segment with no records yet, the
    /// sealed previous segment's head (which is where the chain stands).
    public func head() throws -> LogHead? {
        try loadHead()
        return nextSeq == 1 ? nil : LogHead(seq: nextSeq - 1, hash: headHash)
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`); everything appended in it commits together
    /// or not at all.
    /// - Throws: whatever `body` throws (after rolling back), or ``SQLiteError``.
    public func write<T>(_ body: () throws -> T) throws -> T {
        do {
            checkpointer?.beforeWrite()
            let result = try db.transaction {
                try loadHead()
                return try body()
            }
            checkpointer?.committed()
            return result
        } catch {
            try? loadHead()
            throw error
        }
    }

    /// Runs `body` (a run of large write transactions: a file ingest) with the WAL checkpoints on a second thread
    /// and connection instead of in the committing thread: after each ``write(_:)`` commits, a passive checkpoint
    /// (<https://www.sqlite.org/c3ref/wal_checkpoint_v2.html>) copies the committed pages into the database file
    /// while the next transaction is being written. Durability is unchanged: commits stay `synchronous=NORMAL`
    /// in WAL mode, and a checkpoint syncs the WAL before it copies, as SQLite's automatic one does. When `body`
    /// returns, the checkpointer has stopped and automatic checkpoints are on again. For a log in memory (or when
    /// the second connection cannot be opened) `body` simply runs.
    /// - Throws: whatever `body` throws.
    public func withBackgroundCheckpoints<T>(_ body: () throws -> T) throws -> T {
        guard checkpointer == nil, db.path != ":memory:", !db.path.isEmpty,
            let c = try? BackgroundCheckpointer(path: db.path)
        else { return try body() }
        try db.execute("PRAGMA wal_autocheckpoint=0")
        checkpointer = c
        defer {
            checkpointer = nil
            c.stop()
            try? db.execute("PRAGMA wal_autocheckpoint=1000")
        }
        return try body()
    }
    private var checkpointer: BackgroundCheckpointer?

    /// ``write(_:)`` for a body that awaits: one transaction held across the awaits.
    public func write<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await db.transaction { () async throws -> T in
                try loadHead()
                return try await body()
            }
        } catch {
            try? loadHead()
            throw error
        }
    }

    /// The receive key of a format-1 receive (see migration 0001): what an earlier ordlog stored for `m`.
    static func receiveKeyFormat1(_ m: IncomingMessage) -> String {
        var e = RecordHash.Encoder(kind: "receive-key")
        e.add(m.messageId)
        e.add(m.receiptHandle)
        e.add(m.attributes["ApproximateReceiveCount"]?.stringValue)
        e.add(m.body)
        if m.messageId == nil { e.add(m.source) }
        return RecordHash.hex(e.finalize())
    }

    /// Appends one received message. Must be called inside ``write(_:)``. The same as appending
    /// ``PreparedReceive/init(_:)`` of it.
    ///
    /// A receive already in the log (same message id, receipt handle, receive count and body) is not
    /// appended again; its sequence is returned as ``AppendResult/alreadyLogged(seq:)``.
    /// - Parameter receivedAt: when ordlog received it, ms since the epoch.
    /// - Throws: ``SQLiteError``.
    public func append(_ m: IncomingMessage, receivedAt: Int64) throws -> AppendResult {
        try append(PreparedReceive(m), receivedAt: receivedAt)
    }

    /// Appends one received message whose log-independent part was computed ahead (``PreparedReceive``, possibly
    /// on another thread). Must be called inside ``write(_:)``.
    ///
    /// A receive already in the log (same message id, receipt handle, receive count and body) is not
    /// appended again; its sequence is returned as ``AppendResult/alreadyLogged(seq:)``.
    /// - Parameter receivedAt: when ordlog received it, ms since the epoch.
    /// - Throws: ``SQLiteError``.
    public func append(_ p: PreparedReceive, receivedAt: Int64) throws -> AppendResult {
        precondition(db.inTransaction, "EventLog.append must run inside EventLog.write")
        let m = p.message
        let keyDigest = p.keyDigest
        var key = p.receiveKey
        // The common case (format 2, no format-1 rows): the UNIQUE receive_key index is the dedup lookup (an
        // INSERT that does nothing on a taken key), so a new receive costs one index probe, not a SELECT and an
        // INSERT. A taken key is resolved below, as the lookups before the INSERT resolve it otherwise.
        let insertFirst = receiveFormat == 2 && !hasFormat1Receives
        if insertFirst {
            // Looked up by the INSERT below.
        } else if receiveFormat == 1 {
            key = Self.receiveKeyFormat1(m)
            if let seq = try loggedSeq(receiveKey: key) { return .alreadyLogged(seq: seq) }
        } else {
            if let seq = try loggedSeq(receiveKey: key) {
                if try storedKeyDigest(seq: seq) == keyDigest { return .alreadyLogged(seq: seq) }
                // Another receive has these 64 bits: this one is keyed by the whole digest.
                key = RecordHash.receiveKeyText(keyDigest, full: true)
                if let seq = try loggedSeq(receiveKey: key) { return .alreadyLogged(seq: seq) }
            }
            if let seq = try loggedSeq(receiveKey: Self.receiveKeyFormat1(m)) { return .alreadyLogged(seq: seq) }
        }
        let receiveCount = try IncomingMessage.receiveNumber(attribute: m.approximateReceiveCount) {
            guard let id = m.messageId else { return 1 }
            let count = try db.prepared(&countReceives, "SELECT count(*) FROM receives WHERE message_id = ?")
            try count.bind(id, at: 1)
            return (try count.firstRow { $0.int64(0) } ?? 0) + 1
        }
        var r = LoggedReceive(
            seq: nextSeq, receiveKey: key, messageId: m.messageId, receiptHandle: m.receiptHandle,
            md5OfBody: m.md5OfBody, md5Matches: p.md5Matches, body: m.body,
            attributesJSON: p.attributesJSON, messageAttributesJSON: p.messageAttributesJSON,
            md5OfMessageAttributes: m.md5OfMessageAttributes,
            receiveCount: receiveCount, sentTimestamp: m.sentTimestamp, source: m.source, inputError: m.inputError,
            receivedAt: receivedAt, prevHash: headHash, hash: [], format: receiveFormat)
        if receiveFormat == 2, let template = p.hashTemplate, key == p.receiveKey, headHash.count == 32 {
            r.hash = template.hash(
                prev: headHash, seq: r.seq, receiveCount: receiveCount, receivedAt: receivedAt, scratch: &hashScratch)
        } else {
            r.hash =
                receiveFormat == 2
                ? RecordHash.hash(of: r, prev: headHash, bodyDigest: p.bodyDigest)
                : RecordHash.hashFormat1(of: r, prev: headHash)
        }
        if try !insert(r) {
            // insertFirst only (the other paths looked the key up first): the 64-bit key is taken, by this very
            // receive logged before, or by another receive with the same first 64 bits of its digest.
            guard let seq = try loggedSeq(receiveKey: key) else {
                throw SQLiteError(
                    code: 1, extendedCode: 1, message: "receive_key \(key) conflicts but cannot be found", sql: nil)
            }
            if try storedKeyDigest(seq: seq) == keyDigest { return .alreadyLogged(seq: seq) }
            key = RecordHash.receiveKeyText(keyDigest, full: true)
            r.receiveKey = key
            r.hash = RecordHash.hash(of: r, prev: headHash, bodyDigest: p.bodyDigest)
            if try !insert(r) {
                guard let seq = try loggedSeq(receiveKey: key) else {
                    throw SQLiteError(
                        code: 1, extendedCode: 1, message: "receive_key \(key) conflicts but cannot be found", sql: nil)
                }
                return .alreadyLogged(seq: seq)
            }
        }
        nextSeq += 1
        headHash = r.hash
        logger.trace(
            "Appended receive", metadata: ["event.sequence": "\(r.seq)", "sqs.message_id": "\(m.messageId ?? "-")"])
        return .appended(r)
    }

    /// Inserts `r` unless its receive key is taken; returns whether it was inserted.
    private func insert(_ r: LoggedReceive) throws -> Bool {
        let s = try db.prepared(
            &insertReceive,
            """
            INSERT INTO receives (seq, receive_key, message_id, receipt_handle, md5_of_body, md5_matches, body,
              attributes, message_attributes, md5_of_message_attributes, receive_count, sent_timestamp, source,
              input_error, received_at, prev_hash, hash, format)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            ON CONFLICT(receive_key) DO NOTHING
            """)
        try s.bind(r.seq, at: 1)
        try s.bind(r.receiveKey, at: 2)
        try s.bind(r.messageId, at: 3)
        try s.bind(r.receiptHandle, at: 4)
        try s.bind(r.md5OfBody, at: 5)
        try s.bind(r.md5Matches.map { $0 ? 1 : 0 }, at: 6)
        try s.bind(.blob(r.body), at: 7)
        try s.bind(r.attributesJSON, at: 8)
        try s.bind(r.messageAttributesJSON, at: 9)
        try s.bind(r.md5OfMessageAttributes, at: 10)
        try s.bind(r.receiveCount, at: 11)
        try s.bind(r.sentTimestamp, at: 12)
        try s.bind(r.source, at: 13)
        try s.bind(r.inputError, at: 14)
        try s.bind(r.receivedAt, at: 15)
        try s.bind(.blob(r.prevHash), at: 16)
        try s.bind(.blob(r.hash), at: 17)
        try s.bind(r.format == 2 ? Int64(2) : nil, at: 18)
        try s.step()
        return db.changes == 1
    }

    /// The sequence of the receive stored under `receiveKey`, or nil.
    private func loggedSeq(receiveKey: String) throws -> Int64? {
        let lookup = try db.prepared(&selectReceiveKey, "SELECT seq FROM receives WHERE receive_key = ?")
        try lookup.bind(receiveKey, at: 1)
        return try lookup.firstRow { $0.int64(0) }
    }

    /// The format-2 key digest of the stored receive at `seq`, recomputed from its columns (nil for a format-1
    /// row): tells a receive logged again from another one whose key shares the first 64 bits.
    private func storedKeyDigest(seq: Int64) throws -> [UInt8]? {
        let s = try db.prepared(
            &selectKeyedReceive,
            "SELECT format, message_id, receipt_handle, attributes, body, source FROM receives WHERE seq = ?")
        try s.bind(seq, at: 1)
        return try s.firstRow { row -> [UInt8]? in
            guard row.optionalInt64(0) == 2 else { return nil }
            let attributes = try? JSONParser.parse(row.text(3))
            var count: String? = nil
            if case .object(let o)? = attributes { count = o["ApproximateReceiveCount"]?.stringValue }
            return RecordHash.receiveKeyDigest(
                messageId: row.optionalText(1), receiptHandle: row.optionalText(2), receiveCountAttribute: count,
                bodyDigest: RecordHash.bodyDigest(row.blob(4)), source: row.text(5))
        } ?? nil
    }

    /// Appends one processing attempt for `receive`. Must be called inside ``write(_:)``.
    /// - Parameters:
    ///   - trigger: `receive` for the first processing of a receive, `redrive` for re-processing.
    ///   - attemptedAt: ms since the epoch.
    /// - Throws: ``SQLiteError``.
    @discardableResult
    public func appendAttempt(
        receive: LoggedReceive, decision: Decision, processorVersion: String, trigger: AttemptTrigger = .receive,
        attemptedAt: Int64
    ) throws -> LoggedAttempt {
        try appendAttempt(
            receive: receive, decision: decision, processorVersion: processorVersion, trigger: trigger,
            attemptedAt: attemptedAt, itemJSON: decision.item?.json)
    }

    /// ``appendAttempt(receive:decision:processorVersion:trigger:attemptedAt:)`` with the decision's item
    /// already written as JSON (`itemJSON` must be `decision.item?.json`: it is what is stored and hashed).
    func appendAttempt(
        receive: LoggedReceive, decision: Decision, processorVersion: String, trigger: AttemptTrigger,
        attemptedAt: Int64, itemJSON: String?
    ) throws -> LoggedAttempt {
        precondition(db.inTransaction, "EventLog.appendAttempt must run inside EventLog.write")
        var a = LoggedAttempt(
            seq: nextSeq, receiveSeq: receive.seq, messageId: receive.messageId, decision: decision,
            processorVersion: processorVersion, trigger: trigger, attemptedAt: attemptedAt, prevHash: headHash, hash: []
        )
        a.hash = RecordHash.hash(of: a, prev: headHash, itemJSON: itemJSON)
        let s = try db.prepared(
            &insertAttempt,
            """
            INSERT INTO attempts (seq, receive_seq, message_id, outcome, error_kind, error_code, error_field,
              error_message, dead_lettered, processor_version, order_id, sns_message_id, item, note, trigger,
              attempted_at, prev_hash, hash)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """)
        try s.bind(a.seq, at: 1)
        try s.bind(a.receiveSeq, at: 2)
        try s.bind(a.messageId, at: 3)
        try s.bind(decision.outcome.rawValue, at: 4)
        try s.bind(decision.errorKind?.rawValue, at: 5)
        try s.bind(decision.errorCode, at: 6)
        try s.bind(decision.errorField, at: 7)
        try s.bind(decision.errorMessage, at: 8)
        try s.bind(Int64(decision.deadLettered ? 1 : 0), at: 9)
        try s.bind(processorVersion, at: 10)
        try s.bind(decision.orderId, at: 11)
        try s.bind(decision.snsMessageId, at: 12)
        try s.bind(itemJSON, at: 13)
        try s.bind(decision.note, at: 14)
        try s.bind(trigger.rawValue, at: 15)
        try s.bind(attemptedAt, at: 16)
        try s.bind(.blob(a.prevHash), at: 17)
        try s.bind(.blob(a.hash), at: 18)
        try s.step()
        nextSeq += 1
        headHash = a.hash
        return a
    }

    /// Appends a consumer identity record (table `identities`, migration 0005) when `identity` differs from
    /// the log's latest one; returns the new record, or nil when the latest one already says the same. Must be
    /// called inside ``write(_:)``.
    /// - Parameter recordedAt: ms since the epoch.
    /// - Throws: ``SQLiteError``.
    @discardableResult
    public func appendIdentity(_ identity: ConsumerIdentity, recordedAt: Int64) throws -> LoggedIdentity? {
        precondition(db.inTransaction, "EventLog.appendIdentity must run inside EventLog.write")
        if try latestIdentity()?.identity == identity { return nil }
        var r = LoggedIdentity(seq: nextSeq, identity: identity, recordedAt: recordedAt, prevHash: headHash, hash: [])
        r.hash = RecordHash.hash(of: r, prev: headHash)
        try db.run(
            """
            INSERT INTO identities (\(Self.identityColumns)) VALUES (?,?,?,?,?,?,?)
            """,
            [
                .int(r.seq), .text(identity.consumerId), .text(identity.ordlogVersion), .text(identity.queue),
                .int(recordedAt), .blob(r.prevHash), .blob(r.hash),
            ])
        nextSeq += 1
        headHash = r.hash
        return r
    }

    // MARK: Reading

    static let receiveColumns = """
        seq, receive_key, message_id, receipt_handle, md5_of_body, md5_matches, body, attributes, message_attributes,
        md5_of_message_attributes, receive_count, sent_timestamp, source, input_error, received_at, prev_hash, hash,
        coalesce(format, 1)
        """
    /// ``receiveColumns`` with constants in place of what deciding never reads (same positions).
    static let decisionColumns = """
        seq, '', message_id, NULL, NULL, NULL, body, '{}', NULL, NULL, receive_count, sent_timestamp, '', input_error,
        received_at, x'', x'', coalesce(format, 1)
        """
    /// ``attemptColumns`` with constants in place of what re-applying a recorded decision never reads (error
    /// kind, code, field and message, processor version, note, trigger, hashes; same positions).
    static let applyColumns = """
        seq, receive_seq, message_id, outcome, NULL, NULL, NULL, NULL, dead_lettered, '', order_id, sns_message_id,
        item, NULL, '', attempted_at, x'', x''
        """
    static let attemptColumns = """
        seq, receive_seq, message_id, outcome, error_kind, error_code, error_field, error_message, dead_lettered,
        processor_version, order_id, sns_message_id, item, note, trigger, attempted_at, prev_hash, hash
        """

    static func readReceive(_ s: SQLiteStatement) -> LoggedReceive {
        LoggedReceive(
            seq: s.int64(0), receiveKey: s.text(1), messageId: s.optionalText(2), receiptHandle: s.optionalText(3),
            md5OfBody: s.optionalText(4), md5Matches: s.optionalInt64(5).map { $0 != 0 }, body: s.blob(6),
            attributesJSON: s.text(7), messageAttributesJSON: s.optionalText(8),
            md5OfMessageAttributes: s.optionalText(9),
            receiveCount: s.int64(10), sentTimestamp: s.optionalInt64(11), source: s.text(12),
            inputError: s.optionalText(13),
            receivedAt: s.int64(14), prevHash: s.blob(15), hash: s.blob(16), format: Int(s.int64(17)))
    }

    static func readAttempt(_ s: SQLiteStatement) -> LoggedAttempt {
        let decision = Decision(
            outcome: Outcome(rawValue: s.text(3)) ?? .failed, errorKind: s.optionalText(4).flatMap(ErrorKind.init),
            errorCode: s.optionalText(5), errorField: s.optionalText(6), errorMessage: s.optionalText(7),
            deadLettered: s.int64(8) != 0, orderId: s.optionalText(10), snsMessageId: s.optionalText(11),
            item: s.optionalText(12).flatMap { OrderItem(json: $0) }, note: s.optionalText(13))
        return LoggedAttempt(
            seq: s.int64(0), receiveSeq: s.int64(1), messageId: s.optionalText(2), decision: decision,
            processorVersion: s.text(9), trigger: AttemptTrigger(rawValue: s.text(14)), attemptedAt: s.int64(15), prevHash: s.blob(16),
            hash: s.blob(17))
    }

    /// The receive at `seq`, or nil.
    public func receive(seq: Int64) throws -> LoggedReceive? {
        let s = try db.prepare("SELECT \(Self.receiveColumns) FROM receives WHERE seq = ?")
        try s.bind([.int(seq)])
        return try s.firstRow(Self.readReceive)
    }

    /// Every receive matching an SQL condition on `receives`, in log order.
    func receives(where condition: String, _ values: [SQLiteValue] = []) throws -> [LoggedReceive] {
        let s = try db.prepare("SELECT \(Self.receiveColumns) FROM receives WHERE \(condition) ORDER BY seq")
        try s.bind(values)
        var out: [LoggedReceive] = []
        while try s.step() { out.append(Self.readReceive(s)) }
        return out
    }

    /// Every attempt matching an SQL condition on `attempts`, in log order.
    func attempts(where condition: String, _ values: [SQLiteValue] = []) throws -> [LoggedAttempt] {
        let s = try db.prepare("SELECT \(Self.attemptColumns) FROM attempts WHERE \(condition) ORDER BY seq")
        try s.bind(values)
        var out: [LoggedAttempt] = []
        while try s.step() { out.append(Self.readAttempt(s)) }
        return out
    }

    /// Every receive of the SQS message `messageId`, in log order.
    public func receives(messageId: String) throws -> [LoggedReceive] {
        try receives(where: "message_id = ?", [.text(messageId)])
    }

    /// Every attempt of the SQS message `messageId`, in log order.
    public func attempts(messageId: String) throws -> [LoggedAttempt] {
        // attempts.message_id is its receive's: found through receives_message_id (attempts has no such index).
        try attempts(where: "receive_seq IN (SELECT seq FROM receives WHERE message_id = ?)", [.text(messageId)])
    }

    /// Every attempt of the receive at `receiveSeq`, in log order.
    public func attempts(receiveSeq: Int64) throws -> [LoggedAttempt] {
        try attempts(where: "receive_seq = ?", [.int(receiveSeq)])
    }

    /// Receives that have no attempt yet (appended, then interrupted before processing), in log order.
    public func unprocessedReceives() throws -> [LoggedReceive] {
        try receives(where: "NOT EXISTS (SELECT 1 FROM attempts a WHERE a.receive_seq = receives.seq)")
    }

    /// Every record that concerns order `orderId` (compared byte for byte), in log order: each receive and
    /// attempt of every SQS message that any attempt attributed to this order.
    public func history(orderId: String) throws -> [LogRecord] {
        let ids = "SELECT DISTINCT message_id FROM attempts WHERE order_id = ? AND message_id IS NOT NULL"
        let rs = try receives(where: "message_id IN (\(ids))", [.text(orderId)])
        let atts = try attempts(
            where: "receive_seq IN (SELECT seq FROM receives WHERE message_id IN (\(ids))) "
                + "OR (order_id = ? AND message_id IS NULL)",
            [.text(orderId), .text(orderId)])
        return (rs.map(LogRecord.receive) + atts.map(LogRecord.attempt)).sorted { $0.seq < $1.seq }
    }

    /// Calls `body` for every record with `from ≤ seq ≤ through`, in log order, streaming (constant memory).
    /// Return false from `body` to stop. The same records as ``records(from:through:attempts:decisionColumnsOnly:)``.
    /// - Parameters:
    ///   - attempts: false streams receives only (cheaper when the caller ignores attempts).
    ///   - decisionColumnsOnly: read only what the processor and replay filters use (seq, message id,
    ///     receive count, SentTimestamp, received-at, body, input error); the other receive fields are left
    ///     empty.
    public func forEachRecord(
        from: Int64 = 1, through: Int64 = .max, attempts: Bool = true,
        decisionColumnsOnly: Bool = false, _ body: (LogRecord) throws -> Bool
    ) throws {
        var cursor = try records(
            from: from, through: through, attempts: attempts, decisionColumnsOnly: decisionColumnsOnly)
        while let record = try cursor.next() {
            guard try body(record) else { return }
        }
    }

    /// A streaming cursor over the records with `from ≤ seq ≤ through`, in log order: one SQLite statement on
    /// `receives` and (with `attempts`) one on `attempts`, merged by seq; constant memory. The cursor reads
    /// on this log's connection: use it before the next write.
    /// - Parameters:
    ///   - attempts: false streams receives only.
    ///   - decisionColumnsOnly: read only what the processor and replay filters use (seq, message id,
    ///     receive count, SentTimestamp, received-at, body, input error); the other receive fields are left
    ///     empty.
    ///   - receives: false streams attempts only (what re-applying recorded decisions reads).
    ///   - applyColumnsOnly: read only the attempt columns re-applying a decision uses (seq, receive seq,
    ///     message id, outcome, dead-lettered, order id, SNS MessageId, item, attempted-at); the others are left
    ///     empty.
    /// - Throws: ``SQLiteError``.
    public func records(
        from: Int64 = 1, through: Int64 = .max, attempts: Bool = true, decisionColumnsOnly: Bool = false,
        receives: Bool = true, applyColumnsOnly: Bool = false
    ) throws -> LogCursor {
        try LogCursor(
            log: self, from: from, through: through, receives: receives, attempts: attempts,
            decisionColumnsOnly: decisionColumnsOnly, applyColumnsOnly: applyColumnsOnly)
    }

    /// Message ids whose latest attempt is dead-lettered, with that attempt's sequence, in log order.
    public func deadLetteredMessageIds() throws -> [String] {
        try messageIdsWhoseLatestAttempt("a.dead_lettered = 1")
    }

    /// Message ids whose latest attempt matches `condition` (on `attempts a`), in the order of those attempts.
    func messageIdsWhoseLatestAttempt(_ condition: String) throws -> [String] {
        let s = try db.prepare(
            """
            SELECT r.message_id FROM attempts a JOIN receives r ON r.seq = a.receive_seq
            WHERE \(condition) AND r.message_id IS NOT NULL
              AND a.seq = (SELECT max(b.seq) FROM receives rb JOIN attempts b ON b.receive_seq = rb.seq
                           WHERE rb.message_id = r.message_id)
            ORDER BY a.seq
            """)
        var out: [String] = []
        while try s.step() { out.append(s.text(0)) }
        return out
    }
}

/// A log opened for reading only was written by an older ordlog: the migrations in ``pending`` are not applied
/// to it (a writer — ingest, consume — applies them; a reader reads a migrated copy).
public struct EventLogNeedsMigration: Error, Sendable, CustomStringConvertible {
    /// The log's path.
    public var path: String
    /// The ids of the migrations not yet applied, in order (e.g. `0004_record_format2`).
    public var pending: [String]

    public var description: String {
        "\(path) was written by an older ordlog: migrations \(pending.joined(separator: ", ")) are not applied to it"
    }
}
