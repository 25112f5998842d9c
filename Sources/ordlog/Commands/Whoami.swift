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
            let output = WhoamiOutput(
                source: credentials.source, accessKeyIdLast4: String(credentials.accessKeyId.suffix(4)),
                expires: credentials.expiration.map(formatAWSTimestamp), region: config.region,
                regionSource: config.regionSource, account: identity.account, arn: identity.arn,
                userId: identity.userId)
            if json { try printJSON(output) } else { output.lines.forEach(say) }
        }
    }
}
