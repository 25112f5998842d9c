/// What a redrive from the SQS dead-letter queue did with the queue
/// (``Redriver/run(fromQueue:messageIds:dryRun:table:limit:visibilityTimeout:)``).
public struct QueueRedrive: Sendable, Equatable {
    /// A message whose delete SQS refused: its attempt is recorded, it stays in the queue.
    public struct DeleteFailure: Sendable, Equatable {
        /// The SQS MessageId.
        public var messageId: String
        /// The SQS error code (e.g. `ReceiptHandleIsInvalid`).
        public var code: String
    }

    /// The dead-letter queue's URL (the source of every receive recorded).
    public var queueUrl: String
    /// Distinct messages the queue returned.
    public var inQueue: Int
    /// The MessageIds redriven that no attempt in the log knew before: their receive from the DLQ is the first
    /// the log holds of them, or the first one processed.
    public var newToLog: [String]
    /// Deleted from the queue, after their attempt was recorded with a final outcome (projected, duplicate, stale).
    public var deleted: [String]
    /// Left in the queue, visible again: not chosen, a dry run, or an attempt that is not final.
    public var left: [String]
    /// Messages whose attempt is final but whose delete SQS refused: they stay in the queue.
    public var deleteFailures: [DeleteFailure]
}

extension Redriver {
    /// Takes messages from the SQS dead-letter queue `queue`, records each receive in the log, processes it and
    /// deletes it from the queue once its outcome is final. The way in for a message that reached the DLQ without
    /// entering any log (a consumer killed between ReceiveMessage and its append, maxReceiveCount times), and for
    /// one the log holds (a receive from the DLQ is a receive like any other).
    ///
    /// In order: one scan of the queue (``DeadLetterQueuePeek/scan(_:limit:visibilityTimeout:)``: every message
    /// stays hidden meanwhile); the chosen messages' receives appended and committed (source the queue's URL, the
    /// bytes as received; an entry that is not an SQS message is logged and rejected, never dropped); each processed
    /// on the one step with trigger `redrive` (``ProcessingStep/redrive(received:dryRun:projections:)``), writing
    /// `table` first when it is projected; the log fsynced; then each message whose recorded attempt is final is deleted, one
    /// DeleteMessage each. Every other message is released (visible again at once), also when this throws. A
    /// message whose attempt is not final stays in the queue, its attempt recorded (exit 3 for the CLI).
    ///
    /// ```swift
    /// let queue = SQSMessageQueue(sqs: sqs, url: try await QueueAddress.resolve("OrderDLQ", sqs: sqs))
    /// let report = try await redriver.run(fromQueue: queue, messageIds: nil, dryRun: false)
    /// ```
    ///
    /// Writes to the log (not in a dry run): the caller holds the log's writer lock.
    /// - Parameters:
    ///   - messageIds: only these SQS MessageIds (one not in the queue is reported in ``RedriveReport/skipped``,
    ///     reason ``RedriveReport/Skipped/Reason/notInQueue``); nil: every message in the queue.
    ///   - dryRun: append the receives and attempts and roll them back; delete nothing, release every message.
    ///   - table: as for ``run(_:dryRun:table:)``.
    ///   - limit: take at most this many distinct messages from the queue.
    ///   - visibilityTimeout: seconds the messages stay hidden (the scan, the processing and the deletes must fit
    ///     in it).
    /// - Returns: the outcomes (in queue order), the skipped MessageIds, the table's counts, and
    ///   ``RedriveReport/queue``.
    /// - Throws: what the queue throws (``AWSServiceError`` / ``AWSTransportError`` for SQS), ``SQLiteError``, what
    ///   `table` and ``RedriveTable/ensureTable()`` throw. A delete SQS refuses for one message (e.g. its receipt
    ///   handle expired) is not thrown: it is reported in ``QueueRedrive/deleteFailures``. A delete call that fails
    ///   as a whole is thrown, after the messages not deleted yet are released; the attempts recorded stay.
    public func run(
        fromQueue queue: any MessageQueue, messageIds: [String]?, dryRun: Bool,
        table: (() throws -> any RedriveTable)? = nil, limit: Int = 1000, visibilityTimeout: Int = 300
    ) async throws -> RedriveReport {
        let log = pipeline.log
        let scan = try await DeadLetterQueuePeek.scan(queue, limit: limit, visibilityTimeout: visibilityTimeout)
        var done = Set<String>()  // receipt handles deleted
        do {
            let chosen = scan.messages.filter { m in
                messageIds.map { ids in m.messageId.map(ids.contains) ?? false } ?? true
            }
            let queuedIds = Set(scan.messages.compactMap(\.messageId))
            let skipped = (messageIds ?? []).filter { !queuedIds.contains($0) }.map {
                RedriveReport.Skipped(messageId: $0, reason: .notInQueue)
            }
            let newToLog = try chosen.compactMap(\.messageId).filter { try log.attempts(messageId: $0).isEmpty }
            let (target, created) = try await Self.table(table, unless: dryRun || chosen.isEmpty)
            let outcomes =
                chosen.isEmpty
                ? []
                : try await pipeline.redrive(
                    received: chosen, dryRun: dryRun, projections: target.map { [$0] } ?? [])
            var deleted: [String] = []
            var failures: [QueueRedrive.DeleteFailure] = []
            if !dryRun {
                // Only now, with each attempt recorded (committed) and fsynced, are the final ones deleted.
                if outcomes.contains(where: { $0.after.decision.outcome.isFinal }) {
                    try GroupSync.syncNow(logPath: log.db.path)
                }
                for (m, o) in zip(chosen, outcomes) where o.after.decision.outcome.isFinal {
                    guard let handle = m.receiptHandle else { continue }
                    let r = try await queue.delete(receiptHandles: [handle])
                    if r.succeeded == 1 {
                        done.insert(handle)
                        deleted.append(o.messageId)
                    } else {
                        failures.append(.init(messageId: o.messageId, code: r.failureCodes.first ?? "unknown"))
                    }
                }
            }
            try await DeadLetterQueuePeek.release(
                queue, receiptHandles: scan.receiptHandles.filter { !done.contains($0) })
            var report = RedriveReport(
                dryRun: dryRun, processorVersion: pipeline.processor.version, outcomes: outcomes, skipped: skipped,
                table: target.map { Self.counts(outcomes, table: $0, created: created) })
            report.queue = QueueRedrive(
                queueUrl: queue.url, inQueue: scan.messages.count, newToLog: newToLog, deleted: deleted,
                left: scan.messages.filter { !($0.receiptHandle.map(done.contains) ?? false) }.map {
                    $0.messageId ?? "-"
                },
                deleteFailures: failures)
            return report
        } catch {
            try? await DeadLetterQueuePeek.release(
                queue, receiptHandles: scan.receiptHandles.filter { !done.contains($0) })  // leave the rest as found
            throw error
        }
    }

    /// The table's written and stale counts from the outcomes.
    static func counts(_ outcomes: [RedriveOutcome], table: any RedriveTable, created: Bool)
        -> DynamoDBProjection.SyncResult
    {
        var r = DynamoDBProjection.SyncResult(tableName: table.tableName, created: created)
        for o in outcomes {
            switch o.tableWrite {
            case .written: r.written += 1
            case .stale: r.stale += 1
            case .none, .failed: break
            }
        }
        return r
    }
}
