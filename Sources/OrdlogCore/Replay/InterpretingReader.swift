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
/// handing records to the engine's thread in chunks through a ``BoundedHandOff``. A chunk read when nothing is
/// queued for the engine goes over uninterpreted (``InterpretAhead/whenEngineBusy``): the engine interprets
/// those receives itself, so neither thread idles while the other is the bottleneck.
///
/// A receive handed over with its interpretation has an empty body: the engine never reads it again, and the
/// body's buffer is freed on the reader thread. A read error reaches the engine after the records read
/// before it, as in a sequential replay. ``stop()`` ends the reader (it stops at its next hand-off) and
/// waits for it: call it before the log's connection is used again.
struct InterpretingReader<Source: LogRecordSource>: InterpretedRecordSource {
    typealias Item = (LogRecord, Interpretation?)
    private let channel: BoundedHandOff<[Item], Void>
    /// The current chunk, reversed: `popLast` moves each record out without copying it.
    private var chunk: [Item] = []

    init(
        _ source: Source, processor: OrderProcessor, filter: ResolvedLogFilter, chunkSize: Int = Replayer.pipelineChunk,
        depth: Int = Replayer.pipelineDepth, interpreting: InterpretAhead = .whenEngineBusy
    ) {
        let channel = BoundedHandOff<[Item], Void>(depth: depth)
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
            guard let next = channel.take() else {
                try channel.waitFinished().get()  // the reader's error, after the records read before it
                return nil
            }
            chunk = next
        }
        return chunk.popLast()
    }

    /// Ends the reader thread and waits until it has: it no longer uses the log's connection.
    func stop() {
        channel.cancel()
        _ = channel.waitFinished()
    }

    private static func read(
        _ owned: HandOff<Source>, processor: OrderProcessor, filter: ResolvedLogFilter, chunkSize: Int,
        interpreting: InterpretAhead, into channel: BoundedHandOff<[Item], Void>
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
        channel.finish(failure.map { .failure($0) } ?? .success(()))
    }
}

/// Moves a record source (a ``LogCursor`` is not `Sendable`: it holds SQLite statements) to the reader thread.
/// Sound because the reader is its only user from then on (it is released there, before the reader ends), and
/// the engine waits for the reader to end (``InterpretingReader/stop()``) before the log's connection is used
/// on another thread again.
private final class HandOff<Source>: @unchecked Sendable {
    private var cursor: Source?
    init(_ cursor: Source) { self.cursor = cursor }
    func take() -> Source {
        defer { cursor = nil }
        return cursor!
    }
}
