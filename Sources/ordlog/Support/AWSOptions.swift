import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

/// Where and as whom to call AWS. Resolved the AWS SDKs' way: flags, then AWS_* environment variables, web
/// identity, the profile in ~/.aws/credentials and ~/.aws/config, the container endpoint, EC2 instance metadata.
struct AWSOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Endpoint for every AWS service, e.g. http://127.0.0.1:5000 for moto_server or LocalStack. Env: AWS_ENDPOINT_URL (per service: AWS_ENDPOINT_URL_SQS, _SNS, _DYNAMODB, _STS).",
            valueName: "url"))
    var endpointUrl: String?

    @Option(
        help: ArgumentHelp(
            "AWS Region. Env: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else EC2 instance metadata.",
            valueName: "region"))
    var region: String?

    @Option(
        help: ArgumentHelp(
            "Named profile from ~/.aws/credentials and ~/.aws/config. Env: AWS_PROFILE.", valueName: "name"))
    var profile: String?

    /// The resolved configuration. No network call, except when nothing names a region: then the EC2
    /// instance's region from instance metadata (1 s timeout; not with `AWS_EC2_METADATA_DISABLED=true`).
    /// Credentials are fetched on first use; `try await configuration().credentials().source` says from where.
    func configuration() throws -> AWSConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let overrides = AWSConfigurationOverrides(profile: profile, region: region, endpointURL: endpointUrl)
        do {
            do {
                return try AWSConfiguration.resolve(environment: environment, overrides: overrides)
            } catch AWSConfigurationError.noRegion(let profile) {
                guard let imdsRegion = instanceMetadataRegion(environment) else {
                    throw AWSConfigurationError.noRegion(profile: profile)
                }
                return try AWSConfiguration.resolve(
                    environment: environment, overrides: overrides, instanceMetadataRegion: imdsRegion)
            }
        } catch let error as AWSConfigurationError {
            switch error {
            case .invalidRegion, .invalidEndpointURL:
                throw CLIError(code: .usage, message: "\(error)")  // a bad flag or variable, no call made
            default:
                throw CLIError(code: .aws, message: "\(error)")
            }
        } catch let error as CredentialSourceError {
            throw CLIError(code: .aws, message: "\(error)")  // a profile configured wrongly (e.g. mfa_serial)
        }
    }
}

/// The EC2 region from instance metadata, waited for synchronously (at most about 2 s) so that
/// ``AWSOptions/configuration()`` stays synchronous for its callers; nil when disabled or unanswered.
private func instanceMetadataRegion(_ environment: [String: String]) -> String? {
    guard let imds = InstanceMetadataClient(environment: environment, transport: CurlTransport.shared) else {
        return nil
    }
    return Blocking.wait(timeout: 3) { await imds.region() } ?? nil
}

/// Where `replay` and `reproject` put their result.
enum ProjectionTarget: String, ExpressibleByArgument, CaseIterable {
    /// A local SQLite projection.
    case local
    /// A DynamoDB table (`--table`), written with the conditional PutItem.
    case dynamodb
}

/// `--target` and `--table` with the AWS options, shared by replay and reproject.
struct TargetOptions: ParsableArguments {
    @Option(help: "Where the result goes: local (SQLite) or dynamodb (the table named by --table).")
    var target: ProjectionTarget = .local

    @Option(help: ArgumentHelp("DynamoDB table for --target dynamodb (created if missing).", valueName: "name"))
    var table: String?

    @OptionGroup(title: "AWS") var aws: AWSOptions

    func validate() throws {
        if target == .dynamodb, table == nil { throw ValidationError("--target dynamodb needs --table NAME") }
        if target == .local, table != nil { throw ValidationError("--table goes with --target dynamodb") }
    }

    /// Writes `projection` into the DynamoDB table when the target is dynamodb; nil otherwise.
    func syncIfDynamoDB(_ projection: some ReplayProjection) async throws -> DynamoDBProjection.SyncResult? {
        guard target == .dynamodb, let table else { return nil }
        let dynamo = DynamoDBProjection(
            client: DynamoDBClient(configuration: try aws.configuration()), tableName: table)
        let progress = Progress(label: "dynamodb \(table)")
        let result = try await dynamo.sync(from: projection) { n in progress.update("\(n) orders written") }
        progress.finish()
        return result
    }
}
