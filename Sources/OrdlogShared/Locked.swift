import Foundation

/// A value that is only ever read or changed under its lock: the one lock-protected state box of the project (as
/// swift-service-lifecycle keeps its state in NIO's `LockedValueBox`).
///
/// A class whose state is touched from several threads keeps that state in one `Locked` instead of an `NSLock`
/// beside loose `var`s, so no access can forget the lock:
///
/// ```swift
/// final class Cache: @unchecked Sendable {
///     private let entries = Locked<[String: Int]>([:])
///     func value(_ key: String) -> Int? { entries.withLock { $0[key] } }
///     func store(_ value: Int, _ key: String) { entries.withLock { $0[key] = value } }
/// }
/// ```
///
/// `Locked<Void>` (``init()``) serialises an action that has no state of its own (one write of a whole line).
///
/// Concurrency: ``withLock(_:)`` may be called from any thread; calls run one at a time, in no promised order. The
/// lock is an `NSLock`: not reentrant (calling ``withLock(_:)`` on the same box from inside `body` deadlocks), not
/// to be held across an `await` (`body` is synchronous), and not for a C signal handler. Keep `body` short; never
/// block in it on work that needs the same box. `Locked` is `Sendable` whatever `State` is: the lock is what makes
/// sharing the state safe, so do not let a non-`Sendable` value that `body` returns escape to another thread.
public final class Locked<State>: @unchecked Sendable {
    private let lock = NSLock()
    private var state: State

    /// A box holding `state`.
    public init(_ state: State) {
        self.state = state
    }

    /// Runs `body` with exclusive access to the state, under the lock.
    ///
    /// - Parameter body: reads or changes the state; runs on the calling thread, the lock held throughout.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws (the lock is released first; changes made before the throw are kept).
    @discardableResult
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }
}

extension Locked where State == Void {
    /// A box with no state, to serialise an action.
    public convenience init() {
        self.init(())
    }
}
