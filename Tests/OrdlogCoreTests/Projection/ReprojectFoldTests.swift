import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// `Reprojector` folds the attempts in memory and writes the `_new` tables once per checkpoint, sorted. These
/// tests pin what the row-by-row build (before the fold, commit 99e0df7) produced on every traffic the project
/// has, for every target (the whole log, every `seq:N`, every `sent:MS` around each message's SentTimestamp),
/// in place and `--into`: every column of every row of both tables, and the result's counts and digest.
@Suite struct ReprojectFoldTests {
    /// FNV-1a 64 of a string's bytes, as hex (enough to pin a dump; the dump itself is shown on a mismatch).
    static func fnv(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }

    /// Every column of every row of `orders` and `applied_messages` (text as hex, so bytes count), in key order.
    static func tables(_ db: SQLiteConnection) throws -> String {
        var out = ""
        let o = try db.prepare(
            """
            SELECT hex(order_id)||','||hex(user_id)||','||hex(item_name)||','||quantity||','||hex(status)||','||
              hex(timestamp)||','||timestamp_ns||','||last_seq||','||typeof(message_id)||hex(message_id)
            FROM orders ORDER BY order_id
            """)
        while try o.step() { out += o.text(0) + "\n" }
        let k = try db.prepare("SELECT kind||','||hex(id)||','||seq FROM applied_messages ORDER BY kind, id")
        while try k.step() { out += k.text(0) + "\n" }
        return out
    }

    static func describe(_ r: ReprojectResult) -> String {
        "through=\(r.throughSeq) applied=\(r.applied) orders=\(r.orders) digest=\(r.digest) "
            + "resumed=\(r.resumedFrom.map(String.init) ?? "-") discarded=\(r.discardedTarget ?? "-")"
    }

    /// The targets a log is checked on: all, every seq from 0 to past the head, and every instant at, just
    /// before and just after each receive's SentTimestamp (or received_at).
    static func targets(_ log: EventLog) throws -> [ReprojectTarget] {
        let head = try log.head()?.seq ?? 0
        var out: [ReprojectTarget] = [.all]
        out += (0...(head + 1)).map { .seq($0) }
        let s = try log.db.prepare(
            "SELECT DISTINCT coalesce(sent_timestamp, received_at) FROM receives ORDER BY 1")
        var instants: Set<Int64> = [Int64.min, Int64.max]
        while try s.step() {
            let t = s.int64(0)
            instants.formUnion([t - 1, t, t + 1])
        }
        out += instants.sorted().map { .sent($0) }
        return out
    }

    /// Builds every target into a fresh file (and the whole log in place), returns one dump of all of them.
    static func dumpAll(_ log: EventLog, batchSize: Int = 5000) throws -> String {
        var dump = ""
        for target in try targets(log) {
            let path = Fixtures.tempDB()
            let r = try Reprojector(log: log, intoPath: path).run(target, batchSize: batchSize, startedAt: 0)
            dump += "## \(target.key) \(describe(r))\n" + (try tables(try SQLiteConnection(path: path)))
        }
        let r = try Reprojector(log: log).run(.all, batchSize: batchSize, startedAt: 0)
        dump += "## in place \(describe(r))\n" + (try tables(log.db))
        return dump
    }

    /// The traffic of ``MemoryReplayTests`` (samples, bad input, quantities, hostile, byte-wise keys), and
    /// "redrive": the samples and bad input, then two messages redriven under other rules (one projected
    /// now, one dead-lettered again).
    static func pipeline(_ name: String) throws -> ProcessingStep {
        let p = try Fixtures.pipeline()
        if name == "redrive" {
            try Fixtures.ingest(try TestFixtures.sampleLogFiles() + [Fixtures.sample("bad-input.jsonl")], into: p)
            var rules = ValidationRules()
            rules.acceptNumericStrings = true
            let fixed = ProcessingStep(log: p.log, processor: OrderProcessor(rules: rules), clock: Fixtures.fixedClock)
            _ = try fixed.redrive(
                messageIds: [
                    try TestFixtures.motoMessageId("03-quantity-as-string"), "6f1c2a9e-0010-4c1e-9d8a-000000000010",
                ], dryRun: false)
            // A redrive of an already projected message: recorded duplicate.
            _ = try fixed.redrive(messageIds: [try TestFixtures.motoMessageId("03-quantity-as-string")], dryRun: false)
        } else {
            try Fixtures.ingest(try MemoryReplayTests.traffic(name), into: p)
        }
        return p
    }

    /// What the row-by-row build produced (99e0df7), per traffic.
    static let pinned: [String: String] = [
        "samples": "ef1740dc7eb46695", "bad-input": "ad34866444ca0ec6", "quantities": "b249abb579e13c77",
        "hostile": "78e265ce497589a1", "bytewise": "ce0e2ac8deba72c5", "redrive": "8f42f84e7fa8da95",
    ]

    @Test(
        "the fold writes what the row-by-row build wrote, on every target, whatever the checkpoint cadence",
        arguments: ["samples", "bad-input", "quantities", "hostile", "bytewise", "redrive"],
        [3, Reprojector.defaultBatchSize])
    func foldEqualsRowByRow(_ name: String, batchSize: Int) throws {
        let p = try Self.pipeline(name)
        let dump = try Self.dumpAll(p.log, batchSize: batchSize)
        let h = Self.fnv(dump)
        // REPROJ_DUMP_DIR=DIR writes the dumps, to diff against those of another build.
        if let d = ProcessInfo.processInfo.environment["REPROJ_DUMP_DIR"] {
            try dump.write(toFile: "\(d)/\(name).txt", atomically: true, encoding: .utf8)
        }
        #expect(h == Self.pinned[name], "\(name):\n\(dump.prefix(4000))")
    }

    /// Stops a build after its `k`th checkpoint, checks the old projection is untouched, reruns it (with
    /// another batch size) and returns the rerun's tables.
    static func interruptedThenResumed(
        _ p: ProcessingStep, _ target: ReprojectTarget, into: String?, stopAfter k: Int, batchSize: Int
    ) throws -> (tables: String, result: ReprojectResult, firstStop: Int64)? {
        let live = try tables(p.log.db)
        var checkpoints = 0
        let first = try Reprojector(log: p.log, intoPath: into).run(
            target, batchSize: batchSize, startedAt: 0,
            shouldStop: {
                checkpoints += 1
                return checkpoints == k
            })
        guard first.interrupted else { return nil }
        #expect(try tables(p.log.db) == live)  // the log's projection untouched
        if let into {
            // The target file has no projection yet: only the unfinished build and its checkpoint.
            let db = try SQLiteConnection(path: into)
            #expect(try db.scalarInt("SELECT count(*) FROM orders") == 0)
            #expect(try db.scalarText("SELECT target FROM reproject_checkpoint") == target.key)
        }
        #expect(try Reprojector(log: p.log, intoPath: into).checkpoint()?.lastSeq == first.throughSeq)
        let second = try Reprojector(log: p.log, intoPath: into).run(target, batchSize: batchSize * 2 + 1, startedAt: 0)
        #expect(second.resumedFrom == first.throughSeq)
        #expect(!second.interrupted)
        return (try tables(into.map { try SQLiteConnection(path: $0) } ?? p.log.db), second, first.throughSeq)
    }

    @Test(
        "a build interrupted at any checkpoint and rerun ends with the tables of an uninterrupted one",
        arguments: ["samples", "bytewise", "redrive"])
    func interruptedAndResumed(_ name: String) throws {
        let p = try Self.pipeline(name)
        let head = try #require(try p.log.head()?.seq)
        // Instants between the messages' SentTimestamps, so `.sent` builds depend on the reloaded versions/keys.
        let instants = try Self.targets(p.log).compactMap { t -> Int64? in
            if case .sent(let ms) = t, ms != .min, ms != .max { return ms }
            return nil
        }
        let targets: [ReprojectTarget] =
            [.all, .seq(head / 2), .sent(instants[instants.count / 2]), .sent(instants[instants.count * 3 / 4])]
        for target in targets {
            let whole = Fixtures.tempDB()
            let expected = try Reprojector(log: p.log, intoPath: whole).run(target, batchSize: 2, startedAt: 0)
            let expectedTables = try Self.tables(try SQLiteConnection(path: whole))
            var k = 1
            while true {
                guard
                    let (got, result, stop) = try Self.interruptedThenResumed(
                        p, target, into: Fixtures.tempDB(), stopAfter: k, batchSize: 2)
                else { break }
                #expect(got == expectedTables, "\(name) \(target.key) stopped at seq \(stop)")
                #expect(result.digest == expected.digest)
                #expect(result.orders == expected.orders)
                #expect(result.throughSeq == expected.throughSeq)
                k += 1
            }
            #expect(k > 2, "\(name) \(target.key): only \(k - 1) interruptions tried")
        }
        // In place: the live projection is untouched by the interrupted build and equal after the rerun.
        let live = try Self.tables(p.log.db)
        let (got, _, _) = try #require(try Self.interruptedThenResumed(p, .all, into: nil, stopAfter: 2, batchSize: 4))
        #expect(got == live)
    }

    @Test func theCompactItemReaderAgreesWithTheJSONParser() throws {
        let items = [
            OrderItem(orderId: "o-1", userId: "u", itemName: "caf\u{E9} \u{1F600}", quantity: 3, status: "PAID",
                timestamp: "2026-01-01T10:00:00Z"),
            OrderItem(orderId: "", userId: "", itemName: "", quantity: -9_007_199_254_740_991, status: "", timestamp: ""),
            OrderItem(orderId: HostileReportTraffic.scriptBreak, userId: HostileReportTraffic.attributeBreak,
                itemName: "tab\tnew\nline\\", quantity: 0, status: "\u{7F}", timestamp: "x"),
        ]
        for item in items {
            #expect(OrderItem(json: item.json) == item)
            #expect(OrderItem.parsed(item.json) == item)
        }
        #expect(OrderItem.compact(items[0].json) == items[0])  // what the log holds takes the compact path
        let texts = items.map(\.json) + [
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":01,"status":"d","timestamp":"e"}"#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":1.0,"status":"d","timestamp":"e"}"#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":1e2,"status":"d","timestamp":"e"}"#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":-0,"status":"d","timestamp":"e"}"#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":99999999999999999999,"status":"d","timestamp":"e"}"#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":"1","status":"d","timestamp":"e"}"#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":1,"status":"d","timestamp":"e"} "#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":1,"status":"d","timestamp":"e"}x"#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":1,"status":"d","timestamp":"e","orderId":"z"}"#,
            #"{"userId":"b","orderId":"a","itemName":"c","quantity":1,"status":"d","timestamp":"e"}"#,
            #"{"orderId":"a\u0062","userId":"b","itemName":"c","quantity":1,"status":"d","timestamp":"e"}"#,
            "{\"orderId\":\"a\u{01}\",\"userId\":\"b\",\"itemName\":\"c\",\"quantity\":1,\"status\":\"d\",\"timestamp\":\"e\"}",
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":1,"status":"d","timestamp":"e""#,
            #"{"orderId":"a","userId":"b","itemName":"c","quantity":"#, "", "{}", "null",
        ]
        for text in texts {
            #expect(OrderItem(json: text) == OrderItem.parsed(text), "\(text)")
            if let fast = OrderItem.compact(text) { #expect(fast == OrderItem.parsed(text), "\(text)") }
        }
        #expect(OrderItem.compact(texts[6]) == OrderItem(orderId: "a", userId: "b", itemName: "c", quantity: 0, status: "d", timestamp: "e"))
    }

    @Test func byteRunSortsByBytesWithEqualKeysInOrder() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0, 1, 0x61, 0x62, 0xC3, 0xA9, 0xFF]
        var keys: [[UInt8]] = [[], [0], [0, 0], Array("ord-caf\u{E9}".utf8), Array("ord-cafe\u{301}".utf8)]
        for _ in 0..<3000 {
            let n = Int.random(in: 0...12, using: &rng)
            keys.append((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
        }
        keys += keys.prefix(500)  // duplicates, later in index order
        var run = ByteRun()
        for k in keys { run.append(tag: nil, String(decoding: k, as: UTF8.self)) }
        let stored = keys.map { Array(String(decoding: $0, as: UTF8.self).utf8) }
        let expected = stored.indices.sorted { x, y in
            stored[x].lexicographicallyPrecedes(stored[y]) || (stored[x] == stored[y] && x < y)
        }
        #expect(run.sortedIndices().map(Int.init) == expected)
    }
}

/// Several logs read as one: the projection is the newest version of each order, whatever the merge order.
@Suite struct MergedProjectionTests {
    static func message(_ id: String, status: String, second: Int, sent: Int64) -> IncomingMessage {
        let body = OrderItem(
            orderId: "ord-1", userId: "u-1", itemName: "Kettle", quantity: 1, status: status,
            timestamp: String(format: "2026-01-01T10:00:%02dZ", second)
        ).json
        return IncomingMessage(
            messageId: id, receiptHandle: id + "#1", md5OfBody: RecordHash.md5Hex(Array(body.utf8)),
            body: Array(body.utf8),
            attributes: JSONObject([
                ("ApproximateReceiveCount", .string("1")), ("SentTimestamp", .string(String(sent))),
            ]), source: "q")
    }

    /// A log of consumer `consumer` that received and projected `m`.
    static func log(_ consumer: String, _ m: IncomingMessage) async throws -> String {
        let p = try Fixtures.pipeline()
        let path = p.log.db.path
        try p.log.write {
            _ = try p.log.appendIdentity(
                ConsumerIdentity(consumerId: consumer, ordlogVersion: "test", queue: "q"), recordedAt: 0)
        }
        let writer = LogWriter(p)
        let appended = try await writer.append([m])
        let attempts = try await writer.record(appended.receives, results: [[]])
        #expect(attempts.map(\.decision.outcome) == [.projected])
        return path
    }

    @Test("two consumers each projected one version of an order; merged in SentTimestamp order the older comes last, and the newer stays")
    func newerVersionWinsAcrossConsumers() async throws {
        // Consumer a projected the newer version, sent first; consumer b the older one, sent later (a producer's
        // retry), which b alone had no reason to refuse.
        let a = try await Self.log("a", Self.message("m-new", status: "SHIPPED", second: 2, sent: 1_767_261_600_000))
        let b = try await Self.log("b", Self.message("m-old", status: "PAID", second: 1, sent: 1_767_261_600_500))
        let set = try LogSet.open([a, b])
        let merged = try set.mergedLog(path: Fixtures.tempDB())
        _ = try Reprojector(log: merged).run(.all, startedAt: 0)
        let orders = try LocalProjection(db: merged.db).orders()
        #expect(orders.map(\.item.status) == ["SHIPPED"])
        // Across a checkpoint too (each attempt in its own batch: the older one meets the flushed newer one).
        let merged2 = try set.mergedLog(path: Fixtures.tempDB())
        _ = try Reprojector(log: merged2).run(.all, batchSize: 1, startedAt: 0)
        #expect(try LocalProjection(db: merged2.db).orders().map(\.item.status) == ["SHIPPED"])
    }
}
