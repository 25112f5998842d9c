import OrdlogCore

/// `whoami --json` (documented in `ordlog whoami --help`): where the credentials came from and whom they belong
/// to; never a secret or token. The text view is ``lines``, from the same value.
struct WhoamiOutput: Encodable {
    var source: String
    var accessKeyIdLast4: String
    /// RFC 3339, or `null` for credentials that do not expire.
    var expires: String?
    var region: String
    var regionSource: String
    var account: String
    var arn: String
    var userId: String

    /// The text view: one `name: value` line each, the values aligned.
    var lines: [String] {
        [
            ("source", source), ("access key id", "…" + accessKeyIdLast4), ("expires", expires ?? "does not expire"),
            ("region", "\(region) (from \(regionSource))"), ("account", account), ("arn", arn),
        ].map { name, value in (name + ":").padding(toLength: 15, withPad: " ", startingAt: 0) + value }
    }
}
