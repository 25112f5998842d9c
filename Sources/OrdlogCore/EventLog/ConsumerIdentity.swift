import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who writes a log: the consumer, the ordlog release and the queue (or input files) it reads.
///
/// Recorded in the log as a hash-chained record (table `identities`, migration 0005) whenever `consume` or
/// `ingest` starts writing with an identity that differs from the log's latest one, so every record after it was
/// written by that consumer. Logs written before 0005 have none; ``LogSet`` names their consumer after the file.
public struct ConsumerIdentity: Sendable, Equatable {
    /// The consumer's id: `--consumer-id`, else derived from the environment (``resolveConsumerId``).
    public var consumerId: String
    /// The ordlog release, e.g. `0.1.0`.
    public var ordlogVersion: String
    /// The queue URL or ARN consumed, or the input file(s) of an ingest.
    public var queue: String

    public init(consumerId: String, ordlogVersion: String, queue: String) {
        self.consumerId = consumerId
        self.ordlogVersion = ordlogVersion
        self.queue = queue
    }

    /// The consumer id to record, first match wins:
    /// 1. `explicit` (`--consumer-id`), when not empty;
    /// 2. on ECS (`ECS_CONTAINER_METADATA_URI_V4` set): `HOST/TASK_ID`, the task id being the last component
    ///    of the task ARN that `taskMetadata` returns for `$ECS_CONTAINER_METADATA_URI_V4/task`
    ///    (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4.html>),
    ///    or, without an answer, derived from the URI (``ecsTaskId(metadataURI:)``);
    /// 3. on Kubernetes: `POD_NAME` (downward API), or `HOSTNAME` when `KUBERNETES_SERVICE_HOST` is set (a
    ///    pod's host name is its name);
    /// 4. the consumer id of the log's latest identity record (`stored`), so a generated id stays put;
    /// 5. a generated `HOST-XXXXXXXX` (8 random hex digits), several consumers on one host being distinct.
    /// - Parameters:
    ///   - taskMetadata: fetches a URL and returns the body, or nil on any failure (the CLI gives it a short
    ///     timeout); never called off ECS.
    public static func resolveConsumerId(
        explicit: String?, environment: [String: String], hostName: String, stored: String?,
        taskMetadata: (URL) -> [UInt8]? = { _ in nil }, random: () -> UInt32 = { UInt32.random(in: .min ... .max) }
    ) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        let host = hostName.isEmpty ? "host" : hostName
        if let uri = environment["ECS_CONTAINER_METADATA_URI_V4"], !uri.isEmpty {
            let fromTask = URL(string: uri + "/task").flatMap(taskMetadata).flatMap(ecsTaskId(taskMetadata:))
            if let task = fromTask ?? ecsTaskId(metadataURI: uri) { return "\(host)/\(task)" }
        }
        if let pod = environment["POD_NAME"], !pod.isEmpty { return pod }
        if environment["KUBERNETES_SERVICE_HOST"] != nil, let pod = environment["HOSTNAME"], !pod.isEmpty { return pod }
        if let stored, !stored.isEmpty { return stored }
        let suffix = String(random(), radix: 16)
        return "\(host)-\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
    }

    /// This machine's host name as `gethostname(2)` gives it (no name lookup, so no network), or `host`.
    public static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let name = String(decoding: bytes, as: UTF8.self)
        return name.isEmpty ? "host" : name
    }

    /// The task id from a task metadata v4 response: the last `/` component of `TaskARN`
    /// (`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/TASK_ID`), or nil when the body has none.
    public static func ecsTaskId(taskMetadata body: [UInt8]) -> String? {
        guard case .object(let o)? = try? JSONParser.parse(body), let arn = o["TaskARN"]?.stringValue,
            let last = arn.split(separator: "/").last, !last.isEmpty, arn.contains("/")
        else { return nil }
        return String(last)
    }

    /// The task id derived from `ECS_CONTAINER_METADATA_URI_V4` itself (`http://169.254.170.2/v4/TASKID-NNNN`
    /// on Fargate): the last path component up to its last `-`, or nil when there is no path.
    public static func ecsTaskId(metadataURI uri: String) -> String? {
        guard let last = URL(string: uri)?.lastPathComponent, !last.isEmpty, last != "/", last != "v4" else {
            return nil
        }
        if let dash = last.lastIndex(of: "-"), dash != last.startIndex { return String(last[..<dash]) }
        return last
    }
}

/// A consumer identity as stored in the log (table `identities`).
public struct LoggedIdentity: Sendable, Equatable {
    /// Log sequence number (the same sequence as receives and attempts).
    public var seq: Int64
    public var identity: ConsumerIdentity
    /// When it started writing, ms since the epoch.
    public var recordedAt: Int64
    public var prevHash: [UInt8]
    public var hash: [UInt8]
}

extension RecordHash {
    /// The hash of an identity record given its fields and the previous hash.
    public static func hash(of r: LoggedIdentity, prev: [UInt8]) -> [UInt8] {
        var e = Encoder(kind: "identity", prev: prev)
        e.add(r.seq)
        e.add(r.identity.consumerId)
        e.add(r.identity.ordlogVersion)
        e.add(r.identity.queue)
        e.add(r.recordedAt)
        return e.finalize()
    }
}

extension EventLog {
    static let identityColumns = "seq, consumer_id, ordlog_version, queue, recorded_at, prev_hash, hash"

    static func readIdentity(_ s: SQLiteStatement) -> LoggedIdentity {
        LoggedIdentity(
            seq: s.int64(0),
            identity: ConsumerIdentity(consumerId: s.text(1), ordlogVersion: s.text(2), queue: s.text(3)),
            recordedAt: s.int64(4), prevHash: s.blob(5), hash: s.blob(6))
    }

    /// Every identity record, in log order (empty for a log written before migration 0005).
    public func identities(from: Int64 = 1, through: Int64 = .max) throws -> [LoggedIdentity] {
        let s = try db.prepare(
            "SELECT \(Self.identityColumns) FROM identities WHERE seq BETWEEN ? AND ? ORDER BY seq")
        try s.bind([.int(from), .int(through)])
        var out: [LoggedIdentity] = []
        while try s.step() { out.append(Self.readIdentity(s)) }
        return out
    }

    /// The newest identity record, or nil.
    public func latestIdentity() throws -> LoggedIdentity? {
        let s = try db.prepare("SELECT \(Self.identityColumns) FROM identities ORDER BY seq DESC LIMIT 1")
        return try s.firstRow(Self.readIdentity)
    }

    /// The identity in force at `seq`: the newest identity record before it, or nil.
    public func identity(at seq: Int64) throws -> LoggedIdentity? {
        let s = try db.prepare(
            "SELECT \(Self.identityColumns) FROM identities WHERE seq < ? ORDER BY seq DESC LIMIT 1")
        try s.bind([.int(seq)])
        return try s.firstRow(Self.readIdentity)
    }
}
