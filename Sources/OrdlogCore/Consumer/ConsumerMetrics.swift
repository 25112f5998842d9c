import Foundation
import Metrics

/// The names of the metrics the consumer emits, in one place, in the Prometheus convention
/// (`ordlog_` prefix, `_total` for counters, `_seconds` for durations).
///
/// The library emits through the swift-metrics API only; the executable bootstraps the backend
/// (swift-prometheus) and serves it. Durations are recorded in seconds.
public enum OrdlogMetricName {
    /// Counter: messages received from the queue.
    public static let messagesReceived = "ordlog_messages_received_total"
    /// Counter, dimension `outcome` (projected, duplicate, stale, rejected, failed): attempts recorded.
    public static let messagesProcessed = "ordlog_messages_processed_total"
    /// Counter: attempts that dead-lettered their message (the receive count reached maxReceiveCount).
    public static let messagesDeadLettered = "ordlog_messages_dead_lettered_total"
    /// Histogram (seconds): from a message's receive to its attempt being recorded.
    public static let processingDuration = "ordlog_processing_duration_seconds"
    /// Histogram (seconds), dimensions `service`, `operation`: one AWS call, retries included.
    public static let awsCallDuration = "ordlog_aws_call_duration_seconds"
    /// Gauge: messages received and not yet deleted or released.
    public static let messagesInFlight = "ordlog_messages_in_flight"
    /// Histogram (seconds): one append transaction to the event log.
    public static let logAppendDuration = "ordlog_log_append_duration_seconds"
    /// Gauge: Unix time, in seconds, of the last ReceiveMessage that succeeded.
    public static let lastSuccessfulReceive = "ordlog_last_successful_receive_timestamp_seconds"
}

/// Whether a consumer's receives are succeeding, for `/healthz`.
///
/// Healthy until ``failureThreshold`` ReceiveMessage calls in a row have failed; one success makes it healthy
/// again. Safe to call from any thread.
public final class ConsumerHealth: Sendable {
    /// Consecutive failed receives after which the consumer is reported unhealthy. Default 3.
    public let failureThreshold: Int
    private let state = Locked<(consecutiveFailures: Int, lastSuccess: Date?)>((0, nil))

    public init(failureThreshold: Int = 3) {
        self.failureThreshold = failureThreshold
    }

    /// Records a ReceiveMessage that succeeded (with or without messages).
    public func receiveSucceeded(at date: Date = Date()) {
        state.withLock { $0 = (0, date) }
    }

    /// Records a ReceiveMessage that failed after its retries.
    public func receiveFailed() {
        state.withLock { $0.consecutiveFailures += 1 }
    }

    /// The current state: consecutive failures and the time of the last successful receive (nil before one).
    public var snapshot: (consecutiveFailures: Int, lastSuccess: Date?) { state.withLock { $0 } }

    /// True while fewer than ``failureThreshold`` receives in a row have failed.
    public var isHealthy: Bool { snapshot.consecutiveFailures < failureThreshold }
}

/// The metric handles the consumer records into (swift-metrics API; the backend is the executable's).
struct ConsumerMetricHandles: Sendable {
    let received = Counter(label: OrdlogMetricName.messagesReceived)
    let deadLettered = Counter(label: OrdlogMetricName.messagesDeadLettered)
    let processing = Metrics.Timer(label: OrdlogMetricName.processingDuration)
    let inFlight = Gauge(label: OrdlogMetricName.messagesInFlight)
    let lastReceive = Gauge(label: OrdlogMetricName.lastSuccessfulReceive)

    /// One counter per outcome, made once (a backend looks handles up by label and dimensions under a lock).
    let processedByOutcome: [Outcome: Counter] = Dictionary(
        uniqueKeysWithValues: [Outcome.projected, .duplicate, .stale, .rejected, .failed].map {
            ($0, Counter(label: OrdlogMetricName.messagesProcessed, dimensions: [("outcome", $0.rawValue)]))
        })
    let awsTimers: [String: Metrics.Timer] = Dictionary(
        uniqueKeysWithValues: [
            ("sqs", "ReceiveMessage"), ("sqs", "DeleteMessageBatch"), ("sqs", "ChangeMessageVisibilityBatch"),
            ("dynamodb", "PutItem"),
        ].map {
            (
                "\($0.0).\($0.1)",
                Metrics.Timer(
                    label: OrdlogMetricName.awsCallDuration, dimensions: [("service", $0.0), ("operation", $0.1)])
            )
        })

    func processed(_ outcome: Outcome) -> Counter {
        processedByOutcome[outcome]
            ?? Counter(label: OrdlogMetricName.messagesProcessed, dimensions: [("outcome", outcome.rawValue)])
    }

    func awsTimer(_ service: String, _ operation: String) -> Metrics.Timer {
        awsTimers["\(service).\(operation)"]
            ?? Metrics.Timer(
                label: OrdlogMetricName.awsCallDuration, dimensions: [("service", service), ("operation", operation)])
    }
}
