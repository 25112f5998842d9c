import Crypto
import Foundation

/// A part of a live log's chain, as a segment: what `consume --durability s3` uploads before it deletes messages.
public struct SegmentIncrement: Sendable {
    /// The segment file's bytes (a SQLite database: the records only, as a sealed segment holds them).
    public var bytes: [UInt8]
    /// Its manifest (``SegmentManifest``): the same format and name as a sealed segment's.
    public var manifest: SegmentManifest
}

extension Segments {
    /// The records `firstSeq…lastSeq` of the live log at `livePath` as a segment, built in memory: an increment.
    ///
    /// An increment is a segment in every way a reader sees (`<consumerId>/<first>-<last>.ordlog` and its manifest,
    /// chained by seq and hash to the segment before it, verified like one), but the live file goes on: it is not
    /// sealed. A later seal covering the same records makes the increments redundant, and the uploader deletes
    /// them once the sealed segment is in S3.
    ///
    /// The range must be closed: every attempt in it has its receive in it (cut where ``LogWriter/quiesced(_:)``
    /// ran), and `firstSeq` must not be before the live file's first record.
    /// - Parameters:
    ///   - prevHash: the hash of record `firstSeq - 1` (32 zero bytes for seq 1).
    ///   - consumerId: the chain's consumer (as recorded; the name uses ``SegmentName/fileSafe(_:)`` of it).
    ///   - prevSegment: the previous segment or increment's name (`<consumerId>/<first>-<last>.ordlog`), recorded
    ///     in the increment's ``SegmentStart`` when `firstSeq` > 1.
    ///   - now: the time recorded as `sealedAt`, ms since the epoch.
    /// - Throws: ``SegmentError`` when the live file lacks a record of the range; ``SQLiteError``.
    public static func increment(
        livePath: String, firstSeq: Int64, lastSeq: Int64, prevHash: [UInt8], consumerId: String,
        prevSegment: String, queue: String, ordlogVersion: String, now: Int64
    ) throws -> SegmentIncrement {
        precondition(firstSeq >= 1 && lastSeq >= firstSeq)
        let db = try SQLiteConnection(path: ":memory:")
        try Migrations.migrate(db)
        try db.run("ATTACH DATABASE ? AS live", [.text(livePath)])
        defer { try? db.execute("DETACH DATABASE live") }
        var headHash: [UInt8]?
        try db.transaction {
            for table in ["receives", "attempts", "identities"] {
                let info = try db.prepare("SELECT name FROM pragma_table_info(?)")
                try info.bind([.text(table)])
                var columns: [String] = []
                while try info.step() { columns.append("\"" + info.text(0) + "\"") }
                let list = columns.joined(separator: ", ")
                try db.run(
                    "INSERT INTO main.\(table) (\(list)) SELECT \(list) FROM live.\(table) WHERE seq BETWEEN ? AND ?",
                    [.int(firstSeq), .int(lastSeq)])
            }
            let count =
                try db.scalarInt(
                    """
                    SELECT (SELECT count(*) FROM main.receives) + (SELECT count(*) FROM main.attempts)
                         + (SELECT count(*) FROM main.identities)
                    """) ?? 0
            guard count == lastSeq - firstSeq + 1 else {
                throw SegmentError(
                    "\(livePath) holds \(count) of the records \(firstSeq)…\(lastSeq): cannot cut an increment there")
            }
            headHash = try recordHash(db, seq: lastSeq)  // main's tables come first in name lookup
            if firstSeq > 1 {
                try SegmentStart(
                    firstSeq: firstSeq, prevHash: prevHash, consumerId: consumerId, prevSegment: prevSegment,
                    sealedAt: now
                ).insert(into: db)
            }
        }
        let bytes = try db.serialized()
        let manifest = SegmentManifest(
            consumerId: SegmentName.fileSafe(consumerId), queue: queue, ordlogVersion: ordlogVersion,
            firstSeq: firstSeq, lastSeq: lastSeq, prevHash: prevHash, headHash: headHash ?? [],
            sha256: RecordHash.hex(Array(SHA256.hash(data: bytes))), bytes: Int64(bytes.count),
            sealedAt: RFC3339.format(milliseconds: now))
        return SegmentIncrement(bytes: bytes, manifest: manifest)
    }

    /// The hash of record `seq` of the log `db` (a receive, an attempt or an identity), or nil.
    static func recordHash(_ db: SQLiteConnection, seq: Int64) throws -> [UInt8]? {
        let s = try db.prepare(
            """
            SELECT hash FROM receives WHERE seq = ?1 UNION ALL SELECT hash FROM attempts WHERE seq = ?1
            UNION ALL SELECT hash FROM identities WHERE seq = ?1
            """)
        try s.bind([.int(seq)])
        return try s.firstRow { $0.blob(0) }
    }
}
