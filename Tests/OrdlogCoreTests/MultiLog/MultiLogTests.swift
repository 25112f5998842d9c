import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// Consumer identity records (migration 0005) and ``LogSet``: several logs verified and read as one.
@Suite struct MultiLogTests {
    static let poisonId = "m-poison"

    static func order(_ id: String, quantity: String, status: String = "PAID", minute: Int = 0) -> [UInt8] {
        Array(
            #"{"orderId":"\#(id)","userId":"u-1","itemName":"Kettle","quantity":\#(quantity),"status":"\#(status)","timestamp":"2026-01-01T10:\#(String(format: "%02d", minute)):00Z"}"#
                .utf8)
    }

    static func message(
        _ id: String, body: [UInt8], sent: Int64, receiveCount: Int? = nil, handle: String? = nil
    ) -> IncomingMessage {
        var attributes = JSONObject([("SentTimestamp", .string(String(sent)))])
        if let receiveCount { attributes.members.append(("ApproximateReceiveCount", .string(String(receiveCount)))) }
        return IncomingMessage(
            messageId: id, receiptHandle: handle ?? "\(id)#\(receiveCount ?? 0)", body: body, attributes: attributes,
            source: "queue")
    }

    /// A log at `dir/name.db` written by `consumer` (an identity record first, as ingest and consume write it).
    static func log(
        _ dir: URL, _ name: String, consumer: String?, _ batch: [IncomingMessage]
    ) throws -> (URL, ProcessingStep) {
        let url = dir.appendingPathComponent("\(name).db")
        let p = ProcessingStep(log: try EventLog(path: url.path), processor: OrderProcessor(), clock: Fixtures.fixedClock)
        if let consumer {
            try p.log.write {
                _ = try p.log.appendIdentity(
                    ConsumerIdentity(consumerId: consumer, ordlogVersion: "test", queue: "OrderQueue"),
                    recordedAt: 1_767_261_600_000)
            }
        }
        var summary = IngestSummary()
        if !batch.isEmpty { try p.ingest(batch: batch, summary: &summary) }
        return (url, p)
    }

    /// Three consumers on one queue: a poison message whose three receives land one in each log (as SQS
    /// redelivers to whoever polls next), and ord-1 whose PAID event c1 projected and c2 received again.
    static func threeLogs(receiveCounts: Bool) throws -> (dir: URL, urls: [URL]) {
        let dir = Fixtures.tempDir()
        let poison = order("ord-poison", quantity: #""two""#)
        let paid = message("m-paid", body: order("ord-1", quantity: "1"), sent: 1000, receiveCount: 1)
        let a = try log(
            dir, "a", consumer: "c1",
            [paid, message(poisonId, body: poison, sent: 500, receiveCount: receiveCounts ? 1 : nil, handle: "h1")])
        var again = paid
        again.receiptHandle = "m-paid#2"
        again.attributes = JSONObject([("SentTimestamp", .string("1000")), ("ApproximateReceiveCount", .string("2"))])
        let b = try log(
            dir, "b", consumer: "c2",
            [message(poisonId, body: poison, sent: 500, receiveCount: receiveCounts ? 2 : nil, handle: "h2"), again])
        let c = try log(
            dir, "c", consumer: "c3",
            [
                message(poisonId, body: poison, sent: 500, receiveCount: receiveCounts ? 3 : nil, handle: "h3"),
                message("m-shipped", body: order("ord-1", quantity: "1", status: "SHIPPED", minute: 5), sent: 2000),
            ])
        return (dir, [a.0, b.0, c.0])
    }

    static func open(_ urls: [URL]) throws -> LogSet { try LogSet(urls: urls) { try EventLog(path: $0.path) } }

    @Test("an identity record is chained at the next seq, written again only when it changes, immutable, verified")
    func identityRecords() throws {
        let p = try Fixtures.pipeline()
        let id = ConsumerIdentity(consumerId: "c1", ordlogVersion: "0.1.0", queue: "https://sqs/q")
        let first = try p.log.write { try p.log.appendIdentity(id, recordedAt: 5) }
        #expect(first?.seq == 1)
        #expect(first?.prevHash == RecordHash.genesis)
        #expect(try p.log.write { try p.log.appendIdentity(id, recordedAt: 6) } == nil)
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        var moved = id
        moved.queue = "https://sqs/other"
        let second = try #require(try p.log.write { try p.log.appendIdentity(moved, recordedAt: 7) })
        #expect(second.seq == 28)  // after the sample's 26 receives and attempts
        #expect(try p.log.identities().map(\.identity) == [id, moved])
        #expect(try p.log.identity(at: 27)?.identity == id)
        let ok = try Verifier.verify(p.log)
        #expect(ok.ok && ok.verified == 28 && ok.head?.hash == second.hash)

        let refused = try ProcessRunner.sqlite3(p.log.db.path, "UPDATE identities SET consumer_id = 'x'")
        #expect(refused.status != 0 && refused.stderr.contains("append-only"), "\(refused.stderr)")
        let edited = try ProcessRunner.sqlite3(
            p.log.db.path, "DROP TRIGGER identities_no_update; UPDATE identities SET consumer_id = 'c9' WHERE seq = 1")
        #expect(edited.status == 0, "\(edited.stderr)")
        let broken = try Verifier.verify(try EventLog(path: p.log.db.path))
        #expect(broken.problem?.seq == 1)
        #expect(broken.problem?.kind == .edited)
        #expect(broken.problem?.message.contains("identity record (consumer c9)") == true)
    }

    @Test("the consumer id: --consumer-id, the ECS task, the pod, the id in the log, else a generated one")
    func consumerIdResolution() throws {
        func resolve(_ env: [String: String], explicit: String? = nil, stored: String? = nil, meta: String? = nil)
            -> String
        {
            ConsumerIdentity.resolveConsumerId(
                explicit: explicit, environment: env, hostName: "ip-10-0-0-7", stored: stored,
                taskMetadata: { url in
                    #expect(url.absoluteString == "http://169.254.170.2/v4/abc123-4567/task")
                    return meta.map { Array($0.utf8) }
                }, random: { 0xBEEF })
        }
        let ecs = ["ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc123-4567"]
        #expect(resolve(ecs, explicit: "mine") == "mine")
        #expect(
            resolve(ecs, meta: #"{"Cluster":"c","TaskARN":"arn:aws:ecs:us-east-1:111122223333:task/prod/f00d42"}"#)
                == "ip-10-0-0-7/f00d42")
        #expect(resolve(ecs) == "ip-10-0-0-7/abc123", "no answer from the endpoint: derived from the URI")
        #expect(resolve(ecs, meta: "not json") == "ip-10-0-0-7/abc123")
        #expect(resolve(["POD_NAME": "orders-7d9c-x2"], stored: "old") == "orders-7d9c-x2")
        #expect(resolve(["HOSTNAME": "orders-7d9c-x3", "KUBERNETES_SERVICE_HOST": "10.0.0.1"]) == "orders-7d9c-x3")
        #expect(resolve(["HOSTNAME": "laptop"], stored: "ip-10-0-0-7-0000abcd") == "ip-10-0-0-7-0000abcd")
        #expect(resolve(["HOSTNAME": "laptop"]) == "ip-10-0-0-7-0000beef")
    }

    @Test("a poison message whose 3 receives are in 3 logs is one dead-lettered message, each receive with its consumer")
    func poisonAcrossThreeLogs() throws {
        for receiveCounts in [true, false] {
            let (_, urls) = try Self.threeLogs(receiveCounts: receiveCounts)
            // In no single log without SQS's receive counts is it dead-lettered: one receive each.
            for url in urls where !receiveCounts {
                #expect(try EventLog(path: url.path).deadLetterReport().messageCount == 0)
            }
            // The order the files are given in does not matter.
            for order in [urls, urls.reversed()] {
                let set = try Self.open(order)
                let m = try #require(try set.failedMessage(Self.poisonId))
                #expect(m.deadLettered, "receive counts \(receiveCounts)")
                #expect(m.receiveConsumers == ["c1", "c2", "c3"])
                #expect(m.attemptConsumers == ["c1", "c2", "c3"])
                #expect(m.receives.map(\.receiptHandle) == ["h1", "h2", "h3"])
                let report = try set.deadLetterReport()
                #expect(report.messageCount == 1)
                #expect(report.groups.first?.fingerprint == "order.field_invalid:quantity")
                #expect(report.groups.first?.messages.first?.receives.count == 3)
            }
            // Two receives are not enough, unless a consumer marked it (SQS's count said 3).
            let two = try Self.open(Array(urls.prefix(2)))
            #expect(try two.failedMessage(Self.poisonId)?.deadLettered == false)
            #expect(try two.deadLetterReport().messageCount == 0)
            #expect(try two.deadLetterReport(includeRetrying: true).messageCount == 1)
            #expect(try two.failedMessage(Self.poisonId, maxReceiveCount: 2)?.deadLettered == true)
        }
    }

    @Test("history merges the consumers' records in the documented order and explains duplicate outcomes")
    func mergedHistory() throws {
        let (_, urls) = try Self.threeLogs(receiveCounts: true)
        let set = try Self.open(urls.reversed())
        #expect(set.consumerIds == ["c1", "c2", "c3"])
        let h = try set.history(orderId: "ord-1")
        let shape = h.map { r -> String in
            switch r.record {
            case .receive(let x): "\(r.consumerId) receive \(x.messageId ?? "-")#\(x.receiveCount)"
            case .attempt(let x): "\(r.consumerId) \(x.decision.outcome.rawValue) \(x.messageId ?? "-")"
            }
        }
        // SentTimestamp 1000 (m-paid: c1's receive 1, then c2's receive 2), then 2000 (m-shipped at c3).
        #expect(
            shape == [
                "c1 receive m-paid#1", "c1 projected m-paid", "c2 receive m-paid#2", "c2 projected m-paid",
                "c3 receive m-shipped#1", "c3 projected m-shipped",
            ])
        #expect(LogSet.outcomeSummary(h.filter { $0.record.messageId == "m-paid" }) == "projected by c1, projected by c2")
        #expect(LogSet.outcomeSummary(h.filter { $0.record.messageId == "m-shipped" }) == nil)
    }

    @Test("verify over several logs passes, and names the one file that was edited")
    func verifyNamesTheEditedFile() throws {
        let (_, urls) = try Self.threeLogs(receiveCounts: true)
        let intact = try Self.open(urls).verify()
        #expect(intact.ok)
        #expect(intact.files.map(\.consumerId) == ["c1", "c2", "c3"])
        let edited = try ProcessRunner.sqlite3(
            urls[1].path, "DROP TRIGGER receives_no_update; UPDATE receives SET body = CAST('{}' AS BLOB) WHERE seq = 2")
        #expect(edited.status == 0, "\(edited.stderr)")
        let report = try Self.open(urls).verify()
        #expect(!report.ok)
        #expect(report.files.filter { !$0.ok }.map(\.url) == [urls[1]])
        #expect(report.files[1].chain.problem?.kind == .edited)
    }

    @Test("a log without an identity record (written before 0005) is its own consumer, named after its file")
    func oldLogIsItsOwnConsumer() throws {
        let dir = Fixtures.tempDir()
        let (url, _) = try Self.log(
            dir, "consumer-0", consumer: nil, [Self.message("m1", body: Self.order("o", quantity: "1"), sent: 1)])
        let (url2, _) = try Self.log(
            dir, "consumer-1", consumer: nil, [Self.message("m2", body: Self.order("o", quantity: "2"), sent: 2)])
        let set = try Self.open([url, url2])
        #expect(set.consumerIds == ["consumer-0", "consumer-1"])
        #expect(try set.verify().ok)
        #expect(try set.history(orderId: "o").map(\.consumerId) == ["consumer-0", "consumer-0", "consumer-1", "consumer-1"])
    }

    /// Copies `source` to `name` in `dir` and deletes the records outside `keep` (the triggers dropped first): a
    /// segment as `seal` would leave it.
    static func segment(_ source: URL, _ dir: URL, _ name: String, keep: ClosedRange<Int64>) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: url)
        let r = try ProcessRunner.sqlite3(
            url.path,
            """
            DROP TRIGGER receives_no_delete; DROP TRIGGER attempts_no_delete; DROP TRIGGER identities_no_delete;
            DELETE FROM attempts WHERE seq NOT BETWEEN \(keep.lowerBound) AND \(keep.upperBound);
            DELETE FROM receives WHERE seq NOT BETWEEN \(keep.lowerBound) AND \(keep.upperBound);
            DELETE FROM identities WHERE seq NOT BETWEEN \(keep.lowerBound) AND \(keep.upperBound);
            """)
        #expect(r.status == 0, "\(r.stderr)")
        return url
    }

    @Test("segments of one consumer verify end to end; a gap or an overlap fails naming both files")
    func segmentLinks() throws {
        let dir = Fixtures.tempDir()
        let (full, p) = try Self.log(dir, "full", consumer: "c1", [])
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        try p.log.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  // the file copied holds every record
        let end = try #require(try p.log.head()).seq  // 27: the identity record and the sample's 26
        // Batches of 10: receives 2…11, their attempts 12…21, then receives 22…24 and attempts 25…27. Cut
        // after the first batch's last attempt.
        let cut = try #require(try p.log.db.scalarInt("SELECT seq FROM attempts WHERE receive_seq = 11"))
        #expect(cut == 21)
        let work = Fixtures.tempDir()
        let first = try Self.segment(full, work, "seg-1.db", keep: 1...cut)
        let second = try Self.segment(full, work, "seg-2.db", keep: (cut + 1)...end)
        let ok = try Self.open([second, first]).verify()
        #expect(ok.ok, "\(ok.files.map { ($0.linkProblem, $0.chain.problem?.description) })")
        #expect(ok.files.map(\.consumerId) == ["c1", "c1"], "the continuation joins the consumer it chains from")
        #expect(ok.verified == end)

        let gap = try Self.segment(full, work, "seg-2-gap.db", keep: (cut + 2)...end)
        let g = try Self.open([first, gap]).verify()
        #expect(!g.ok)
        let gapProblem = try #require(g.files.compactMap(\.linkProblem).first)
        #expect(gapProblem.contains("seg-2-gap.db") && gapProblem.contains("seg-1.db"), "\(gapProblem)")
        #expect(gapProblem.contains("records \(cut + 1)…\(cut + 1) are missing (gap)"), "\(gapProblem)")

        let overlap = try Self.segment(full, work, "seg-2-overlap.db", keep: cut...end)
        let o = try Self.open([first, overlap]).verify()
        let overlapProblem = try #require(o.files.compactMap(\.linkProblem).first)
        #expect(overlapProblem.contains("overlap") && overlapProblem.contains("seg-1.db"), "\(overlapProblem)")
        #expect(try !Self.open([second]).verify().ok, "a continuation alone: its earlier records are missing")
    }

    /// The receives' seqs' message ids of `log`, in seq order.
    static func receiveOrder(_ log: EventLog) throws -> [String] {
        let s = try log.db.prepare("SELECT message_id FROM receives ORDER BY seq")
        var out: [String] = []
        while try s.step() { out.append(s.optionalText(0) ?? "") }
        return out
    }

    @Test("one consumer's segments are read in seq order, not re-sorted by SentTimestamp")
    func segmentsKeepSeqOrder() throws {
        let dir = Fixtures.tempDir()
        let (full, p) = try Self.log(dir, "full", consumer: "c1", [])
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        try p.log.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let end = try #require(try p.log.head()).seq
        let cut = try #require(try p.log.db.scalarInt("SELECT seq FROM attempts WHERE receive_seq = 11"))
        let work = Fixtures.tempDir()
        let first = try Self.segment(full, work, "seg-1.db", keep: 1...cut)
        let second = try Self.segment(full, work, "seg-2.db", keep: (cut + 1)...end)
        let logOrder = try Self.receiveOrder(p.log)
        // The sample is not in SentTimestamp order (the point of the test): sorting by the key would differ.
        let set = try Self.open([second, first])
        let merged = try set.mergedLog(path: work.appendingPathComponent("merged.db").path)
        #expect(try Self.receiveOrder(merged) == logOrder)
        let one = try Self.open([full]).mergedLog(path: work.appendingPathComponent("one.db").path)
        #expect(try Self.receiveOrder(one) == logOrder, "one log read as a set keeps its order too")
    }

    @Test("the same log given twice (same file, a copy) is read once and said; two logs of one consumer still fail")
    func sameLogTwice() throws {
        let (dir, urls) = try Self.threeLogs(receiveCounts: true)
        let copy = dir.appendingPathComponent("copy-of-a.db")
        try FileManager.default.copyItem(at: urls[0], to: copy)
        let link = dir.appendingPathComponent("link-to-a.db")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: urls[0])
        let set = try Self.open([urls[0], copy, link, urls[1]])
        #expect(set.members.map(\.name) == ["a.db", "b.db"])
        #expect(set.readOnce.count == 2, "\(set.readOnce)")
        #expect(set.readOnce.contains { $0.contains("a.db and copy-of-a.db hold the same records (consumer c1, seq 1–") })
        #expect(set.readOnce.contains { $0.contains("a.db and link-to-a.db are the same file") })
        #expect(try set.verify().ok)
        let poison = try #require(try set.failedMessage(Self.poisonId))
        #expect(poison.receives.count == 2, "each receive once")

        // Another log claiming c1 with other records stays an error.
        let (other, _) = try Self.log(
            dir, "other", consumer: "c1", [Self.message("m-x", body: Self.order("ord-9", quantity: "1"), sent: 1)])
        #expect(try !Self.open([urls[0], other]).verify().ok)
    }

    @Test("sources: repeated files in order, a folder's log files sorted, a glob, each file once")
    func sources() throws {
        let dir = Fixtures.tempDir()
        for name in ["b.db", "a.db", "a.db-wal", "notes.txt", "c.sqlite"] {
            FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data())
        }
        let names = { (urls: [URL]) in urls.map(\.lastPathComponent) }
        #expect(try names(LogSources.resolve([dir.path])) == ["a.db", "b.db", "c.sqlite"])
        #expect(try names(LogSources.resolve([dir.path + "/*.db"])) == ["a.db", "b.db"])
        #expect(
            try names(LogSources.resolve([dir.appendingPathComponent("b.db").path, dir.path])) == [
                "b.db", "a.db", "c.sqlite",
            ])
        #expect(throws: LogSourceError.self) { try LogSources.resolve([dir.path + "/*.nothing"]) }
        #expect(throws: LogSourceError.self) { try LogSources.resolve(["s3://x"]) }  // not a bucket name
        let empty = Fixtures.tempDir()
        #expect(throws: LogSourceError.self) { try LogSources.resolve([empty.path]) }
    }
}

extension LogRecord {
    var messageId: String? {
        switch self {
        case .receive(let r): r.messageId
        case .attempt(let a): a.messageId
        }
    }
}
