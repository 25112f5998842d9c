import Foundation

/// Exponential back-off with full jitter (as the AWS SDKs, bbc/sqs-consumer and Spring Cloud AWS do): the n-th
/// delay is uniform in 0…min(cap, base × 2ⁿ).
public struct Backoff: Sendable, Equatable {
    public var base: Double
    public var cap: Double
    public private(set) var failures = 0

    public init(base: Double, cap: Double) {
        self.base = base
        self.cap = cap
    }

    /// The next delay in seconds (and counts one more failure).
    public mutating func next() -> Double {
        let ceiling = min(cap, base * pow(2, Double(min(failures, 30))))
        failures += 1
        return Double.random(in: 0...max(ceiling, 0))
    }

    public mutating func reset() { failures = 0 }
}
