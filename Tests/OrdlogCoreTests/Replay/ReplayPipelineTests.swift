import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// The concurrent replay (a reader thread reading and interpreting, the calling thread deciding) against the
/// sequential one: the same decisions, counts, verdicts and digest on every traffic the project has; a read
/// error mid-stream reaches the caller; the reader thread ends when the caller's side stops or throws.
@Suite(.timeLimit(.minutes(2))) struct ReplayPipelineTests {
    struct Run: Equatable {
        var decisions: [ReplayedDecision]
        var counts: ReplayCounts
        var compared: Int
        var differences: [VerdictDifference]
        var digest: String
        var orders: Int
    }

    static func run(_ result: ReplayResult, _ decisions: [ReplayedDecision]) -> Run {
        Run(
            decisions: decisions, counts: result.counts, compared: result.compared, differences: result.differences,
            digest: result.digest, orders: result.orders)
    }

    static func sequential(_ log: EventLog, _ processor: OrderProcessor, _ filter: LogFilter, verdict: Bool) throws -> Run {
        var decisions: [ReplayedDecision] = []
        let r = try Replayer(log: log, processor: processor).run(
            filter: filter, into: MemoryProjection(), verdict: verdict, concurrent: false,
            onDecision: { decisions.append($0) })
        return run(r, decisions)
    }

    static func concurrent(
        _ log: EventLog, _ processor: OrderProcessor, _ filter: LogFilter, verdict: Bool, chunk: Int, depth: Int,
        interpreting: InterpretAhead
    ) throws -> Run {
        var decisions: [ReplayedDecision] = []
        let cursor = try log.records(from: filter.fromSeq, attempts: verdict, decisionColumnsOnly: true)
        let r = try Replayer.runConcurrently(
            cursor, processor: processor, filter: try filter.resolve(in: log), into: MemoryProjection(),
            verdict: verdict, batchSize: 10_000, chunkSize: chunk, depth: depth, interpreting: interpreting,
            onDecision: { decisions.append($0) }, progress: { _, _ in })
        return run(r, decisions)
    }

    static func logs() throws -> [(String, EventLog)] {
        var out: [(String, EventLog)] = []
        for name in ["samples", "bad-input", "quantities", "hostile", "bytewise"] {
            let p = try Fixtures.pipeline()
            _ = try Fixtures.ingest(try MemoryReplayTests.traffic(name), into: p)
            out.append((name, p.log))
        }
        out.append(("processor-v1", try ProcessorVersionCompatibilityTests.load("order-traffic.processor-v1.sql")))
        return out
    }

    @Test func concurrentReplayDecidesAsTheSequentialOne() throws {
        var numeric = ValidationRules()
        numeric.acceptNumericStrings = true
        numeric.minimumQuantity = 2
        var middle = LogFilter()
        middle.fromSeq = 5
        middle.toSeq = 40
        for (name, log) in try Self.logs() {
            for rules in [ValidationRules(), numeric] {
                let processor = OrderProcessor(rules: rules)
                for filter in [LogFilter(), middle] {
                    for verdict in [true, false] {
                        let expected = try Self.sequential(log, processor, filter, verdict: verdict)
                        if filter == LogFilter() { #expect(expected.counts.replayed > 0, "\(name)") }
                        // Chunks of 1 and 3 records with a queue of one chunk: every hand-off boundary.
                        // Interpreted by the reader, by the engine, or shared as the engine waits or not.
                        for (chunk, depth) in [(1, 1), (3, 1), (7, 2), (512, 4)] {
                            for mode in InterpretAhead.allCases {
                                let got = try Self.concurrent(
                                    log, processor, filter, verdict: verdict, chunk: chunk, depth: depth,
                                    interpreting: mode)
                                #expect(
                                    got == expected,
                                    "\(name) \(rules.summary) \(filter) verdict \(verdict) chunk \(chunk) \(mode)")
                            }
                        }
                        // The public entry point (its default, concurrent) too.
                        var decisions: [ReplayedDecision] = []
                        let r = try Replayer(log: log, processor: processor).run(
                            filter: filter, into: MemoryProjection(), verdict: verdict,
                            onDecision: { decisions.append($0) })
                        #expect(Self.run(r, decisions) == expected, "\(name)")
                    }
                }
            }
        }
    }

    @Test func theLiveDigestAndTheSQLiteProjectionAgreeWithTheConcurrentReplay() throws {
        let p = try SampleLog.pipeline()
        let memory = try Replayer(log: p.log, processor: OrderProcessor()).run(
            filter: LogFilter(), into: MemoryProjection(), verdict: true)
        let sqlite = try Replayer(log: p.log, processor: OrderProcessor()).run(
            filter: LogFilter(), into: LocalProjection.open(path: Fixtures.tempDB()), verdict: true, batchSize: 5)
        #expect(memory.digest == (try p.projection.digest()))
        #expect(sqlite.digest == memory.digest)
        #expect(memory.differences.isEmpty)
        #expect(memory.compared == 34)
        #expect(sqlite.counts == memory.counts)
    }

    struct ReadFailure: Error, Equatable { var after: Int }

    /// Records of a real log, then (after `failAfter` of them) an error, or, with `endless`, copies of the
    /// first receive with increasing seqs forever. `released` is set when the source is released.
    struct ScriptedSource: LogRecordSource {
        final class Token: @unchecked Sendable {
            private let lock = NSLock()
            private var _released = false
            private var _read = 0
            var released: Bool { lock.withLock { _released } }
            var read: Int { lock.withLock { _read } }
            func release() { lock.withLock { _released = true } }
            func readOne() { lock.withLock { _read += 1 } }
        }
        final class Releaser {
            let token: Token
            init(_ token: Token) { self.token = token }
            deinit { token.release() }
        }
        var records: [LogRecord]
        var failAfter: Int?
        var endless = false
        var index = 0
        let releaser: Releaser

        init(records: [LogRecord], failAfter: Int? = nil, endless: Bool = false, token: Token) {
            self.records = records
            self.failAfter = failAfter
            self.endless = endless
            releaser = Releaser(token)
        }

        mutating func next() throws -> LogRecord? {
            if let failAfter, index == failAfter { throw ReadFailure(after: failAfter) }
            defer {
                index += 1
                releaser.token.readOne()
            }
            if index < records.count { return records[index] }
            guard endless, case .receive(var r) = records[0] else { return nil }
            r.seq = Int64(index + 1)
            r.messageId = "endless-\(index)"
            return .receive(r)
        }
    }

    static func receives() throws -> [LogRecord] {
        let p = try SampleLog.pipeline()
        var cursor = try p.log.records(attempts: false, decisionColumnsOnly: true)
        var out: [LogRecord] = []
        while let r = try cursor.next() { out.append(r) }
        return out
    }

    @Test(arguments: [0, 1, 2, 10, 33])
    func aReadErrorMidStreamIsThrownAfterTheRecordsBeforeIt(_ failAfter: Int) throws {
        let records = try Self.receives()
        #expect(records.count == 34)
        let filter = try LogFilter().resolve(in: try SampleLog.pipeline().log)
        for (chunk, depth) in [(1, 1), (4, 2), (512, 4)] {
          for mode in InterpretAhead.allCases {
            let token = ScriptedSource.Token()
            var decided: [Int64] = []
            #expect(throws: ReadFailure(after: failAfter)) {
                _ = try Replayer.runConcurrently(
                    ScriptedSource(records: records, failAfter: failAfter, token: token), processor: OrderProcessor(),
                    filter: filter, into: MemoryProjection(), verdict: false, batchSize: 10_000, chunkSize: chunk,
                    depth: depth, interpreting: mode, onDecision: { decided.append($0.seq) }, progress: { _, _ in })
            }
            // Not a truncated success: every record read before the error was decided, in order, none after.
            #expect(decided == records.prefix(failAfter).map(\.seq), "chunk \(chunk) \(mode)")
            #expect(token.released)
          }
        }
    }

    struct Stop: Error {}

    @Test func aThrowingOnDecisionStopsTheReader() throws {
        let records = try Self.receives()
        let filter = try LogFilter().resolve(in: try SampleLog.pipeline().log)
        for (chunk, depth) in [(1, 1), (16, 2), (512, 4)] {
            let token = ScriptedSource.Token()
            var decided = 0
            #expect(throws: Stop.self) {
                _ = try Replayer.runConcurrently(
                    ScriptedSource(records: records, endless: true, token: token), processor: OrderProcessor(),
                    filter: filter, into: MemoryProjection(), verdict: false, batchSize: 10_000, chunkSize: chunk,
                    depth: depth,
                    onDecision: { _ in
                        decided += 1
                        if decided == 1_000 { throw Stop() }
                    }, progress: { _, _ in })
            }
            #expect(decided == 1_000)
            // The endless source was released by its reader thread before the replay returned: the reader ended,
            // having read at most what the queue holds beyond the decided records.
            #expect(token.released, "chunk \(chunk)")
            let read = token.read
            #expect(read >= 1_000 && read <= 1_000 + chunk * (depth + 2), "read \(read), chunk \(chunk)")
        }
    }

    @Test func aReplayPastItsLastSeqStopsTheReader() throws {
        let records = try Self.receives()
        var f = LogFilter()
        f.toSeq = 20
        let filter = try f.resolve(in: try SampleLog.pipeline().log)
        let token = ScriptedSource.Token()
        let r = try Replayer.runConcurrently(
            ScriptedSource(records: records, endless: true, token: token), processor: OrderProcessor(),
            filter: filter, into: MemoryProjection(), verdict: false, batchSize: 10_000, chunkSize: 8, depth: 2,
            onDecision: { _ in }, progress: { _, _ in })
        #expect(r.counts.replayed == records.filter { $0.seq <= 20 }.count)
        #expect(token.released)
    }
}

/// ``ByteKeyTable``'s packed UUID form and its index growing without rehashing.
@Suite struct ByteKeyTablePackingTests {
    static func packed(_ s: String) -> [UInt8]? {
        var b = Array(s.utf8)
        return b.withUnsafeMutableBytes { raw in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(17, raw.count + 1)) { out in
                ByteKeyTable.packUUID(UnsafeRawBufferPointer(raw), into: out) ? Array(out[0..<17]) : nil
            }
        }
    }

    @Test func onlyLowercaseCanonicalUUIDsArePacked() {
        let uuid = "0123abcd-ef45-6789-aabb-ccddeeff0011"
        #expect(Self.packed(uuid) == [1, 0x01, 0x23, 0xab, 0xcd, 0xef, 0x45, 0x67, 0x89, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11])
        let chars = Array(uuid.utf8)
        for i in chars.indices {
            // The bytes around the digit ranges, uppercase, a dash out of place or missing: not packed.
            for c in Array("/:`gAF- x".utf8) where c != chars[i] {
                var bad = chars
                bad[i] = c
                #expect(Self.packed(String(decoding: bad, as: UTF8.self)) == nil, "\(i) \(UnicodeScalar(c))")
            }
        }
        #expect(Self.packed(String(uuid.dropLast())) == nil)
        #expect(Self.packed(uuid + "0") == nil)
    }

    @Test func keysStayFoundAcrossManyGrowths() {
        let t = ByteKeyTable()
        var rng = SystemRandomNumberGenerator()
        var keys: [String] = []
        for i in 0..<60_000 {
            let key = i % 3 == 0 ? "k\(i)" : UUID().uuidString.lowercased()
            keys.append(key)
            #expect(t.seq(of: key) == nil)
            t.insert(key, seq: Int64(i))
            if i % 997 == 0 { #expect(t.seq(of: keys[Int.random(in: 0...i, using: &rng)]) != nil) }
        }
        #expect(t.count == 60_000)
        var misses = 0
        for (i, key) in keys.enumerated() where t.seq(of: key) != Int64(i) { misses += 1 }
        #expect(misses == 0)
        #expect(t.seq(of: keys[5].uppercased()) == nil)
    }
}
