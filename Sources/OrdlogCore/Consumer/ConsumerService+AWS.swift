import Foundation
import Logging
import OrdlogAWS

extension ConsumerService {
    /// What `ordlog consume` runs: the queue, the table, the consumer's settings and the archive.
    public struct Configuration: Sendable {
        /// The queue to consume, by URL or by name (resolved with GetQueueUrl).
        public enum Queue: Sendable, Equatable {
            case url(String)
            case name(String)
        }

        /// Where `consume --archive-every --archive-to` seals and uploads.
        public struct Archive: Sendable, Equatable {
            /// Seconds between two seals.
            public var interval: Double
            /// Where sealed segments are uploaded.
            public var location: S3Location
            /// Where sealed segments are written.
            public var directory: String

            public init(interval: Double, location: S3Location, directory: String) {
                self.interval = interval
                self.location = location
                self.directory = directory
            }
        }

        public var queue: Queue
        /// The DynamoDB table to project into; nil for a local-only consumer. Default `Orders`.
        public var table: String? = "Orders"
        /// The receive loops' settings. A nil ``ConsumerConfiguration/visibilityTimeout`` is the queue's own
        /// `VisibilityTimeout`.
        public var consumer = ConsumerConfiguration()
        /// maxReceiveCount for marking dead-lettered attempts; nil reads the queue's RedrivePolicy, else 3.
        public var maxReceiveCount: Int64?
        /// Reject quantities like `3.0` whose value is a whole number (``ValidationRules/integerLiteralsOnly``).
        public var integerLiteralsOnly = false
        /// The periodic seal and upload, or nil for none. Required by ``DurabilityMode/s3``.
        public var archive: Archive?
        /// Where records must be before their messages are deleted. Default ``DurabilityMode/disk``.
        public var durability = DurabilityMode.disk
        /// With ``DurabilityMode/s3``: seconds between two increments, at most (``S3Increments/Settings``). Default 1.
        public var incrementInterval: Double = 1
        /// Recorded in each sealed segment's manifest.
        public var ordlogVersion: String

        public init(queue: Queue, ordlogVersion: String) {
            self.queue = queue
            self.ordlogVersion = ordlogVersion
        }
    }

    /// The default `--max-in-flight` with ``DurabilityMode/s3``: 16 batches a loop (2,560 messages at 16 loops), so
    /// that at ~1.2 s from receive to delete (an increment a second) a consumer still has room for ~2,000
    /// messages/s. SQS allows 120,000 in flight on a standard queue.
    public static func s3MaxInFlight(concurrency: Int, batch: Int) -> Int { max(1, concurrency) * batch * 16 }

    /// The loggers of each part (each defaults to no output).
    public struct Loggers: Sendable {
        /// The receive loops (`ordlog.consumer`).
        public var consumer: Logger
        /// The SQS client (`ordlog.aws`).
        public var aws: Logger
        /// The pipeline (`ordlog.pipeline`).
        public var pipeline: Logger
        /// The archive loop (`ordlog.archive`).
        public var archive: Logger

        /// Each logger made by `make` from its label.
        public init(_ make: (String) -> Logger) {
            consumer = make("ordlog.consumer")
            aws = make("ordlog.aws")
            pipeline = make("ordlog.pipeline")
            archive = make("ordlog.archive")
        }

        /// No output.
        public init() {
            self.init { Logger(label: $0, factory: { _ in SwiftLogNoOpLogHandler() }) }
        }
    }

    /// What ``run(_:aws:health:loggers:stop:openLog:events:)`` did.
    public struct RunReport: Sendable {
        public var consumer: ConsumerReport
        /// The queue consumed (resolved when given by name).
        public var queueUrl: String
        /// The DynamoDB table, or nil for a local-only consumer.
        public var table: String?
    }

    /// The DynamoDB table to project into does not exist.
    public struct MissingTableError: Error, CustomStringConvertible {
        public var table: String
        /// The DynamoDB endpoint asked.
        public var endpoint: String

        public var description: String {
            "no DynamoDB table \(table) at \(endpoint): create it with `ordlog setup`, name another with --table, "
                + "or pass --local-only"
        }
    }

    /// Connects to SQS, DynamoDB and S3 and runs the service (``run(stop:events:)``) until stopped.
    ///
    /// In order: resolves the queue URL (GetQueueUrl when given by name) and reads the queue's RedrivePolicy and
    /// VisibilityTimeout; checks the table exists (DescribeTable); only then calls `openLog`, so a consume failing
    /// on its queue or table creates no log; sends ``Event/started(_:)``; consumes. SQS, DynamoDB and S3 share one
    /// HTTP connection pool, wide enough for every loop's requests.
    /// - Parameters:
    ///   - health: told about every receive (for `/healthz`).
    ///   - stop: the one stop request (SIGTERM/SIGINT in the CLI).
    ///   - openLog: opens the log for writing and records the consumer's identity in it (given the queue URL);
    ///     returns the log and the consumer id.
    ///   - events: the start, the progress after every batch, the consumer's end; one event at a time.
    /// - Throws: ``AWSServiceError``, ``AWSTransportError`` or ``AWSResponseDecodingError`` from a call that
    ///   failed (an unknown queue, credentials), ``MissingTableError``, what `openLog` throws, and what
    ///   ``run(stop:events:)`` throws.
    public static func run(
        _ configuration: Configuration, aws: AWSConfiguration, health: ConsumerHealth = ConsumerHealth(),
        loggers: Loggers = Loggers(), stop: StopSignal,
        openLog: (_ queueUrl: String) throws -> sending (log: EventLog, consumerId: String),
        events: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws -> RunReport {
        var c = configuration.consumer
        let transport = CurlTransport(maximumConnections: max(64, c.concurrency * 11))
        let sqs = SQSClient(configuration: aws, transport: transport, logger: loggers.aws)
        let url: String
        switch configuration.queue {
        case .url(let u): url = u
        case .name(let name): url = try await sqs.getQueueUrl(name: name)
        }
        if configuration.durability == .s3, c.maxInFlight == nil {
            // Messages waiting for their increment (up to --increment-every and a PUT) stay in flight; without
            // more room than one batch a loop, the increments, not the work, would pace the consumer.
            c.maxInFlight = Self.s3MaxInFlight(concurrency: c.concurrency, batch: c.maxNumberOfMessages)
        }
        let settings = try await Consumer.queueSettings(sqs: sqs, queueUrl: url)
        c.visibilityTimeout = c.visibilityTimeout ?? settings.visibilityTimeout
        var rules = ValidationRules()
        rules.maxReceiveCount = configuration.maxReceiveCount ?? settings.maxReceiveCount ?? 3
        rules.integerLiteralsOnly = configuration.integerLiteralsOnly
        var projections: [any Projection] = []
        if let table = configuration.table {
            let client = DynamoDBClient(configuration: aws, transport: transport)
            do {
                _ = try await client.describeTable(name: table)
            } catch let e as AWSServiceError where e == .resourceNotFound {
                throw MissingTableError(table: table, endpoint: client.client.endpoint.absoluteString)
            }
            projections.append(DynamoDBProjection(client: client, tableName: table))
        }
        if configuration.durability == .s3 && configuration.archive == nil {
            throw DurabilityError("--durability s3 needs --archive-to s3://BUCKET/PREFIX: where the records go")
        }
        let (log, consumerId) = try openLog(url)
        let logPath = log.db.path
        var groupSync: GroupSync?
        if configuration.durability == .disk {
            // The records already in the log (an earlier run's, this run's identity): synced with the first delete.
            groupSync = GroupSync(logPath: logPath, head: 0)
        }
        defer { groupSync?.stop() }
        let pipeline = ProcessingStep(log: log, processor: OrderProcessor(rules: rules), logger: loggers.pipeline)
        let writer = LogWriter(pipeline, gate: groupSync ?? CommitIsEnough())
        let archive = configuration.archive.map {
            SegmentArchive(s3: S3Client(configuration: aws, transport: transport), location: $0.location)
        }
        var increments: S3Increments?
        var archiving: Archiving?
        if configuration.durability == .s3, let a = configuration.archive, let archive {
            var settings = S3Increments.Settings(
                directory: a.directory, ordlogVersion: configuration.ordlogVersion, queue: url)
            settings.incrementInterval = configuration.incrementInterval
            settings.sealInterval = a.interval
            let gate = try await S3Increments.start(
                writer: writer, store: archive, settings: settings, logger: loggers.archive)
            await writer.use(gate: gate)
            increments = gate
        } else if let a = configuration.archive, let archive {
            archiving = Archiving(
                uploader: archive, directory: a.directory, interval: a.interval,
                ordlogVersion: configuration.ordlogVersion, logger: loggers.archive)
        }
        let consumer = Consumer(
            writer: writer,
            queue: SQSMessageQueue(sqs: sqs, url: url), projections: projections,
            configuration: c, health: health, logger: loggers.consumer)
        var start = Start(
            queueUrl: url, table: configuration.table, concurrency: c.concurrency,
            visibilityTimeout: c.visibilityTimeout, maxReceiveCount: rules.maxReceiveCount,
            region: aws.region, consumerId: consumerId, durability: configuration.durability)
        start.archive = configuration.archive.map { ($0.location.description, $0.interval) }
        if configuration.durability == .s3 { start.incrementEvery = configuration.incrementInterval }
        events(.started(start))
        let report = try await ConsumerService(consumer: consumer, archiving: archiving, increments: increments)
            .run(stop: stop, events: events)
        return RunReport(consumer: report, queueUrl: url, table: configuration.table)
    }
}
