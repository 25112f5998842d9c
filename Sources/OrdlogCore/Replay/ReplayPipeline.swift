import Foundation

/// What the replay engine consumes: log records in order, each receive it will decide possibly with its
/// ``Interpretation`` already computed (nil: the engine interprets it itself).
protocol InterpretedRecordSource {
    mutating func next() throws -> (LogRecord, Interpretation?)?
}

/// Any ``LogRecordSource`` read on the engine's own thread: nothing is interpreted ahead.
struct SequentialSource<Records: LogRecordSource>: InterpretedRecordSource {
    var records: Records

    mutating func next() throws -> (LogRecord, Interpretation?)? {
        try records.next().map { ($0, nil) }
    }
}

/// Which chunks a concurrent replay's reader thread interprets before handing them over.
enum InterpretAhead: Sendable, CaseIterable {
    /// Every chunk.
    case always
    /// None: the engine interprets every receive (tests of the engine's own path).
    case never
    /// Those read while the engine still has a chunk queued; a chunk read when the queue is empty (the engine
    /// is on its last chunk, or waiting) is handed over as read, and the engine interprets it.
    case whenEngineBusy
}

/// The first stage of a concurrent replay: a thread of its own reads the records (one log's ``LogCursor``)
/// and interprets every receive the filter matches (``OrderProcessor/interpret(body:inputError:)``, pure),
/// handing records to the engine's thread in chunks through a bounded ``ReplayChannel``. A chunk read when nothing is queued for
/// the engine goes over uninterpreted (``InterpretAhead/whenEngineBusy``): the engine interprets those
/// receives itself, so neither thread idles while the other is the bottleneck.
///
/// A receive handed over with its interpretation has an empty body: the engine never reads it again, and the
/// body's buffer is freed on the reader thread. A read error reaches the engine after the records read
/// before it, as in a sequential replay. ``stop()`` ends the reader (it stops at its next hand-off) and
/// waits for it: call it before the log's connection is used again.
struct InterpretingReader<Source: LogRecordSource>: InterpretedRecordSource {
    typealias Item = (LogRecord, Interpretation?)
    private let channel: ReplayChannel
    /// The current chunk, reversed: `popLast` moves each record out without copying it.
    private var chunk: [Item] = []

    init(
        _ source: Source, processor: OrderProcessor, filter: ResolvedLogFilter, chunkSize: Int = Replayer.pipelineChunk,
        depth: Int = Replayer.pipelineDepth, interpreting: InterpretAhead = .whenEngineBusy
    ) {
        let channel = ReplayChannel(depth: depth)
        self.channel = channel
        let owned = HandOff(source)
        let thread = Thread {
            Self.read(
                owned, processor: processor, filter: filter, chunkSize: chunkSize, interpreting: interpreting,
                into: channel)
        }
        thread.name = "ordlog-replay-reader"
        thread.stackSize = 8 << 20  // as the main thread's: the JSON parser recurses (to JSONParser.maxDepth)
        thread.start()
    }

    mutating func next() throws -> Item? {
        if chunk.isEmpty {
            guard let next = try channel.take() else { return nil }
            chunk = next
        }
        return chunk.popLast()
    }

    /// Ends the reader thread and waits until it has: it no longer uses the log's connection.
    func stop() { channel.stopAndWait() }

    private static func read(
        _ owned: HandOff<Source>, processor: OrderProcessor, filter: ResolvedLogFilter, chunkSize: Int,
        interpreting: InterpretAhead, into channel: ReplayChannel
    ) {
        var failure: (any Error)?
        var chunk: [Item] = []
        chunk.reserveCapacity(chunkSize)
        var stopped = false
        /// Interprets the chunk's matching receives unless nothing is queued for the engine (then it would
        /// soon wait: it gets them as read and interprets them itself). So the two threads share the work,
        /// whichever side is slower — the interpreting reader, or the engine writing a SQLite projection.
        func handOver() -> Bool {
            if interpreting == .always || (interpreting == .whenEngineBusy && !channel.isEmpty) {
                for i in chunk.indices {
                    guard case .receive(var r) = chunk[i].0, filter.matches(r) else { continue }
                    let interpretation = processor.interpret(body: r.body, inputError: r.inputError)
                    r.body = []
                    chunk[i] = (.receive(r), interpretation)
                }
            }
            chunk.reverse()
            defer {
                chunk = []
                chunk.reserveCapacity(chunkSize)
            }
            return channel.put(chunk)
        }
        do {
            var cursor = owned.take()
            while let record = try cursor.next() {
                chunk.append((record, nil))
                if chunk.count == chunkSize {
                    guard handOver() else {
                        stopped = true
                        break
                    }
                }
            }
        } catch {
            failure = error
        }
        // The records read before the end (or the error) go first, as a sequential replay decides them.
        if !stopped && !chunk.isEmpty { _ = handOver() }
        channel.finish(failure)
    }
}

/// Moves a record source (a ``LogCursor`` is not `Sendable`: it holds SQLite statements) to the reader thread.
/// Sound because the reader is its only user from then on (it is released there, before the reader ends), and
/// the engine waits for the reader to end (``ReplayChannel/stopAndWait()``) before the log's connection is used
/// on another thread again.
private final class HandOff<Source>: @unchecked Sendable {
    private var cursor: Source?
    init(_ cursor: Source) { self.cursor = cursor }
    func take() -> Source {
        defer { cursor = nil }
        return cursor!
    }
}

/// A bounded queue of record chunks from one reader thread to one engine thread (a lock and a condition;
/// one hand-off per chunk).
final class ReplayChannel: @unchecked Sendable {
    typealias Chunk = [(LogRecord, Interpretation?)]
    private let condition = NSCondition()
    private let depth: Int
    // Guarded by `condition`.
    private var chunks: [Chunk] = []
    private var ended = false
    private var failure: (any Error)?
    private var stopped = false

    init(depth: Int) { self.depth = max(1, depth) }

    /// Reader: queues `chunk`, waiting while `depth` chunks are queued. False when the engine has stopped.
    func put(_ chunk: Chunk) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= depth && !stopped { condition.wait() }
        if stopped { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    /// Reader: whether no chunk is queued for the engine now.
    var isEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return chunks.isEmpty
    }

    /// Reader: no more chunks; `failure` is what stopped the reading (nil at the end of the records).
    func finish(_ failure: (any Error)?) {
        condition.lock()
        self.failure = failure
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    /// Engine: the next chunk in order, or nil after the last one.
    /// - Throws: what the reader failed with, once the chunks it read before are taken.
    func take() throws -> Chunk? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !ended { condition.wait() }
        if !chunks.isEmpty {
            let chunk = chunks.removeFirst()
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    /// Engine: tells the reader to stop and waits until it has ended.
    func stopAndWait() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !ended { condition.wait() }
        let dropped = chunks
        chunks = []
        condition.unlock()
        withExtendedLifetime(dropped) {}
    }
}
