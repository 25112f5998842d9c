import Foundation

/// A bounded queue from one producing thread to one consuming thread: a lock and a condition, one hand-off per
/// item, so items are whole batches or chunks (ingest's prepared batches, replay's record chunks).
///
/// At most `depth` items wait; ``put(_:)`` blocks while they do. The producer ends with ``finish(_:)``, giving
/// what it returned or threw; the consumer takes until ``take()`` returns nil, then reads that outcome with
/// ``waitFinished()``. The consumer may ``cancel()``: ``put(_:)`` then returns false (so the producer stops, and
/// ``isCancelled`` tells it between items) and what waits is dropped.
final class BoundedHandOff<Item: Sendable, Outcome: Sendable>: @unchecked Sendable {
    /// What a producer throws to stop once the consumer has cancelled.
    struct Cancelled: Error {}
    private let condition = NSCondition()
    private let depth: Int
    // Guarded by `condition`.
    private var items: [Item] = []
    private var cancelled = false
    private var outcome: Result<Outcome, any Error>?

    /// - Parameter depth: how many items may wait (at least 1).
    init(depth: Int = 1) { self.depth = max(1, depth) }

    /// Producer: queues `item`, blocking while `depth` items wait. False when the consumer cancelled.
    func put(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= depth, !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Producer: whether nothing waits for the consumer now.
    var isEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return items.isEmpty
    }

    /// Producer: whether the consumer cancelled.
    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Producer: its last word, what it returned or threw.
    func finish(_ result: Result<Outcome, any Error>) {
        condition.lock()
        outcome = result
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer: the next item in order, blocking until there is one; nil once the producer has finished and
    /// nothing waits.
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty, outcome == nil { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// Consumer: stops the producer at its next ``put(_:)`` and drops what waits (released outside the lock).
    func cancel() {
        condition.lock()
        cancelled = true
        let dropped = items
        items = []
        condition.broadcast()
        condition.unlock()
        withExtendedLifetime(dropped) {}
    }

    /// Blocks until the producer has finished; its outcome.
    func waitFinished() -> Result<Outcome, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return outcome!
    }
}
