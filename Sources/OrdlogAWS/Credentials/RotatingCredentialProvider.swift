import Foundation

/// Caches another provider's credentials and refreshes them before they expire, for a consumer that runs for
/// weeks on credentials that live an hour.
///
/// - Credentials without an expiry are fetched once and kept.
/// - Expiring credentials are refreshed ``refreshWindow`` (default 5 minutes, as most AWS SDKs) before
///   `Expiration`; credentials that live less than twice that are refreshed halfway through their lifetime
///   instead, so a short-lived token is not refetched on every call.
/// - One refresh at a time: concurrent callers that need fresh credentials await the refresh in flight.
/// - If a refresh fails while the cached credentials are still valid for ``minimumValidity``, the cached ones
///   are used and the refresh is retried ``retryAfterFailure`` seconds later; once they are expired the
///   error is thrown.
public actor RotatingCredentialProvider: CredentialProvider {
    public nonisolated let provider: any CredentialProvider
    public nonisolated let refreshWindow: TimeInterval
    public nonisolated let minimumValidity: TimeInterval
    public nonisolated let retryAfterFailure: TimeInterval
    private let now: @Sendable () -> Date
    private var cached: AWSCredentials?
    private var fetchedAt: Date?
    private var lastFailure: Date?
    private var inFlight: Task<AWSCredentials, Error>?
    /// How many times credentials were fetched from ``provider`` (for tests and logs).
    public private(set) var fetchCount = 0

    public init(
        _ provider: any CredentialProvider, refreshWindow: TimeInterval = 300, minimumValidity: TimeInterval = 10,
        retryAfterFailure: TimeInterval = 10, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.provider = provider
        self.refreshWindow = refreshWindow
        self.minimumValidity = minimumValidity
        self.retryAfterFailure = retryAfterFailure
        self.now = now
    }

    public nonisolated var description: String { provider.description }

    /// When cached credentials with `expiration`, fetched at `fetchedAt`, should be refreshed.
    public static func refreshTime(expiration: Date, fetchedAt: Date, refreshWindow: TimeInterval) -> Date {
        let lifetime = expiration.timeIntervalSince(fetchedAt)
        let window = lifetime < 2 * refreshWindow ? max(lifetime / 2, 0) : refreshWindow
        return expiration.addingTimeInterval(-window)
    }

    public func credentials() async throws -> AWSCredentials {
        let current = now()
        if let cached {
            guard let expiration = cached.expiration, let fetchedAt else { return cached }
            let due = Self.refreshTime(expiration: expiration, fetchedAt: fetchedAt, refreshWindow: refreshWindow)
            if current < due { return cached }
            if let lastFailure, current.timeIntervalSince(lastFailure) < retryAfterFailure,
                expiration.timeIntervalSince(current) > minimumValidity
            {
                return cached
            }
        }
        let task: Task<AWSCredentials, Error>
        if let inFlight {
            task = inFlight
        } else {
            let provider = self.provider
            task = Task { try await provider.credentials() }
            inFlight = task
        }
        do {
            let fresh = try await task.value
            if inFlight == task {
                inFlight = nil
                cached = fresh
                fetchedAt = now()
                lastFailure = nil
                fetchCount += 1
            }
            return fresh
        } catch {
            if inFlight == task {
                inFlight = nil
                lastFailure = now()
            }
            if let cached, let expiration = cached.expiration,
                expiration.timeIntervalSince(now()) > minimumValidity
            {
                return cached
            }
            throw error
        }
    }

    /// Forgets the cached credentials (e.g. after the service said they expired); the next call refetches.
    public func invalidate() {
        cached = nil
        fetchedAt = nil
    }
}
