import Foundation

/// A stop request, shared by whoever asks (a signal handler) and the consumer. Safe from any thread.
public final class StopSignal: Sendable {
    private struct State {
        var requested = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextId = 0
    }
    private let state = Locked(State())

    public init() {}

    /// Asks every waiter to stop. Idempotent.
    public func request() {
        let toResume: [CheckedContinuation<Void, Never>] = state.withLock { s in
            guard !s.requested else { return [] }
            s.requested = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for c in toResume { c.resume() }
    }

    public var isRequested: Bool { state.withLock { $0.requested } }

    /// Returns once a stop is requested, or when the calling task is cancelled.
    public func wait() async {
        let id: Int = state.withLock { s in
            s.nextId += 1
            return s.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { s in
                    if s.requested || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.waiters.removeValue(forKey: id) }
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
