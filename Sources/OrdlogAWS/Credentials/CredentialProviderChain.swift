import Foundation

/// Tries providers in order; the first that yields credentials wins and is remembered, so later calls
/// (refreshes) go straight to it. A provider that throws ``CredentialSourceNotApplicable`` is skipped and its
/// reason recorded; any other error stops the chain (the source applies but failed). When none applies,
/// throws ``NoCredentialsError`` listing every source and why.
public actor CredentialProviderChain: CredentialProvider {
    public nonisolated let providers: [any CredentialProvider]
    private var chosen: (any CredentialProvider)?

    public init(_ providers: [any CredentialProvider]) { self.providers = providers }

    public nonisolated var description: String {
        "chain: " + providers.map(\.description).joined(separator: ", ")
    }

    /// The provider that answered first, if any has yet.
    public var selected: (any CredentialProvider)? { chosen }

    public func invalidate() async { await chosen?.invalidate() }

    public func credentials() async throws -> AWSCredentials {
        if let chosen { return try await chosen.credentials() }
        var skipped: [CredentialSourceNotApplicable] = []
        for provider in providers {
            do {
                let credentials = try await provider.credentials()
                chosen = provider
                return credentials
            } catch let notApplicable as CredentialSourceNotApplicable {
                skipped.append(notApplicable)
            }
        }
        throw NoCredentialsError(skipped: skipped)
    }
}
