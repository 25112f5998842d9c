import Foundation
import Logging
import Metrics
import OrdlogAWS

/// Progress of a consumer run, reported after every batch.
public struct ConsumerProgress: Sendable {
    public var summary: IngestSummary
    /// Messages deleted from the queue (final outcomes).
    public var deleted: Int
    /// Seconds since the run started.
    public var elapsed: Double
}

/// What a consumer run did.
public struct ConsumerReport: Sendable {
    public var summary: IngestSummary
    /// Messages deleted from the queue (final outcomes).
    public var deleted: Int
    /// Messages received after the stop request, before their processing started, and made visible again.
    public var released: Int
    /// Whether the run ended on a stop request (SIGTERM/SIGINT).
    public var stopped: Bool
}

/// The SQS consumer: `concurrency` receive loops, each: receive → append the batch (one transaction, committed) →
/// decide → write every network projection (DynamoDB: the PutItems of a batch concurrently, no log lock held) →
/// record each attempt (one transaction); then, beside the loop's next receive, wait until the batch's records are
/// durable (the writer's ``LogWriter/gate``: an fsync, an S3 increment) → delete the messages whose outcome is
/// final (batched). Messages received and not yet deleted are bounded by ``ConsumerConfiguration/maxInFlight``,
/// those received and not yet appended by ``ConsumerConfiguration/maxUnlogged``.
///
/// Failed messages (rejected or transient) are not deleted: SQS redelivers them, and the queue's own redrive
/// policy moves a poison message to the dead-letter queue after maxReceiveCount receives, while the log holds
/// every attempt. A crash at any point loses nothing: receives appended but not processed are processed on the
/// next start; messages processed but not deleted come back and are recognised as duplicates.
///
/// Two batches carrying events of one order may be in work at once, in either order: the DynamoDB conditional
/// write keeps the newest item whichever lands last, and each attempt is decided again against the local state
/// when it is recorded, so the local projection too ends at the newest version.
public final class Consumer: Sendable {
    public let writer: LogWriter
    public let queue: any MessageQueue
    public let projections: [any Projection]
    public let configuration: ConsumerConfiguration
    public let health: ConsumerHealth
    let logger: Logger
    let state: RunState
    let limit: InFlightLimit
    let metrics = ConsumerMetricHandles()
    /// Messages received and not yet appended, at most ``ConsumerConfiguration/maxUnlogged``.
    let unlogged: InFlightLimit

    /// - Parameters:
    ///   - writer: the log's writer; the consumer is its only user while it runs.
    ///   - projections: the network projections (DynamoDB `Orders`); empty for a local-only consumer.
    ///   - health: told about every receive (for `/healthz`).
    public init(
        writer: LogWriter, queue: any MessageQueue, projections: [any Projection],
        configuration: ConsumerConfiguration = ConsumerConfiguration(), health: ConsumerHealth = ConsumerHealth(),
        logger: Logger = Logger(label: "ordlog.consumer", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.writer = writer
        self.queue = queue
        self.projections = projections
        self.configuration = configuration
        self.health = health
        self.logger = logger
        self.state = RunState(maxMessages: configuration.maxMessages)
        self.limit = InFlightLimit(
            configuration.maxInFlight ?? max(1, configuration.concurrency) * configuration.maxNumberOfMessages)
        self.unlogged = InFlightLimit(configuration.maxUnlogged)
    }

    /// Reads the queue's RedrivePolicy `maxReceiveCount` (nil when the queue has no redrive policy) and its
    /// `VisibilityTimeout` in seconds.
    public static func queueSettings(sqs: SQSClient, queueUrl: String) async throws
        -> (maxReceiveCount: Int64?, visibilityTimeout: Int?)
    {
        let attributes = try await sqs.getQueueAttributes(
            queueUrl: queueUrl, names: ["RedrivePolicy", "VisibilityTimeout"])
        var maxReceiveCount: Int64?
        if let policy = attributes["RedrivePolicy"], let o = try? JSONParser.parse(policy).objectValue {
            switch o["maxReceiveCount"] {
            case .number(let n)?: maxReceiveCount = Int64(n)
            case .string(let s)?: maxReceiveCount = Int64(s)
            default: break
            }
        }
        return (maxReceiveCount, attributes["VisibilityTimeout"].flatMap { Int($0) })
    }

    /// Consumes until `stop` is requested, `maxMessages` is reached, or (with `untilEmpty`) every loop has had an
    /// empty receive. On a stop request: no new receive starts, receives in flight are abandoned, messages they
    /// still returned are made visible again (ChangeMessageVisibility 0), and the batches in work are finished.
    /// - Throws: ``SQLiteError`` when the log cannot be written (nothing of that batch is deleted), or the AWS
    ///   error of a receive that failed before any receive succeeded (a configuration problem: endpoint,
    ///   credentials, queue), or that is not retryable. Later transient receive failures are retried with back-off
    ///   and reported to ``health``.
    public func run(
        stop: StopSignal = StopSignal(), progress: @escaping @Sendable (ConsumerProgress) -> Void = { _ in }
    ) async throws -> ConsumerReport {
        let start = Date()
        try await processUnprocessed()
        let n = max(1, configuration.concurrency)
        let finishers = Finishers()
        // The receive loops, and beside them the batches waiting for durability and their deletes: every one ends
        // (deleted, or left for SQS to redeliver) before the run returns, also when a loop throws.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await finishers.run() }
            do {
                try await withThrowingTaskGroup(of: Void.self) { loops in
                    for i in 0..<n {
                        loops.addTask {
                            try await self.receiveLoop(
                                i, stop: stop, start: start, finishers: finishers, progress: progress)
                        }
                    }
                    try await loops.waitForAll()
                }
            } catch {
                finishers.noMore()
                try await group.waitForAll()
                throw error
            }
            finishers.noMore()
            try await group.waitForAll()
        }
        if let failure = finishers.failure { throw failure }
        let summary = await writer.summary
        return ConsumerReport(
            summary: summary, deleted: state.deleted, released: state.released, stopped: stop.isRequested)
    }

    /// Processes receives appended by an earlier, interrupted run (no delete: SQS redelivers them, and the
    /// redelivery is then a duplicate and deleted).
    func processUnprocessed() async throws {
        let pending = try await writer.unprocessed()
        guard !pending.receives.isEmpty else { return }
        logger.info("Processing receives an interrupted run logged", metadata: ["count": "\(pending.receives.count)"])
        for start in stride(from: 0, to: pending.receives.count, by: 100) {  // a bounded number of writes at once
            let end = min(start + 100, pending.receives.count)
            let chunk = LogWriter.Appended(
                receives: Array(pending.receives[start..<end]), decisions: Array(pending.decisions[start..<end]),
                alreadyFinal: [])
            let attempts = try await writer.record(chunk.receives, results: await projectAll(chunk))
            count(attempts, receives: chunk.receives, receivedAt: nil)
        }
    }

    private func receiveLoop(
        _ index: Int, stop: StopSignal, start: Date, finishers: Finishers,
        progress: @escaping @Sendable (ConsumerProgress) -> Void
    ) async throws {
        var errorBackoff = configuration.errorBackoff
        var emptyBackoff = configuration.emptyBackoff
        var writeBackoff = configuration.errorBackoff
        while !stop.isRequested && !Task.isCancelled {
            if let failure = finishers.failure { throw failure }
            let budget = state.reserve(configuration.maxNumberOfMessages)
            guard budget > 0 else { return }
            let inFlightPermits = await limit.acquire(upTo: budget)
            // Received and not yet in the log: what a killed consumer strands (SQS counts them received).
            let permits = await unlogged.acquire(upTo: inFlightPermits)
            state.unreserve(budget - permits)
            await limit.release(inFlightPermits - permits)
            if stop.isRequested {
                state.unreserve(permits)
                await limit.release(permits)
                await unlogged.release(permits)
                return
            }
            let messages: [IncomingMessage]
            do {
                messages = try await receive(permits, stop: stop)
                state.receiveSucceeded()
                health.receiveSucceeded()
                metrics.lastReceive.record(Date().timeIntervalSince1970)
                errorBackoff.reset()
            } catch {
                state.unreserve(permits)
                await limit.release(permits)
                await unlogged.release(permits)
                if error is CancellationError || stop.isRequested { return }
                health.receiveFailed()
                // Not retryable (credentials, permissions, no such queue): fatal. Retryable (throttling, 5xx, network):
                // back off; give up after `maxReceiveFailures` in a row only before any receive succeeded (a wrong
                // endpoint) or in a scripted --until-empty run. A running consumer keeps trying (health says 503).
                if !RetryPolicy.isRetryable(error)
                    || ((!state.anyReceiveSucceeded || configuration.untilEmpty)
                        && errorBackoff.failures + 1 >= configuration.maxReceiveFailures)
                {
                    throw error
                }
                let delay = errorBackoff.next()
                logger.warning(
                    "ReceiveMessage failed; backing off",
                    metadata: ["error": "\(error)", "backoff_s": "\(String(format: "%.2f", delay))"])
                await stop.sleep(delay)
                continue
            }
            state.unreserve(permits - messages.count)
            await limit.release(permits - messages.count)
            await unlogged.release(permits - messages.count)
            if messages.isEmpty {
                if configuration.untilEmpty { return }
                if configuration.waitTimeSeconds == 0 { await stop.sleep(emptyBackoff.next()) }
                continue
            }
            emptyBackoff.reset()
            metrics.received.increment(by: messages.count)
            if stop.isRequested {
                // Received after the stop request, not started: make them visible again for another consumer.
                await release(messages)
                await limit.release(messages.count)
                await unlogged.release(messages.count)
                return
            }
            state.inFlight(messages.count, metrics.inFlight)
            let handled: Handled
            do {
                handled = try await handle(messages, receivedAt: DispatchTime.now().uptimeNanoseconds) {
                    await self.unlogged.release(messages.count)
                }
            } catch {
                state.inFlight(-messages.count, metrics.inFlight)
                await limit.release(messages.count)
                throw error
            }
            // Waiting until the batch's records are durable, then deleting, goes on beside the next receive: the
            // in-flight limit still counts these messages until then.
            finishers.start {
                do {
                    try await self.finish(handled)
                } catch {
                    finishers.fail(error)
                }
                self.state.inFlight(-messages.count, self.metrics.inFlight)
                await self.limit.release(messages.count)
                let summary = await self.writer.summary
                progress(
                    ConsumerProgress(
                        summary: summary, deleted: self.state.deleted, elapsed: Date().timeIntervalSince(start)))
            }
            if handled.writeFailures > 0 {
                // DynamoDB still failing after the client's retries (throttling, 5xx): slow this loop down.
                await stop.sleep(writeBackoff.next())
            } else {
                writeBackoff.reset()
            }
        }
    }

    /// One receive, raced against the stop request: a stop does not sit out a 20 s long poll. After a stop the
    /// receive has ``ConsumerConfiguration/stopGrace`` more to answer; then it is cancelled. Whatever it returned
    /// is handed back (the caller releases it).
    func receive(_ wanted: Int, stop: StopSignal) async throws -> [IncomingMessage] {
        let queue = self.queue
        let c = configuration
        let timer = metrics.awsTimer("sqs", "ReceiveMessage")
        enum Result: Sendable {
            case messages([IncomingMessage])
            case stopped
        }
        return try await withThrowingTaskGroup(of: Result.self) { group in
            group.addTask {
                let start = DispatchTime.now().uptimeNanoseconds
                let m = try await queue.receive(
                    maxMessages: wanted, waitTimeSeconds: c.waitTimeSeconds, visibilityTimeout: c.visibilityTimeout)
                timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
                return .messages(m)
            }
            group.addTask {
                await stop.wait()
                // A receive SQS has answered may still be on its way back: cancelled now, its messages would stay
                // invisible, received and logged nowhere, until their visibility timeout. Give it a moment to
                // arrive (then the caller releases what it brought); only an empty long poll is cut.
                try? await Task.sleep(nanoseconds: UInt64(c.stopGrace * 1e9))
                return .stopped
            }
            var received: [IncomingMessage] = []
            var failure: (any Error)?
            var first = true
            while true {
                do {
                    guard let r = try await group.next() else { break }
                    if case .messages(let m) = r { received += m }
                } catch {
                    if first { failure = error }
                }
                if first {
                    group.cancelAll()  // the receive answered (stop waiter ends) or the stop came (abandon the receive)
                    first = false
                }
            }
            if let failure, received.isEmpty, !stop.isRequested { throw failure }
            if received.isEmpty, stop.isRequested { throw CancellationError() }
            return received
        }
    }

    /// A batch appended, projected and recorded: what is left to do is to wait until its records are durable and
    /// delete its final messages (``finish(_:)``).
    struct Handled: Sendable {
        /// Receipt handles to delete once durable (final outcomes, and receives the log already held as final).
        var toDelete: [String]
        /// The records the deletes depend on are at or before this seq.
        var durableSeq: Int64
        /// How many network writes failed (the loop backs off when some did).
        var writeFailures: Int
    }

    /// One batch: append (committed) → decide → network projections, concurrently → record. The batch's
    /// visibility is extended every half visibility timeout from the append on (here, then in ``finish(_:)``).
    /// - Parameter logged: called once the batch's append has ended (committed or failed).
    func handle(
        _ messages: [IncomingMessage], receivedAt: UInt64, logged: @Sendable () async -> Void = {}
    ) async throws -> Handled {
        let appended: LogWriter.Appended
        do {
            appended = try await writer.append(messages)
            await logged()
        } catch {
            await logged()
            throw error
        }
        let handles = appended.receives.compactMap(\.receiptHandle) + appended.alreadyFinal
        let (results, attempts) = try await withHeartbeat(handles) {
            let results = await self.projectAll(appended)
            return (results, try await self.writer.record(appended.receives, results: results))
        }
        let writeFailures = results.reduce(0) { n, r in
            n + (r ?? []).filter { if case .failed = $0 { true } else { false } }.count
        }
        count(attempts, receives: appended.receives, receivedAt: receivedAt)
        var toDelete = appended.alreadyFinal
        var failed: [String] = []
        for (r, attempt) in zip(appended.receives, attempts) {
            guard let handle = r.receiptHandle else { continue }
            if attempt.decision.outcome.isFinal { toDelete.append(handle) } else { failed.append(handle) }
        }
        // Not deleted, so not waiting for durability: visible again before the loop's next receive (an
        // --until-empty run plays the redrive policy out).
        if let seconds = configuration.failedVisibilityTimeout, !failed.isEmpty {
            await changeVisibility(failed, seconds: seconds, what: "failed messages")
        }
        return Handled(
            toDelete: toDelete,
            durableSeq: max(appended.headSeq, attempts.map(\.seq).max() ?? 0), writeFailures: writeFailures)
    }

    /// Waits until the batch's records are durable where the deployment keeps them (``LogWriter/gate``), then
    /// deletes its final messages: nothing is deleted before its record is durable.
    /// - Throws: ``DurabilityError`` (nothing of the batch is deleted; the run ends).
    func finish(_ batch: Handled) async throws {
        if !batch.toDelete.isEmpty {
            // The heartbeat goes on for the messages to delete (failed ones were made visible, or left to time out).
            try await withHeartbeat(batch.toDelete) { try await self.writer.gate.waitDurable(upTo: batch.durableSeq) }
        }
        await delete(batch.toDelete)
    }

    /// Writes every `projected` first decision into every network projection, all concurrently. Per receive: the
    /// answers, or nil when nothing was written (the decision was not `projected`); `[]` with no projections.
    func projectAll(_ batch: LogWriter.Appended) async -> [[ProjectionResult]?] {
        guard !projections.isEmpty else { return batch.receives.map { _ in [] } }
        let projections = self.projections
        let timer = metrics.awsTimer("dynamodb", "PutItem")
        return await withTaskGroup(of: (Int, [ProjectionResult]).self) { group in
            for (i, (r, d)) in zip(batch.receives, batch.decisions).enumerated() where d.outcome == .projected {
                group.addTask {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let results = await ProcessingStep.project(d, receive: r, into: projections)
                    timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
                    return (i, results)
                }
            }
            var out = [[ProjectionResult]?](repeating: nil, count: batch.receives.count)
            for await (i, results) in group { out[i] = results }
            return out
        }
    }

    /// Runs `work` with, beside it, the heartbeat of `handles` (a child task, ended with the work).
    func withHeartbeat<T: Sendable>(_ handles: [String], _ work: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        guard let vt = configuration.visibilityTimeout, vt >= 1, !handles.isEmpty else { return try await work() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                await self.heartbeat(handles, visibilityTimeout: vt)
                return nil
            }
            defer { group.cancelAll() }
            while let r = try await group.next() {
                if let r { return r }
            }
            preconditionFailure("the work task always returns")
        }
    }

    /// Extends the visibility of a batch's messages every half visibility timeout while it is in work.
    /// Until cancelled: every half visibility timeout, extends the batch's visibility by the visibility timeout.
    func heartbeat(_ handles: [String], visibilityTimeout vt: Int) async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(Double(vt) / 2 * 1e9))
            if Task.isCancelled { return }
            await changeVisibility(handles, seconds: vt, what: "a batch still in work (heartbeat)")
        }
    }

    func count(_ attempts: [LoggedAttempt], receives: [LoggedReceive], receivedAt: UInt64?) {
        let now = DispatchTime.now().uptimeNanoseconds
        for a in attempts {
            metrics.processed(a.decision.outcome).increment()
            if a.decision.deadLettered { metrics.deadLettered.increment() }
            if let receivedAt { metrics.processing.recordNanoseconds(Int64(now - receivedAt)) }
        }
    }

    func delete(_ handles: [String]) async {
        guard !handles.isEmpty else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        // Once more after a short pause when the call fails even after the client's retries: a message left
        // undeleted is harmless (its redelivery is a duplicate) but costs a receive and a visibility timeout.
        for attempt in 1...2 {
            do {
                let r = try await queue.delete(receiptHandles: handles)
                state.deleted(r.succeeded)
                for code in r.failureCodes {
                    logger.warning(
                        "DeleteMessageBatch entry failed; the message will be redelivered and deduplicated",
                        metadata: ["sqs.error_code": "\(code)"])
                }
                break
            } catch {
                if attempt == 1 {
                    try? await Task.sleep(nanoseconds: UInt64.random(in: 100_000_000...400_000_000))
                    continue
                }
                logger.warning(
                    "DeleteMessageBatch failed; the messages will be redelivered and deduplicated",
                    metadata: ["error": "\(error)"])
            }
        }
        metrics.awsTimer("sqs", "DeleteMessageBatch").recordNanoseconds(
            Int64(DispatchTime.now().uptimeNanoseconds - start))
    }

    func changeVisibility(_ handles: [String], seconds: Int, what: String) async {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let r = try await queue.changeVisibility(receiptHandles: handles, seconds: seconds)
            if !r.failureCodes.isEmpty {
                logger.warning(
                    "ChangeMessageVisibilityBatch entries failed for \(what)",
                    metadata: ["sqs.error_codes": "\(r.failureCodes)"])
            }
        } catch is CancellationError {
            return  // a heartbeat cancelled because its batch is done
        } catch {
            logger.warning("ChangeMessageVisibilityBatch failed for \(what)", metadata: ["error": "\(error)"])
        }
        metrics.awsTimer("sqs", "ChangeMessageVisibilityBatch").recordNanoseconds(
            Int64(DispatchTime.now().uptimeNanoseconds - start))
    }

    /// Makes received-but-unstarted messages visible again at once.
    func release(_ messages: [IncomingMessage]) async {
        let handles = messages.compactMap(\.receiptHandle)
        await changeVisibility(handles, seconds: 0, what: "messages received during shutdown")
        state.released(handles.count)
        logger.info("Released messages received during shutdown", metadata: ["count": "\(handles.count)"])
    }
}
