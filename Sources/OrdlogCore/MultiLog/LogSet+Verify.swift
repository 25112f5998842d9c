import Foundation

/// A set of logs that does not verify, refused by a read command: every file at fault with what is wrong.
public struct LogSetBroken: Error, CustomStringConvertible, Sendable {
    /// Each file at fault (its path) with its first problem.
    public var files: [(path: String, problem: String)]

    public var description: String {
        "not reading logs that do not verify: "
            + files.map { "\($0.path): \($0.problem)" }.joined(separator: "; ")
            + " (`ordlog verify` on them says more)"
    }
}

extension LogSet {
    /// The verification of one file of the set.
    public struct FileResult: Sendable {
        public var url: URL
        public var consumerId: String
        /// The file's own chain, walked from its link (the previous segment's head) or from genesis.
        public var chain: VerifyResult
        /// Why this file does not continue the previous segment of its consumer (gap, overlap, hash mismatch), or
        /// why it is not read although given (a copy that does not verify, a fork), naming the files; nil when
        /// neither.
        public var linkProblem: String?
        public var ok: Bool { chain.ok && linkProblem == nil }
        /// The file's path, or the `s3://` location a problem is about.
        public var path: String { url.isFileURL ? url.path : url.absoluteString }
    }

    /// One consumer's chain: its newest record and, when a head kept elsewhere was given for it, whether the chain
    /// still holds it.
    public struct ChainResult: Sendable {
        public var consumerId: String
        /// The newest record of the chain (nil: no log of this consumer was given).
        public var head: LogHead?
        /// The head kept elsewhere (`ordlog head`), if one was given.
        public var keptHead: LogHead?
        /// Why the kept head is not in the chain (`cut-off`), or that no log of the consumer was given.
        public var problem: ChainBreak?
        /// The file the problem is in (the chain's newest file), for messages.
        public var file: URL?
        public var ok: Bool { problem == nil }
    }

    /// Every file's result (in ``members`` order, then the ``rejected`` files) and every consumer's chain; ``ok``
    /// when all pass.
    public struct VerifyReport: Sendable {
        public var files: [FileResult]
        public var chains: [ChainResult]
        public var ok: Bool { files.allSatisfy(\.ok) && chains.allSatisfy(\.ok) }
        public var verified: Int64 { files.reduce(0) { $0 + $1.chain.verified } }

        /// The files at fault, each with its first problem, for ``LogSetBroken``.
        public var faults: [(path: String, problem: String)] {
            files.filter { !$0.ok }.map { f in
                (f.path, f.chain.problem?.description ?? f.linkProblem ?? "broken")
            }
                + chains.filter { !$0.ok }.map { c in
                    (c.file?.path ?? "consumer \(c.consumerId)", c.problem!.description)
                }
        }
    }

    /// Walks every file's chain (``Verifier``; each file once per set, the walk kept), checks the links between
    /// each consumer's segments, and, for each consumer with a head in `kept` (from `ordlog head`, kept elsewhere),
    /// that its chain still holds that head: the newest records cut off, a newest segment deleted, or the chain
    /// rewritten after it, is `cut-off`.
    /// - Parameter kept: by consumer id (``consumerIds``); a consumer none of whose logs was given fails.
    /// - Throws: ``SQLiteError``.
    public func verify(heads kept: [String: LogHead] = [:], progress: (URL, Int64) -> Void = { _, _ in }) throws
        -> VerifyReport
    {
        var files: [FileResult] = []
        for (i, m) in members.enumerated() {
            let chain = try walk(i, progress: progress)
            files.append(FileResult(url: m.url, consumerId: m.consumerId, chain: chain, linkProblem: linkProblem(of: i)))
        }
        files += rejected
        var chains: [ChainResult] = []
        for (consumer, head) in heads() {
            var c = ChainResult(consumerId: consumer, head: head, keptHead: kept[consumer])
            if let k = kept[consumer] { (c.problem, c.file) = try cutOff(consumer, kept: k) }
            chains.append(c)
        }
        for (consumer, k) in kept.sorted(by: { $0.key < $1.key }) where !consumerIds.contains(consumer) {
            chains.append(
                ChainResult(
                    consumerId: consumer, head: nil, keptHead: k,
                    problem: ChainBreak(
                        seq: k.seq, kind: .cutOff,
                        message: "a head was kept for consumer \(consumer), but no log of it was given "
                            + "(consumers given: \(consumerIds.joined(separator: ", ")))")))
        }
        return VerifyReport(files: files, chains: chains)
    }

    /// ``verify(heads:progress:)``, throwing when anything fails: what a command that reads every record (replay,
    /// export, orders, report, reproject) calls before it reads.
    /// - Returns: the report (every file and chain ok).
    /// - Throws: ``LogSetBroken`` naming every file at fault; ``SQLiteError``.
    @discardableResult
    public func requireVerified(progress: (URL, Int64) -> Void = { _, _ in }) throws -> VerifyReport {
        let report = try verify(progress: progress)
        if !report.ok { throw LogSetBroken(files: report.faults) }
        return report
    }

    /// Checks what a forensic view prints without walking every chain: the set's structure (the links between
    /// each consumer's files, copies proven) and each record shown — its hash recomputed from its stored columns,
    /// its `prev_hash` equal to the hash of the record before it, and the record after it chaining from it.
    /// An edited, deleted or inserted record among those shown, or next to one, is found; the rest of the chain is
    /// not walked (`ordlog verify` does).
    /// - Throws: ``LogSetBroken`` naming the files at fault; ``SQLiteError``.
    public func requireShownVerified(_ records: [Record]) throws {
        var faults: [(path: String, problem: String)] = []
        for (i, m) in members.enumerated() {
            if let l = linkProblem(of: i) { faults.append((m.path, l)) }
        }
        for r in rejected { faults.append((r.path, r.chain.problem?.description ?? r.linkProblem ?? "broken")) }
        let index = Dictionary(members.enumerated().map { ($0.element.url, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        for r in records {
            guard let i = index[r.url], seen.insert("\(i):\(r.record.seq)").inserted else { continue }
            if let problem = try Self.checkShown(.record(r.record), in: members[i]) {
                faults.append((members[i].path, problem.description))
            }
        }
        var reported = Set<String>()
        faults = faults.filter { reported.insert($0.path + "\u{0}" + $0.problem).inserted }
        if !faults.isEmpty { throw LogSetBroken(files: faults) }
    }

    /// The receives and attempts of `messageIds` in every log, as ``Record``s (what ``requireShownVerified(_:)``
    /// checks for a dead-letter view).
    public func records(messageIds: [String]) throws -> [Record] {
        var out: [Record] = []
        for m in members {
            for id in messageIds {
                for r in try m.log.receives(messageId: id) {
                    out.append(Record(record: .receive(r), consumerId: m.consumer(at: r.seq), url: m.url))
                }
                for a in try m.log.attempts(messageId: id) {
                    out.append(Record(record: .attempt(a), consumerId: m.consumer(at: a.seq), url: m.url))
                }
            }
        }
        return out
    }

    /// The receives of every log that were not SQS messages at all (input errors), as ``Record``s.
    public func inputErrorRecords() throws -> [Record] {
        try members.flatMap { m in
            try m.log.receives(where: "input_error IS NOT NULL").map {
                Record(record: .receive($0), consumerId: m.consumer(at: $0.seq), url: m.url)
            }
        }
    }

    /// The walk of member `i`, done once.
    func walk(_ i: Int, progress: (URL, Int64) -> Void) throws -> VerifyResult {
        if let w = walks[i] { return w }
        let m = members[i]
        let w = try Verifier.verify(m.log, base: Self.base(of: m)) { progress(m.url, $0) }
        walks[i] = w
        return w
    }

    /// Whether consumer `consumer`'s chain still holds the kept head `k`, and the file the answer is about.
    func cutOff(_ consumer: String, kept k: LogHead) throws -> (ChainBreak?, URL?) {
        let mine = members.filter { $0.consumerId == consumer }
        guard let last = mine.last else { return (nil, nil) }
        if k.seq == 0 { return (nil, nil) }  // the genesis head: any chain holds it
        for m in mine {
            let base = Self.base(of: m)
            let from = base.map { $0.seq } ?? 1
            let through = m.head?.seq ?? base?.seq ?? 0
            guard k.seq >= from, k.seq <= through else { continue }
            let stored = base?.seq == k.seq ? base?.hash : try m.log.recordHash(seq: k.seq)
            if stored == k.hash { return (nil, nil) }
            return (
                ChainBreak(
                    seq: k.seq, kind: .cutOff,
                    message: "the record at the kept head seq \(k.seq) of consumer \(consumer) has hash "
                        + "\(stored.map(Hex.encode) ?? "(none)"), not the kept \(Hex.encode(k.hash)): the chain was "
                        + "cut off there and rewritten"), m.url
            )
        }
        let end = last.head?.seq ?? 0
        let start = mine.first.flatMap { Self.base(of: $0) }.map { $0.seq + 1 } ?? 1
        if k.seq > end {
            return (
                ChainBreak(
                    seq: end + 1, kind: .cutOff,
                    message: "consumer \(consumer)'s chain ends at seq \(end) (in \(last.name)) but the kept head "
                        + "is seq \(k.seq): records \(end + 1)…\(k.seq) were cut off (deleted, or a newest segment "
                        + "is missing)"), last.url
            )
        }
        return (
            ChainBreak(
                seq: k.seq, kind: .cutOff,
                message: "the kept head seq \(k.seq) of consumer \(consumer) is before the first record given "
                    + "(seq \(start)): give the older segments too"), mine.first?.url
        )
    }

    /// One record's own check (see ``requireShownVerified(_:)``), or its first problem.
    static func checkShown(_ item: Verifier.ChainItem, in m: Member) throws -> ChainBreak? {
        if let start = m.segmentStart, start.computedHash != start.hash {
            return ChainBreak(
                seq: start.firstSeq, kind: .edited,
                message: "the segment start (continuing \(start.prevSegment)) was edited: its stored columns no "
                    + "longer match its hash")
        }
        let seq = item.seq
        let (stored, storedPrev) = Verifier.hashes(item)
        let before: [UInt8]?
        if let first = m.firstSeq, seq == first {
            before = m.firstPrevHash ?? RecordHash.genesis
        } else if seq == 1 {
            before = RecordHash.genesis
        } else {
            before = try m.log.recordHash(seq: seq - 1)
        }
        if Verifier.rehash(item, prev: storedPrev) != stored {
            return try Verifier.classifyMismatch(m.log, item, expectedPrev: before ?? storedPrev)
        }
        guard let before else {
            return ChainBreak(seq: seq - 1, kind: .deleted, message: "record \(seq - 1) is missing (deleted)")
        }
        if before != storedPrev {
            return ChainBreak(
                seq: seq, kind: .brokenLink,
                message: "record \(seq) does not chain from record \(seq - 1) (prev_hash differs): a record was "
                    + "inserted or replaced here")
        }
        if let head = m.head, seq < head.seq {
            guard let next = try m.log.recordPrevHash(seq: seq + 1) else {
                return ChainBreak(seq: seq + 1, kind: .deleted, message: "record \(seq + 1) is missing (deleted)")
            }
            if next != stored {
                return ChainBreak(
                    seq: seq + 1, kind: .brokenLink,
                    message: "record \(seq + 1) does not chain from record \(seq) (prev_hash differs): a record "
                        + "was inserted or replaced here")
            }
        }
        return nil
    }
}

extension EventLog {
    /// The stored hash of the record (receive, attempt or identity) at `seq`, or nil when there is none.
    func recordHash(seq: Int64) throws -> [UInt8]? {
        try recordColumn("hash", seq: seq)
    }

    /// The stored `prev_hash` of the record at `seq`, or nil when there is none.
    func recordPrevHash(seq: Int64) throws -> [UInt8]? {
        try recordColumn("prev_hash", seq: seq)
    }

    private func recordColumn(_ column: String, seq: Int64) throws -> [UInt8]? {
        let s = try db.prepare(
            "SELECT \(column) FROM receives WHERE seq = ?1 UNION ALL SELECT \(column) FROM attempts WHERE seq = ?1 "
                + "UNION ALL SELECT \(column) FROM identities WHERE seq = ?1 LIMIT 1")
        try s.bind([.int(seq)])
        return try s.firstRow { $0.blob(0) }
    }
}
