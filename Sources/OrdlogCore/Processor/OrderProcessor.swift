/// The validation rules and redrive policy the processor applies. All defaults follow the seed pipeline.
///
/// Changing a rule changes decisions; `ordlog replay --verdict` shows exactly which.
public struct ValidationRules: Sendable, Equatable {
    /// The redrive policy's maxReceiveCount: a message whose receive number `maxReceiveCount` fails is
    /// dead-lettered. Default 3, as the seed's `OrderQueue`.
    public var maxReceiveCount: Int64 = 3
    /// The smallest accepted `quantity`. Default 1.
    public var minimumQuantity: Int64 = 1
    /// The largest accepted `quantity`. Default 2^53−1, the largest integer every JSON reader (JavaScript,
    /// DynamoDB document clients) keeps exactly.
    public var maximumQuantity: Int64 = 9_007_199_254_740_991
    /// Accept `quantity` written as a number with a zero fraction or an exponent (`2.0`, `2e0`). Default false.
    public var acceptIntegralDecimals = false
    /// Accept `quantity` sent as a string of digits (`"2"`). Default false.
    public var acceptNumericStrings = false

    public init() {}

    /// A short text naming the rules when they differ from the defaults, appended to the processor version.
    var summary: String {
        var parts: [String] = []
        let d = ValidationRules()
        if maxReceiveCount != d.maxReceiveCount { parts.append("maxReceiveCount=\(maxReceiveCount)") }
        if minimumQuantity != d.minimumQuantity { parts.append("minQuantity=\(minimumQuantity)") }
        if maximumQuantity != d.maximumQuantity { parts.append("maxQuantity=\(maximumQuantity)") }
        if acceptIntegralDecimals { parts.append("acceptIntegralDecimals") }
        if acceptNumericStrings { parts.append("acceptNumericStrings") }
        return parts.joined(separator: ",")
    }
}

/// The current version of an order in a projection: what a new event is compared with.
public struct OrderVersion: Sendable, Equatable {
    /// The order's timestamp as an instant, ns since the epoch.
    public var timestampNs: Int64
    /// Log sequence of the receive that wrote it (breaks timestamp ties: the later receive wins).
    public var seq: Int64
    public init(timestampNs: Int64, seq: Int64) {
        self.timestampNs = timestampNs
        self.seq = seq
    }
}

/// Which idempotency key: the SQS MessageId or the SNS MessageId from the envelope.
public enum IdempotencyKind: String, Sendable {
    case sqs
    case sns
}

/// The state the processor reads: what a projection already holds. Reads may throw (a failed read is a
/// transient error).
public protocol ProcessorState {
    /// The log sequence at which this idempotency key was applied, or nil.
    func appliedSeq(kind: IdempotencyKind, id: String) throws -> Int64?
    /// The stored version of the order with this id (compared byte for byte), or nil.
    func currentVersion(orderId: String) throws -> OrderVersion?
}

/// The order processor: a pure, deterministic function from a logged receive and projection state to a
/// ``Decision``.
///
/// It reads no clock, randomness, environment or locale. Steps, in order:
/// 1. Input that was not an SQS message → `rejected` (`input.not_sqs_message`).
/// 2. The body must be JSON (`body.not_json`) and an object (`body.not_object`).
/// 3. **Envelope or raw.** The body is an SNS envelope if and only if it is an object whose `Type` member is
///    the string `"Notification"` and whose `TopicArn` member is a string starting `arn:`
///    (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>). Then `Message` must be
///    a string (`envelope.message_not_string`) holding the order as JSON (`order.not_json`), and the
///    envelope's `MessageId` is the SNS idempotency key. Any other object is the order itself, as delivered
///    under raw message delivery — so an order that merely has a field named `Message` is an order.
/// 4. **Validation** (`order.field_missing`, `order.field_invalid`, naming the field and value):
///    `orderId` a non-empty string; `userId`, `itemName`, `status` strings; `quantity` a JSON integer
///    literal within ``ValidationRules/minimumQuantity`` … ``ValidationRules/maximumQuantity`` — `2.0`,
///    `"2"`, `-1`, `0` and 2^53+1 are rejected under the default rules; `timestamp` an RFC 3339 instant.
/// 5. **Idempotency.** An SQS MessageId or SNS MessageId already applied → `duplicate`.
/// 6. **Ordering.** If the projection holds a version with a later (timestamp, log sequence) → `stale`.
/// 7. Otherwise `projected`, with the item to write.
///
/// A `rejected` or `failed` decision on receive number ≥ maxReceiveCount is marked dead-lettered.
public struct OrderProcessor: Sendable {
    /// The processor's version, recorded with every attempt. Bump when decisions change.
    public static let baseVersion = "ordlog-processor/1"

    public var rules: ValidationRules {
        didSet { version = Self.version(for: rules) }
    }

    public init(rules: ValidationRules = ValidationRules()) {
        self.rules = rules
        self.version = Self.version(for: rules)
    }

    /// ``baseVersion`` plus any non-default rules, e.g. `ordlog-processor/1 (acceptNumericStrings)`.
    public private(set) var version: String

    static func version(for rules: ValidationRules) -> String {
        let summary = rules.summary
        return summary.isEmpty ? Self.baseVersion : "\(Self.baseVersion) (\(summary))"
    }

    /// Decides what to do with one logged receive, given the projection's state.
    public func decide(_ receive: LoggedReceive, state: some ProcessorState) -> Decision {
        var decision = decideUnmarked(receive, state: state)
        if isDeadLettered(decision.outcome, receive: receive) { decision.deadLettered = true }
        return decision
    }

    private func reject(
        _ code: String, field: String? = nil, _ message: String, orderId: String? = nil,
        sns: String? = nil
    ) -> Decision {
        Decision(
            outcome: .rejected, errorKind: .permanent, errorCode: code, errorField: field, errorMessage: message,
            orderId: orderId, snsMessageId: sns)
    }

    private func decideUnmarked(_ receive: LoggedReceive, state: some ProcessorState) -> Decision {
        if let inputError = receive.inputError {
            return reject("input.not_sqs_message", inputError)
        }
        let parsed = parse(body: receive.body)
        let order: JSONObject
        let snsMessageId: String?
        switch parsed {
        case .failure(let rejection): return rejection
        case .success(let (o, sns)):
            order = o
            snsMessageId = sns
        }
        let item: OrderItem
        let timestampNs: Int64
        switch validate(order) {
        case .failure(var rejection):
            rejection.snsMessageId = snsMessageId
            return rejection
        case .success(let (i, ts)):
            item = i
            timestampNs = ts
        }
        do {
            if let messageId = receive.messageId, let seq = try state.appliedSeq(kind: .sqs, id: messageId) {
                return Decision(
                    outcome: .duplicate, orderId: item.orderId, snsMessageId: snsMessageId, item: item,
                    note: "SQS MessageId \(messageId) already applied at log seq \(seq)")
            }
            if let snsMessageId, let seq = try state.appliedSeq(kind: .sns, id: snsMessageId) {
                return Decision(
                    outcome: .duplicate, orderId: item.orderId, snsMessageId: snsMessageId, item: item,
                    note: "SNS MessageId \(snsMessageId) already applied at log seq \(seq)")
            }
            if let current = try state.currentVersion(orderId: item.orderId),
                (current.timestampNs, current.seq) > (timestampNs, receive.seq)
            {
                return Decision(
                    outcome: .stale, orderId: item.orderId, snsMessageId: snsMessageId, item: item,
                    note: "projection holds a newer version (log seq \(current.seq))")
            }
        } catch {
            return Decision(
                outcome: .failed, errorKind: .transient, errorCode: "projection.read_failed",
                errorMessage: "reading projection state failed: \(error)", orderId: item.orderId,
                snsMessageId: snsMessageId, item: item)
        }
        return Decision(outcome: .projected, orderId: item.orderId, snsMessageId: snsMessageId, item: item)
    }

    /// The envelope rule, in one place: a body object is an SNS envelope if and only if its `Type` is the string
    /// `"Notification"` and its `TopicArn` is a string starting `arn:`. Returns that topic ARN, or nil for a
    /// body delivered with raw message delivery (the order itself).
    public static func envelopeTopicArn(_ object: JSONObject) -> String? {
        guard case .string("Notification")? = object["Type"], case .string(let arn)? = object["TopicArn"],
            arn.hasPrefix("arn:")
        else { return nil }
        return arn
    }

    /// The order fields the processor reads.
    static let orderKeys = JSONKeySet(["orderId", "userId", "itemName", "quantity", "status", "timestamp"])
    /// The envelope fields it reads, and the order fields (a raw-delivery body is the order itself).
    static let bodyKeys = orderKeys.union(["Type", "TopicArn", "MessageId", "Message"])

    /// Parses `bytes` as an object keeping only `keep` (other members are checked, not built), or says why not.
    private func object(_ bytes: [UInt8], keep: JSONKeySet) -> Checked<JSONObject, (JSONParseError?, String)> {
        do {
            if let o = try JSONParser.parseObject(bytes, keep: keep) { return .success(o) }
            let type = (try? JSONParser.parse(bytes))?.typeName ?? "value"
            return .failure((nil, type))
        } catch {
            return .failure((error, ""))
        }
    }

    /// Unwraps the body: the order object and, for an SNS envelope, the SNS MessageId.
    func parse(body: [UInt8]) -> Checked<(JSONObject, String?), Decision> {
        let object: JSONObject
        switch self.object(body, keep: Self.bodyKeys) {
        case .success(let o): object = o
        case .failure((let error?, _)):
            return .failure(reject("body.not_json", "body is not JSON: \(error) (\(body.count) bytes)"))
        case .failure((nil, let type)):
            return .failure(reject("body.not_object", "body is a JSON \(type), expected an object"))
        }
        guard Self.envelopeTopicArn(object) != nil else {
            return .success((object, nil))  // raw message delivery: the body is the order
        }
        let sns = object["MessageId"]?.stringValue
        guard case .string(let message)? = object["Message"] else {
            let what = object["Message"].map { "a JSON \($0.typeName)" } ?? "missing"
            return .failure(
                reject(
                    "envelope.message_not_string", field: "Message",
                    "SNS envelope field Message is \(what), expected a string", sns: sns))
        }
        switch self.object(Array(message.utf8), keep: Self.orderKeys) {
        case .success(let order): return .success((order, sns))
        case .failure((let error?, _)):
            return .failure(
                reject(
                    "order.not_json", field: "Message",
                    "SNS Message is not JSON: \(error): \(preview(message))", sns: sns))
        case .failure((nil, let type)):
            return .failure(
                reject(
                    "order.not_object", field: "Message",
                    "SNS Message is a JSON \(type), expected an object", sns: sns))
        }
    }

    /// Validates the order fields; returns the item and its timestamp in ns.
    func validate(_ order: JSONObject) -> Checked<(OrderItem, Int64), Decision> {
        var orderId: String?
        if case .string(let id)? = order["orderId"], !id.isEmpty { orderId = id }
        func missing(_ field: String) -> Decision {
            reject("order.field_missing", field: field, "order field \(field) is missing", orderId: orderId)
        }
        func invalid(_ field: String, _ value: JSONValue, _ expected: String) -> Decision {
            reject(
                "order.field_invalid", field: field,
                "order field \(field) is \(render(value)), expected \(expected)", orderId: orderId)
        }
        func string(_ field: String) -> Checked<String, Decision> {
            guard let v = order[field] else { return .failure(missing(field)) }
            guard case .string(let s) = v else { return .failure(invalid(field, v, "a string")) }
            return .success(s)
        }
        guard let idValue = order["orderId"] else { return .failure(missing("orderId")) }
        guard case .string(let id) = idValue, !id.isEmpty else {
            return .failure(invalid("orderId", idValue, "a non-empty string"))
        }
        let userId: String
        let itemName: String
        let status: String
        let timestamp: String
        switch string("userId") {
        case .success(let s): userId = s
        case .failure(let d): return .failure(d)
        }
        switch string("itemName") {
        case .success(let s): itemName = s
        case .failure(let d): return .failure(d)
        }
        guard let qValue = order["quantity"] else { return .failure(missing("quantity")) }
        let quantity: Int64
        switch self.quantity(qValue) {
        case .success(let q): quantity = q
        case .failure(let expected): return .failure(invalid("quantity", qValue, expected))
        }
        switch string("status") {
        case .success(let s): status = s
        case .failure(let d): return .failure(d)
        }
        switch string("timestamp") {
        case .success(let s): timestamp = s
        case .failure(let d): return .failure(d)
        }
        guard let ns = RFC3339.nanoseconds(timestamp) else {
            return .failure(
                invalid("timestamp", .string(timestamp), "an RFC 3339 date-time such as 2025-01-15T10:30:00.000Z"))
        }
        return .success(
            (
                OrderItem(
                    orderId: id, userId: userId, itemName: itemName, quantity: quantity, status: status,
                    timestamp: timestamp), ns
            ))
    }

    private func quantity(_ value: JSONValue) -> Checked<Int64, String> {
        let range = "\(rules.minimumQuantity)…\(rules.maximumQuantity)"
        let expected = "an integer \(range)"
        let literal: String
        switch value {
        case .number(let n): literal = n
        case .string(let s)
        where rules.acceptNumericStrings && !s.isEmpty && s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }):
            literal = s
        default: return .failure(expected)
        }
        let parsed: Int64?
        if let exact = Int64(literal) {
            parsed = exact
        } else if rules.acceptIntegralDecimals, let d = Double(literal), d == d.rounded(),
            abs(d) <= 9_007_199_254_740_991
        {
            parsed = Int64(d)
        } else if literal.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }) {
            return .failure("\(expected) (out of range)")
        } else {
            return .failure("\(expected) (a JSON integer literal without fraction or exponent)")
        }
        guard let q = parsed, q >= rules.minimumQuantity, q <= rules.maximumQuantity else {
            return .failure("\(expected) (out of range)")
        }
        return .success(q)
    }

    private func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return "the string \(preview(JSONWriter.string(.string(s))))"
        case .number(let n): return "the number \(preview(n))"
        case .null: return "null"
        case .bool(let b): return "the boolean \(b)"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    private func preview(_ s: String) -> String {
        s.count <= 120 ? s : String(s.prefix(117)) + "…"
    }
}

/// Success or failure where the failure is a value, not an `Error` (a rejection decision, a reason).
enum Checked<Success, Failure> {
    case success(Success)
    case failure(Failure)
}
