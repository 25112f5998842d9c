import Foundation
import Logging

/// Amazon DynamoDB over AWS JSON 1.0 (`X-Amz-Target: DynamoDB_20120810.<Operation>`), per the
/// [low-level API](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html)
/// and the [DynamoDB API Reference](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/Welcome.html).
///
/// Every method throws ``AWSServiceError`` (e.g. `ResourceNotFoundException`, `ValidationException`,
/// `ConditionalCheckFailedException` — see ``AWSServiceError/isConditionalCheckFailed`` and
/// ``AWSServiceError/conditionCheckFailedItem``), ``AWSTransportError`` or ``AWSResponseDecodingError``.
public struct DynamoDBClient: Sendable {
    public static let targetPrefix = "DynamoDB_20120810"
    public let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    /// A client from a resolved configuration (endpoint: `AWS_ENDPOINT_URL_DYNAMODB` etc.).
    public init(
        configuration: AWSConfiguration, transport: any HTTPTransport = CurlTransport.shared,
        retryPolicy: RetryPolicy = .standard, logger: Logger = Logger(label: "ordlog.aws.dynamodb")
    ) {
        self.client = AWSClient(
            service: .dynamodb, configuration: configuration, transport: transport,
            retryPolicy: retryPolicy, logger: logger)
    }

    private func call<I: Encodable, O: Decodable>(_ operation: String, _ input: I, _ output: O.Type = O.self)
        async throws -> O
    {
        try await client.jsonCall(
            targetPrefix: Self.targetPrefix, operation: operation, input: input,
            output: output
        ).0
    }

    // MARK: Tables

    /// [CreateTable](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html)
    /// with on-demand billing (`PAY_PER_REQUEST`).
    ///
    /// - Parameters:
    ///   - partitionKey: name and type (`S`, `N` or `B`) of the HASH key.
    ///   - sortKey: optional RANGE key.
    /// - Returns: the table description (status `CREATING` on AWS, `ACTIVE` at once on moto).
    public func createTable(
        name: String, partitionKey: DynamoDBKeyAttribute,
        sortKey: DynamoDBKeyAttribute? = nil
    ) async throws -> DynamoDBTableDescription {
        struct KeySchema: Encodable {
            var AttributeName: String
            var KeyType: String
        }
        struct AttributeDefinition: Encodable {
            var AttributeName: String
            var AttributeType: String
        }
        struct Input: Encodable {
            var TableName: String
            var KeySchema: [KeySchema]
            var AttributeDefinitions: [AttributeDefinition]
            var BillingMode: String
        }
        struct Output: Decodable { var TableDescription: DynamoDBTableDescription }
        var keys = [KeySchema(AttributeName: partitionKey.name, KeyType: "HASH")]
        var definitions = [AttributeDefinition(AttributeName: partitionKey.name, AttributeType: partitionKey.type)]
        if let sortKey {
            keys.append(KeySchema(AttributeName: sortKey.name, KeyType: "RANGE"))
            definitions.append(AttributeDefinition(AttributeName: sortKey.name, AttributeType: sortKey.type))
        }
        let input = Input(
            TableName: name, KeySchema: keys, AttributeDefinitions: definitions,
            BillingMode: "PAY_PER_REQUEST")
        return try await call("CreateTable", input, Output.self).TableDescription
    }

    /// [DescribeTable](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeTable.html).
    public func describeTable(name: String) async throws -> DynamoDBTableDescription {
        struct Input: Encodable { var TableName: String }
        struct Output: Decodable { var Table: DynamoDBTableDescription }
        return try await call("DescribeTable", Input(TableName: name), Output.self).Table
    }

    /// Polls ``describeTable(name:)`` until the status is `ACTIVE`.
    ///
    /// - Parameters:
    ///   - timeout: seconds before giving up (throws ``AWSResponseDecodingError`` naming the last status).
    ///   - interval: seconds between polls.
    public func waitUntilActive(name: String, timeout: Double = 120, interval: Double = 1) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var status = ""
        while Date() < deadline {
            status = try await describeTable(name: name).tableStatus
            if status == "ACTIVE" { return }
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
        }
        throw AWSResponseDecodingError(
            service: "DynamoDB", operation: "DescribeTable",
            reason: "table \(name) not ACTIVE after \(timeout) s", bodyExcerpt: status)
    }

    /// [DeleteTable](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html).
    public func deleteTable(name: String) async throws {
        struct Input: Encodable { var TableName: String }
        struct Output: Decodable {}
        _ = try await call("DeleteTable", Input(TableName: name), Output.self)
    }

    // MARK: Items

    /// [PutItem](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).
    ///
    /// - Parameters:
    ///   - conditionExpression: e.g. `attribute_not_exists(orderId)`.
    ///   - expressionAttributeNames: `#name` → attribute name.
    ///   - expressionAttributeValues: `:value` → value.
    ///   - returnOldItemOnConditionFailure: sends `ReturnValuesOnConditionCheckFailure=ALL_OLD`.
    /// - Throws: ``AWSServiceError`` with ``AWSServiceError/isConditionalCheckFailed`` when the condition
    ///   does not hold; ``AWSServiceError/conditionCheckFailedItem`` then holds the existing item if returned.
    public func putItem(
        tableName: String, item: DynamoDBItem, conditionExpression: String? = nil,
        expressionAttributeNames: [String: String]? = nil,
        expressionAttributeValues: DynamoDBItem? = nil,
        returnOldItemOnConditionFailure: Bool = false
    ) async throws {
        struct Input: Encodable {
            var TableName: String
            var Item: DynamoDBItem
            var ConditionExpression: String?
            var ExpressionAttributeNames: [String: String]?
            var ExpressionAttributeValues: DynamoDBItem?
            var ReturnValuesOnConditionCheckFailure: String?
        }
        struct Output: Decodable {}
        let returnValues = returnOldItemOnConditionFailure ? "ALL_OLD" : nil
        if let body = PutItemBody.encode(
            tableName: tableName, item: item, conditionExpression: conditionExpression,
            expressionAttributeNames: expressionAttributeNames,
            expressionAttributeValues: expressionAttributeValues,
            returnValuesOnConditionCheckFailure: returnValues)
        {
            let response = try await client.jsonCall(
                targetPrefix: Self.targetPrefix, operation: "PutItem", body: body)
            do {
                _ = try JSONDecoder().decode(Output.self, from: response.body.isEmpty ? Data("{}".utf8) : response.body)
            } catch {
                throw AWSResponseDecodingError(
                    service: client.service.displayName, operation: "PutItem", reason: "\(error)",
                    bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
            }
            return
        }
        let input = Input(
            TableName: tableName, Item: item, ConditionExpression: conditionExpression,
            ExpressionAttributeNames: expressionAttributeNames,
            ExpressionAttributeValues: expressionAttributeValues,
            ReturnValuesOnConditionCheckFailure: returnValues)
        _ = try await call("PutItem", input, Output.self)
    }

    /// [GetItem](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html).
    ///
    /// - Returns: the item, or `nil` if there is none with that key.
    public func getItem(tableName: String, key: DynamoDBItem, consistentRead: Bool = false) async throws
        -> DynamoDBItem?
    {
        struct Input: Encodable {
            var TableName: String
            var Key: DynamoDBItem
            var ConsistentRead: Bool
        }
        struct Output: Decodable { var Item: DynamoDBItem? }
        return try await call(
            "GetItem", Input(TableName: tableName, Key: key, ConsistentRead: consistentRead),
            Output.self
        ).Item
    }

    /// [Scan](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html), following
    /// `LastEvaluatedKey` until the table is exhausted.
    ///
    /// - Parameter pageLimit: `Limit` per request (items evaluated per page), `nil` = service default (1 MB).
    /// - Returns: all items, in the order the pages returned them.
    public func scanAll(tableName: String, consistentRead: Bool = false, pageLimit: Int? = nil) async throws
        -> [DynamoDBItem]
    {
        struct Input: Encodable {
            var TableName: String
            var ConsistentRead: Bool
            var Limit: Int?
            var ExclusiveStartKey: DynamoDBItem?
        }
        struct Output: Decodable {
            var Items: [DynamoDBItem]?
            var LastEvaluatedKey: DynamoDBItem?
        }
        var items: [DynamoDBItem] = []
        var startKey: DynamoDBItem?
        repeat {
            let page = try await call(
                "Scan",
                Input(
                    TableName: tableName, ConsistentRead: consistentRead,
                    Limit: pageLimit, ExclusiveStartKey: startKey), Output.self)
            items += page.Items ?? []
            startKey = page.LastEvaluatedKey.flatMap { $0.isEmpty ? nil : $0 }
        } while startKey != nil
        return items
    }
}

/// A key attribute for ``DynamoDBClient/createTable(name:partitionKey:sortKey:)``.
public struct DynamoDBKeyAttribute: Sendable, Equatable {
    public var name: String
    /// `S`, `N` or `B`.
    public var type: String
    public init(name: String, type: String = "S") {
        self.name = name
        self.type = type
    }
}

/// The parts of a TableDescription this layer uses.
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TableDescription.html>)
public struct DynamoDBTableDescription: Decodable, Sendable, Equatable {
    public var tableName: String
    /// `CREATING`, `ACTIVE`, `DELETING`, `UPDATING`, …
    public var tableStatus: String
    public var tableArn: String?
    public var itemCount: Int?

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName"
        case tableStatus = "TableStatus"
        case tableArn = "TableArn"
        case itemCount = "ItemCount"
    }
}

extension AWSServiceError {
    /// On a DynamoDB `ConditionalCheckFailedException` with `ReturnValuesOnConditionCheckFailure=ALL_OLD`:
    /// the existing item (the error body's `Item`), else `nil`.
    public var conditionCheckFailedItem: DynamoDBItem? {
        struct Body: Decodable { var Item: DynamoDBItem? }
        guard isConditionalCheckFailed else { return nil }
        return (try? JSONDecoder().decode(Body.self, from: body))?.Item
    }
}

/// The PutItem request body written directly, byte for byte what ``AWSClient/jsonEncoder()`` makes of the same
/// input (sorted keys, `/` unescaped), without Foundation's `JSONEncoder` (3–4% of consume's CPU went to it).
/// Covers what the projection sends — `S`, `N`, `BOOL` and `NULL` values, printable ASCII keys, strings without
/// control characters; for anything else it returns nil and the caller encodes with `JSONEncoder`, so the bytes
/// never differ.
enum PutItemBody {
    static func encode(
        tableName: String, item: DynamoDBItem, conditionExpression: String?,
        expressionAttributeNames: [String: String]?, expressionAttributeValues: DynamoDBItem?,
        returnValuesOnConditionCheckFailure: String?
    ) -> Data? {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ k: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: k.utf8)
            out.append(contentsOf: "\":".utf8)
        }
        if let conditionExpression {
            key("ConditionExpression")
            guard string(conditionExpression, into: &out) else { return nil }
        }
        if let expressionAttributeNames {
            key("ExpressionAttributeNames")
            guard let keys = sortedKeys(expressionAttributeNames.keys) else { return nil }
            out.append(UInt8(ascii: "{"))
            for (i, k) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard string(k, into: &out) else { return nil }
                out.append(UInt8(ascii: ":"))
                guard string(expressionAttributeNames[k]!, into: &out) else { return nil }
            }
            out.append(UInt8(ascii: "}"))
        }
        if let expressionAttributeValues {
            key("ExpressionAttributeValues")
            guard itemJSON(expressionAttributeValues, into: &out) else { return nil }
        }
        key("Item")
        guard itemJSON(item, into: &out) else { return nil }
        if let returnValuesOnConditionCheckFailure {
            key("ReturnValuesOnConditionCheckFailure")
            guard string(returnValuesOnConditionCheckFailure, into: &out) else { return nil }
        }
        key("TableName")
        guard string(tableName, into: &out) else { return nil }
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    /// Keys in `JSONEncoder`'s `.sortedKeys` order when that order is plain: all keys printable ASCII, sorted by
    /// their bytes (what Foundation on Linux does for them: `Beta` < `Zeta` < `alpha`); nil otherwise.
    static func sortedKeys<C: Collection>(_ keys: C) -> [String]? where C.Element == String {
        for k in keys {
            for b in k.utf8 where b < 0x20 || b > 0x7E { return nil }
        }
        return keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func itemJSON(_ item: DynamoDBItem, into out: inout [UInt8]) -> Bool {
        guard let keys = sortedKeys(item.keys) else { return false }
        out.append(UInt8(ascii: "{"))
        for (i, k) in keys.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            guard string(k, into: &out) else { return false }
            out.append(UInt8(ascii: ":"))
            switch item[k]! {
            case .s(let v):
                out.append(contentsOf: "{\"S\":".utf8)
                guard string(v, into: &out) else { return false }
            case .n(let v):
                out.append(contentsOf: "{\"N\":".utf8)
                guard string(v, into: &out) else { return false }
            case .bool(let v):
                out.append(contentsOf: (v ? "{\"BOOL\":true" : "{\"BOOL\":false").utf8)
            case .null:
                out.append(contentsOf: "{\"NULL\":true".utf8)
            default:
                return false
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        return true
    }

    /// A JSON string literal as `JSONEncoder` writes it (`"` and `\` escaped, `/` and non-ASCII as is, which is
    /// ``JSONWriter/writeString(_:into:escapingLineSeparators:)`` for text without control characters); false for
    /// a control character (left to `JSONEncoder`).
    static func string(_ s: String, into out: inout [UInt8]) -> Bool {
        if s.utf8.contains(where: { $0 < 0x20 }) { return false }
        JSONWriter.writeString(s, into: &out)
        return true
    }
}
