import Foundation
import Logging
import Metrics
import OrdlogAWS

/// How ``Consumer`` consumes a queue. Every property has a default that matches the seed pipeline.
public struct ConsumerConfiguration: Sendable {
    /// The queue URL, e.g. `https://sqs.us-east-1.amazonaws.com/123456789012/OrderQueue`.
    public var queueUrl: String
    /// The DynamoDB table to project into; nil projects only into the local projection.
    public var tableName: String?
    /// Long-poll wait per ReceiveMessage, 0…20 seconds. Default 20.
    public var waitTimeSeconds = 20
    /// Messages per ReceiveMessage, 1…10. Default 10.
    public var maxNumberOfMessages = 10
    /// Visibility timeout requested on receive, in seconds; nil uses the queue's. Also the period of the
    /// visibility extension for slow batches (extended once half of it has passed).
    public var visibilityTimeout: Int?
    /// Visibility timeout set on messages whose attempt failed, in seconds (0 = redeliver at once); nil leaves
    /// them until their visibility timeout ends.
    public var failedVisibilityTimeout: Int?
    /// Stop after receiving this many messages.
    public var maxMessages: Int?
    /// Stop when a receive returns no message.
    public var untilEmpty = false
    /// The redrive policy's maxReceiveCount, used to mark dead-lettered attempts in the log. Default 3.
    public var maxReceiveCount: Int64 = 3

    public init(queueUrl: String, tableName: String? = nil) {
        self.queueUrl = queueUrl
        self.tableName = tableName
    }
}

/// Progress of a consumer run, reported after every batch.
public struct ConsumerProgress: Sendable {
    public var summary: IngestSummary
    /// Messages deleted from the queue (final outcomes).
    public var deleted: Int
    /// Seconds since the run started.
    public var elapsed: Double
}

/// The SQS consumer: receive → append the batch (one transaction, committed) → decide → project (local and
/// DynamoDB) → record each attempt → delete the messages whose outcome is final.
///
/// Failed messages (rejected or transient) are not deleted: SQS redelivers them, and the queue's own redrive
/// policy moves a poison message to the dead-letter queue after maxReceiveCount receives, while the log holds
/// every attempt. A crash at any point loses nothing: receives appended but not processed are processed on the
/// next start; messages processed but not deleted come back and are recognised as duplicates.
public final class Consumer {
    public let pipeline: Pipeline
    public let sqs: SQSClient
    public let dynamo: DynamoDBProjection?
    public let configuration: ConsumerConfiguration
    /// Told of every ReceiveMessage that succeeds or fails (after retries), for `/healthz`.
    public let health: ConsumerHealth
    let logger: Logger
    public private(set) var deleted = 0
    // The unlabelled metrics (``OrdlogMetricName``); labelled ones are looked up per use.
    let receivedCounter = Counter(label: OrdlogMetricName.messagesReceived)
    let deadLetteredCounter = Counter(label: OrdlogMetricName.messagesDeadLettered)
    let inFlightGauge = Gauge(label: OrdlogMetricName.messagesInFlight)
    let lastReceiveGauge = Gauge(label: OrdlogMetricName.lastSuccessfulReceive)
    let processingTimer = Metrics.Timer(label: OrdlogMetricName.processingDuration)
    let appendTimer = Metrics.Timer(label: OrdlogMetricName.logAppendDuration)

    public init(
        pipeline: Pipeline, sqs: SQSClient, dynamo: DynamoDBProjection?, configuration: ConsumerConfiguration,
        health: ConsumerHealth = ConsumerHealth(),
        logger: Logger = Logger(label: "ordlog.consumer", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.pipeline = pipeline
        self.sqs = sqs
        self.dynamo = dynamo
        self.configuration = configuration
        self.health = health
        self.logger = logger
    }

    static func awsTimer(_ service: String, _ operation: String) -> Metrics.Timer {
        Metrics.Timer(
            label: OrdlogMetricName.awsCallDuration, dimensions: [("service", service), ("operation", operation)])
    }

    static func since(_ start: UInt64) -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds - start) }

    /// Reads the queue's RedrivePolicy `maxReceiveCount` (nil when the queue has no redrive policy).
    public static func maxReceiveCount(sqs: SQSClient, queueUrl: String) async throws -> Int64? {
        let attributes = try await sqs.getQueueAttributes(queueUrl: queueUrl, names: ["RedrivePolicy"])
        guard let policy = attributes["RedrivePolicy"], let o = try? JSONParser.parse(policy).objectValue else {
            return nil
        }
        switch o["maxReceiveCount"] {
        case .number(let n)?: return Int64(n)
        case .string(let s)?: return Int64(s)
        default: return nil
        }
    }

    /// Consumes until `shouldStop()` is true (checked between batches), `maxMessages` is reached, or (with
    /// `untilEmpty`) a receive returns nothing. The batch in flight is always finished.
    /// - Throws: ``SQLiteError`` when the log cannot be written (nothing of that batch is deleted), or AWS
    ///   errors from ReceiveMessage after retries.
    public func run(
        shouldStop: @escaping @Sendable () -> Bool = { false },
        progress: (ConsumerProgress) -> Void = { _ in }
    ) async throws -> IngestSummary {
        var summary = IngestSummary()
        var receiveFailures = 0
        let start = Date()
        try await processUnprocessed(summary: &summary)
        while !shouldStop() && !Task.isCancelled {
            if let max = configuration.maxMessages, summary.received >= max { break }
            let wanted = min(configuration.maxNumberOfMessages, (configuration.maxMessages ?? .max) - summary.received)
            let started = DispatchTime.now().uptimeNanoseconds
            let received: SQSReceiveResult?
            do {
                received = try await receiveUnlessStopped(wanted, shouldStop: shouldStop)
            } catch let error where !(error is CancellationError) {
                Self.awsTimer("sqs", "ReceiveMessage").recordNanoseconds(Self.since(started))
                health.receiveFailed()
                // A scripted run (--until-empty) and errors no retry can fix (credentials, permissions, a missing
                // queue) end the run; a running consumer outlasts an outage, with /healthz saying so.
                guard !configuration.untilEmpty, RetryPolicy.isRetryable(error) else { throw error }
                receiveFailures += 1
                let delay = min(20, 0.5 * pow(2, Double(min(receiveFailures - 1, 6))))
                logger.warning(
                    "ReceiveMessage failed after retries; trying again",
                    metadata: [
                        "error": "\(error)", "consecutive_failures": "\(receiveFailures)", "delay_s": "\(delay)",
                    ])
                let until = Date().addingTimeInterval(delay)
                while Date() < until && !shouldStop() { try? await Task.sleep(nanoseconds: 100_000_000) }
                continue
            }
            guard let result = received else { break }
            Self.awsTimer("sqs", "ReceiveMessage").recordNanoseconds(Self.since(started))
            receiveFailures = 0
            health.receiveSucceeded()
            lastReceiveGauge.record(Date().timeIntervalSince1970)
            receivedCounter.increment(by: result.messages.count)
            let receivedAt = Date()
            if result.messages.isEmpty {
                if configuration.untilEmpty { break }
                continue
            }
            try await handle(batch: incomingMessages(result), receivedAt: receivedAt, summary: &summary)
            progress(ConsumerProgress(summary: summary, deleted: deleted, elapsed: Date().timeIntervalSince(start)))
        }
        return summary
    }

    /// One long-poll receive, abandoned (nil) if `shouldStop()` turns true while it waits: a stop request does
    /// not have to sit out a 20 s long poll. Messages SQS handed to an abandoned receive were not deleted, so
    /// they become visible again when their visibility timeout ends; nothing is lost.
    func receiveUnlessStopped(_ wanted: Int, shouldStop: @escaping @Sendable () -> Bool) async throws
        -> SQSReceiveResult?
    {
        let sqs = self.sqs
        let c = configuration
        return try await withThrowingTaskGroup(of: SQSReceiveResult?.self) { group in
            group.addTask {
                try await sqs.receiveMessage(
                    queueUrl: c.queueUrl, maxNumberOfMessages: wanted,
                    waitTimeSeconds: c.waitTimeSeconds, visibilityTimeout: c.visibilityTimeout)
            }
            group.addTask {
                while !shouldStop() { try await Task.sleep(nanoseconds: 100_000_000) }
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The messages of a ReceiveMessage response, parsed from the raw bytes so the log keeps them as received.
    func incomingMessages(_ result: SQSReceiveResult) -> [IncomingMessage] {
        let url = configuration.queueUrl
        if let (_, parsed) = try? TrafficReader.parse([UInt8](result.rawBody), name: url),
            parsed.count == result.messages.count
        {
            return parsed.map {
                var m = $0
                m.source = url
                return m
            }
        }
        // The raw body did not parse as expected (should not happen): log the decoded messages instead.
        return result.messages.map { m in
            IncomingMessage(
                messageId: m.messageId, receiptHandle: m.receiptHandle, md5OfBody: m.md5OfBody,
                body: Array(m.body.utf8),
                attributes: JSONObject(
                    m.attributes.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) }),
                md5OfMessageAttributes: m.md5OfMessageAttributes, source: url)
        }
    }

    func handle(batch: [IncomingMessage], receivedAt: Date, summary: inout IngestSummary) async throws {
        inFlightGauge.record(batch.count)
        defer { inFlightGauge.record(0) }
        let appendStarted = DispatchTime.now().uptimeNanoseconds
        let (appended, already) = try pipeline.append(batch: batch, summary: &summary)
        appendTimer.recordNanoseconds(Self.since(appendStarted))
        var toDelete: [String] = []
        var failed: [String] = []
        for seq in already {
            // A receive the log already holds (a restart): delete it if its outcome was final.
            if let r = try pipeline.log.receive(seq: seq), let handle = r.receiptHandle,
                try pipeline.log.attempts(receiveSeq: seq).last?.decision.outcome.isFinal == true
            {
                toDelete.append(handle)
            }
        }
        var extendedAt = receivedAt
        let vt = configuration.visibilityTimeout
        let attempts = try await pipeline.process(
            appended, summary: &summary,
            beforeEach: { index in
                if let vt, vt > 1, Date().timeIntervalSince(extendedAt) > Double(vt) / 2 {
                    try? await self.extendVisibility(appended[index...].compactMap(\.receiptHandle), seconds: vt)
                    extendedAt = Date()
                }
            }, project: project)
        let processing = Int64(Date().timeIntervalSince(receivedAt) * 1e9)
        for attempt in attempts {
            Counter(
                label: OrdlogMetricName.messagesProcessed,
                dimensions: [("outcome", attempt.decision.outcome.rawValue)]
            ).increment()
            if attempt.decision.deadLettered { deadLetteredCounter.increment() }
            processingTimer.recordNanoseconds(processing)
        }
        for (r, attempt) in zip(appended, attempts) {
            guard let handle = r.receiptHandle else { continue }
            if attempt.decision.outcome.isFinal { toDelete.append(handle) } else { failed.append(handle) }
        }
        try await delete(toDelete)
        if let seconds = configuration.failedVisibilityTimeout, !failed.isEmpty {
            try? await extendVisibility(failed, seconds: seconds)
        }
    }

    /// Processes receives appended by an earlier, interrupted run (no delete: SQS redelivers them, and the
    /// redelivery is then a duplicate and deleted).
    func processUnprocessed(summary: inout IngestSummary) async throws {
        let pending = try pipeline.log.unprocessedReceives()
        guard !pending.isEmpty else { return }
        _ = try await pipeline.process(pending, summary: &summary, project: project)
        summary.resumed += pending.count
    }

    /// The DynamoDB step of a decision, when a table is configured.
    func project(_ decision: Decision, _ receive: LoggedReceive) async -> Decision {
        guard let dynamo else { return decision }
        guard decision.outcome == .projected else { return decision }  // apply calls PutItem for these only
        let started = DispatchTime.now().uptimeNanoseconds
        defer { Self.awsTimer("dynamodb", "PutItem").recordNanoseconds(Self.since(started)) }
        return await dynamo.apply(decision, receive: receive, maxReceiveCount: configuration.maxReceiveCount)
    }

    func delete(_ handles: [String]) async throws {
        var start = 0
        while start < handles.count {
            let chunk = Array(handles[start..<min(start + 10, handles.count)])
            start += chunk.count
            let entries = chunk.enumerated().map { SQSDeleteEntry(id: "m\($0.offset)", receiptHandle: $0.element) }
            let started = DispatchTime.now().uptimeNanoseconds
            defer { Self.awsTimer("sqs", "DeleteMessageBatch").recordNanoseconds(Self.since(started)) }
            do {
                let result = try await sqs.deleteMessageBatch(queueUrl: configuration.queueUrl, entries: entries)
                deleted += result.successful.count
                for failure in result.failed {
                    logger.warning(
                        "DeleteMessageBatch entry failed; the message will be redelivered and deduplicated",
                        metadata: ["sqs.error_code": "\(failure.code)"])
                }
            } catch {
                logger.warning(
                    "DeleteMessageBatch failed; the messages will be redelivered and deduplicated",
                    metadata: ["error": "\(error)"])
            }
        }
    }

    func extendVisibility(_ handles: [String], seconds: Int) async throws {
        var start = 0
        while start < handles.count {
            let chunk = Array(handles[start..<min(start + 10, handles.count)])
            start += chunk.count
            let entries = chunk.enumerated().map {
                SQSVisibilityEntry(id: "v\($0.offset)", receiptHandle: $0.element, visibilityTimeout: seconds)
            }
            _ = try await sqs.changeMessageVisibilityBatch(queueUrl: configuration.queueUrl, entries: entries)
        }
    }
}
