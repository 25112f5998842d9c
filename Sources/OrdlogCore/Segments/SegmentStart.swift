/// Where a segment's part of a consumer's hash chain starts (table `segment_start`, migration 0006).
///
/// `ordlog seal` closes the current segment of a log and continues the live file as the next segment. The new
/// file's first record has seq ``firstSeq`` (the sealed segment's last seq + 1) and `prev_hash` ``prevHash`` (the
/// sealed segment's head hash), so the chain goes on across files. This row lets ``Verifier`` check one segment
/// file alone, and names the segment it continues. It is hashed like a record (``hash``, chained from
/// ``prevHash``), so an edit to it is found by `verify`; it does not take a seq.
public struct SegmentStart: Sendable, Equatable {
    /// Seq of the first record of this file.
    public var firstSeq: Int64
    /// Head hash of the previous segment (32 bytes).
    public var prevHash: [UInt8]
    /// The consumer whose chain this segment belongs to.
    public var consumerId: String
    /// The previous segment's relative name, `<consumerId>/<first>-<last>.ordlog` (``SegmentName``).
    public var prevSegment: String
    /// When the previous segment was sealed, ms since the epoch.
    public var sealedAt: Int64
    /// The stored hash of this row.
    public var hash: [UInt8]

    public init(
        firstSeq: Int64, prevHash: [UInt8], consumerId: String, prevSegment: String, sealedAt: Int64,
        hash: [UInt8]? = nil
    ) {
        self.firstSeq = firstSeq
        self.prevHash = prevHash
        self.consumerId = consumerId
        self.prevSegment = prevSegment
        self.sealedAt = sealedAt
        self.hash = []
        self.hash = hash ?? computedHash
    }

    /// `sha256(prev_hash ‖ canonical("segment-start", first_seq, consumer_id, prev_segment, sealed_at))`.
    public var computedHash: [UInt8] {
        var e = RecordHash.Encoder(kind: "segment-start", prev: prevHash)
        e.add(firstSeq)
        e.add(consumerId)
        e.add(prevSegment)
        e.add(sealedAt)
        return e.finalize()
    }

    /// The row in `db`, or nil (never sealed, or a file from before migration 0006).
    static func read(_ db: SQLiteConnection) throws -> SegmentStart? {
        let exists = try db.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'segment_start'")
        guard exists == 1 else { return nil }
        let s = try db.prepare(
            "SELECT first_seq, prev_hash, consumer_id, prev_segment, sealed_at, hash FROM segment_start WHERE id = 1")
        return try s.firstRow {
            SegmentStart(
                firstSeq: $0.int64(0), prevHash: $0.blob(1), consumerId: $0.text(2), prevSegment: $0.text(3),
                sealedAt: $0.int64(4), hash: $0.blob(5))
        }
    }

    /// Inserts this row into `db` (a new, empty segment file).
    func insert(into db: SQLiteConnection) throws {
        try db.run(
            """
            INSERT INTO segment_start (id, first_seq, prev_hash, consumer_id, prev_segment, sealed_at, hash)
            VALUES (1, ?, ?, ?, ?, ?, ?)
            """,
            [.int(firstSeq), .blob(prevHash), .text(consumerId), .text(prevSegment), .int(sealedAt), .blob(hash)])
    }
}
