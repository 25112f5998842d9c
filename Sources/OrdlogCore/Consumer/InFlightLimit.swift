import Foundation
import Metrics

/// Counts shared by the receive loops of one run.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int?
    private var _deleted = 0
    private var _released = 0
    private var _inFlight = 0
    private var _anyReceiveSucceeded = false

    init(maxMessages: Int?) { remaining = maxMessages }

    /// Takes up to `n` from the `maxMessages` budget.
    func reserve(_ n: Int) -> Int {
        lock.withLock {
            guard let r = remaining else { return n }
            let got = min(n, r)
            remaining = r - got
            return got
        }
    }

    func unreserve(_ n: Int) {
        guard n > 0 else { return }
        lock.withLock { if let r = remaining { remaining = r + n } }
    }

    func deleted(_ n: Int) { lock.withLock { _deleted += n } }
    func released(_ n: Int) { lock.withLock { _released += n } }
    func receiveSucceeded() { lock.withLock { _anyReceiveSucceeded = true } }
    func inFlight(_ delta: Int, _ gauge: Gauge) {
        let v = lock.withLock {
            _inFlight += delta
            return _inFlight
        }
        gauge.record(v)
    }
    var deleted: Int { lock.withLock { _deleted } }
    var released: Int { lock.withLock { _released } }
    var anyReceiveSucceeded: Bool { lock.withLock { _anyReceiveSucceeded } }
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
