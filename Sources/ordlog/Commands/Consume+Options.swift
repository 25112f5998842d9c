import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogOps
import Logging

extension DurabilityMode: ExpressibleByArgument {}

// `consume`'s parse half beyond the option declarations: the service's configuration from the options, and the
// /metrics and /healthz listener that --metrics-address asks for.
extension Consume {
    /// The service's configuration from the options.
    func serviceConfiguration() -> ConsumerService.Configuration {
        var s = ConsumerService.Configuration(
            queue: queueUrl.map { .url($0) } ?? .name(queue!), ordlogVersion: ordlogVersion)
        s.table = localOnly ? nil : table
        s.consumer.concurrency = concurrency
        s.consumer.maxInFlight = maxInFlight
        s.consumer.maxUnlogged = maxUnlogged
        s.consumer.waitTimeSeconds = waitTime
        s.consumer.visibilityTimeout = visibilityTimeout
        s.consumer.failedVisibilityTimeout = failedVisibilityTimeout ?? (untilEmpty ? 0 : nil)
        s.consumer.maxMessages = maxMessages
        s.consumer.untilEmpty = untilEmpty
        s.maxReceiveCount = maxReceiveCount
        s.integerLiteralsOnly = integerLiteralsOnly
        s.durability = durability
        if let every = (archiveEvery ?? (durability == .s3 ? "15m" : nil)).flatMap(Self.parseDuration),
            let to = archiveTo.flatMap(S3Location.init)
        {
            s.archive = .init(
                interval: every, location: to, directory: segments ?? Segments.defaultDirectory(forLog: global.dbPath))
        }
        if let every = incrementEvery.flatMap(Self.parseDuration) { s.incrementInterval = every }
        return s
    }

    /// With --metrics-address: bootstraps the metrics backend and serves /metrics and /healthz.
    func startOpsServer(health: ConsumerHealth) throws -> OpsHTTPServer? {
        guard let address = metricsListen else { return nil }
        let registry = MetricsBackend.registry  // bootstraps MetricsSystem (once, here in the executable)
        let server: OpsHTTPServer
        do {
            server = try OpsHTTPServer(
                address: address, metrics: { registry.emitToBuffer() },
                health: { MetricsBackend.healthStatus(health) })
        } catch {
            throw CLIError(code: .usage, message: "--metrics-address: \(error)")
        }
        server.start()
        global.makeLogger("ordlog.consumer").notice(
            "serving /metrics and /healthz", metadata: ["address": "\(server.address)"])
        return server
    }
}
