import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// An S3 archive in memory: keeps each segment name once, as ``SegmentArchive`` does (a segment already there
/// is skipped).
actor FakeUploader: SegmentUploading {
    nonisolated let destination = "s3://fake-bucket/ordlog"
    private(set) var stored: [SegmentName] = []
    private(set) var calls = 0

    func upload(_ segments: [TrustedSegment]) async throws -> ArchiveSummary {
        calls += 1
        var summary = ArchiveSummary()
        for s in segments {
            if stored.contains(s.manifest.name) {
                summary.alreadyArchived.append(s.manifest.name)
            } else {
                stored.append(s.manifest.name)
                summary.uploaded.append(s.manifest.name)
            }
        }
        return summary
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var seconds: Double
    var description: String { "did not finish within \(seconds) s" }
}

@Suite(.timeLimit(.minutes(1))) struct ConsumerServiceTests {
    /// A service over `queue` (long-polling, two loops) whose log has an identity (a seal needs one), archiving
    /// every `interval` seconds into `uploader`.
    static func service(_ queue: FakeQueue, uploader: FakeUploader, interval: Double) throws -> ConsumerService {
        var c = ConsumerConfiguration()
        c.concurrency = 2
        c.waitTimeSeconds = 20
        let pipeline = try Fixtures.pipeline()
        try pipeline.log.write {
            _ = try pipeline.log.appendIdentity(
                ConsumerIdentity(consumerId: "c1", ordlogVersion: "test", queue: queue.url), recordedAt: 0)
        }
        let consumer = Consumer(writer: LogWriter(pipeline), queue: queue, projections: [], configuration: c)
        return ConsumerService(
            consumer: consumer,
            archiving: .init(
                uploader: uploader, directory: Fixtures.tempDir().appendingPathComponent("segments").path,
                interval: interval, ordlogVersion: "test"))
    }

    /// The task's value, or ``TimedOut`` (and the task cancelled) when it takes longer than `seconds`. Does not wait
    /// for a task that ignores its cancellation: the test fails instead of hanging.
    static func value<T: Sendable>(of task: Task<T, any Error>, within seconds: Double) async throws -> T {
        let finished = Finished()
        Task { _ = try? await task.value; await finished.set() }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await finished.value { return try await task.value }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        task.cancel()
        throw TimedOut(seconds: seconds)
    }

    actor Finished {
        var value = false
        func set() { value = true }
    }

    @Test("a stop request ends the receive loops and the archive loop's wait, then the final archive seals and uploads what was logged")
    func stopEndsConsumeAndArchiveWithFinalArchive() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            for i in 0..<5 { await queue.send(order("ord-\(i)", "PAID", minute: i), id: "m-\(i)") }
            let uploader = FakeUploader()
            // An hour between seals: when the stop comes, the archive loop is in its wait.
            let service = try Self.service(queue, uploader: uploader, interval: 3600)
            let stop = StopSignal()
            let run = Task(executorPreference: TestThreadPool.shared) { try await service.run(stop: stop) }
            try await waitUntil { await queue.deleted.count == 5 }
            #expect(await uploader.calls == 0)
            let stopped = Date()
            stop.request()
            // Bounded well below the hour between seals, and loose enough for a full parallel run on a busy 2-core
            // machine (5 s failed there once: the final seal's VACUUM INTO waited for the cores).
            let report = try await Self.value(of: run, within: 60)
            #expect(Date().timeIntervalSince(stopped) < 60)
            #expect(report.stopped)
            #expect(report.summary.received == 5)
            #expect(await uploader.calls == 1, "the final archive, once")
            let segments = await uploader.stored
            #expect(segments.count == 1)
            #expect(segments.first?.firstSeq == 1)
            // Everything logged went into that segment: the live log has nothing left to seal.
            #expect(try await service.consumer.writer.seal(directory: nil, ordlogVersion: "test") == nil)
        }
    }

    @Test("the archive loop seals and uploads while consuming; after a stop only what came since is sealed and uploaded")
    func archiveLoopWhileConsumingThenStop() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            for i in 0..<5 { await queue.send(order("ord-\(i)", "PAID", minute: i), id: "m-\(i)") }
            let uploader = FakeUploader()
            let service = try Self.service(queue, uploader: uploader, interval: 0.05)
            let stop = StopSignal()
            let run = Task(executorPreference: TestThreadPool.shared) { try await service.run(stop: stop) }
            try await waitUntil { await queue.deleted.count == 5 }
            try await waitUntil { await uploader.stored.count == 1 }  // the loop sealed the five and uploaded them
            for i in 5..<8 { await queue.send(order("ord-\(i)", "PAID", minute: i), id: "m-\(i)") }
            try await waitUntil { await queue.deleted.count == 8 }
            stop.request()
            let report = try await Self.value(of: run, within: 60)
            #expect(report.stopped)
            #expect(report.summary.received == 8)
            let segments = await uploader.stored
            #expect(segments.count >= 2, "the loop's segment(s) and the rest: \(segments)")
            #expect(Set(segments).count == segments.count, "each segment uploaded once")
            #expect(try await service.consumer.writer.seal(directory: nil, ordlogVersion: "test") == nil)
        }
    }

    @Test("without a stop the service ends with its consumer (untilEmpty) and archives once more")
    func endsWithConsumer() async throws {
        try await onTestPool {
            let queue = FakeQueue()
            for i in 0..<3 { await queue.send(order("ord-\(i)", "PAID", minute: i), id: "m-\(i)") }
            let uploader = FakeUploader()
            let pipeline = try Fixtures.pipeline()
            try pipeline.log.write {
                _ = try pipeline.log.appendIdentity(
                    ConsumerIdentity(consumerId: "c1", ordlogVersion: "test", queue: queue.url), recordedAt: 0)
            }
            var c = ConsumerConfiguration()
            c.waitTimeSeconds = 0
            c.untilEmpty = true
            let service = ConsumerService(
                consumer: Consumer(writer: LogWriter(pipeline), queue: queue, projections: [], configuration: c),
                archiving: .init(
                    uploader: uploader, directory: Fixtures.tempDir().appendingPathComponent("segments").path,
                    interval: 3600, ordlogVersion: "test"))
            let run = Task(executorPreference: TestThreadPool.shared) { try await service.run() }
            let report = try await Self.value(of: run, within: 60)
            #expect(!report.stopped)
            #expect(report.summary.received == 3)
            #expect(await uploader.stored.count == 1)
        }
    }
}
