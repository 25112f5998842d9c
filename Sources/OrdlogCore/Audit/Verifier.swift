/// What is wrong at the first broken place of the hash chain.
public enum ChainBreakKind: String, Sendable {
    /// A record's stored content no longer matches its hash.
    case edited
    /// A sequence number is missing: a record was deleted.
    case deleted
    /// A record sits at another sequence than the one it was written at (rows swapped or reordered).
    case reordered
    /// A record that was never appended by ordlog sits in the chain (or two records share a sequence).
    case inserted
    /// A record's `prev_hash` does not equal the previous record's hash.
    case brokenLink = "broken-link"
    /// The newest records are missing or different: the head kept with `ordlog head` is not in the log.
    case cutOff = "cut-off"
}

/// The first break found by ``Verifier``.
public struct ChainBreak: Sendable, Equatable, CustomStringConvertible {
    public var seq: Int64
    public var kind: ChainBreakKind
    public var message: String
    public var description: String { "seq \(seq): \(kind.rawValue): \(message)" }
}

/// The result of walking the chain.
public struct VerifyResult: Sendable, Equatable {
    /// Records whose hash was recomputed and matched, before the first break.
    public var verified: Int64 = 0
    /// The head as stored (newest record), nil for an empty log.
    public var head: LogHead?
    public var problem: ChainBreak?
    public var ok: Bool { problem == nil }

    public init(verified: Int64 = 0, head: LogHead? = nil, problem: ChainBreak? = nil) {
        self.verified = verified
        self.head = head
        self.problem = problem
    }
}

/// Walks the event log's hash chain (both tables, merged by seq) and reports the first broken record.
///
/// For every record in seq order it checks: the seq is the previous one plus one (else `deleted`, or
/// `inserted` when two records share a seq), `prev_hash` equals the previous record's hash, and the hash
/// recomputed from the stored columns (``RecordHash``) equals the stored hash. At the first failure it
/// classifies what happened: a record carrying another record's hash (a copied row) is `inserted`; a record whose
/// content verifies at another seq (within 256) is `reordered`; a record whose successor verifies at its position
/// is `inserted`; otherwise `edited`.
///
/// A hash chain without a secret cannot detect the newest records being removed; `head` (a `LogHead` kept
/// elsewhere, from `ordlog head`) closes that gap: the record at that seq must exist with that hash.
public enum Verifier {
    /// One record of the chain: a receive or attempt, or a consumer identity record (migration 0005).
    enum ChainItem {
        case record(LogRecord)
        case identity(LoggedIdentity)

        var seq: Int64 {
            switch self {
            case .record(let r): r.seq
            case .identity(let i): i.seq
            }
        }
    }

    /// Walks the chain of `log`.
    /// - Parameters:
    ///   - head: a head kept elsewhere (`ordlog head`): the record at that seq must exist with that hash.
    ///   - base: for a segment that continues an earlier one (its first record has seq > 1): the earlier
    ///     segment's head; the first record must be `base.seq + 1` and chain from `base.hash`. Nil: the log must
    ///     start at seq 1 from the genesis hash.
    public static func verify(
        _ log: EventLog, head kept: LogHead? = nil, base: LogHead? = nil, progress: (Int64) -> Void = { _ in }
    ) throws -> VerifyResult {
        var result = VerifyResult()
        // A sealed log's next segment (`ordlog seal`) says where its chain starts (segment_start, migration 0006);
        // the row is hashed like a record, so an edit to it is found here.
        let start = log.segmentStart
        if let start, start.computedHash != start.hash || start.prevHash.count != 32 || start.firstSeq < 2 {
            result.problem = ChainBreak(
                seq: start.firstSeq, kind: .edited,
                message: "the segment start (continuing \(start.prevSegment)) was edited: its stored columns "
                    + "no longer match its hash")
            return result
        }
        let startBase = start.map { LogHead(seq: $0.firstSeq - 1, hash: $0.prevHash) }
        if let base, let startBase, base != startBase {
            result.problem = ChainBreak(
                seq: startBase.seq + 1, kind: .brokenLink,
                message: "the segment start says this file continues from seq \(startBase.seq) with hash "
                    + "\(RecordHash.hex(startBase.hash)), not from seq \(base.seq) with \(RecordHash.hex(base.hash))")
            return result
        }
        let base = base ?? startBase
        var expected: Int64 = (base?.seq ?? 0) + 1
        var prevHash = base?.hash ?? RecordHash.genesis
        var lastItem: ChainItem?
        var keptFound = false
        // Identity records are few (one per consumer start): merged in from memory.
        var identities = try log.identities()[...]
        func check(_ item: ChainItem) throws -> Bool {
            let seq = item.seq
            if let lastItem, lastItem.seq == seq {
                result.problem = ChainBreak(
                    seq: seq, kind: .inserted,
                    message: "two records have seq \(seq) (in two of receives, attempts, identities): one was inserted")
                return false
            }
            if seq != expected {
                let kind: ChainBreakKind = seq > expected ? .deleted : .reordered
                let what =
                    seq > expected
                    ? (seq - expected == 1
                        ? "record \(expected) is missing (deleted)"
                        : "records \(expected)…\(seq - 1) are missing (deleted)")
                    : "record \(seq) appears after record \(expected - 1)"
                result.problem = ChainBreak(seq: expected, kind: kind, message: what)
                return false
            }
            let (stored, storedPrev) = hashes(item)
            let recomputed = rehash(item, prev: storedPrev)
            if recomputed != stored {
                result.problem = try classifyMismatch(log, item, expectedPrev: prevHash)
                return false
            }
            if storedPrev != prevHash {
                result.problem = ChainBreak(
                    seq: seq, kind: .brokenLink,
                    message: "record \(seq) does not chain from record \(seq - 1) (prev_hash differs): "
                        + "a record was inserted or replaced here")
                return false
            }
            if let kept, kept.seq == seq {
                keptFound = true
                if kept.hash != stored {
                    result.problem = ChainBreak(
                        seq: seq, kind: .cutOff,
                        message: "the record at the kept head seq \(seq) has hash \(RecordHash.hex(stored)), "
                            + "not the kept \(RecordHash.hex(kept.hash)): the log was cut off and rewritten")
                    return false
                }
            }
            prevHash = stored
            expected = seq + 1
            lastItem = item
            result.verified += 1
            if result.verified % 65_536 == 0 { progress(seq) }
            return true
        }
        var stopped = false
        try log.forEachRecord { record in
            while let i = identities.first, i.seq <= record.seq {
                identities.removeFirst()
                guard try check(.identity(i)) else {
                    stopped = true
                    return false
                }
            }
            guard try check(.record(record)) else {
                stopped = true
                return false
            }
            return true
        }
        if !stopped {
            for i in identities where try !check(.identity(i)) { break }
        }
        result.head = lastItem.map { LogHead(seq: $0.seq, hash: prevHash) } ?? startBase
        if result.problem == nil, let kept, !keptFound, let start, kept.seq == start.firstSeq - 1 {
            keptFound = true  // the kept head is the sealed segment's head this file continues from
            if kept.hash != start.prevHash {
                result.problem = ChainBreak(
                    seq: kept.seq, kind: .cutOff,
                    message: "this segment continues from seq \(kept.seq) with hash \(RecordHash.hex(start.prevHash)), "
                        + "not the kept \(RecordHash.hex(kept.hash))")
            }
        }
        if result.problem == nil, let kept, !keptFound, kept.seq > 0 {
            let end = result.head?.seq ?? 0
            result.problem = ChainBreak(
                seq: end + 1, kind: .cutOff,
                message: "the log ends at seq \(end) but the kept head is seq \(kept.seq): "
                    + "records \(end + 1)…\(kept.seq) were cut off")
        }
        return result
    }

    static func hashes(_ r: ChainItem) -> (hash: [UInt8], prev: [UInt8]) {
        switch r {
        case .record(.receive(let x)): (x.hash, x.prevHash)
        case .record(.attempt(let x)): (x.hash, x.prevHash)
        case .identity(let x): (x.hash, x.prevHash)
        }
    }

    static func rehash(_ r: ChainItem, prev: [UInt8], seq: Int64? = nil) -> [UInt8] {
        switch r {
        case .identity(var x):
            if let seq { x.seq = seq }
            return RecordHash.hash(of: x, prev: prev)
        case .record(.receive(var x)):
            if let seq { x.seq = seq }
            return RecordHash.hash(of: x, prev: prev)
        case .record(.attempt(var x)):
            if let seq { x.seq = seq }
            return RecordHash.hash(of: x, prev: prev)
        }
    }

    static func classifyMismatch(_ log: EventLog, _ record: ChainItem, expectedPrev: [UInt8]) throws -> ChainBreak {
        let seq = record.seq
        let (stored, storedPrev) = hashes(record)
        // A copy of another record? Hashes are unique in an untouched log, so a second row with the same hash
        // was put there by hand.
        let copy = try log.db.scalarInt(
            "SELECT seq FROM (SELECT seq, hash FROM receives UNION ALL SELECT seq, hash FROM attempts "
                + "UNION ALL SELECT seq, hash FROM identities) "
                + "WHERE hash = ? AND seq != ? ORDER BY seq LIMIT 1", [.blob(stored), .int(seq)])
        if let copy {
            return ChainBreak(
                seq: seq, kind: .inserted,
                message: "the record at seq \(seq) was inserted: it is a copy of record \(copy) (same hash)")
        }
        // Written at another position? Then its content verifies under another seq nearby.
        for distance in 1...256 {
            for m in [seq - Int64(distance), seq + Int64(distance)] where m >= 1 {
                if rehash(record, prev: storedPrev, seq: m) == stored {
                    return ChainBreak(
                        seq: seq, kind: .reordered,
                        message: "the record at seq \(seq) was written as seq \(m): rows were swapped or reordered")
                }
            }
        }
        // Inserted? Then the next record verifies at this position.
        var next: ChainItem? = try log.identities(from: seq + 1, through: seq + 1).first.map(ChainItem.identity)
        try log.forEachRecord(from: seq + 1, through: seq + 1) { r in
            next = .record(r)
            return false
        }
        if let next {
            let (nextStored, nextPrev) = hashes(next)
            if nextPrev == expectedPrev, rehash(next, prev: expectedPrev, seq: seq) == nextStored {
                return ChainBreak(
                    seq: seq, kind: .inserted,
                    message: "the record at seq \(seq) was inserted: the record now at seq \(seq + 1) was "
                        + "written as seq \(seq)")
            }
        }
        let what: String
        switch record {
        case .record(.receive(let r)): what = "receive (message \(r.messageId ?? "-"))"
        case .identity(let i): what = "identity record (consumer \(i.identity.consumerId))"
        case .record(.attempt(let a)): what = "attempt (message \(a.messageId ?? "-"), outcome \(a.decision.outcome.rawValue))"
        }
        return ChainBreak(
            seq: seq, kind: .edited,
            message: "the \(what) at seq \(seq) was edited: its stored columns no longer match its hash")
    }
}

extension LogHead {
    /// Parses `SEQ:HEXHASH` as printed by `ordlog head` (64 hex digits), or nil.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let seq = Int64(parts[0]), seq >= 0, parts[1].utf8.count == 64,
            let bytes = Hex.decode(parts[1])
        else { return nil }
        self.init(seq: seq, hash: bytes)
    }
}
