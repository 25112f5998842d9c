import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show which AWS credentials ordlog resolves and whom they belong to (STS GetCallerIdentity).",
        discussion: """
            Resolves credentials as every AWS command does (environment, web identity, the profile with \
            role_arn / SSO / static keys / credential_process, the container endpoint, EC2 instance metadata), \
            then calls STS GetCallerIdentity, which needs no IAM permission. Prints the source, the last 4 \
            characters of the access key id, the expiry and the account and ARN; never a secret or token.

            Examples:
              ordlog whoami
              ordlog whoami --profile ops --json

            JSON: {"source","accessKeyIdLast4","expires" (RFC 3339, or null),"region","regionSource",\
            "account","arn","userId"}.

            Exit codes: 0 done, 5 no credentials or the call failed, 64 usage error.
            """
    )

    @OptionGroup var aws: AWSOptions
    @Flag(help: "Print the result as JSON.") var json = false
    /// --log-level and --log-format, as every command takes them.
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await runReportingErrorsAsync {
            let config = try aws.configuration()
            let credentials = try await config.credentials()
            let identity = try await STSClient(
                client: AWSClient(service: .sts, configuration: config, logger: logging.awsLogger("ordlog.aws"))).getCallerIdentity()
            let last4 = String(credentials.accessKeyId.suffix(4))
            let expires = credentials.expiration.map(formatAWSTimestamp)
            if json {
                out(
                    JSONWriter.string(
                        .object(
                            JSONObject([
                                ("source", .string(credentials.source)), ("accessKeyIdLast4", .string(last4)),
                                ("expires", expires.map(JSONValue.string) ?? .null),
                                ("region", .string(config.region)), ("regionSource", .string(config.regionSource)),
                                ("account", .string(identity.account)), ("arn", .string(identity.arn)),
                                ("userId", .string(identity.userId)),
                            ]))))
            } else {
                let rows = [
                    ("source", credentials.source), ("access key id", "…" + last4),
                    ("expires", expires ?? "does not expire"),
                    ("region", "\(config.region) (from \(config.regionSource))"),
                    ("account", identity.account), ("arn", identity.arn),
                ]
                for (name, value) in rows {
                    say((name + ":").padding(toLength: 15, withPad: " ", startingAt: 0) + value)
                }
            }
        }
    }
}
