import Foundation

/// Exponential back-off with full jitter (as the AWS SDKs, bbc/sqs-consumer and Spring Cloud AWS do): the n-th
/// delay after a failure is uniform in `0…min(cap, base × 2ⁿ)`, n counted from 0 (AWS Architecture Blog,
/// [Exponential Backoff And Jitter](https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)).
///
/// ```swift
/// var backoff = FullJitterBackoff(base: 0.2, cap: 10)
/// let first = backoff.next()   // uniform in 0…0.2
/// let second = backoff.next()  // uniform in 0…0.4
/// backoff.reset()              // after a success
/// ```
///
/// The one computation of it: a retry loop keeps a `FullJitterBackoff` and calls ``next()``, the AWS clients'
/// `RetryPolicy` asks ``delay(afterFailures:base:cap:)`` for attempt n + 1.
public struct FullJitterBackoff: Sendable, Equatable {
    /// The first ceiling, in seconds.
    public var base: Double
    /// The largest ceiling, in seconds.
    public var cap: Double
    /// The failures counted by ``next()`` since the last ``reset()``.
    public private(set) var failures = 0

    /// A back-off with no failure yet.
    /// - Parameters:
    ///   - base: the ceiling of the first delay, in seconds.
    ///   - cap: the largest ceiling, in seconds.
    public init(base: Double, cap: Double) {
        self.base = base
        self.cap = cap
    }

    /// The next delay in seconds (and counts one more failure).
    public mutating func next() -> Double {
        let delay = Self.delay(afterFailures: failures, base: base, cap: cap)
        failures += 1
        return delay
    }

    /// Forgets the failures (after a success): the next delay is again at most ``base``.
    public mutating func reset() { failures = 0 }

    /// A full-jitter delay in seconds after `failures` earlier failures (0 for the first retry): uniform in
    /// `0…min(cap, base × 2^failures)` (the exponent at most 30); 0 when `base` or `cap` is not positive.
    public static func delay(afterFailures failures: Int, base: Double, cap: Double) -> Double {
        let ceiling = min(cap, base * pow(2, Double(min(max(failures, 0), 30))))
        return Double.random(in: 0...max(ceiling, 0))
    }
}
