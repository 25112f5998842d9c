import Foundation
import Metrics

/// Counts shared by the receive loops of one run.
final class RunState: Sendable {
    private struct Counts {
        var remaining: Int?
        var deleted = 0
        var released = 0
        var inFlight = 0
        var anyReceiveSucceeded = false
    }
    private let counts: Locked<Counts>

    init(maxMessages: Int?) { counts = Locked(Counts(remaining: maxMessages)) }

    /// Takes up to `n` from the `maxMessages` budget.
    func reserve(_ n: Int) -> Int {
        counts.withLock { c in
            guard let r = c.remaining else { return n }
            let got = min(n, r)
            c.remaining = r - got
            return got
        }
    }

    func unreserve(_ n: Int) {
        guard n > 0 else { return }
        counts.withLock { c in if let r = c.remaining { c.remaining = r + n } }
    }

    func deleted(_ n: Int) { counts.withLock { $0.deleted += n } }
    func released(_ n: Int) { counts.withLock { $0.released += n } }
    func receiveSucceeded() { counts.withLock { $0.anyReceiveSucceeded = true } }
    func inFlight(_ delta: Int, _ gauge: Gauge) {
        let v = counts.withLock { c in
            c.inFlight += delta
            return c.inFlight
        }
        gauge.record(v)
    }
    var deleted: Int { counts.withLock { $0.deleted } }
    var released: Int { counts.withLock { $0.released } }
    var anyReceiveSucceeded: Bool { counts.withLock { $0.anyReceiveSucceeded } }
}

/// The bound on messages in flight: receive loops take permits before a receive and give back what they do not
/// use, and the rest once the batch is deleted or released.
actor InFlightLimit {
    private var available: Int
    private var waiters: [(Int, CheckedContinuation<Int, Never>)] = []

    init(_ limit: Int) { available = max(1, limit) }

    /// Waits until at least one permit is free and takes up to `n`.
    func acquire(upTo n: Int) async -> Int {
        if available > 0 && waiters.isEmpty {
            let got = min(n, available)
            available -= got
            return got
        }
        return await withCheckedContinuation { waiters.append((n, $0)) }
    }

    func release(_ n: Int) {
        guard n > 0 else { return }
        available += n
        while available > 0, !waiters.isEmpty {
            let (want, c) = waiters.removeFirst()
            let got = min(want, available)
            available -= got
            c.resume(returning: got)
        }
    }
}

/// The batches of a run that wait for durability and their deletes, beside the receive loops: each started as a
/// child task of ``run()`` (so it keeps the run's executor and is awaited with it). The first failure is kept: the
/// loops stop on it and the run throws it.
final class Finishers: Sendable {
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let input: AsyncStream<@Sendable () async -> Void>.Continuation
    private let firstFailure = Locked<(any Error)?>(nil)

    init() { (jobs, input) = AsyncStream.makeStream() }

    /// Runs `body` beside the loops.
    func start(_ body: @escaping @Sendable () async -> Void) { input.yield(body) }

    /// No more bodies: ``run()`` returns once those started have ended.
    func noMore() { input.finish() }

    /// Runs every body started, each as a child task, until ``noMore()`` and the last has ended.
    func run() async {
        // Discarding: a consumer running for weeks starts millions of these; none is kept once it has ended.
        await withDiscardingTaskGroup { group in
            for await job in jobs { group.addTask { await job() } }
        }
    }

    func fail(_ error: any Error) { firstFailure.withLock { f in if f == nil { f = error } } }

    var failure: (any Error)? { firstFailure.withLock { $0 } }
}
