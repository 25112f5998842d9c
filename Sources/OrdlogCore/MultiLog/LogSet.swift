import Foundation
import OrdlogAWS

/// Several event logs read as one: the logs of many consumers on one queue, and the segments of each.
///
/// **Consumers.** A log's consumer is the consumer id of its segment start (a sealed log's next segment, which
/// names the consumer whose chain it continues: the identity in force when it was sealed), else of its first
/// identity record (migration 0005); a log
/// without one (written before 0005) is its own consumer, named after its file (`consumer-0.db` →
/// `consumer-0`). A record's consumer is the identity in force at its seq (the newest identity record before
/// it), else the log's consumer.
///
/// **Segments.** A log that starts with a segment start (``SegmentStart``, written by `ordlog seal`), or whose first
/// record has seq > 1, continues an earlier segment of the same consumer: the segment start names the consumer and
/// where the chain goes on (seq and head hash), else the first record does. Each
/// consumer's files are ordered by first seq and every link is checked by ``verify(progress:)``: file k+1's first
/// record must be file k's head seq + 1 and chain from its head hash. A continuation without an identity record
/// joins the consumer whose file ends with the hash it chains from, else the one whose file ends nearest before it
/// (so that a gap or an overlap is reported naming both files).
///
/// **Merge order** (documented, deterministic, independent of the order the files were given in): the records of
/// one consumer (one log, or one consumer's chain of segments) keep their log order (seq, segment after segment),
/// so a sealed log reads exactly as the log it was. Between consumers, the next record is the one whose key is
/// smallest among each consumer's next record (a k-way merge), the key being SQS `SentTimestamp` (receives without
/// one after those with one), then SQS MessageId, then receive count, then consumer id, then seq; each attempt
/// right after the receive it processed (by seq, in its log).
public final class LogSet {
    /// One log of the set.
    public struct Member {
        public let url: URL
        public let log: EventLog
        /// The log's consumer (see the type's documentation).
        public let consumerId: String
        public let identities: [LoggedIdentity]
        /// The first record's seq and prev_hash, nil for an empty log.
        /// Where the file's chain starts: its segment start's, else its first record's seq and prev_hash; nil for an
        /// empty log that was never sealed.
        public let firstSeq: Int64?
        public let firstPrevHash: [UInt8]?
        /// The segment start (a file that continues a sealed segment), or nil.
        public let segmentStart: SegmentStart?
        /// The newest record, nil for an empty log.
        public let head: LogHead?

        /// The consumer that wrote the record at `seq`.
        public func consumer(at seq: Int64) -> String {
            identities.last(where: { $0.seq < seq })?.identity.consumerId ?? consumerId
        }
        /// The file's name, for messages.
        public var name: String { url.lastPathComponent }
    }

    /// The members, grouped by consumer id (sorted), each consumer's segments by first seq.
    public let members: [Member]
    /// One line per file given that is read once because another file given holds the same records (the same
    /// file under another name, a byte-identical copy, an archived copy of a segment), for the commands to say.
    public private(set) var readOnce: [String] = []

    /// Opens every file with `open` (which applies pending migrations, as any read of one log does).
    ///
    /// A file that is the same file as one given before it (same real path: a symlink, `./a.db` and `a.db`) is
    /// not opened again; a file whose consumer id, first seq, first prev_hash, head seq and head hash equal
    /// another's holds the same records (the head hash chains over them all) and is read once, the one given
    /// first. Both are said in ``readOnce``. Two files of one consumer with different records are kept, for
    /// ``verify(progress:)`` to report.
    /// - Throws: whatever `open` throws, or ``SQLiteError``.
    public init(urls: [URL], open: (URL) throws -> EventLog) throws {
        var loaded: [(URL, EventLog, [LoggedIdentity], Int64?, [UInt8]?, LogHead?)] = []
        var notes: [String] = []
        // Two files for messages: by name, by path when the names are equal (an archived segment and its original).
        func both(_ a: URL, _ b: URL) -> String {
            a.lastPathComponent == b.lastPathComponent
                ? "\(a.path) and \(b.path)" : "\(a.lastPathComponent) and \(b.lastPathComponent)"
        }
        var realPaths: [String: URL] = [:]
        for url in urls {
            let real = url.resolvingSymlinksInPath().standardizedFileURL.path
            if let earlier = realPaths[real] {
                notes.append(
                    "\(both(earlier, url)) are the same file (\(real)): read once")
                continue
            }
            realPaths[real] = url
            let log = try open(url)
            let first = try log.segmentStart.map { ($0.firstSeq, $0.prevHash) } ?? Self.firstRecord(log)
            loaded.append((url, log, try log.identities(), first?.0, first?.1, try log.head()))
        }
        // Consumer ids: a segment start or an identity record names it; a continuation without one joins the file
        // it chains from.
        var ids = loaded.map { l in l.1.segmentStart?.consumerId ?? l.2.first?.identity.consumerId }
        for _ in 0..<loaded.count {
            for (i, l) in loaded.enumerated() where ids[i] == nil {
                guard let prev = l.4, prev != RecordHash.genesis else { continue }
                if let j = loaded.firstIndex(where: { $0.5?.hash == prev }), let id = ids[j] { ids[i] = id }
            }
        }
        // A continuation that chains from no file given (a gap, an overlap, a changed record) joins the consumer
        // whose file ends nearest before it, so that verify names both files.
        for (i, l) in loaded.enumerated() where ids[i] == nil {
            guard let first = l.3, first > 1 else { continue }
            let nearest = loaded.indices.filter { ids[$0] != nil && loaded[$0].5 != nil }
                .min { abs(loaded[$0].5!.seq - (first - 1)) < abs(loaded[$1].5!.seq - (first - 1)) }
            if let j = nearest { ids[i] = ids[j] }
        }
        var members: [Member] = []
        var contents: [String: URL] = [:]
        for (i, l) in loaded.enumerated() {
            let id = ids[i] ?? l.0.deletingPathExtension().lastPathComponent
            if let first = l.3, let head = l.5 {
                let content = "\(id)\u{0}\(first)\u{0}\(Hex.encode(l.4 ?? []))\u{0}\(head.seq)\u{0}\(Hex.encode(head.hash))"
                if let earlier = contents[content] {
                    notes.append(
                        "\(both(earlier, l.0)) hold the same records (consumer "
                            + "\(id), seq \(first)–\(head.seq)): read once")
                    continue
                }
                contents[content] = l.0
            }
            members.append(
                Member(
                    url: l.0, log: l.1, consumerId: id, identities: l.2, firstSeq: l.3, firstPrevHash: l.4,
                    segmentStart: l.1.segmentStart, head: l.5))
        }
        self.members = members.sorted {
            $0.consumerId != $1.consumerId
                ? $0.consumerId.utf8.lexicographicallyPrecedes($1.consumerId.utf8)
                : ($0.firstSeq ?? 0, $0.url.path) < ($1.firstSeq ?? 0, $1.url.path)
        }
        self.readOnce = notes
    }

    static func firstRecord(_ log: EventLog) throws -> (seq: Int64, prev: [UInt8])? {
        let s = try log.db.prepare(
            """
            SELECT seq, prev_hash FROM (SELECT seq, prev_hash FROM receives UNION ALL
              SELECT seq, prev_hash FROM attempts UNION ALL SELECT seq, prev_hash FROM identities)
            ORDER BY seq LIMIT 1
            """)
        return try s.firstRow { ($0.int64(0), $0.blob(1)) }
    }

    /// The distinct consumer ids, sorted.
    public var consumerIds: [String] {
        var seen = Set<String>()
        return members.map(\.consumerId).filter { seen.insert($0).inserted }
    }

    // MARK: Verify

    /// The verification of one file of the set.
    public struct FileResult: Sendable {
        public var url: URL
        public var consumerId: String
        /// The file's own chain, walked from its link (the previous segment's head) or from genesis.
        public var chain: VerifyResult
        /// Why this file does not continue the previous segment of its consumer (gap, overlap, hash mismatch),
        /// naming both files; nil when it does (or is the first).
        public var linkProblem: String?
        public var ok: Bool { chain.ok && linkProblem == nil }
    }

    /// Every file's result, in ``members`` order; ``ok`` when all pass.
    public struct VerifyReport: Sendable {
        public var files: [FileResult]
        public var ok: Bool { files.allSatisfy(\.ok) }
        public var verified: Int64 { files.reduce(0) { $0 + $1.chain.verified } }
    }

    /// Verifies each file's chain (``Verifier``) and the links between each consumer's segments.
    public func verify(progress: (URL, Int64) -> Void = { _, _ in }) throws -> VerifyReport {
        var files: [FileResult] = []
        var previous: Member?
        for m in members {
            let prev = previous?.consumerId == m.consumerId ? previous : nil
            var base: LogHead? = nil
            var linkProblem: String? = nil
            if let first = m.firstSeq, first > 1 {
                base = LogHead(seq: first - 1, hash: m.firstPrevHash ?? RecordHash.genesis)
                if let prev {
                    let end = prev.head?.seq ?? 0
                    if first > end + 1 {
                        linkProblem =
                            "\(m.name) starts at seq \(first) but \(prev.name) (the previous segment of consumer "
                            + "\(m.consumerId)) ends at seq \(end): records \(end + 1)…\(first - 1) are missing (gap)"
                    } else if first <= end {
                        linkProblem =
                            "\(m.name) starts at seq \(first) but \(prev.name) (the previous segment of consumer "
                            + "\(m.consumerId)) already ends at seq \(end): the segments overlap"
                    } else if m.firstPrevHash != prev.head?.hash {
                        linkProblem =
                            "\(m.name)'s first record (seq \(first)) does not chain from the head of \(prev.name) "
                            + "(the previous segment of consumer \(m.consumerId)): prev_hash differs"
                    }
                } else {
                    linkProblem =
                        "\(m.name) continues a segment (its first record is seq \(first)) but no file given ends "
                        + "at seq \(first - 1) for consumer \(m.consumerId): records 1…\(first - 1) are missing"
                }
            } else if let prev {
                linkProblem =
                    "\(m.name) and \(prev.name) both start consumer \(m.consumerId)'s log at seq 1 "
                    + "(two logs with one consumer id: give each consumer its own --consumer-id)"
            }
            let chain = try Verifier.verify(m.log, base: base) { progress(m.url, $0) }
            files.append(FileResult(url: m.url, consumerId: m.consumerId, chain: chain, linkProblem: linkProblem))
            previous = m
        }
        return VerifyReport(files: files)
    }

    // MARK: Merged records

    /// A receive or attempt of one of the logs, with who logged it.
    public struct Record: Sendable {
        public var record: LogRecord
        public var consumerId: String
        /// The file it is in.
        public var url: URL

        public init(record: LogRecord, consumerId: String, url: URL) {
            self.record = record
            self.consumerId = consumerId
            self.url = url
        }
    }

    /// The merge key of the documented order.
    struct Key: Comparable {
        var sent: Int64
        var messageId: String
        var receiveCount: Int64
        var consumer: String
        var file: String
        var receiveSeq: Int64
        var seq: Int64
        /// The stream the record is in (its member's consumer: one log, or one consumer's chain of segments) and
        /// where in that stream (member index, then ``seq``); not part of the comparison of heads.
        var chain: String = ""
        var member: Int = 0

        static func < (a: Key, b: Key) -> Bool {
            if a.sent != b.sent { return a.sent < b.sent }
            if a.messageId != b.messageId { return a.messageId.utf8.lexicographicallyPrecedes(b.messageId.utf8) }
            if a.receiveCount != b.receiveCount { return a.receiveCount < b.receiveCount }
            if a.consumer != b.consumer { return a.consumer.utf8.lexicographicallyPrecedes(b.consumer.utf8) }
            if a.file != b.file { return a.file.utf8.lexicographicallyPrecedes(b.file.utf8) }
            if a.receiveSeq != b.receiveSeq { return a.receiveSeq < b.receiveSeq }
            return a.seq < b.seq
        }
    }

    static func key(_ r: LoggedReceive, _ m: Member, member: Int, seq: Int64? = nil) -> Key {
        Key(
            sent: r.sentTimestamp ?? .max, messageId: r.messageId ?? "", receiveCount: r.receiveCount,
            consumer: m.consumer(at: r.seq), file: m.url.path, receiveSeq: r.seq, seq: seq ?? r.seq,
            chain: m.consumerId, member: member)
    }

    /// The documented merge: each consumer's records (its chain: ``Member/consumerId``) in log order (member,
    /// then seq); between consumers, repeatedly the smallest key among each consumer's next record.
    static func merged<T>(_ items: [(Key, T)]) -> [(Key, T)] {
        var byChain: [String: [(Key, T)]] = [:]
        for item in items { byChain[item.0.chain, default: []].append(item) }
        let streams = byChain.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { chain in
            byChain[chain]!.sorted { ($0.0.member, $0.0.seq) < ($1.0.member, $1.0.seq) }
        }
        var next = Array(repeating: 0, count: streams.count)
        var out: [(Key, T)] = []
        out.reserveCapacity(items.count)
        while true {
            var best: Int? = nil
            for s in streams.indices where next[s] < streams[s].count {
                if let b = best, !(streams[s][next[s]].0 < streams[b][next[b]].0) { continue }
                best = s
            }
            guard let b = best else { break }
            out.append(streams[b][next[b]])
            next[b] += 1
        }
        return out
    }

    /// Sorts one member's records into merge keys; an attempt whose receive is not among `records` is read.
    static func keyed(_ records: [LogRecord], _ m: Member, member: Int) throws -> [(Key, Record)] {
        var receives: [Int64: LoggedReceive] = [:]
        for case .receive(let r) in records { receives[r.seq] = r }
        return try records.map { record in
            let key: Key
            switch record {
            case .receive(let r): key = Self.key(r, m, member: member)
            case .attempt(let a):
                if let r = try receives[a.receiveSeq] ?? m.log.receive(seq: a.receiveSeq) {
                    key = Self.key(r, m, member: member, seq: a.seq)
                } else {
                    key = Key(
                        sent: .max, messageId: a.messageId ?? "", receiveCount: 0, consumer: m.consumer(at: a.seq),
                        file: m.url.path, receiveSeq: a.receiveSeq, seq: a.seq, chain: m.consumerId, member: member)
                }
            }
            return (key, Record(record: record, consumerId: key.consumer, url: m.url))
        }
    }

    /// ``EventLog/history(orderId:)`` of every log, merged in the documented order.
    public func history(orderId: String) throws -> [Record] {
        var all: [(Key, Record)] = []
        for (i, m) in members.enumerated() { all += try Self.keyed(try m.log.history(orderId: orderId), m, member: i) }
        return Self.merged(all).map(\.1)
    }

    /// How the consumers' attempts of one message ended, in merge order, e.g. `projected by c1, duplicate at c2`;
    /// nil when only one consumer attempted it. Consecutive equal entries are counted (`rejected at c1 ×2`).
    public static func outcomeSummary(_ records: [Record]) -> String? {
        var parts: [(String, Int)] = []
        var consumers = Set<String>()
        for r in records {
            guard case .attempt(let a) = r.record else { continue }
            consumers.insert(r.consumerId)
            let d = a.decision
            let text =
                d.outcome.rawValue + (d.deadLettered ? " (dead-lettered)" : "")
                + (d.outcome == .projected ? " by " : " at ") + r.consumerId
                + (a.trigger == "redrive" ? " (redrive)" : "")
            if parts.last?.0 == text { parts[parts.count - 1].1 += 1 } else { parts.append((text, 1)) }
        }
        guard consumers.count > 1 else { return nil }
        return parts.map { $0.1 > 1 ? "\($0.0) ×\($0.1)" : $0.0 }.joined(separator: ", ")
    }

    // MARK: Dead letters

    /// One message with the receives and attempts of every log, in merge order, or nil when no log has an
    /// attempt for it. Dead-lettered when its latest attempt (in merge order) failed and either some consumer
    /// marked an attempt dead-lettered or the logs hold at least `maxReceiveCount` receives of it.
    public func failedMessage(_ messageId: String, maxReceiveCount: Int64 = 3) throws -> FailedMessage? {
        var all: [(Key, Record)] = []
        for (i, m) in members.enumerated() {
            let records =
                try m.log.receives(messageId: messageId).map(LogRecord.receive)
                + m.log.attempts(messageId: messageId).map(LogRecord.attempt)
            all += try Self.keyed(records, m, member: i)
        }
        all = Self.merged(all)
        var receives: [LoggedReceive] = []
        var receiveConsumers: [String] = []
        var attempts: [LoggedAttempt] = []
        var attemptConsumers: [String] = []
        for (_, r) in all {
            switch r.record {
            case .receive(let x):
                receives.append(x)
                receiveConsumers.append(r.consumerId)
            case .attempt(let x):
                attempts.append(x)
                attemptConsumers.append(r.consumerId)
            }
        }
        guard let last = receives.last, let latest = attempts.last else { return nil }
        let failing = !latest.decision.outcome.isFinal
        let dead =
            failing
            && (attempts.contains { $0.decision.deadLettered } || Int64(receives.count) >= maxReceiveCount)
        var m = FailedMessage(
            messageId: messageId, receives: receives, attempts: attempts, anatomy: BodyAnatomy(body: last.body))
        m.receiveConsumers = receiveConsumers
        m.attemptConsumers = attemptConsumers
        m.isDeadLettered = dead
        return m
    }

    /// ``EventLog/deadLetterReport(includeRetrying:examplesPerGroup:including:)`` over every log, on the merged
    /// receives: dead-lettered messages (or, with `includeRetrying`, every message whose merged latest attempt
    /// failed), grouped by fingerprint (largest group first, then by fingerprint), messages in merge order.
    public func deadLetterReport(includeRetrying: Bool = false, maxReceiveCount: Int64 = 3) throws
        -> DeadLetterReport
    {
        var candidates = Set<String>()
        for m in members {
            let s = try m.log.db.prepare(
                "SELECT DISTINCT message_id FROM attempts WHERE message_id IS NOT NULL AND outcome IN ('rejected','failed')")
            while try s.step() { candidates.insert(s.text(0)) }
        }
        var messages: [FailedMessage] = []
        for id in candidates {
            guard let m = try failedMessage(id, maxReceiveCount: maxReceiveCount), !m.latest.decision.outcome.isFinal
            else { continue }
            if m.deadLettered || includeRetrying { messages.append(m) }
        }
        func firstKey(_ m: FailedMessage) -> (Int64, String) { (m.receives[0].sentTimestamp ?? .max, m.messageId) }
        messages.sort { firstKey($0) < firstKey($1) }
        var groups: [String: FingerprintGroup] = [:]
        var order: [String] = []
        for m in messages {
            let times = m.receives.map(\.receivedAt)
            if groups[m.fingerprint] == nil {
                order.append(m.fingerprint)
                groups[m.fingerprint] = FingerprintGroup(
                    fingerprint: m.fingerprint, messages: [], count: 0, firstSeen: times.min() ?? 0,
                    lastSeen: times.max() ?? 0)
            }
            groups[m.fingerprint]!.count += 1
            groups[m.fingerprint]!.messages.append(m)
            groups[m.fingerprint]!.firstSeen = min(groups[m.fingerprint]!.firstSeen, times.min() ?? 0)
            groups[m.fingerprint]!.lastSeen = max(groups[m.fingerprint]!.lastSeen, times.max() ?? 0)
        }
        let sorted = order.compactMap { groups[$0] }.sorted {
            $0.count != $1.count
                ? $0.count > $1.count
                : $0.fingerprint.utf8.lexicographicallyPrecedes($1.fingerprint.utf8)
        }
        var inputErrors: [(Key, Record)] = []
        for (i, m) in members.enumerated() {
            inputErrors += try Self.keyed(
                try m.log.receives(where: "input_error IS NOT NULL").map(LogRecord.receive), m, member: i)
        }
        inputErrors = Self.merged(inputErrors)
        var report = DeadLetterReport(
            groups: sorted,
            inputErrors: inputErrors.compactMap { if case .receive(let r) = $0.1.record { r } else { nil } })
        report.inputErrorConsumers = inputErrors.map(\.1.consumerId)
        return report
    }

    // MARK: One merged log

    /// Writes every log's receives, in the merge order, each followed by its recorded attempts, into a new log at
    /// `path` (a scratch file), so that anything that reads one log (replay, export, reproject, report) reads
    /// them all as one. A receive logged in several of the logs (same receive key: the same traffic ingested
    /// twice) is written once. Receives keep their bodies, attributes, sources and received-at times; a receive
    /// without `ApproximateReceiveCount` is counted among the merged receives of its message, so dead-lettering is
    /// judged on them. Streams receive by receive; holds only the merge keys in memory.
    /// - Throws: ``SQLiteError``.
    public func mergedLog(path: String, batchSize: Int = 10_000) throws -> EventLog {
        var keys: [(Key, Int, Int64)] = []  // merge key, member index, receive seq
        for (i, m) in members.enumerated() {
            let s = try m.log.db.prepare(
                "SELECT seq, sent_timestamp, message_id, receive_count FROM receives ORDER BY seq")
            while try s.step() {
                let seq = s.int64(0)
                keys.append(
                    (
                        Key(
                            sent: s.optionalInt64(1) ?? .max, messageId: s.optionalText(2) ?? "",
                            receiveCount: s.int64(3), consumer: m.consumer(at: seq), file: m.url.path,
                            receiveSeq: seq, seq: seq, chain: m.consumerId, member: i), i, seq
                    ))
            }
        }
        keys = Self.merged(keys.map { ($0.0, ($0.1, $0.2)) }).map { ($0.0, $0.1.0, $0.1.1) }
        let out = try EventLog(path: path)
        // One prepared statement per log for its receives and one for their attempts, reused receive by receive.
        let receiveStatements = try members.map {
            try $0.log.db.prepare("SELECT \(EventLog.receiveColumns) FROM receives WHERE seq = ?")
        }
        let attemptStatements = try members.map {
            try $0.log.db.prepare(
                "SELECT \(EventLog.attemptColumns) FROM attempts WHERE receive_seq = ? ORDER BY seq")
        }
        var start = 0
        while start < keys.count {
            let end = min(start + batchSize, keys.count)
            try out.write {
                for (_, i, seq) in keys[start..<end] {
                    let rs = receiveStatements[i]
                    rs.reset()
                    try rs.bind([.int(seq)])
                    guard let r = try rs.firstRow(EventLog.readReceive) else { continue }
                    guard case .appended(let copy) = try out.append(Self.incoming(r), receivedAt: r.receivedAt)
                    else { continue }
                    let at = attemptStatements[i]
                    at.reset()
                    try at.bind([.int(seq)])
                    var attempts: [LoggedAttempt] = []
                    while try at.step() { attempts.append(EventLog.readAttempt(at)) }
                    for a in attempts {
                        try out.appendAttempt(
                            receive: copy, decision: a.decision, processorVersion: a.processorVersion,
                            trigger: a.trigger, attemptedAt: a.attemptedAt)
                    }
                }
            }
            start = end
        }
        return out
    }

    /// A logged receive as it was received.
    static func incoming(_ r: LoggedReceive) -> IncomingMessage {
        IncomingMessage(
            messageId: r.messageId, receiptHandle: r.receiptHandle, md5OfBody: r.md5OfBody, body: r.body,
            attributes: (try? JSONParser.parse(r.attributesJSON))?.objectValue ?? JSONObject(),
            messageAttributes: r.messageAttributesJSON.flatMap { try? JSONParser.parse($0) },
            md5OfMessageAttributes: r.md5OfMessageAttributes, source: r.source, inputError: r.inputError)
    }
}
