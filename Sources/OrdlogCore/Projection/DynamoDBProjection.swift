import OrdlogAWS

/// The `Orders` table in DynamoDB, written with the same idempotent, order-safe rules as the local projection.
///
/// Each item holds the six order attributes (`orderId` S, `userId` S, `itemName` S, `quantity` N, `status` S,
/// `timestamp` S) plus `ordlogTimestampNs` (N): the order's timestamp as an instant in nanoseconds since the
/// epoch, so that offsets such as `+01:00` compare correctly. Every write is a conditional PutItem
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html>):
///
///     attribute_not_exists(orderId) OR ordlogTimestampNs <= :ts
///
/// so an older event never overwrites a newer one, whichever consumer writes first, and re-applying the same
/// event (a redelivery after a crash) rewrites an identical item: idempotent. An equal instant is written
/// (the later-processed event wins, as the local projection's log-sequence tie-break does on one consumer).
public struct DynamoDBProjection: Projection {
    /// The attribute holding the instant the condition compares.
    public static let instantAttribute = "ordlogTimestampNs"

    public let client: DynamoDBClient
    public let tableName: String

    public init(client: DynamoDBClient, tableName: String) {
        self.client = client
        self.tableName = tableName
    }

    /// What a conditional write did.
    public enum WriteResult: Sendable, Equatable {
        /// The item was written.
        case written
        /// The table holds a newer version (instant in ns); nothing was written.
        case stale(storedInstantNs: Int64?)
    }

    /// The DynamoDB item for an order.
    public static func item(for order: OrderItem) -> DynamoDBItem {
        var item: DynamoDBItem = [
            "orderId": .s(order.orderId), "userId": .s(order.userId), "itemName": .s(order.itemName),
            "quantity": .n(String(order.quantity)), "status": .s(order.status), "timestamp": .s(order.timestamp),
        ]
        if let ns = RFC3339.nanoseconds(order.timestamp) { item[instantAttribute] = .n(String(ns)) }
        return item
    }

    /// The order held by a DynamoDB item, if it has the six attributes with the right types.
    public static func order(from item: DynamoDBItem) -> OrderItem? {
        guard case .s(let orderId)? = item["orderId"], case .s(let userId)? = item["userId"],
            case .s(let itemName)? = item["itemName"], case .n(let q)? = item["quantity"], let quantity = Int64(q),
            case .s(let status)? = item["status"], case .s(let timestamp)? = item["timestamp"]
        else { return nil }
        return OrderItem(
            orderId: orderId, userId: userId, itemName: itemName, quantity: quantity, status: status,
            timestamp: timestamp)
    }

    /// Writes `order` unless the table holds a newer version.
    /// - Throws: ``AWSServiceError`` (other than the failed condition) or ``AWSTransportError`` after retries.
    public func put(_ order: OrderItem) async throws -> WriteResult {
        let ns = RFC3339.nanoseconds(order.timestamp) ?? 0
        do {
            try await client.putItem(
                tableName: tableName, item: Self.item(for: order),
                conditionExpression: "attribute_not_exists(orderId) OR #ts <= :ts",
                expressionAttributeNames: ["#ts": Self.instantAttribute],
                expressionAttributeValues: [":ts": .n(String(ns))],
                returnOldItemOnConditionFailure: true)
            return .written
        } catch let error as AWSServiceError where error.isConditionalCheckFailed {
            var stored: Int64? = nil
            if case .n(let text)? = error.conditionCheckFailedItem?[Self.instantAttribute] { stored = Int64(text) }
            return .stale(storedInstantNs: stored)
        }
    }

    /// Every order in the table (a full Scan), sorted by `orderId` bytes.
    public func orders() async throws -> [OrderItem] {
        try await client.scanAll(tableName: tableName, consistentRead: true).compactMap(Self.order(from:))
            .sorted { $0.orderId.utf8.lexicographicallyPrecedes($1.orderId.utf8) }
    }

    /// Writes a `projected` decision's item with the conditional PutItem: a lost condition is
    /// ``ProjectionResult/stale`` (the table holds a newer version), an AWS failure after retries
    /// ``ProjectionResult/failed`` (transient: the message is left for SQS to redeliver). Other decisions write
    /// nothing.
    public func project(_ decision: Decision, receive: LoggedReceive) async -> ProjectionResult {
        guard decision.outcome == .projected, let order = decision.item else { return .applied }
        do {
            switch try await put(order) {
            case .written:
                return .applied
            case .stale(let stored):
                return .stale(
                    note: "DynamoDB table \(tableName) holds a newer version"
                        + (stored.map { " (instant \($0) ns)" } ?? ""))
            }
        } catch {
            return .failed(
                code: "projection.dynamodb_write_failed", message: "PutItem into \(tableName) failed: \(error)")
        }
    }

    public var name: String { "DynamoDB table \(tableName)" }

    public func ensureExists() async throws { try await ensureTable() }

    /// Creates the table (partition key `orderId`, S, on-demand) if it does not exist and waits until it is
    /// active. Returns true when it was created.
    @discardableResult
    public func ensureTable() async throws -> Bool {
        do {
            _ = try await client.describeTable(name: tableName)
            return false
        } catch let e as AWSServiceError where e == .resourceNotFound {
            _ = try await client.createTable(
                name: tableName, partitionKey: DynamoDBKeyAttribute(name: "orderId", type: "S"))
            try await client.waitUntilActive(name: tableName)
            return true
        }
    }

    /// What ``sync(from:progress:)`` did; encoded as the commands' `"dynamodb"` member:
    /// `{"table":S,"created":B,"written":N,"stale":N}`.
    public struct SyncResult: Sendable, Equatable, Encodable {
        public var tableName: String
        public var created: Bool
        public var written = 0
        /// Orders the table already held in a newer version (left as they are).
        public var stale = 0

        public init(tableName: String, created: Bool, written: Int = 0, stale: Int = 0) {
            self.tableName = tableName
            self.created = created
            self.written = written
            self.stale = stale
        }

        enum CodingKeys: String, CodingKey {
            case tableName = "table"
            case created, written, stale
        }
    }

    /// Writes every order of a local projection into the table with the conditional PutItem, creating the
    /// table if needed: how `replay --target dynamodb` fills a shadow table and `reproject --target dynamodb`
    /// rebuilds `Orders`. Idempotent; an interrupted sync is finished by running it again.
    public func sync(from projection: some ReplayProjection, progress: (Int) -> Void = { _ in }) async throws -> SyncResult {
        var result = SyncResult(tableName: tableName, created: try await ensureTable())
        for order in try projection.orders() {
            switch try await put(order.item) {
            case .written: result.written += 1
            case .stale: result.stale += 1
            }
            progress(result.written + result.stale)
        }
        return result
    }
}
