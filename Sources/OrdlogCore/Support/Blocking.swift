import Foundation

/// Waiting for async work from synchronous code: a read command resolving an `s3://` source, the CLI running an
/// async command from its synchronous entry point, a bounded instance-metadata lookup. The one place a thread is
/// blocked on a task.
public enum Blocking {
    final class Box<T>: @unchecked Sendable {
        let lock = NSLock()
        var result: Result<T, Error>?
    }

    /// Runs `body` on a detached task and blocks the calling thread until it finishes.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let result: Result<T, Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            box.lock.withLock { box.result = result }
            done.signal()
        }
        done.wait()
        return try box.lock.withLock { box.result! }.get()
    }

    /// Runs `body` on a detached task and blocks the calling thread until it finishes or `seconds` pass.
    /// - Returns: what `body` returns, or nil when it did not finish in time (it is cancelled then) or threw.
    public static func wait<T: Sendable>(timeout seconds: Double, _ body: @escaping @Sendable () async throws -> T)
        -> T?
    {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let task = Task.detached {
            let result: Result<T, Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            box.lock.withLock { box.result = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success else {
            task.cancel()
            return nil
        }
        return try? box.lock.withLock { box.result! }.get()
    }
}
