import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// An in-memory SQS queue: visibility timeouts, receive counts and receipt handles as SQS has them, and a record
/// of every call. Receives can be scripted to answer late, ignoring cancellation (as a response already on the
/// wire does).
actor FakeQueue: MessageQueue {
    nonisolated let url = "https://sqs.us-east-1.amazonaws.com/123456789012/OrderQueue"

    struct Message {
        var id: String
        var body: [UInt8]
        var receiveCount = 0
        var visibleAt = Date.distantPast
        var handle: String?
    }

    private(set) var messages: [Message] = []
    /// Seconds receive call number i (0-based) waits before answering.
    var receiveDelays: [Int: Double] = [:]
    private(set) var receiveCalls = 0
    private(set) var deleted: [String] = []
    private(set) var visibilityChanges: [(handle: String, seconds: Int)] = []
    let defaultVisibility: Double = 30

    func send(_ body: String, id: String) {
        messages.append(Message(id: id, body: Array(body.utf8)))
    }

    func delay(call: Int, seconds: Double) { receiveDelays[call] = seconds }

    /// Receive calls (0-based) that fail with SQS throttling.
    var failingCalls: Set<Int> = []
    var failureCode = "AWS.SimpleQueueService.RequestThrottled"
    func fail(calls: Set<Int>, code: String = "AWS.SimpleQueueService.RequestThrottled") {
        failingCalls = calls
        failureCode = code
    }

    func receive(maxMessages: Int, waitTimeSeconds: Int, visibilityTimeout: Int?) async throws -> [IncomingMessage] {
        let call = receiveCalls
        receiveCalls += 1
        if let d = receiveDelays[call] { await Self.uncancellableSleep(d) }
        if failingCalls.contains(call) {
            throw AWSServiceError(
                service: "SQS", operation: "ReceiveMessage", code: failureCode, message: "Rate exceeded",
                httpStatus: 400)
        }
        let now = Date()
        var out: [IncomingMessage] = []
        for i in messages.indices where out.count < maxMessages && messages[i].visibleAt <= now {
            messages[i].receiveCount += 1
            messages[i].visibleAt = now.addingTimeInterval(visibilityTimeout.map(Double.init) ?? defaultVisibility)
            let handle = "\(messages[i].id)#\(messages[i].receiveCount)"
            messages[i].handle = handle
            out.append(
                IncomingMessage(
                    messageId: messages[i].id, receiptHandle: handle, md5OfBody: RecordHash.md5Hex(messages[i].body),
                    body: messages[i].body,
                    attributes: JSONObject([
                        ("ApproximateReceiveCount", .string(String(messages[i].receiveCount))),
                        ("SentTimestamp", .string("1767261600000")),
                    ]), source: url))
        }
        if out.isEmpty, waitTimeSeconds > 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        return out
    }

    /// DeleteMessageBatch calls (from the first) that fail with HTTP 500.
    var failingDeletes = 0
    func failDeletes(_ n: Int) { failingDeletes = n }

    func delete(receiptHandles: [String]) async throws -> QueueBatchResult {
        if failingDeletes > 0 {
            failingDeletes -= 1
            throw AWSServiceError(
                service: "SQS", operation: "DeleteMessageBatch", code: "InternalError", message: "boom",
                httpStatus: 500)
        }
        var n = 0
        for h in receiptHandles {
            if let i = messages.firstIndex(where: { $0.handle == h }) {
                messages.remove(at: i)
                deleted.append(h)
                n += 1
            }
        }
        return QueueBatchResult(
            succeeded: n, failureCodes: Array(repeating: "ReceiptHandleIsInvalid", count: receiptHandles.count - n))
    }

    func changeVisibility(receiptHandles: [String], seconds: Int) async throws -> QueueBatchResult {
        let now = Date()
        for h in receiptHandles {
            visibilityChanges.append((h, seconds))
            if let i = messages.firstIndex(where: { $0.handle == h }) {
                messages[i].visibleAt = now.addingTimeInterval(Double(seconds))
            }
        }
        return QueueBatchResult(succeeded: receiptHandles.count)
    }

    static func uncancellableSleep(_ seconds: Double) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { c.resume() }
        }
    }
}

/// A DynamoDB `Orders` table in memory with the conditional PutItem rule (`ordlogTimestampNs <= :ts` wins).
actor FakeTableStore {
    var items: [String: (ns: Int64, item: OrderItem)] = [:]
    var puts = 0
    var started = 0
    var gateOpen = true
    private var gateWaiters: [CheckedContinuation<Void, Never>] = []

    func closeGate() { gateOpen = false }
    func openGate() {
        gateOpen = true
        for w in gateWaiters { w.resume() }
        gateWaiters = []
    }
    func waitForGate() async {
        if gateOpen { return }
        await withCheckedContinuation { gateWaiters.append($0) }
    }
    func begin() { started += 1 }
    func status(_ orderId: String) -> String? { items[orderId]?.item.status }

    func put(_ item: OrderItem, conditional: Bool) -> Bool {
        puts += 1
        let ns = RFC3339.nanoseconds(item.timestamp) ?? 0
        if conditional, let stored = items[item.orderId], stored.ns > ns { return false }
        items[item.orderId] = (ns, item)
        return true
    }
}

struct FakeTable: Projection {
    let store = FakeTableStore()
    /// Seconds a PutItem of an item takes, by status.
    var delays: [String: Double] = [:]
    /// MessageIds whose PutItem fails.
    var failing: Set<String> = []
    /// false: every write wins (a target without the condition), so only the consumer keeps the local state right.
    var conditional = true
    var name: String { "DynamoDB table Fake" }

    func ensureExists() async throws {}

    func project(_ decision: Decision, receive: LoggedReceive) async -> ProjectionResult {
        guard decision.outcome == .projected, let item = decision.item else { return .applied }
        await store.begin()
        await store.waitForGate()
        if let d = delays[item.status] { await FakeQueue.uncancellableSleep(d) }
        if let id = receive.messageId, failing.contains(id) {
            return .failed(code: "projection.dynamodb_write_failed", message: "PutItem into Fake failed: HTTP 500")
        }
        return await store.put(item, conditional: conditional)
            ? .applied : .stale(note: "DynamoDB table Fake holds a newer version")
    }
}

func order(_ id: String, _ status: String, minute: Int) -> String {
    OrderItem(
        orderId: id, userId: "u-1", itemName: "Kettle", quantity: 1, status: status,
        timestamp: String(format: "2026-01-01T10:%02d:00Z", minute)
    ).json
}

/// Runs test work on four threads of its own: the suite's synchronous tests (which wait on processes) can hold the
/// two threads of the shared pool for many seconds, and these tests measure time (visibility, heartbeats).
final class TestThreadPool: TaskExecutor, @unchecked Sendable {
    static let shared = TestThreadPool(threads: 4)
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int) {
        for _ in 0..<threads {
            let t = Thread { [unowned self] in self.work() }
            t.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let j = UnownedJob(job)
        condition.lock()
        jobs.append(j)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let j = jobs.removeFirst()
            condition.unlock()
            j.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs `body` with its tasks (and the default actors they call) on ``TestThreadPool``.
func onTestPool<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    try await withTaskExecutorPreference(TestThreadPool.shared) { try await body() }
}

@Suite struct ConsumerTests {
    static func consumer(
        _ queue: FakeQueue, _ table: FakeTable?, configure: (inout ConsumerConfiguration) -> Void = { _ in }
    ) throws -> Consumer {
        var c = ConsumerConfiguration()
        c.waitTimeSeconds = 0
        c.emptyBackoff = FullJitterBackoff(base: 0.01, cap: 0.05)
        configure(&c)
        let pipeline = try Fixtures.pipeline()
        return Consumer(
            writer: LogWriter(pipeline), queue: queue, projections: table.map { [$0] } ?? [], configuration: c)
    }

    @Test(
        "two concurrent batches carrying events of one order end at the newest item, locally and in the table, whichever lands first",
        arguments: [false, true], ["PAID", "SHIPPED"])
    func concurrentBatchesOfOneOrder(newerFirstInQueue: Bool, slowStatus: String) async throws {
        try await Self.concurrentBatches(
            newerFirstInQueue: newerFirstInQueue, slowStatus: slowStatus, conditional: true)
    }

    @Test(
        "the local projection ends at the newest item even when the network projection does not arbitrate: each attempt is decided again when recorded",
        arguments: [false, true], ["PAID", "SHIPPED"])
    func concurrentBatchesUnconditionalTarget(newerFirstInQueue: Bool, slowStatus: String) async throws {
        try await Self.concurrentBatches(
            newerFirstInQueue: newerFirstInQueue, slowStatus: slowStatus, conditional: false)
    }

    static func concurrentBatches(newerFirstInQueue: Bool, slowStatus: String, conditional: Bool) async throws {
        try await onTestPool {
            let queue = FakeQueue()
            let older = order("ord-1", "PAID", minute: 0)
            let newer = order("ord-1", "SHIPPED", minute: 5)
            for (body, id) in newerFirstInQueue
                ? [(newer, "m-new"), (older, "m-old")] : [(older, "m-old"), (newer, "m-new")]
            {
                await queue.send(body, id: id)
            }
            await queue.send(order("ord-2", "PENDING", minute: 1), id: "m-other")
            var table = FakeTable()
            table.delays = [slowStatus: 0.2]
            table.conditional = conditional
            let consumer = try Self.consumer(queue, table) {
                $0.concurrency = 3
                $0.maxNumberOfMessages = 1  // one message per batch: three batches in work at once
                $0.untilEmpty = true
            }
            let report = try await consumer.run()
            #expect(report.summary.received == 3)
            #expect(report.deleted == 3)
            #expect(await queue.messages.isEmpty)
            if conditional { #expect(await table.store.status("ord-1") == "SHIPPED") }
            #expect(await table.store.status("ord-2") == "PENDING")
            let (local, digest, replayed) = try await consumer.writer.withPipeline { p in
                let replay = try Replayer(log: p.log, processor: p.processor).run(
                    filter: LogFilter(), into: LocalProjection.open(path: Fixtures.tempDB()))
                return (try p.projection.order("ord-1"), try p.projection.digest(), replay.digest)
            }
            #expect(local?.item.status == "SHIPPED")
            #expect(replayed == digest, "replaying the log reproduces the local projection")
            let outcomes = report.summary
            #expect(outcomes.projected + outcomes.stale == 3)
        }
    }

    @Test("a failed write in the middle of a batch: that message is failed and not deleted, the others are deleted")
    func failureMidBatch() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            for i in 0..<5 { await queue.send(order("ord-\(i)", "PAID", minute: i), id: "m-\(i)") }
            var table = FakeTable()
            table.failing = ["m-2"]
            let consumer = try Self.consumer(queue, table) {
                $0.concurrency = 1
                $0.untilEmpty = true
            }
            let report = try await consumer.run()
            #expect(report.summary.received == 5)
            #expect(report.summary.projected == 4)
            #expect(report.summary.failed == 1)
            #expect(report.deleted == 4)
            #expect(await queue.deleted.sorted() == ["m-0#1", "m-1#1", "m-3#1", "m-4#1"])
            #expect(await queue.messages.map(\.id) == ["m-2"])  // left for SQS to redeliver
            let attempt = try await consumer.writer.withPipeline { try $0.log.attempts(messageId: "m-2") }
            #expect(attempt.map(\.decision.outcome) == [.failed])
            #expect(attempt.first?.decision.errorCode == "projection.dynamodb_write_failed")
            #expect(attempt.first?.decision.errorKind == .transient)
            let local = try await consumer.writer.withPipeline { try $0.projection.orders().map(\.item.orderId) }
            #expect(local == ["ord-0", "ord-1", "ord-3", "ord-4"])
        }
    }

    @Test("a stop mid-batch finishes the batch in work and makes messages received after the stop visible again")
    func shutdownMidBatch() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            for i in 0..<20 { await queue.send(order("ord-\(i)", "PAID", minute: i % 60), id: "m-\(i)") }
            await queue.delay(call: 1, seconds: 0.3)  // the second loop's receive answers after the stop
            let table = FakeTable()
            await table.store.closeGate()
            let consumer = try Self.consumer(queue, table) {
                $0.concurrency = 2
                $0.waitTimeSeconds = 20
            }
            let stop = StopSignal()
            let run = Task(executorPreference: TestThreadPool.shared) { try await consumer.run(stop: stop) }
            try await waitUntil { await table.store.started > 0 }  // the first batch is in its PutItems
            stop.request()
            // The late receive has answered and its 10 messages have been made visible again.
            try await waitUntil(30, "the late receive released") {
                await queue.visibilityChanges.filter { $0.seconds == 0 }.count == 10
            }
            await table.store.openGate()
            let report = try await run.value
            #expect(report.stopped)
            #expect(report.summary.received == 10, "only the batch in work was appended")
            #expect(report.summary.projected == 10)
            #expect(report.deleted == 10)
            #expect(report.released == 10)
            let left = await queue.messages
            #expect(left.count == 10)
            #expect(left.allSatisfy { $0.visibleAt <= Date() }, "released messages are visible again at once")
            #expect(await queue.visibilityChanges.filter { $0.seconds == 0 }.count == 10)
            let unprocessed = try await consumer.writer.withPipeline { try $0.log.unprocessedReceives() }
            #expect(unprocessed.isEmpty)
        }
    }

    @Test("a slow batch has its visibility extended while in work, so no other loop receives it again")
    func heartbeatExtendsVisibility() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            await queue.send(order("ord-1", "PAID", minute: 0), id: "m-slow")
            var table = FakeTable()
            table.delays = ["PAID": 3.2]
            let consumer = try Self.consumer(queue, table) {
                $0.concurrency = 2
                $0.visibilityTimeout = 2
            }
            let stop = StopSignal()
            let run = Task(executorPreference: TestThreadPool.shared) { try await consumer.run(stop: stop) }
            try await waitUntil { await queue.deleted.count == 1 }
            stop.request()
            let report = try await run.value
            let extensions = await queue.visibilityChanges.filter { $0.handle == "m-slow#1" && $0.seconds == 2 }
            #expect(extensions.count >= 2, "extended every half visibility timeout: \(extensions.count)")
            #expect(report.summary.received == 1, "received once: the heartbeat kept it invisible")
            #expect(report.summary.projected == 1)
            #expect(await queue.deleted == ["m-slow#1"])
        }
    }

    @Test("receives appended without attempts (a crash between the two) are processed on start, into the table too")
    func resumesUnprocessedReceives() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            let pipeline = try Fixtures.pipeline()
            var s = IngestSummary()
            _ = try pipeline.append(
                batch: [
                    IncomingMessage(
                        messageId: "m-crash", receiptHandle: "m-crash#1",
                        body: Array(order("ord-9", "PAID", minute: 3).utf8),
                        attributes: JSONObject([("ApproximateReceiveCount", .string("1"))]), source: queue.url)
                ], summary: &s)
            let table = FakeTable()
            var c = ConsumerConfiguration()
            c.waitTimeSeconds = 0
            c.untilEmpty = true
            let consumer = Consumer(writer: LogWriter(pipeline), queue: queue, projections: [table], configuration: c)
            let report = try await consumer.run()
            #expect(report.summary.resumed == 1)
            #expect(report.summary.projected == 1)
            #expect(await table.store.status("ord-9") == "PAID")
        }
    }

    @Test("failed receives after a good one back off, turn the health unhealthy after 3, and recover; the loop goes on")
    func receiveFailuresBackOffAndReportHealth() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            await queue.send(order("ord-1", "PAID", minute: 0), id: "m-1")
            // Eight failures in a row, so the unhealthy stretch (failures 3…8, ~1 s of back-off) outlasts the
            // scheduling delays of a loaded machine; with three the window was a few ms and a poll could miss it.
            await queue.fail(calls: Set(1...8))
            let health = ConsumerHealth(failureThreshold: 3)
            var c = ConsumerConfiguration()
            c.concurrency = 1
            c.waitTimeSeconds = 0
            c.errorBackoff = FullJitterBackoff(base: 0.2, cap: 0.4)
            c.emptyBackoff = FullJitterBackoff(base: 0.01, cap: 0.02)
            let consumer = Consumer(
                writer: LogWriter(try Fixtures.pipeline()), queue: queue, projections: [], configuration: c,
                health: health)
            let stop = StopSignal()
            let run = Task(executorPreference: TestThreadPool.shared) { try await consumer.run(stop: stop) }
            try await waitUntil { !health.isHealthy }
            #expect(health.snapshot.consecutiveFailures >= 3)
            try await waitUntil { health.isHealthy }
            #expect(health.snapshot.lastSuccess != nil)
            stop.request()
            let report = try await run.value
            #expect(report.summary.projected == 1)
            #expect(await queue.receiveCalls >= 10)
        }
    }

    @Test("a DeleteMessageBatch that fails even after the client's retries is tried once more")
    func failedDeleteIsRetried() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            await queue.send(order("ord-1", "PAID", minute: 0), id: "m-1")
            await queue.failDeletes(1)
            let consumer = try Self.consumer(queue, nil) {
                $0.concurrency = 1
                $0.untilEmpty = true
            }
            let report = try await consumer.run()
            #expect(report.deleted == 1)
            #expect(await queue.messages.isEmpty)
        }
    }

    @Test("a receive failing with a non-retryable error (credentials, permissions, no queue) is fatal")
    func nonRetryableReceiveFailureIsFatal() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            await queue.fail(calls: [0], code: "AccessDenied")
            var c = ConsumerConfiguration()
            c.concurrency = 1
            let consumer = Consumer(
                writer: LogWriter(try Fixtures.pipeline()), queue: queue, projections: [], configuration: c)
            await #expect(throws: AWSServiceError.self) { _ = try await consumer.run() }
        }
    }

    @Test(
        "retryable receive failures before any success are fatal after maxReceiveFailures in a row (a wrong endpoint)")
    func retryableFailuresAtStartGiveUp() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            await queue.fail(calls: Set(0..<100))
            var c = ConsumerConfiguration()
            c.concurrency = 1
            c.errorBackoff = FullJitterBackoff(base: 0.01, cap: 0.02)
            let consumer = Consumer(
                writer: LogWriter(try Fixtures.pipeline()), queue: queue, projections: [], configuration: c)
            await #expect(throws: AWSServiceError.self) { _ = try await consumer.run() }
            #expect(await queue.receiveCalls == 5)
        }
    }

    @Test("back-off is exponential with full jitter and capped")
    func backoff() {
        var b = FullJitterBackoff(base: 0.1, cap: 1)
        let delays = (0..<10).map { _ in b.next() }
        #expect(delays.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(delays[0] <= 0.1)
        b.reset()
        #expect(b.next() <= 0.1)
    }
}
