import Foundation
import Logging

/// The one way the read commands see the event log: one file, a sealed log with its segments, several consumers'
/// logs, copies, or an `s3://` archive, opened as one set (``open(_:options:)``). One file is a set of one.
///
/// **Consumers.** A log's consumer is the consumer id of its segment start (a sealed log's next segment, which
/// names the consumer whose chain it continues: the identity in force when it was sealed), else of its first
/// identity record (migration 0005); a log without one (written before 0005) is its own consumer, named after its
/// file (`consumer-0.db` → `consumer-0`). A record's consumer is the identity in force at its seq (the newest
/// identity record before it), else the log's consumer.
///
/// **Segments.** A log that starts with a segment start (``SegmentStart``, written by `ordlog seal`), or whose first
/// record has seq > 1, continues an earlier segment of the same consumer: the segment start names the consumer and
/// where the chain goes on (seq and head hash), else the first record does. Each consumer's files are ordered by
/// first seq and every link is checked when the set is opened (``linkProblem(of:)``): file k+1's first record must
/// be file k's head seq + 1 and chain from its head hash. A continuation without an identity record joins the
/// consumer whose file ends with the hash it chains from, else the one whose file ends nearest before it (so that a
/// gap or an overlap is reported naming both files).
///
/// **The same records twice** are read once only when proven to be the same: the same file under two names (same
/// real path), or two files of one consumer starting at the same seq whose chains both verify (a copy; an archived
/// copy of a segment next to the chain it came from) with the same head, or one a verified prefix of the other (a
/// backup of the live log), the longer one being read. Two that do not verify, or that fork (differ at a seq both
/// hold), are both reported broken (``rejected``).
///
/// **The same receive twice** (same receive key: the same traffic ingested into two logs, or again after a seal,
/// whose live file does not hold the sealed receive keys) is read once, the first in merge order, with its
/// attempts: by every command (``receivedOnce(_:)``, ``mergedLog(path:batchSize:)``).
///
/// **Merge order** (documented, deterministic, independent of the order the files were given in): the records of
/// one consumer (one log, or one consumer's chain of segments) keep their log order (seq, segment after segment),
/// so a sealed log reads exactly as the log it was. Between consumers, the next record is the one whose key is
/// smallest among each consumer's next record (a k-way merge), the key being SQS `SentTimestamp` (receives without
/// one after those with one), then SQS MessageId, then receive count, then consumer id, then seq; each attempt
/// right after the receive it processed (by seq, in its log).
///
/// **Evidence.** What a set says is checked before it is shown: ``requireVerified(progress:)`` walks every chain
/// (the commands that read everything), ``requireShownVerified(_:)`` re-hashes the records a forensic view prints
/// and checks their links (`history`, `inspect-dlq`). Both throw ``LogSetBroken`` naming the files.
public final class LogSet {
    /// One log of the set.
    public struct Member {
        public let url: URL
        public let log: EventLog
        /// The log's consumer (see the type's documentation).
        public let consumerId: String
        public let identities: [LoggedIdentity]
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
        /// The file's path, for messages: a sealed segment by its path (its name alone is only a seq range).
        public var path: String { url.path }
    }

    /// The members read, grouped by consumer id (sorted), each consumer's segments by first seq.
    public let members: [Member]
    /// One line per file given that is read once because another file given holds the same records (the same
    /// file under another name, a verified copy, a verified prefix), for the commands to say.
    public private(set) var readOnce: [String] = []
    /// Files given that are not read because they claim records of a member they could not be proven to repeat:
    /// a copy that does not verify, a fork. Each is BROKEN in every verification of the set.
    public private(set) var rejected: [FileResult] = []
    /// The chain walk of each member, by index in ``members``, once done.
    var walks: [Int: VerifyResult] = [:]
    /// The redrive policy's maxReceiveCount the set judges dead-lettering with (``isDeadLettered(_:receive:)``).
    public var maxReceiveCount: Int64 = 3

    /// Options of ``open(_:options:)``.
    public struct OpenOptions {
        /// Where `s3://` segments are kept (``LogSources/defaultCacheDirectory(environment:)``).
        public var cache: String
        /// The environment `s3://` sources take their endpoint, region and credentials from.
        public var environment: [String: String]
        public var logger: Logger
        /// Told of what a reader should know: an S3 object not trusted, a log read from a private copy.
        public var note: (String) -> Void
        /// Told of the progress of chain walks done while opening (proving copies), as (file, seq).
        public var progress: (URL, Int64) -> Void

        public init(
            cache: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
            logger: Logger = Logger(label: "ordlog.logset"), note: @escaping (String) -> Void = { _ in },
            progress: @escaping (URL, Int64) -> Void = { _, _ in }
        ) {
            self.cache = cache ?? LogSources.defaultCacheDirectory(environment: environment)
            self.environment = environment
            self.logger = logger
            self.note = note
            self.progress = progress
        }
    }

    /// Resolves `specs` (``LogSources/resolve(_:cache:environment:fileManager:note:)``) and opens every file for
    /// reading (``EventLog/openForReading(path:logger:note:)``: never changing its bytes).
    /// - Throws: ``LogSourceError``, ``LogSetOpenError`` (a file that is not an event log), ``SQLiteError``.
    public static func open(_ specs: [String], options: OpenOptions = OpenOptions()) throws -> LogSet {
        var broken: [LogSourceError] = []
        let urls = try LogSources.resolve(
            specs, cache: options.cache, environment: options.environment, note: options.note,
            brokenChain: { broken.append($0) })
        let set = try LogSet(urls: urls, progress: options.progress) { url in
            try LogSources.checkIsLog(url.path)
            do {
                return try EventLog.openForReading(path: url.path, logger: options.logger, note: options.note)
            } catch let e as SQLiteError {
                throw LogSourceError(source: url.path, message: LogSources.openProblem(e), kind: .unreadable)
            }
        }
        // A chain that cannot be followed is a failure of the set, reported with the rest (never read around).
        set.rejected += broken.map {
            FileResult(
                url: $0.source.hasPrefix("s3://") ? URL(string: $0.source)! : URL(fileURLWithPath: $0.source),
                consumerId: "", chain: VerifyResult(), linkProblem: $0.message)
        }
        return set
    }

    /// A set of the one log `log` (already open, e.g. for writing: the redrive selection), read as it is.
    public convenience init(log: EventLog) throws {
        try self.init(urls: [URL(fileURLWithPath: log.db.path)]) { _ in log }
    }

    /// Opens every file with `open` and proves which hold the same records (see the type's documentation).
    /// - Throws: whatever `open` throws, or ``SQLiteError``.
    public init(urls: [URL], progress: (URL, Int64) -> Void = { _, _ in }, open: (URL) throws -> EventLog) throws {
        struct Loaded {
            var url: URL
            var log: EventLog
            var identities: [LoggedIdentity]
            var first: Int64?
            var prev: [UInt8]?
            var head: LogHead?
        }
        var loaded: [Loaded] = []
        var notes: [String] = []
        var realPaths: [String: URL] = [:]
        for url in urls {
            let real = url.resolvingSymlinksInPath().standardizedFileURL.path
            if let earlier = realPaths[real] {
                notes.append("\(Self.both(earlier, url)) are the same file (\(real)): read once")
                continue
            }
            realPaths[real] = url
            let log = try open(url)
            let first = try log.segmentStart.map { ($0.firstSeq, $0.prevHash) } ?? Self.firstRecord(log)
            loaded.append(
                Loaded(url: url, log: log, identities: try log.identities(), first: first?.0, prev: first?.1,
                    head: try log.head()))
        }
        // Consumer ids: a segment start or an identity record names it; a continuation without one joins the file
        // it chains from.
        var ids = loaded.map { l in l.log.segmentStart?.consumerId ?? l.identities.first?.identity.consumerId }
        for _ in 0..<loaded.count {
            for (i, l) in loaded.enumerated() where ids[i] == nil {
                guard let prev = l.prev, prev != RecordHash.genesis else { continue }
                if let j = loaded.firstIndex(where: { $0.head?.hash == prev }), let id = ids[j] { ids[i] = id }
            }
        }
        // A continuation that chains from no file given (a gap, an overlap, a changed record) joins the consumer
        // whose file ends nearest before it, so that the link check names both files.
        for (i, l) in loaded.enumerated() where ids[i] == nil {
            guard let first = l.first, first > 1 else { continue }
            let nearest = loaded.indices.filter { ids[$0] != nil && loaded[$0].head != nil }
                .min { abs(loaded[$0].head!.seq - (first - 1)) < abs(loaded[$1].head!.seq - (first - 1)) }
            if let j = nearest { ids[i] = ids[j] }
        }
        var all: [Member] = loaded.enumerated().map { i, l in
            Member(
                url: l.url, log: l.log, consumerId: ids[i] ?? l.url.deletingPathExtension().lastPathComponent,
                identities: l.identities, firstSeq: l.first, firstPrevHash: l.prev, segmentStart: l.log.segmentStart,
                head: l.head)
        }
        // Files of one consumer that start at the same place claim the same records: read once only when proven.
        var walked: [String: VerifyResult] = [:]  // by path
        var dropped = Set<Int>()
        var rejected: [FileResult] = []
        func walk(_ i: Int) throws -> VerifyResult {
            if let w = walked[all[i].path] { return w }
            let w = try Verifier.verify(all[i].log, base: Self.base(of: all[i])) { progress(all[i].url, $0) }
            walked[all[i].path] = w
            return w
        }
        for i in all.indices where !dropped.contains(i) {
            for j in all.indices where j > i && !dropped.contains(j) && !dropped.contains(i) {
                let a = all[i]
                let b = all[j]
                guard a.consumerId == b.consumerId, a.firstSeq == b.firstSeq, a.firstPrevHash == b.firstPrevHash,
                    a.firstSeq != nil
                else { continue }
                let wa = try walk(i)
                let wb = try walk(j)
                if !wa.ok || !wb.ok {
                    // The one that does not verify is rejected; the other is read (or both are, when neither does).
                    for (k, w) in [(i, wa), (j, wb)] where !w.ok {
                        dropped.insert(k)
                        rejected.append(
                            FileResult(
                                url: all[k].url, consumerId: all[k].consumerId, chain: w,
                                linkProblem: "claims the records that \(all[k == i ? j : i].name) holds, but "
                                    + "its chain does not verify"))
                    }
                    continue
                }
                let (short, long) = (wa.head?.seq ?? 0) <= (wb.head?.seq ?? 0) ? (i, j) : (j, i)
                let shortHead = (short == i ? wa : wb).head
                let range = "consumer \(a.consumerId), seq \(a.firstSeq!)–\(shortHead?.seq ?? 0)"
                if shortHead == (long == i ? wa : wb).head {
                    notes.append(
                        "\(Self.both(all[i].url, all[j].url)) hold the same records (\(range); both verified): read once")
                    dropped.insert(j)
                } else if let h = shortHead, try all[long].log.recordHash(seq: h.seq) == h.hash {
                    notes.append(
                        "\(all[short].name) is a verified prefix of \(all[long].name) (\(range)): read once, as part "
                            + "of \(all[long].name)")
                    dropped.insert(short)
                } else {
                    let at = shortHead?.seq ?? 0
                    for (k, other) in [(i, j), (j, i)] {
                        dropped.insert(k)
                        rejected.append(
                            FileResult(
                                url: all[k].url, consumerId: all[k].consumerId, chain: k == i ? wa : wb,
                                linkProblem: "\(all[k].name) and \(all[other].name) fork: both hold consumer "
                                    + "\(a.consumerId)'s records from seq \(a.firstSeq!) and they differ at or before "
                                    + "seq \(at) (two logs with one consumer id, or one was rewritten)"))
                    }
                }
            }
        }
        all = all.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
        let sorted = all.sorted {
            $0.consumerId != $1.consumerId
                ? $0.consumerId.utf8.lexicographicallyPrecedes($1.consumerId.utf8)
                : ($0.firstSeq ?? 0, $0.url.path) < ($1.firstSeq ?? 0, $1.url.path)
        }
        self.members = sorted
        self.readOnce = notes
        self.rejected = rejected
        for (i, m) in sorted.enumerated() { if let w = walked[m.path] { walks[i] = w } }
    }

    /// Two files for messages: by name, by path when the names are equal (an archived segment and its original).
    static func both(_ a: URL, _ b: URL) -> String {
        a.lastPathComponent == b.lastPathComponent
            ? "\(a.path) and \(b.path)" : "\(a.lastPathComponent) and \(b.lastPathComponent)"
    }

    /// Where a member's chain continues from: the previous segment's head, or nil (from genesis at seq 1).
    static func base(of m: Member) -> LogHead? {
        guard let first = m.firstSeq, first > 1 else { return nil }
        return LogHead(seq: first - 1, hash: m.firstPrevHash ?? RecordHash.genesis)
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

    /// The newest record of each consumer's chain (the head of its newest file; for a live file that holds no
    /// record since its seal, the sealed head it continues), by consumer id.
    public func heads() -> [(consumerId: String, head: LogHead?)] {
        consumerIds.map { c in
            let last = members.last { $0.consumerId == c }
            return (c, last?.head ?? last.flatMap(Self.base(of:)))
        }
    }

    /// Why member `index` does not continue the previous member of its consumer (gap, overlap, hash mismatch,
    /// two files starting one consumer), naming both files; nil when it does (or is the first from seq 1).
    public func linkProblem(of index: Int) -> String? {
        let m = members[index]
        let prev = index > 0 && members[index - 1].consumerId == m.consumerId ? members[index - 1] : nil
        if let first = m.firstSeq, first > 1 {
            guard let prev else {
                return "\(m.name) continues a segment (its first record is seq \(first)) but no file given ends "
                    + "at seq \(first - 1) for consumer \(m.consumerId): records 1…\(first - 1) are missing"
            }
            let end = prev.head?.seq ?? 0
            if first > end + 1 {
                return "\(m.name) starts at seq \(first) but \(prev.name) (the previous segment of consumer "
                    + "\(m.consumerId)) ends at seq \(end): records \(end + 1)…\(first - 1) are missing (gap)"
            }
            if first <= end {
                return "\(m.name) starts at seq \(first) but \(prev.name) (the previous segment of consumer "
                    + "\(m.consumerId)) already ends at seq \(end): the segments overlap"
            }
            if m.firstPrevHash != prev.head?.hash {
                return "\(m.name)'s first record (seq \(first)) does not chain from the head of \(prev.name) "
                    + "(the previous segment of consumer \(m.consumerId)): prev_hash differs"
            }
            return nil
        }
        if let prev {
            return "\(m.name) and \(prev.name) both start consumer \(m.consumerId)'s log at seq 1 "
                + "(two logs with one consumer id: give each consumer its own --consumer-id)"
        }
        return nil
    }

    // MARK: Merged records

    /// ``EventLog/history(orderId:)`` of every log, merged in the documented order. Not verified: a forensic
    /// view checks what it prints with ``requireShownVerified(_:)``.
    public func history(orderId: String) throws -> [Record] {
        var all: [(Key, Record)] = []
        for (i, m) in members.enumerated() { all += try Self.keyed(try m.log.history(orderId: orderId), m, member: i) }
        return Self.receivedOnce(Self.merged(all)).map(\.1)
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
                + (a.trigger == .redrive ? " (redrive)" : "")
            if parts.last?.0 == text { parts[parts.count - 1].1 += 1 } else { parts.append((text, 1)) }
        }
        guard consumers.count > 1 else { return nil }
        return parts.map { $0.1 > 1 ? "\($0.0) ×\($0.1)" : $0.0 }.joined(separator: ", ")
    }
}
