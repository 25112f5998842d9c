import Foundation

/// Waiting for async work from synchronous code: a read command resolving an `s3://` source, the CLI running an
/// async command from its synchronous entry point, a bounded instance-metadata lookup. The one place a thread is
/// blocked on a task.
public enum Blocking {

    /// Runs `body` on a detached task and blocks the calling thread until it finishes.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Locked<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let result: Result<T, Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try box.withLock { $0! }.get()
    }

    /// Runs `body` on a detached task and blocks the calling thread until it finishes or `seconds` pass.
    /// - Returns: what `body` returns, or nil when it did not finish in time (it is cancelled then) or threw.
    public static func wait<T: Sendable>(timeout seconds: Double, _ body: @escaping @Sendable () async throws -> T)
        -> T?
    {
        let box = Locked<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task.detached {
            let result: Result<T, Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            box.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success else {
            task.cancel()
            return nil
        }
        return try? box.withLock { $0! }.get()
    }
}
