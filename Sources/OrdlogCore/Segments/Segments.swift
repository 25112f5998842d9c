import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a seal, or reading sealed segments, failed.
public struct SegmentError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The log is in use (records in work, another process): trying again later may succeed.
    public var isBusy = false
    public init(_ message: String) { self.message = message }
    static func busy(_ message: String) -> SegmentError {
        var e = SegmentError(message)
        e.isBusy = true
        return e
    }
    public var description: String { message }
}

/// A segment's relative name: `<consumerId>/<firstSeq as 20 digits>-<lastSeq as 20 digits>.ordlog`, the same in a
/// local segments directory and under an S3 prefix; its manifest is the same name + `.manifest.json`.
public struct SegmentName: Sendable, Hashable, CustomStringConvertible {
    public var consumerId: String
    public var firstSeq: Int64
    public var lastSeq: Int64

    public init(consumerId: String, firstSeq: Int64, lastSeq: Int64) {
        self.consumerId = consumerId
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
    }

    static func digits20(_ n: Int64) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 20 - s.count)) + s
    }

    /// `<consumerId>/<first>-<last>.ordlog`.
    public var description: String { "\(consumerId)/\(Self.digits20(firstSeq))-\(Self.digits20(lastSeq)).ordlog" }
    /// The manifest's relative name.
    public var manifest: String { description + ".manifest.json" }

    /// Parses a relative name (segment or manifest), or nil.
    public init?(parsing text: String) {
        var t = Substring(text)
        if t.hasSuffix(".manifest.json") { t = t.dropLast(".manifest.json".count) }
        guard t.hasSuffix(".ordlog") else { return nil }
        t = t.dropLast(".ordlog".count)
        let parts = t.split(separator: "/")
        guard parts.count == 2, SegmentName.isValidConsumerId(String(parts[0])) else { return nil }
        let range = parts[1].split(separator: "-")
        guard range.count == 2, range[0].count == 20, range[1].count == 20, let f = Int64(range[0]),
            let l = Int64(range[1]), f >= 1, l >= f
        else { return nil }
        self.init(consumerId: String(parts[0]), firstSeq: f, lastSeq: l)
    }

    /// `id` made usable as a file and S3 key component: itself when ``isValidConsumerId(_:)``, else every other
    /// character (e.g. the `/` of an ECS `HOST/TASK_ID`) and a leading `.` replaced by `_`, cut to 128 bytes.
    public static func fileSafe(_ id: String) -> String {
        if isValidConsumerId(id) { return id }
        var bytes = id.utf8.map { c -> UInt8 in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E
                || c == 0x5F || c == 0x2D ? c : 0x5F
        }
        if bytes.first == 0x2E { bytes[0] = 0x5F }
        if bytes.isEmpty { bytes = Array("consumer".utf8) }
        return String(decoding: bytes.prefix(128), as: UTF8.self)
    }

    /// A consumer id usable as a file and S3 key component: 1-128 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
    public static func isValidConsumerId(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && !id.hasPrefix(".")
            && id.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E
                    || c == 0x5F || c == 0x2D
            }
    }
}

/// A sealed segment's manifest (`….ordlog.manifest.json`), written (and uploaded) after its segment: a reader trusts
/// a segment only when its manifest exists and the segment file's SHA-256 and size match it.
///
/// JSON: `{"format":"ordlog-segment/1","consumerId":S,"queue":S,"ordlogVersion":S,"firstSeq":N,"lastSeq":N,
/// "prevHash":HEX64 (64 zeros for the first segment),"headHash":HEX64,"sha256":HEX64 (of the file's bytes),
/// "bytes":N,"sealedAt":RFC 3339 UTC}`.
public struct SegmentManifest: Sendable, Equatable {
    public static let format = "ordlog-segment/1"
    public var consumerId: String
    /// The queue the records came from (the newest receive's source), or empty.
    public var queue: String
    public var ordlogVersion: String
    public var firstSeq: Int64
    public var lastSeq: Int64
    public var prevHash: [UInt8]
    public var headHash: [UInt8]
    public var sha256: String
    public var bytes: Int64
    /// RFC 3339 UTC, milliseconds.
    public var sealedAt: String

    public var name: SegmentName { SegmentName(consumerId: consumerId, firstSeq: firstSeq, lastSeq: lastSeq) }

    public init(
        consumerId: String, queue: String, ordlogVersion: String, firstSeq: Int64, lastSeq: Int64, prevHash: [UInt8],
        headHash: [UInt8], sha256: String, bytes: Int64, sealedAt: String
    ) {
        self.consumerId = consumerId
        self.queue = queue
        self.ordlogVersion = ordlogVersion
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.prevHash = prevHash
        self.headHash = headHash
        self.sha256 = sha256
        self.bytes = bytes
        self.sealedAt = sealedAt
    }

    /// The manifest's JSON text (one line, with a final newline), members in the documented order.
    public var json: String {
        // Strings and integers only: the encoder cannot fail on them.
        JSONWriter.string((try? JSONValueEncoder().encode(self)) ?? .null) + "\n"
    }

    /// Parses a manifest; nil for anything that is not a well-formed `ordlog-segment/1` manifest (bad input is data).
    public init?(json bytes: [UInt8]) {
        guard let value = try? JSONParser.parse(bytes), let o = value.objectValue,
            o["format"]?.stringValue == Self.format,
            let consumerId = o["consumerId"]?.stringValue, SegmentName.isValidConsumerId(consumerId),
            let first = Self.int(o["firstSeq"]), let last = Self.int(o["lastSeq"]), first >= 1, last >= first,
            let prev = o["prevHash"]?.stringValue.flatMap { Hex.decode($0) }, prev.count == 32,
            let head = o["headHash"]?.stringValue.flatMap { Hex.decode($0) }, head.count == 32,
            let sha = o["sha256"]?.stringValue, Hex.decode(sha)?.count == 32, let size = Self.int(o["bytes"]),
            size > 0
        else { return nil }
        self.init(
            consumerId: consumerId, queue: o["queue"]?.stringValue ?? "",
            ordlogVersion: o["ordlogVersion"]?.stringValue ?? "", firstSeq: first, lastSeq: last, prevHash: prev,
            headHash: head, sha256: sha.lowercased(), bytes: size, sealedAt: o["sealedAt"]?.stringValue ?? "")
    }

    static func int(_ v: JSONValue?) -> Int64? {
        if case .number(let s)? = v { return Int64(s) }
        return nil
    }

}

extension SegmentManifest: Encodable {
    enum CodingKeys: String, CodingKey {
        case format, consumerId, queue, ordlogVersion, firstSeq, lastSeq, prevHash, headHash, sha256, bytes, sealedAt
    }

    /// The documented manifest shape (``json``): the hashes as hex, `format` first.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.format, forKey: .format)
        try c.encode(consumerId, forKey: .consumerId)
        try c.encode(queue, forKey: .queue)
        try c.encode(ordlogVersion, forKey: .ordlogVersion)
        try c.encode(firstSeq, forKey: .firstSeq)
        try c.encode(lastSeq, forKey: .lastSeq)
        try c.encode(RecordHash.hex(prevHash), forKey: .prevHash)
        try c.encode(RecordHash.hex(headHash), forKey: .headHash)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(sealedAt, forKey: .sealedAt)
    }
}

/// A sealed segment on local disk whose manifest matched its bytes.
public struct TrustedSegment: Sendable, Equatable {
    public var path: String
    public var manifest: SegmentManifest
}

/// What `seal` did.
public struct SealResult: Sendable, Equatable {
    public var manifest: SegmentManifest
    /// The segment file and its manifest.
    public var segmentPath: String
    public var manifestPath: String
    /// Files that earlier seals, killed mid-way, had left and this seal removed
    /// (``Segments/removeSealLeftovers(forLog:consumerId:directory:)``), by path.
    public var removedLeftovers: [SealLeftover] = []
}

/// A temporary file of a seal whose process is no longer running, removed by the next seal of the log.
public struct SealLeftover: Sendable, Equatable {
    /// What the killed seal was writing.
    public enum Kind: String, Sendable {
        /// `<segment>.tmp-<pid>-<ms>`: the snapshot that would have become the segment (the size of one).
        case segmentSnapshot = "segment-snapshot"
        /// `<log>.sealing-<pid>-<ms>`: the file that would have replaced the live log.
        case nextLiveFile = "next-live-file"
        /// `<file>.tmp-<pid>`: a manifest (``Segments/writeAtomically(_:to:)``) not yet renamed into place.
        case atomicWrite = "atomic-write"
    }
    /// The file removed.
    public var path: String
    public var kind: Kind
    /// The process id in its name, the seal that wrote it: not running when it was removed.
    public var pid: Int32
    /// Its size in bytes when it was removed.
    public var bytes: Int64
}

/// Sealed segments of an event log: `ordlog seal`, and finding and checking sealed segments for reading.
///
/// **Seal.** A consistent snapshot of the log (`VACUUM INTO`) becomes the segment file
/// `<dir>/<consumerId>/<first>-<last>.ordlog` (the log records only: the derived projection tables are emptied),
/// written to a temporary name, fsynced and renamed, then its manifest the same way. The live file is replaced
/// (rename, atomic) by a new file that holds the projection as it was, and a ``SegmentStart`` row: its first record
/// will have seq `last + 1` and chain from the sealed head. A sealed segment is never modified again: readers open
/// copies.
///
/// A crash at any point leaves either the old live log (with, at worst, a trusted segment that repeats its first
/// records, which no chain links to and readers skip), or the new one; never a half-written file that a reader
/// trusts. The seal needs the log to itself: it fails, changing nothing, when another process has it open
/// (`consume --archive-every` seals from inside the consumer's writer instead).
public enum Segments {
    /// `<log>.segments`, where `seal` puts segments unless told otherwise.
    public static func defaultDirectory(forLog path: String) -> String { path + ".segments" }

    /// Seals the current segment of the log `log` (an open ``EventLog`` at `log.db.path`) into `directory`.
    ///
    /// After a successful seal, `log` refers to the replaced file: close it and open the path again.
    /// The consumer whose chain this is comes from the log itself: its segment start (a segment continues its
    /// predecessor's consumer), else its first identity record (``ConsumerIdentity``, the one source of consumer
    /// ids). The segment's file name and manifest use ``SegmentName/fileSafe(_:)`` of it.
    /// - Parameters:
    ///   - now: the seal time, ms since the epoch.
    /// - Returns: the sealed segment, or nil when the current segment has no records (nothing to seal).
    /// - Throws: ``SegmentError`` (a reproject in progress, the log open elsewhere, a different segment already at
    ///   that name), ``SQLiteError``, or file errors. Nothing is replaced when it throws.
    public static func seal(
        _ log: EventLog, directory: String? = nil, ordlogVersion: String,
        now: Int64 = ProcessingStep.systemClockMs()
    ) throws -> SealResult? {
        let db = log.db
        let livePath = db.path
        let dir = directory ?? defaultDirectory(forLog: livePath)
        // One writer per log (reentrant: a consumer sealing itself already holds it).
        let tookLock: Bool
        do { tookLock = try WriterLock.acquire(forLog: livePath) } catch let e as WriterLockError {
            throw e.failure == nil ? SegmentError.busy("\(e)") : SegmentError("\(e)")
        }
        defer { if tookLock { WriterLock.release(forLog: livePath) } }
        if try db.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'reproject_checkpoint'") == 1,
            try db.scalarInt("SELECT count(*) FROM reproject_checkpoint") ?? 0 > 0
        {
            throw SegmentError(
                "a `reproject` of \(livePath) is in progress: run it again to finish it, then seal")
        }
        guard let head = try log.head(), head.seq >= (log.segmentStart?.firstSeq ?? 1) else { return nil }
        // An attempt must be in the segment of its receive (attempts.receive_seq references receives).
        let pending =
            try log.db.scalarInt(
                "SELECT count(*) FROM receives WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.receive_seq = receives.seq)"
            )
            ?? 0
        if pending > 0 {
            throw SegmentError.busy(
                "\(pending) receive\(pending == 1 ? " is" : "s are") logged but not processed yet: run `ordlog ingest` "
                    + "or `ordlog consume` to finish \(pending == 1 ? "it" : "them"), then seal")
        }
        let firstSeq = log.segmentStart?.firstSeq ?? 1
        let prevHash = log.segmentStart?.prevHash ?? RecordHash.genesis
        guard let consumer = try log.segmentStart?.consumerId ?? log.identities().first?.identity.consumerId else {
            throw SegmentError(
                "\(livePath) has no consumer identity (written before ordlog recorded one): "
                    + "`ordlog seal --consumer-id ID` records one first")
        }
        let fileId = SegmentName.fileSafe(consumer)
        // What killed seals of this log left; this one holds the writer lock, so no other seal of it is running.
        let removedLeftovers = removeSealLeftovers(forLog: livePath, consumerId: consumer, directory: dir)
        let name = SegmentName(consumerId: fileId, firstSeq: firstSeq, lastSeq: head.seq)
        let segmentPath = dir + "/" + name.description
        let manifestPath = dir + "/" + name.manifest
        try FileManager.default.createDirectory(
            atPath: dir + "/" + fileId, withIntermediateDirectories: true)
        let tag = "\(getpid())-\(now)"
        let snapshot = segmentPath + ".tmp-\(tag)"
        let newLive = livePath + ".sealing-\(tag)"
        var cleanup = [snapshot, newLive]
        defer { for p in cleanup { unlink(p) } }

        // 1. Take the log to ourselves: leaving WAL mode fails while any other connection has the file open.
        let mode = try? db.scalarText("PRAGMA journal_mode=DELETE")
        guard mode == "delete" else {
            throw SegmentError.busy(
                "\(livePath) is open in another process (a consumer?): seal needs it alone. Stop that process, "
                    + "or let `consume --archive-every` seal from inside it")
        }
        var restoreWAL = true
        defer { if restoreWAL { _ = try? db.scalarText("PRAGMA journal_mode=WAL") } }

        // 2. The snapshot: every table as of `head` (VACUUM INTO cannot run inside a transaction; the head is
        //    checked again under the exclusive lock below, so a write in between is noticed).
        try db.run("VACUUM INTO ?", [.text(snapshot)])
        var queue = try db.scalarText("SELECT source FROM receives ORDER BY seq DESC LIMIT 1") ?? ""
        if !queue.hasPrefix("http"), !queue.hasPrefix("arn:"),
            let cut = queue.lastIndex(where: { $0 == ":" || $0 == "#" }),
            queue[queue.index(after: cut)...].first?.isNumber == true || queue[cut] == "#"
        {
            queue = String(queue[..<cut])  // a file's name, without the line or entry
        }
        // In rollback mode, BEGIN EXCLUSIVE keeps every other process out until the rename.
        try db.execute("BEGIN EXCLUSIVE")
        var inTransaction = true
        defer { if inTransaction { try? db.execute("ROLLBACK") } }
        guard try log.head() == head else {
            throw SegmentError.busy("\(livePath) was written during the seal; try again")
        }

        // 3. The next live file: the projection carried over, and where its chain starts.
        do {
            let next = try SQLiteConnection(path: newLive)
            try Migrations.migrate(next)
            try next.run("ATTACH DATABASE ? AS snap", [.text(snapshot)])
            try next.transaction {
                try next.execute(
                    """
                    INSERT INTO main.orders SELECT * FROM snap.orders;
                    INSERT INTO main.applied_messages SELECT * FROM snap.applied_messages;
                    """)
                try SegmentStart(
                    firstSeq: head.seq + 1, prevHash: head.hash, consumerId: consumer,
                    prevSegment: name.description, sealedAt: now
                ).insert(into: next)
            }
            try next.execute("DETACH DATABASE snap")
        }
        try fsyncFile(newLive)

        // 4. The segment: the records only, compacted, in rollback mode (opened read-only by readers).
        do {
            let seg = try SQLiteConnection(path: snapshot)
            try seg.execute(
                "PRAGMA journal_mode=DELETE; DELETE FROM orders; DELETE FROM applied_messages; VACUUM;")
        }
        try fsyncFile(snapshot)
        let (sha, bytes) = try sha256(ofFile: snapshot)
        let manifest = SegmentManifest(
            consumerId: fileId, queue: queue, ordlogVersion: ordlogVersion, firstSeq: firstSeq, lastSeq: head.seq,
            prevHash: prevHash, headHash: head.hash, sha256: sha, bytes: bytes,
            sealedAt: RFC3339.format(milliseconds: now))
        if FileManager.default.fileExists(atPath: segmentPath),
            !FileManager.default.fileExists(atPath: manifestPath)
        {
            // Published by a seal killed before it wrote the manifest: never trusted by a reader, replaced here.
            unlink(segmentPath)
        }
        if FileManager.default.fileExists(atPath: segmentPath) {
            // Left by a seal that crashed after publishing and before replacing the live file: the same records.
            guard let existing = trusted(segmentPath), existing.manifest.headHash == head.hash else {
                throw SegmentError(
                    "\(segmentPath) already exists with other content: a sealed segment is never replaced")
            }
        } else {
            try renameSynced(snapshot, segmentPath)
            try writeAtomically(Array(manifest.json.utf8), to: manifestPath)
        }

        // 5. Replace the live file. Still holding the exclusive lock and no rollback journal (nothing was written).
        try renameSynced(newLive, livePath)
        cleanup.removeAll()
        try? db.execute("ROLLBACK")
        inTransaction = false
        restoreWAL = false  // the old file is gone; the new one is opened in WAL mode by EventLog
        return SealResult(
            manifest: trusted(segmentPath)?.manifest ?? manifest, segmentPath: segmentPath, manifestPath: manifestPath,
            removedLeftovers: removedLeftovers)
    }

    // MARK: Leftovers of killed seals

    /// Removes the temporary files of seals of the log at `livePath` that were killed mid-way and whose process is
    /// no longer running: `<log>.sealing-<pid>-<ms>` next to the log, and in the log's consumer folder of
    /// `directory` `<segment>.tmp-<pid>-<ms>` and `<manifest>.tmp-<pid>` (with their SQLite `-journal`, `-wal` and
    /// `-shm` files). A file whose pid names a running process (`kill(pid, 0)` not failing with `ESRCH`, this
    /// process included) is never removed: it may be a seal at work. Other consumers' folders are not looked at: a
    /// seal of another log sharing `directory` may run in another pid namespace (another container), where its pid
    /// means nothing here. ``seal(_:directory:ordlogVersion:now:)`` calls this before it writes anything and
    /// reports the result in ``SealResult/removedLeftovers``.
    ///
    /// Call it holding the log's writer lock (``WriterLock``), as a seal does, so that no seal of this log starts
    /// meanwhile.
    /// - Parameters:
    ///   - consumerId: the log's consumer (its folder is ``SegmentName/fileSafe(_:)`` of it).
    ///   - directory: the segments directory (default ``defaultDirectory(forLog:)``).
    /// - Returns: what was removed, by path. A file that could not be removed is left out (and left in place).
    public static func removeSealLeftovers(forLog livePath: String, consumerId: String, directory: String? = nil)
        -> [SealLeftover]
    {
        let fm = FileManager.default
        let live = URL(fileURLWithPath: livePath)
        let liveDir = live.deletingLastPathComponent().path
        var found: [(String, SealLeftover.Kind, Int32)] = []
        let livePrefix = live.lastPathComponent + ".sealing-"
        for name in (try? fm.contentsOfDirectory(atPath: liveDir)) ?? [] where name.hasPrefix(livePrefix) {
            if let pid = leftoverPid(String(name.dropFirst(livePrefix.count)), withTime: true) {
                found.append((liveDir + "/" + name, .nextLiveFile, pid))
            }
        }
        let dir = directory ?? defaultDirectory(forLog: livePath)
        let consumer = SegmentName.fileSafe(consumerId)
        for name in (try? fm.contentsOfDirectory(atPath: dir + "/" + consumer)) ?? [] {
            // Only a segment's or a manifest's name before `.tmp-`: nothing else of the folder is touched.
            guard let cut = name.range(of: ".tmp-", options: .backwards),
                SegmentName(parsing: consumer + "/" + name[..<cut.lowerBound]) != nil
            else { continue }
            let tag = String(name[cut.upperBound...])
            let isManifest = name[..<cut.lowerBound].hasSuffix(".manifest.json")
            if let pid = leftoverPid(tag, withTime: !isManifest) {
                found.append((dir + "/" + consumer + "/" + name, isManifest ? .atomicWrite : .segmentSnapshot, pid))
            }
        }
        var removed: [SealLeftover] = []
        for (path, kind, pid) in found.sorted(by: { $0.0 < $1.0 }) where !isRunning(pid) {
            let bytes = ((try? fm.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
            if unlink(path) == 0 { removed.append(SealLeftover(path: path, kind: kind, pid: pid, bytes: bytes)) }
        }
        return removed
    }

    /// The pid in a temporary file's tag: `<pid>-<ms>` (`withTime`) or `<pid>`, then optionally SQLite's
    /// `-journal`, `-wal` or `-shm`; nil for any other name or a pid that is not a positive `pid_t`.
    static func leftoverPid(_ tag: String, withTime: Bool) -> Int32? {
        var rest = Substring(tag)
        for suffix in ["-journal", "-wal", "-shm"] where rest.hasSuffix(suffix) {
            rest = rest.dropLast(suffix.count)
            break
        }
        let parts = rest.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == (withTime ? 2 : 1),
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let pid = Int32(parts[0]), pid > 0
        else { return nil }
        return pid
    }

    /// Whether a process with this id exists: `kill(pid, 0)` succeeds, or fails for another reason than `ESRCH`
    /// (`EPERM`: it belongs to another user).
    static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0 else { return true }
        if kill(pid, 0) == 0 { return true }
        return errno != ESRCH
    }

    // MARK: Finding segments

    /// The segment at `path` if its manifest (`path` + `.manifest.json`) exists, parses, names the same segment
    /// and matches the file's SHA-256 and size; else nil (half-written, edited, or not a segment).
    public static func trusted(_ path: String) -> TrustedSegment? {
        guard let data = FileManager.default.contents(atPath: path + ".manifest.json"),
            let manifest = SegmentManifest(json: Array(data)),
            path.hasSuffix("/" + manifest.name.description) || path == manifest.name.description,
            let (sha, bytes) = try? sha256(ofFile: path), sha == manifest.sha256, bytes == manifest.bytes
        else { return nil }
        return TrustedSegment(path: path, manifest: manifest)
    }

    /// Every trusted segment under `directory` (`<consumerId>/<first>-<last>.ordlog`), by consumer id then first
    /// seq. Files without a matching manifest are left out.
    public static func trustedSegments(in directory: String) -> [TrustedSegment] {
        let fm = FileManager.default
        guard let consumers = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [TrustedSegment] = []
        for consumer in consumers.sorted() where SegmentName.isValidConsumerId(consumer) {
            guard let files = try? fm.contentsOfDirectory(atPath: directory + "/" + consumer) else { continue }
            for file in files.sorted() where file.hasSuffix(".ordlog") {
                if let t = trusted(directory + "/" + consumer + "/" + file) { out.append(t) }
            }
        }
        return out
    }

    /// Every `<consumerId>/<first>-<last>.ordlog` file under `directory` that is not trusted, by name, with why:
    /// no manifest (a seal interrupted before writing it), a manifest that does not parse or names another segment,
    /// or bytes that do not match it (edited after sealing). ``trustedSegments(in:)`` leaves these out silently;
    /// `archive` names them.
    public static func untrustedSegmentFiles(in directory: String) -> [(path: String, reason: String)] {
        let fm = FileManager.default
        guard let consumers = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [(path: String, reason: String)] = []
        for consumer in consumers.sorted() where SegmentName.isValidConsumerId(consumer) {
            guard let files = try? fm.contentsOfDirectory(atPath: directory + "/" + consumer) else { continue }
            for file in files.sorted() where file.hasSuffix(".ordlog") {
                let path = directory + "/" + consumer + "/" + file
                if trusted(path) != nil { continue }
                let reason: String
                if let data = fm.contents(atPath: path + ".manifest.json") {
                    if let manifest = SegmentManifest(json: Array(data)) {
                        if !(path.hasSuffix("/" + manifest.name.description)) {
                            reason = "its manifest names another segment (\(manifest.name))"
                        } else if let (sha, bytes) = try? sha256(ofFile: path) {
                            reason =
                                "does not match its manifest (sha256 \(sha), \(bytes) bytes; the manifest says "
                                + "\(manifest.sha256), \(manifest.bytes) bytes): edited after sealing?"
                        } else {
                            reason = "cannot be read"
                        }
                    } else {
                        reason = "its manifest is not a valid \(SegmentManifest.format) manifest"
                    }
                } else {
                    reason = "has no manifest (a seal interrupted before writing it?)"
                }
                out.append((path, reason))
            }
        }
        return out
    }

    /// A consumer's chain among `segments`: found from the newest backwards, each linked to its predecessor by seq
    /// and hash, so leftovers no chain links to (a repeated prefix from an interrupted seal) are skipped.
    ///
    /// - Parameter continuing: where the chain must end (the live file's ``SegmentStart``), or nil to start from the
    ///   consumer's segment with the highest last seq.
    /// - Returns: the chain oldest first, and a problem when it does not reach seq 1 (a segment is missing).
    public static func chain(
        _ segments: [TrustedSegment], consumerId: String, continuing: SegmentStart? = nil
    ) -> (segments: [TrustedSegment], missing: String?) {
        let mine = segments.filter { $0.manifest.consumerId == consumerId }
        var wantLast: Int64
        var wantHash: [UInt8]?
        if let continuing {
            wantLast = continuing.firstSeq - 1
            wantHash = continuing.prevHash
        } else {
            guard let newest = mine.max(by: { $0.manifest.lastSeq < $1.manifest.lastSeq }) else { return ([], nil) }
            wantLast = newest.manifest.lastSeq
            wantHash = nil
        }
        var out: [TrustedSegment] = []
        while wantLast >= 1 {
            guard
                let s = mine.first(where: {
                    $0.manifest.lastSeq == wantLast && (wantHash == nil || $0.manifest.headHash == wantHash!)
                })
            else {
                return (
                    out.reversed(),
                    "the segment of \(consumerId) ending at seq \(wantLast)"
                        + (wantHash.map { " with head hash \(RecordHash.hex($0))" } ?? "") + " is missing"
                )
            }
            out.append(s)
            wantLast = s.manifest.firstSeq - 1
            wantHash = s.manifest.prevHash
        }
        return (out.reversed(), nil)
    }

    /// The sealed local segments the live log at `livePath` continues, oldest first (empty for a log never sealed).
    /// This is the local branch of source resolution: a reader of `livePath` reads these files, then `livePath`.
    /// - Throws: ``SegmentError`` when a segment the chain needs is missing or does not match its manifest.
    public static func localChain(forLog livePath: String, directory: String? = nil) throws -> [TrustedSegment] {
        guard let start = try liveSegmentStart(livePath) else { return [] }
        let dir = directory ?? defaultDirectory(forLog: livePath)
        let fileId = SegmentName.fileSafe(start.consumerId)
        let (chain, missing) = Self.chain(trustedSegments(in: dir), consumerId: fileId, continuing: start)
        if let missing {
            // Say so when the file is there but no longer matches its manifest (edited, or half-written).
            let want = (chain.first?.manifest.firstSeq ?? start.firstSeq) - 1
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + fileId)) ?? []
            if let bad = files.sorted().first(where: {
                SegmentName(parsing: fileId + "/" + $0)?.lastSeq == want
                    && $0.hasSuffix(".ordlog")
            }) {
                throw SegmentError(
                    "\(dir)/\(fileId)/\(bad) does not match its manifest (edited after sealing, or half-written): "
                        + "\(livePath) continues sealed segments in \(dir), and the segment of \(fileId) ending at seq "
                        + "\(want) cannot be trusted"
                )
            }
            throw SegmentError("\(livePath) continues sealed segments in \(dir), but \(missing)")
        }
        return chain
    }

    /// The live file's segment start (nil for a missing file or a log never sealed), read without migrating or
    /// writing it.
    /// - Throws: ``SQLiteError`` when the file is not a readable SQLite database.
    public static func liveSegmentStart(_ path: String) throws -> SegmentStart? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let db = try SQLiteConnection(path: path, readOnly: true)
        return try SegmentStart.read(db)
    }

    // MARK: Files

    /// Lowercase hex SHA-256 and size of a file, read in 1 MiB chunks.
    public static func sha256(ofFile path: String) throws -> (String, Int64) {
        guard let h = FileHandle(forReadingAtPath: path) else { throw SegmentError("cannot read \(path)") }
        defer { try? h.close() }
        var hasher = SHA256()
        var total: Int64 = 0
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            total += Int64(chunk.count)
        }
        return (RecordHash.hex(Array(hasher.finalize())), total)
    }

    static func fsyncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SegmentError("cannot open \(path) to sync it: errno \(errno)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SegmentError("fsync \(path) failed: errno \(errno)") }
    }

    /// `rename(from, to)` (atomic, replacing `to`), then fsync of the directory so the new name survives a crash.
    static func renameSynced(_ from: String, _ to: String) throws {
        guard rename(from, to) == 0 else { throw SegmentError("cannot rename \(from) to \(to): errno \(errno)") }
        let dir = (to as NSString).deletingLastPathComponent
        try? fsyncFile(dir.isEmpty ? "." : dir)
    }

    /// Writes `bytes` to a temporary name next to `path`, fsyncs and renames it into place.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else {
            throw SegmentError("cannot write \(tmp)")
        }
        try fsyncFile(tmp)
        try renameSynced(tmp, path)
    }

    static func copyFile(_ from: String, to: String) throws {
        unlink(to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }
}
