import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// A queue that, on every DeleteMessageBatch, asks `check` whether the records of the messages deleted are durable,
/// and counts the deletes that were not.
actor ObservingQueue: MessageQueue {
    nonisolated let url = "https://sqs.us-east-1.amazonaws.com/123456789012/OrderQueue"
    let inner: FakeQueue
    var check: (@Sendable ([String]) async -> Bool)?
    private(set) var deleteCalls = 0
    private(set) var undurableDeletes: [[String]] = []

    init(_ inner: FakeQueue) { self.inner = inner }

    func observe(_ check: @escaping @Sendable ([String]) async -> Bool) { self.check = check }

    func receive(maxMessages: Int, waitTimeSeconds: Int, visibilityTimeout: Int?) async throws -> [IncomingMessage] {
        try await inner.receive(
            maxMessages: maxMessages, waitTimeSeconds: waitTimeSeconds, visibilityTimeout: visibilityTimeout)
    }

    func delete(receiptHandles: [String]) async throws -> QueueBatchResult {
        deleteCalls += 1
        if let check, await !check(receiptHandles) { undurableDeletes.append(receiptHandles) }
        return try await inner.delete(receiptHandles: receiptHandles)
    }

    func changeVisibility(receiptHandles: [String], seconds: Int) async throws -> QueueBatchResult {
        try await inner.changeVisibility(receiptHandles: receiptHandles, seconds: seconds)
    }
}

/// An S3 prefix in memory: the increments and sealed segments put, and the deletes.
actor FakeIncrementStore: IncrementStore {
    nonisolated let destination = "s3://fake/logs"
    private(set) var manifests: [SegmentName: SegmentManifest] = [:]
    private(set) var files: [SegmentName: [UInt8]] = [:]
    private(set) var puts = 0
    private(set) var deletedNames: [SegmentName] = []

    func put(_ increment: SegmentIncrement) async throws {
        puts += 1
        files[increment.manifest.name] = increment.bytes
        manifests[increment.manifest.name] = increment.manifest
    }

    func upload(_ segments: [TrustedSegment]) async throws -> ArchiveSummary {
        var s = ArchiveSummary()
        for t in segments where manifests[t.manifest.name] == nil {
            manifests[t.manifest.name] = t.manifest
            files[t.manifest.name] = Array(FileManager.default.contents(atPath: t.path) ?? Data())
            s.uploaded.append(t.manifest.name)
        }
        return s
    }

    func listed(consumerFileId: String) async throws -> [SegmentName] {
        manifests.keys.filter { $0.consumerId == consumerFileId }
    }

    func manifest(_ name: SegmentName) async throws -> SegmentManifest? { manifests[name] }

    func deleteCovered(by sealed: SegmentManifest) async throws -> [SegmentName] {
        let covered = manifests.keys.filter {
            $0 != sealed.name && $0.consumerId == sealed.consumerId && $0.firstSeq >= sealed.firstSeq
                && $0.lastSeq <= sealed.lastSeq
        }
        for n in covered {
            manifests[n] = nil
            files[n] = nil
        }
        deletedNames += covered
        return covered
    }

    /// The highest seq held without a gap from seq 1 (0 when seq 1 is not there).
    func contiguousHead() -> Int64 {
        var head: Int64 = 0
        while let next = manifests.keys.filter({ $0.firstSeq == head + 1 }).map(\.lastSeq).max() { head = next }
        return head
    }

    /// Writes every object into `dir` as an archive download would (`<consumer>/<first>-<last>.ordlog` + manifest).
    func write(to dir: URL) throws -> [String] {
        var paths: [String] = []
        for (name, m) in manifests {
            let path = dir.appendingPathComponent(name.description).path
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(files[name]!).write(to: URL(fileURLWithPath: path))
            try Data(m.json.utf8).write(to: URL(fileURLWithPath: path + ".manifest.json"))
            paths.append(path)
        }
        return paths.sorted()
    }
}

@Suite struct DurabilityTests {
    static func fill(_ queue: FakeQueue, _ n: Int) async {
        for i in 0..<n { await queue.send(order("ord-\(i)", "PAID", minute: i % 60), id: "m-\(i)") }
    }

    /// The highest seq among the receives of `handles` and their attempts.
    static func recordsEnd(_ writer: LogWriter, _ handles: [String]) async throws -> Int64 {
        try await writer.withPipeline { step in
            var end: Int64 = 0
            for h in handles {
                let s = try step.log.db.prepare(
                    """
                    SELECT max(max(r.seq), coalesce(max(a.seq), 0)) FROM receives r LEFT JOIN attempts a
                    ON a.receive_seq = r.seq WHERE r.receipt_handle = ?
                    """)
                try s.bind([.text(h)])
                end = max(end, try s.firstRow { $0.int64(0) } ?? 0)
            }
            return end
        }
    }

    @Test("disk mode: every DeleteMessageBatch is sent after an fsync that covers its messages' records, and one fsync serves many batches")
    func diskModeDeletesOnlySyncedRecords() async throws {
        let fake = FakeQueue()
        await Self.fill(fake, 200)
        let queue = ObservingQueue(fake)
        let pipeline = try Fixtures.pipeline()
        let path = pipeline.log.db.path
        let sync = GroupSync(logPath: path, head: 0)
        defer { sync.stop() }
        let writer = LogWriter(pipeline, gate: sync)
        await queue.observe { handles in
            // Durable means: covered by an fsync that finished before this delete was sent.
            (try? await Self.recordsEnd(writer, handles)).map { $0 <= sync.durableHead } ?? false
        }
        var c = ConsumerConfiguration()
        c.waitTimeSeconds = 0
        c.concurrency = 8
        c.untilEmpty = true
        let consumer = Consumer(writer: writer, queue: queue, projections: [], configuration: c)
        let report = try await consumer.run()
        #expect(report.deleted == 200)
        #expect(await queue.deleteCalls >= 20)
        #expect(await queue.undurableDeletes.isEmpty)
        #expect(sync.durableHead >= 400)  // 200 receives and 200 attempts
        #expect(sync.syncCount >= 1)
        #expect(sync.syncCount <= (await queue.deleteCalls))
    }

    @Test("group sync: many waiters share fsyncs, each resumes once its seq is covered")
    func groupSyncSharesFsyncs() async throws {
        let path = Fixtures.tempDB()
        _ = try EventLog(path: path)
        let sync = GroupSync(logPath: path, head: 0)
        defer { sync.stop() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for seq in 1...100 {
                sync.committed(upTo: Int64(seq))
                group.addTask { try await sync.waitDurable(upTo: Int64(seq)) }
            }
            try await group.waitForAll()
        }
        #expect(sync.durableHead == 100)
        #expect(sync.syncCount >= 1 && sync.syncCount < 100)
        // Nothing waits beyond what was committed: no fsync without a waiter.
        let before = sync.syncCount
        try await Task.sleep(nanoseconds: 50_000_000)
        #expect(sync.syncCount == before)
    }

    @Test("group sync: a log that cannot be synced fails the waiters (nothing may be deleted)")
    func groupSyncFailureFailsWaiters() async throws {
        let sync = GroupSync(logPath: "/nonexistent-dir-\(getpid())/log.db", head: 0)
        defer { sync.stop() }
        sync.committed(upTo: 1)
        await #expect(throws: DurabilityError.self) { try await sync.waitDurable(upTo: 1) }
        await #expect(throws: DurabilityError.self) { try await sync.waitDurable(upTo: 1) }
    }

    static func s3Writer() throws -> (LogWriter, String) {
        let pipeline = try Fixtures.pipeline()
        try pipeline.log.write {
            _ = try pipeline.log.appendIdentity(
                ConsumerIdentity(consumerId: "task-1", ordlogVersion: "test", queue: "q"), recordedAt: 0)
        }
        let path = pipeline.log.db.path
        return (LogWriter(pipeline), path)
    }

    @Test("s3 mode: every delete waits until S3 holds its records; the increments chain and verify as segments; a seal replaces them")
    func s3ModeDeletesOnlyUploadedRecords() async throws {
        let fake = FakeQueue()
        await Self.fill(fake, 120)
        let queue = ObservingQueue(fake)
        let (writer, path) = try Self.s3Writer()
        let store = FakeIncrementStore()
        var settings = S3Increments.Settings(directory: path + ".segments", ordlogVersion: "test", queue: "q")
        settings.incrementInterval = 0.05
        let gate = try await S3Increments.start(writer: writer, store: store, settings: settings)
        await writer.use(gate: gate)
        await queue.observe { handles in
            guard let end = try? await Self.recordsEnd(writer, handles) else { return false }
            return end <= (await store.contiguousHead())
        }
        var c = ConsumerConfiguration()
        c.waitTimeSeconds = 0
        c.concurrency = 4
        c.untilEmpty = true
        let service = ConsumerService(
            consumer: Consumer(writer: writer, queue: queue, projections: [], configuration: c), increments: gate)
        let report = try await service.run()
        #expect(report.deleted == 120)
        #expect(await queue.undurableDeletes.isEmpty)
        #expect(gate.uploadCounts.increments >= 2)
        // The final seal uploaded the segment and deleted the increments it covers: one object pair is left.
        #expect(gate.uploadCounts.seals == 1)
        #expect(gate.uploadCounts.incrementsDeleted == gate.uploadCounts.increments)
        let left = await store.manifests
        #expect(left.count == 1)
        #expect(left.keys.first?.firstSeq == 1 && left.keys.first?.lastSeq == 241)  // identity + 120 + 120
    }

    @Test("increments read back as a verified chain, equal to the live log's records")
    func incrementsVerifyAsSegments() async throws {
        let (writer, path) = try Self.s3Writer()
        let store = FakeIncrementStore()
        var settings = S3Increments.Settings(directory: path + ".segments", ordlogVersion: "test", queue: "q")
        settings.incrementInterval = 0
        let gate = try await S3Increments.start(writer: writer, store: store, settings: settings)
        let queue = FakeQueue()
        await Self.fill(queue, 30)
        for _ in 0..<3 {
            let batch = try await queue.receive(maxMessages: 10, waitTimeSeconds: 0, visibilityTimeout: nil)
            let appended = try await writer.append(batch)
            _ = try await writer.record(appended.receives, results: appended.receives.map { _ in [] })
            try await gate.incrementOnce(writer: writer)
        }
        #expect(gate.uploadCounts.increments == 3)
        let dir = Fixtures.tempDir()
        let files = try await store.write(to: dir)
        #expect(files.count == 3)
        let chain = Segments.chain(Segments.trustedSegments(in: dir.path), consumerId: "task-1")
        #expect(chain.missing == nil)
        #expect(chain.segments.map(\.manifest.lastSeq) == [21, 41, 61])
        let set = try LogSet.open(files)
        let report = try set.verify()
        #expect(report.ok, "\(report.faults)")
        #expect(report.verified == 61)
    }

    /// A new log of consumer task-1 and its S3 gate over `store` (increments whenever asked).
    static func s3Gate(_ store: FakeIncrementStore) async throws -> (LogWriter, S3Increments) {
        let (writer, path) = try Self.s3Writer()
        var settings = S3Increments.Settings(directory: path + ".segments", ordlogVersion: "test", queue: "q")
        settings.incrementInterval = 0
        return (writer, try await S3Increments.start(writer: writer, store: store, settings: settings))
    }

    /// Consumes `n` messages into `writer` and puts one increment.
    static func consumeAndPut(_ n: Int, _ writer: LogWriter, _ gate: S3Increments, from: Int = 0) async throws {
        let queue = FakeQueue()
        for i in from..<(from + n) { await queue.send(order("ord-\(i)", "PAID", minute: i % 60), id: "m-\(i)") }
        let appended = try await writer.append(
            try await queue.receive(maxMessages: 10, waitTimeSeconds: 0, visibilityTimeout: nil))
        _ = try await writer.record(appended.receives, results: appended.receives.map { _ in [] })
        try await gate.incrementOnce(writer: writer)
    }

    @Test("s3 mode: a new, empty log under a consumer id whose chain is in S3 continues that chain (a task replaced with its disk)")
    func s3ModeContinuesTheChainOfAReplacedTask() async throws {
        let store = FakeIncrementStore()
        do {
            let (writer, gate) = try await Self.s3Gate(store)
            try await Self.consumeAndPut(5, writer, gate)
        }
        // The disk is gone: a new log, the same consumer id.
        let (writer, gate) = try await Self.s3Gate(store)
        #expect(await writer.headSeq == 12)  // 11 records in S3, then this run's identity record again
        try await Self.consumeAndPut(5, writer, gate, from: 5)
        let dir = Fixtures.tempDir()
        let files = try await store.write(to: dir)
        #expect(files.count == 2)
        let report = try LogSet.open(files).verify()
        #expect(report.ok, "\(report.faults)")
        #expect(report.verified == 22)
        #expect(Segments.chain(Segments.trustedSegments(in: dir.path), consumerId: "task-1").missing == nil)
    }

    @Test("s3 mode refuses to start when S3 holds this consumer's records beyond a log with records of its own (two consumers under one id)")
    func s3ModeRefusesAForeignChain() async throws {
        let store = FakeIncrementStore()
        do {
            let (writer, gate) = try await Self.s3Gate(store)
            try await Self.consumeAndPut(5, writer, gate)
            try await Self.consumeAndPut(5, writer, gate, from: 5)
        }
        // Another log under the same id, with a receive of its own: S3 holds records it does not.
        let (writer, path) = try Self.s3Writer()
        let queue = FakeQueue()
        await queue.send(order("ord-x", "PAID", minute: 0), id: "m-x")
        let appended = try await writer.append(
            try await queue.receive(maxMessages: 10, waitTimeSeconds: 0, visibilityTimeout: nil))
        _ = try await writer.record(appended.receives, results: appended.receives.map { _ in [] })
        let settings = S3Increments.Settings(directory: path + ".segments", ordlogVersion: "test", queue: "q")
        let error = await #expect(throws: SegmentError.self) {
            _ = try await S3Increments.start(writer: writer, store: store, settings: settings)
        }
        #expect(error?.message.contains("another consumer writes under this consumer id") == true, "\(String(describing: error))")
    }
}
