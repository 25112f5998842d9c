import Foundation
import Metrics
import OrdlogCore
import OrdlogOps
import Prometheus

/// The Prometheus backend for the swift-metrics API the library emits through. Bootstrapped here, in the
/// executable, and only when a command serves metrics (`consume --metrics-address`); libraries never do.
enum MetricsBackend {
    /// Histogram buckets for every `_seconds` metric, 1 ms … 30 s: a 10 ms AWS call, a 20 s long poll and a
    /// slow batch all land in a bucket of their own.
    static let secondsBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30,
    ]

    static let durationNames = [
        OrdlogMetricName.processingDuration, OrdlogMetricName.awsCallDuration, OrdlogMetricName.logAppendDuration,
    ]

    /// Bootstraps `MetricsSystem` once per process and returns the registry to render. Timers (nanoseconds) and
    /// aggregating recorders (values in seconds) both become Prometheus histograms in seconds with the buckets
    /// above, so either way of emitting a duration gives the same series.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = secondsBuckets.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        factory.defaultValueHistogramBuckets = secondsBuckets
        MetricsSystem.bootstrap(factory)
        // Series that exist from the start, so dashboards and alerts see 0 rather than nothing.
        Counter(label: OrdlogMetricName.messagesReceived).increment(by: 0)
        Counter(label: OrdlogMetricName.messagesDeadLettered).increment(by: 0)
        Gauge(label: OrdlogMetricName.messagesInFlight).record(0)
        return registry
    }()

    /// The `/metrics` body.
    static func render() -> [UInt8] { registry.emitToBuffer() }

    /// `/healthz` from the consumer's receive health.
    static func healthStatus(_ health: ConsumerHealth) -> OpsHealthStatus {
        let s = health.snapshot
        if s.consecutiveFailures < health.failureThreshold { return OpsHealthStatus(healthy: true, reason: "ok") }
        let last = s.lastSuccess.map {
            "last successful receive at "
                + JSONLogHandler.format(epochMilliseconds: Int64($0.timeIntervalSince1970 * 1000))
        }
        return OpsHealthStatus(
            healthy: false,
            reason: "unhealthy: the last \(s.consecutiveFailures) ReceiveMessage calls failed; "
                + (last ?? "no receive has succeeded yet"))
    }
}
