import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// `ordlog seal`: sealed segments chain to the live log, verify alone and together, and are only trusted when they
/// match their manifests.
@Suite struct SegmentTests {
    static let version = "test"

    /// A log with the sample traffic ingested in three parts, sealed after the first two; the reference is the same
    /// traffic in one never-sealed log.
    struct Sealed {
        var path: String
        var live: ProcessingStep
        var results: [SealResult]
        var reference: ProcessingStep
    }

    /// Seals as consumer `c1`: the identity record (the one source of consumer ids) is written first when the log
    /// has none.
    static func seal(_ log: EventLog, now: Int64 = 1_767_261_600_000) throws -> SealResult? {
        try identify(log)
        return try Segments.seal(log, ordlogVersion: version, now: now)
    }

    static func identify(_ log: EventLog) throws {
        guard log.segmentStart == nil, try log.identities().isEmpty else { return }
        try log.write {
            _ = try log.appendIdentity(
                ConsumerIdentity(consumerId: "c1", ordlogVersion: version, queue: "test"), recordedAt: 0)
        }
    }

    /// Opens a sealed segment as a copy (opening a log migrates it and switches it to WAL mode).
    static func openCopy(_ url: URL) throws -> EventLog {
        guard FileManager.default.fileExists(atPath: url.path + ".manifest.json") else {
            return try EventLog(path: url.path)
        }
        let copy = Fixtures.tempDB()
        try FileManager.default.copyItem(atPath: url.path, toPath: copy)
        return try EventLog(path: copy)
    }

    static func reopen(_ path: String) throws -> ProcessingStep {
        ProcessingStep(log: try EventLog(path: path), processor: OrderProcessor(), clock: Fixtures.fixedClock)
    }

    static func sealedLog() throws -> Sealed {
        let files = try SampleLog.files()
        let parts = [Array(files.prefix(2)), Array(files.dropFirst(2).prefix(2)), Array(files.dropFirst(4))]
        let reference = try Fixtures.pipeline()
        try identify(reference.log)
        try Fixtures.ingest(files, into: reference)
        var p = try Fixtures.pipeline()
        try identify(p.log)
        let path = p.log.db.path
        var results: [SealResult] = []
        for (i, part) in parts.enumerated() {
            try Fixtures.ingest(part, into: p)
            if i < 2 {
                let r = try #require(
                    try seal(p.log, now: 1_767_261_600_000 + Int64(i)))
                results.append(r)
                p = try reopen(path)
            }
        }
        return Sealed(path: path, live: p, results: results, reference: reference)
    }

    @Test func sealedSegmentsAndTheLiveLogFormOneChainThatVerifies() throws {
        let s = try Self.sealedLog()
        let (m1, m2) = (s.results[0].manifest, s.results[1].manifest)
        #expect(m1.firstSeq == 1)
        #expect(m1.prevHash == RecordHash.genesis)
        #expect(m2.firstSeq == m1.lastSeq + 1)
        #expect(m2.prevHash == m1.headHash)
        #expect(
            s.results[0].segmentPath.hasSuffix(
                ".segments/c1/00000000000000000001-\(SegmentName.digits20(m1.lastSeq)).ordlog"))
        // The live file starts where the second segment ended, and verifies alone.
        let start = try #require(s.live.log.segmentStart)
        #expect(start.firstSeq == m2.lastSeq + 1)
        #expect(start.prevHash == m2.headHash)
        #expect(start.consumerId == "c1")
        let alone = try Verifier.verify(s.live.log)
        #expect(alone.ok, "\(String(describing: alone.problem))")
        #expect(try s.live.log.head() == (try s.reference.log.head()))
        // Each sealed segment verifies alone (from a copy: a sealed file is never opened for writing).
        for r in s.results {
            let copy = Fixtures.tempDB()
            try FileManager.default.copyItem(atPath: r.segmentPath, toPath: copy)
            let v = try Verifier.verify(try EventLog(path: copy))
            #expect(v.ok)
            #expect(v.verified == r.manifest.lastSeq - r.manifest.firstSeq + 1)
            #expect(v.head == LogHead(seq: r.manifest.lastSeq, hash: r.manifest.headHash))
        }
        // Source resolution reads the live log with its sealed segments, oldest first; as one log set the chain
        // verifies end to end (each link checked) and merges into the never-sealed log's traffic.
        let chain = try Segments.localChain(forLog: s.path)
        #expect(chain.map(\.manifest) == [m1, m2])
        let urls = try LogSources.resolve([s.path])
        #expect(urls.map(\.path) == chain.map(\.path) + [s.path])
        let set = try LogSet(urls: urls, open: Self.openCopy)
        #expect(set.consumerIds == ["c1"])
        let report = try set.verify()
        #expect(report.ok, "\(report.files.map { ($0.chain.problem?.message, $0.linkProblem) })")
        #expect(report.verified == (try s.reference.log.head())?.seq)
        #expect(report.files.last?.chain.head == (try Verifier.verify(s.reference.log).head))
        // The projection carried over every seal; a replay of the merged chain gives the same digest.
        #expect(try s.live.projection.digest() == (try s.reference.projection.digest()))
        let whole = try set.mergedLog(path: Fixtures.tempDB())
        let scratch = try LocalProjection.open(path: Fixtures.tempDB())
        let replay = try Replayer(log: whole, processor: OrderProcessor()).run(filter: LogFilter(), into: scratch)
        #expect(replay.digest == (try s.reference.projection.digest()))
        // A sealed segment is not changed by reading it.
        for r in s.results { #expect(Segments.trusted(r.segmentPath)?.manifest == r.manifest) }
    }

    @Test func anEditAnywhereInTheChainIsFound() throws {
        let s = try Self.sealedLog()
        // In the live log.
        try s.live.log.db.execute(
            "DROP TRIGGER attempts_no_update; UPDATE attempts SET note = 'edited' WHERE seq = (SELECT max(seq) FROM attempts)"
        )
        let live = try Verifier.verify(s.live.log)
        #expect(live.problem?.kind == .edited)
        // In a sealed segment: it no longer matches its manifest, so the chain has a hole.
        let seg = s.results[0].segmentPath
        let db = try SQLiteConnection(path: seg)
        try db.execute("DROP TRIGGER receives_no_update; UPDATE receives SET body = x'00' WHERE seq = 1")
        #expect(Segments.trusted(seg) == nil)
        #expect(throws: SegmentError.self) { try Segments.localChain(forLog: s.path) }
    }

    @Test func anEditedSegmentStartIsFound() throws {
        let s = try Self.sealedLog()
        try s.live.log.db.execute(
            "DROP TRIGGER segment_start_no_update; UPDATE segment_start SET consumer_id = 'c2'")
        let v = try Verifier.verify(try EventLog(path: s.path))
        #expect(v.problem?.kind == .edited)
        #expect(v.problem?.message.contains("segment start") == true)
    }

    @Test func theFirstRecordsOfASegmentCannotBeDeletedUnseen() throws {
        let s = try Self.sealedLog()
        let first = try #require(s.live.log.segmentStart).firstSeq
        try s.live.log.db.execute(
            "DROP TRIGGER attempts_no_delete; DROP TRIGGER receives_no_delete; PRAGMA foreign_keys=OFF; "
                + "DELETE FROM receives WHERE seq = \(first); DELETE FROM attempts WHERE seq = \(first)")
        let v = try Verifier.verify(try EventLog(path: s.path))
        #expect(v.problem?.kind == .deleted)
        #expect(v.problem?.seq == first)
    }

    @Test func aSegmentIsTrustedOnlyWithAManifestThatMatchesIt() throws {
        let s = try Self.sealedLog()
        let seg = s.results[1].segmentPath
        #expect(Segments.trusted(seg) != nil)
        let manifest = try #require(FileManager.default.contents(atPath: seg + ".manifest.json"))
        // No manifest (a seal or download interrupted before it): not trusted, and the chain says what is missing.
        try FileManager.default.removeItem(atPath: seg + ".manifest.json")
        #expect(Segments.trusted(seg) == nil)
        #expect(Segments.trustedSegments(in: Segments.defaultDirectory(forLog: s.path)).count == 1)
        // A manifest naming other bytes: not trusted.
        var text = String(decoding: manifest, as: UTF8.self)
        let sha = try #require(SegmentManifest(json: Array(manifest))).sha256
        text = text.replacingOccurrences(of: sha, with: String(repeating: "0", count: 64))
        try Data(text.utf8).write(to: URL(fileURLWithPath: seg + ".manifest.json"))
        #expect(Segments.trusted(seg) == nil)
        // Garbage is data, not a crash.
        try Data("{\"format\":\"ordlog-segment/1\",\"firstSeq\":\"x\"}".utf8).write(
            to: URL(fileURLWithPath: seg + ".manifest.json"))
        #expect(Segments.trusted(seg) == nil)
        try manifest.write(to: URL(fileURLWithPath: seg + ".manifest.json"))
        #expect(Segments.trusted(seg) != nil)
    }

    @Test func sealRefusesALogOpenElsewhereAndAnEmptySegmentHasNothingToSeal() throws {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        let other = try EventLog(path: p.log.db.path)
        #expect(throws: SegmentError.self) { try Self.seal(p.log) }
        withExtendedLifetime(other) {}
        #expect(try Verifier.verify(p.log).ok)  // nothing was replaced
        #expect(try p.log.db.scalarText("PRAGMA journal_mode") == "wal")
    }

    @Test func nothingToSealInAFreshSegment() throws {
        var p = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        let path = p.log.db.path
        _ = try #require(try Self.seal(p.log))
        p = try Self.reopen(path)
        #expect(try Self.seal(p.log) == nil)
    }

    @Test func segmentNamesAndManifestsRoundTrip() throws {
        let n = SegmentName(consumerId: "c-1.a_b", firstSeq: 1, lastSeq: 12_345)
        #expect(n.description == "c-1.a_b/00000000000000000001-00000000000000012345.ordlog")
        #expect(SegmentName(parsing: n.manifest) == n)
        #expect(SegmentName(parsing: "../00000000000000000001-00000000000000000002.ordlog") == nil)
        #expect(SegmentName(parsing: "c/1-2.ordlog") == nil)
        let m = SegmentManifest(
            consumerId: "c1", queue: "q", ordlogVersion: "0.1.0", firstSeq: 1, lastSeq: 2,
            prevHash: RecordHash.genesis, headHash: [UInt8](repeating: 7, count: 32),
            sha256: String(repeating: "a", count: 64), bytes: 10, sealedAt: "2026-12-01T00:00:00.000Z")
        #expect(SegmentManifest(json: Array(m.json.utf8)) == m)
        #expect(m.json.hasPrefix("{\"format\":\"ordlog-segment/1\",\"consumerId\":\"c1\",\"queue\":\"q\""))
    }

    /// A seal that died after publishing its segment and before replacing the live file leaves a trusted segment
    /// that repeats the live file's first records. No chain links to it: the next seal's segment supersedes it.
    @Test func aSealInterruptedBeforeTheRenameLeavesNothingAReaderFollows() throws {
        let files = try SampleLog.files()
        var p = try Fixtures.pipeline()
        let path = p.log.db.path
        try Fixtures.ingest(Array(files.prefix(2)), into: p)
        let before = path + ".before"
        try p.log.db.run("VACUUM INTO ?", [.text(before)])
        let orphan = try #require(try Self.seal(p.log))
        // The crash: the old live file is back, as if the rename never happened.
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        _ = rename(before, path)
        p = try Self.reopen(path)
        #expect(p.log.segmentStart == nil)
        try Fixtures.ingest(Array(files.dropFirst(2)), into: p)
        let real = try #require(try Self.seal(p.log))
        #expect(real.manifest.firstSeq == 1)
        #expect(real.manifest.lastSeq > orphan.manifest.lastSeq)
        let all = Segments.trustedSegments(in: Segments.defaultDirectory(forLog: path))
        #expect(all.count == 2)
        #expect(try Segments.localChain(forLog: path).map(\.manifest) == [real.manifest])
        #expect(Segments.chain(all, consumerId: "c1").segments.map(\.manifest) == [real.manifest])
    }

    /// Two consumers, each sealed: resolved from their live logs, the four files are one set of two chains; a
    /// segment given without the one before it, or a live file whose segment start was rewritten, is refused.
    @Test func severalSealedLogsVerifyAsOneSetAndEachLinkIsChecked() throws {
        let a = try Self.sealedLog()
        let b = try Fixtures.pipeline()
        try b.log.write {
            _ = try b.log.appendIdentity(
                ConsumerIdentity(consumerId: "c2", ordlogVersion: Self.version, queue: "test"), recordedAt: 0)
        }
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: b)
        _ = try #require(try Segments.seal(b.log, ordlogVersion: Self.version))  // the whole log: the live file is empty
        let bLive = try EventLog(path: b.log.db.path)
        #expect(try bLive.head() != nil)  // where the chain stands: the sealed head
        #expect(try bLive.receives(where: "1 = 1").isEmpty)
        let urls = try LogSources.resolve([a.path, b.log.db.path])
        #expect(urls.count == 5)  // a: 2 segments + live; b: 1 segment + the empty live file
        let set = try LogSet(urls: urls, open: Self.openCopy)
        #expect(set.consumerIds == ["c1", "c2"])
        let report = try set.verify()
        #expect(report.ok, "\(report.files.map { ($0.url.lastPathComponent, $0.chain.problem?.message, $0.linkProblem) })")
        // The empty live file's segment start is checked against the head of the segment before it.
        #expect(report.files.last?.chain.head == (try bLive.head()))

        // a's second segment without its first: the link check names the records that are missing.
        let gap = try LogSet(urls: [urls[1], urls[2]], open: Self.openCopy)
        let gapReport = try gap.verify()
        #expect(!gapReport.ok)
        #expect(gapReport.files[0].linkProblem?.contains("records 1…\(a.results[0].manifest.lastSeq) are missing") == true)

        // The identity record is the source of the consumer id: a log without one is not sealed (nothing to name).
        let next = try Fixtures.pipeline()
        #expect(try Segments.seal(next.log, ordlogVersion: Self.version) == nil)  // empty: nothing to seal
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: next)
        #expect(throws: SegmentError.self) { try Segments.seal(next.log, ordlogVersion: Self.version) }  // no identity
    }

    @Test func consumerIdsThatAreNoFileNamesAreMadeFileSafe() {
        #expect(SegmentName.fileSafe("c1") == "c1")
        #expect(SegmentName.fileSafe("ip-10-0-0-1/0123abcd") == "ip-10-0-0-1_0123abcd")
        #expect(SegmentName.fileSafe(".hidden") == "_hidden")
        #expect(SegmentName.fileSafe("") == "consumer")
        #expect(SegmentName.isValidConsumerId(SegmentName.fileSafe("ä/b c")))
    }
}
