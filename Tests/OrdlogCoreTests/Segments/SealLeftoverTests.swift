import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// A killed `ordlog seal` leaves temporary files; the next seal of the log removes those of seals that are no longer
/// running, and only those.
@Suite struct SealLeftoverTests {
    /// The pid of a process that has exited (and been reaped): `kill(pid, 0)` fails with ESRCH.
    static func deadPid() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let pid = p.processIdentifier
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "pid \(pid) was reused already")
        return pid
    }

    @Test("the next seal removes a dead seal's .tmp and .sealing files and keeps a live process's")
    func nextSealRemovesOnlyDeadSealsLeftovers() throws {
        let p = try Fixtures.pipeline()
        try SegmentTests.identify(p.log)
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        let live = p.log.db.path
        let dir = Segments.defaultDirectory(forLog: live)
        for c in ["c1", "c2"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + c, withIntermediateDirectories: true)
        }
        let dead = try Self.deadPid()
        let alive = getpid()
        let segment = dir + "/c1/00000000000000000001-00000000000000000009.ordlog"
        func make(_ path: String, bytes: Int) -> String {
            FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: bytes))
            return path
        }
        let deadFiles = [
            make(segment + ".tmp-\(dead)-1767261600000", bytes: 4096),
            make(segment + ".tmp-\(dead)-1767261600000-journal", bytes: 512),
            make(segment + ".manifest.json.tmp-\(dead)", bytes: 100),
            make(live + ".sealing-\(dead)-1767261600000", bytes: 8192),
        ]
        let liveFiles = [
            make(segment + ".tmp-\(alive)-1767261600000", bytes: 4096),
            make(segment + ".manifest.json.tmp-\(alive)", bytes: 100),
            make(live + ".sealing-\(alive)-1767261600000", bytes: 8192),
            // Not a seal's name: never touched, whatever the number in it.
            make(dir + "/c1/notes.txt.tmp-\(dead)", bytes: 1),
            make(live + ".sealing-\(dead)", bytes: 1),
            make(live + ".sealing-0-1767261600000", bytes: 1),
            // Another consumer's folder: its seals may run in another pid namespace, so it is not looked at.
            make(dir + "/c2/00000000000000000001-00000000000000000009.ordlog.tmp-\(dead)-1767261600000", bytes: 1),
        ]

        let result = try #require(try Segments.seal(p.log, ordlogVersion: "test"))

        let fm = FileManager.default
        for f in deadFiles { #expect(!fm.fileExists(atPath: f), "\(f) is still there") }
        for f in liveFiles { #expect(fm.fileExists(atPath: f), "\(f) was removed") }
        #expect(
            result.removedLeftovers.sorted { $0.path < $1.path }
                == [
                    SealLeftover(path: deadFiles[2], kind: .atomicWrite, pid: dead, bytes: 100),
                    SealLeftover(path: deadFiles[0], kind: .segmentSnapshot, pid: dead, bytes: 4096),
                    SealLeftover(path: deadFiles[1], kind: .segmentSnapshot, pid: dead, bytes: 512),
                    SealLeftover(path: deadFiles[3], kind: .nextLiveFile, pid: dead, bytes: 8192),
                ].sorted { $0.path < $1.path })
        // The seal itself went through, and leaves no temporary file of its own.
        #expect(fm.fileExists(atPath: result.segmentPath))
        let names = try fm.contentsOfDirectory(atPath: dir + "/c1").filter { $0.contains(".tmp-") }.sorted()
        #expect(
            names
                == [
                    "00000000000000000001-00000000000000000009.ordlog.manifest.json.tmp-\(alive)",
                    "00000000000000000001-00000000000000000009.ordlog.tmp-\(alive)-1767261600000",
                    "notes.txt.tmp-\(dead)",
                ])
    }

    @Test("a segment published by a seal killed before its manifest is replaced by the next seal, which then succeeds")
    func sealKilledBeforeItsManifest() throws {
        let p = try Fixtures.pipeline()
        try SegmentTests.identify(p.log)
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        let head = try #require(try p.log.head())
        let dir = Segments.defaultDirectory(forLog: p.log.db.path)
        let name = SegmentName(consumerId: "c1", firstSeq: 1, lastSeq: head.seq)
        try FileManager.default.createDirectory(atPath: dir + "/c1", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/" + name.description, contents: Data(repeating: 1, count: 64))
        let result = try #require(try Segments.seal(p.log, ordlogVersion: "test"))
        #expect(result.segmentPath == dir + "/" + name.description)
        #expect(Segments.trusted(result.segmentPath) != nil)
    }

    @Test("leftover names: pid and time digits, SQLite's side files; anything else is not a leftover")
    func leftoverNames() {
        #expect(Segments.leftoverPid("123-456", withTime: true) == 123)
        #expect(Segments.leftoverPid("123-456-wal", withTime: true) == 123)
        #expect(Segments.leftoverPid("123", withTime: false) == 123)
        #expect(Segments.leftoverPid("123-shm", withTime: false) == 123)
        #expect(Segments.leftoverPid("123", withTime: true) == nil)
        #expect(Segments.leftoverPid("123-456", withTime: false) == nil)
        #expect(Segments.leftoverPid("0-456", withTime: true) == nil)
        #expect(Segments.leftoverPid("-1-456", withTime: true) == nil)
        #expect(Segments.leftoverPid("99999999999-1", withTime: true) == nil)
        #expect(Segments.leftoverPid("12a-1", withTime: true) == nil)
        #expect(Segments.leftoverPid("", withTime: false) == nil)
    }
}
