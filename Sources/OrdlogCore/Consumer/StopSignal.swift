import Foundation

/// A stop request, shared by whoever asks (a signal handler) and the consumer. Safe from any thread.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextId = 0

    public init() {}

    /// Asks every waiter to stop. Idempotent.
    public func request() {
        let toResume: [CheckedContinuation<Void, Never>] = lock.withLock {
            guard !requested else { return [] }
            requested = true
            defer { waiters = [:] }
            return Array(waiters.values)
        }
        for c in toResume { c.resume() }
    }

    public var isRequested: Bool { lock.withLock { requested } }

    /// Returns once a stop is requested, or when the calling task is cancelled.
    public func wait() async {
        let id: Int = lock.withLock {
            nextId += 1
            return nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = lock.withLock {
                    if requested || Task.isCancelled { return true }
                    waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = lock.withLock { waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }

    /// Sleeps `seconds`, returning early when a stop is requested or the task is cancelled.
    public func sleep(_ seconds: Double) async {
        guard seconds > 0, !isRequested else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
            group.addTask { await self.wait() }
            await group.next()
            group.cancelAll()
        }
    }
}
