import ArgumentParser
import Foundation
import Logging
import OrdlogAWS
import OrdlogCore
import OrdlogOps

extension GlobalOptions {
    /// Records who is about to write `log` (a hash-chained identity record, when it differs from the log's
    /// latest): `--consumer-id`, else the environment (ECS task, Kubernetes pod), else the id already in the log,
    /// else a generated one. Returns the identity in force.
    func recordIdentity(_ log: EventLog, consumerId: String?, queue: String) throws -> ConsumerIdentity {
        let environment = ProcessInfo.processInfo.environment
        // After a seal the live file starts without an identity record: its segment start carries the id on.
        let stored = try log.latestIdentity()?.identity.consumerId ?? log.segmentStart?.consumerId
        let id = ConsumerIdentity.resolveConsumerId(
            explicit: consumerId, environment: environment, hostName: ConsumerIdentity.localHostName(),
            stored: stored, taskMetadata: fetchTaskMetadata)
        let identity = ConsumerIdentity(consumerId: id, ordlogVersion: Ordlog.configuration.version, queue: queue)
        let now = ProcessingStep.systemClockMs()
        try log.write { _ = try log.appendIdentity(identity, recordedAt: now) }
        return identity
    }
}

/// GET `url` with a 1 s timeout (the ECS task metadata endpoint, a link-local address) through the one HTTP
/// transport (``CurlTransport``); nil on any failure or a status other than 200.
func fetchTaskMetadata(_ url: URL) -> [UInt8]? {
    let response = try? Blocking.wait {
        try await CurlTransport.shared.send(HTTPRequest(method: "GET", url: url, timeout: 1))
    }
    guard let response, response.status == 200 else { return nil }
    return Array(response.body)
}

