import Logging

/// Which dead-lettered messages a redrive takes: any message matching one of the given ids or fingerprints, or
/// every one with ``all``.
public struct RedriveSelection: Sendable, Equatable {
    /// SQS MessageIds; one that is not dead-lettered is reported in ``RedriveReport/skipped``.
    public var messageIds: [String] = []
    /// Error fingerprints (`code:field`, as ``FailedMessage/fingerprint``).
    public var fingerprints: [String] = []
    /// Every dead-lettered message.
    public var all = false

    public init(messageIds: [String] = [], fingerprints: [String] = [], all: Bool = false) {
        self.messageIds = messageIds
        self.fingerprints = fingerprints
        self.all = all
    }
}

/// A table a redrive writes into besides the local projection (DynamoDB `Orders`), created when missing.
///
/// ``DynamoDBProjection`` is one; tests give a fake.
public protocol RedriveTable: Projection {
    /// The table's name, as reported in ``RedriveReport/table``.
    var tableName: String { get }
    /// Creates the table when it is missing. Returns true when it was created.
    /// - Throws: what the table's service throws (an ``AWSServiceError`` for DynamoDB).
    func ensureTable() async throws -> Bool
}

extension DynamoDBProjection: RedriveTable {}

/// What one `ordlog redrive` did (or, in a dry run, would do), as data to render.
public struct RedriveReport: Sendable {
    /// A requested message that was not redriven.
    public struct Skipped: Sendable, Equatable {
        public enum Reason: String, Sendable {
            /// The log has no attempt for this MessageId.
            case notInLog = "not in the log"
            /// Its latest attempt is not dead-lettered.
            case notDeadLettered = "not dead-lettered"
            /// Not in the SQS dead-letter queue a redrive `fromQueue` read.
            case notInQueue = "not in the dead-letter queue"
        }
        public var messageId: String
        public var reason: Reason
    }

    public var dryRun: Bool
    /// The version of the processor that made the new decisions.
    public var processorVersion: String
    /// One outcome per redriven message, in the dead-letter report's order (largest fingerprint group first).
    public var outcomes: [RedriveOutcome]
    /// Requested `messageIds` that were not redriven, in the order given.
    public var skipped: [Skipped]
    /// The table written (``RedriveTable``), with the orders written and those left because it held a newer
    /// version; nil when no table was written (none given, a dry run, or nothing to redrive).
    public var table: DynamoDBProjection.SyncResult?
    /// A redrive from the SQS dead-letter queue: what it did with the queue; nil for a redrive of logged messages.
    public var queue: QueueRedrive? = nil

    /// Messages whose new attempt is (in a dry run: would be) dead-lettered again.
    public var stillDeadLettered: Int { outcomes.filter { $0.after.decision.deadLettered }.count }
    /// Messages that are (would be) out of the dead-letter view after the redrive.
    public var fixed: Int { outcomes.count - stillDeadLettered }
    /// True when nothing was redriven and a requested MessageId is not in the log at all, or (from the queue) not
    /// in the queue (exit 2 for the CLI).
    public var requestedMessageMissing: Bool {
        outcomes.isEmpty && skipped.contains { $0.reason == .notInLog || $0.reason == .notInQueue }
    }
}

/// Redrives dead-lettered messages: chooses them by the set's dead-letter rule (``LogSet/deadLetterReport()``),
/// processes each again against its latest receive (``ProcessingStep/redrive(messageIds:dryRun:projections:)``) and
/// reports the result as data, the table's written and stale counts included.
///
/// ```swift
/// let redriver = Redriver(log: log, processor: OrderProcessor(rules: rules))
/// let report = try await redriver.run(RedriveSelection(fingerprints: ["order.field_invalid:quantity"]), dryRun: true)
/// ```
///
/// Writes to the log (not in a dry run): the caller holds the log's writer lock.
public struct Redriver {
    public let pipeline: ProcessingStep

    /// - Parameters:
    ///   - log: the log to redrive in (one log: a redrive appends to it).
    ///   - processor: the processor (and rules) that decides again.
    ///   - logger: for the pipeline's debug lines.
    public init(
        log: EventLog, processor: OrderProcessor,
        logger: Logger = Logger(label: "ordlog.pipeline", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        pipeline = ProcessingStep(log: log, processor: processor, logger: logger)
    }

    /// Redrives the selected dead-lettered messages.
    /// - Parameters:
    ///   - selection: which messages.
    ///   - dryRun: decide and record, then roll back: the report is what a real run would append. No table is
    ///     made or written.
    ///   - table: makes the table to write into before each attempt is recorded; called (and the table created
    ///     if missing) only when something is to be written, not in a dry run. nil: the local projection only.
    /// - Returns: the outcomes, the skipped MessageIds, and the table's counts.
    /// - Throws: ``SQLiteError`` when the log cannot be read or written; what `table` and
    ///   ``RedriveTable/ensureTable()`` throw. A failed write of one order is not thrown: that message's attempt
    ///   records a transient failure and it stays dead-lettered.
    public func run(
        _ selection: RedriveSelection, dryRun: Bool, table: (() throws -> any RedriveTable)? = nil
    ) async throws -> RedriveReport {
        let log = pipeline.log
        let dlq = try LogSet(log: log).deadLetterReport().groups.flatMap(\.messages)  // the one dead-letter rule
        let chosen = dlq.filter {
            selection.all || selection.messageIds.contains($0.messageId)
                || selection.fingerprints.contains($0.fingerprint)
        }.map(\.messageId)
        let dlqIds = Set(dlq.map(\.messageId))
        var skipped: [RedriveReport.Skipped] = []
        for id in selection.messageIds where !dlqIds.contains(id) {
            skipped.append(
                .init(messageId: id, reason: try log.attempts(messageId: id).isEmpty ? .notInLog : .notDeadLettered))
        }
        let (target, created) = try await Self.table(table, unless: dryRun || chosen.isEmpty)
        let outcomes =
            chosen.isEmpty
            ? []
            : try await pipeline.redrive(messageIds: chosen, dryRun: dryRun, projections: target.map { [$0] } ?? [])
        return RedriveReport(
            dryRun: dryRun, processorVersion: pipeline.processor.version, outcomes: outcomes, skipped: skipped,
            table: target.map { Self.counts(outcomes, table: $0, created: created) })
    }
}

extension Redriver {
    /// The table to write (made by `make`, created if missing), and whether it was created; none when `skip` (a dry
    /// run, or nothing chosen) or no table was asked for.
    static func table(_ make: (() throws -> any RedriveTable)?, unless skip: Bool) async throws
        -> (table: (any RedriveTable)?, created: Bool)
    {
        guard !skip, let make else { return (nil, false) }
        let t = try make()
        return (t, try await t.ensureTable())
    }
}
