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
    /// Accept only integer literals as `quantity`: reject `3.0`, `1e2` and `300e-2` although their value is a
    /// whole number. Default false: a number is judged by its exact value (computed from the literal's digits and
    /// exponent, never through `Double`), so `3.0` is 3 and is stored as `3`, as DynamoDB stores `N "3.0"`.
    public var integerLiteralsOnly = false
    /// The opposite of ``integerLiteralsOnly``, the name of this switch before processor version 2, when
    /// integer literals only was the default.
    @available(*, deprecated, renamed: "integerLiteralsOnly", message: "integral decimals are accepted by default")
    public var acceptIntegralDecimals: Bool {
        get { !integerLiteralsOnly }
        set { integerLiteralsOnly = !newValue }
    }
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
        if integerLiteralsOnly { parts.append("integerLiteralsOnly") }
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

    /// The ordering rule, in one place: this version is newer than `other` when its (timestamp, log sequence) is
    /// later — the later instant wins, and at the same instant the later receive.
    public func isNewer(than other: OrderVersion) -> Bool {
        (timestampNs, seq) > (other.timestampNs, other.seq)
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

/// What a receive's body says on its own, before any projection state is read: the result of
/// ``OrderProcessor/interpret(body:inputError:)``, the state-free half of ``OrderProcessor/decide(_:state:)``.
public enum Interpretation: Sendable, Equatable {
    /// Rejected by its bytes alone (not an SQS message, not JSON, not an order, an invalid field): the
    /// rejection, not yet marked dead-lettered (that depends on the receive count).
    case rejected(Decision)
    /// A valid order: the item to write, its `timestamp` as ns since the Unix epoch, and the SNS MessageId when
    /// the body was an SNS envelope (nil under raw message delivery).
    case order(OrderItem, timestampNs: Int64, snsMessageId: String?)
}

/// The order processor: a pure, deterministic function from a logged receive and projection state to a
/// ``Decision``.
///
/// It reads no clock, randomness, environment or locale. Steps, in order:
/// 1. Input that was not an SQS message → `rejected`: `record.unpaired_surrogate` or `record.invalid_utf8` when
///    the SQS record (a JSON Lines entry, a ReceiveMessage response) held a string that cannot be represented,
///    with the record's field (`Body`) in ``Decision/errorField`` and the byte offset in the message (offset into
///    the record as read, which is this receive's body); `input.not_sqs_message` otherwise.
/// 2. The body must be UTF-8 (`body.invalid_utf8`, naming the first bad byte's offset in the body), JSON
///    (`body.not_json`) and an object (`body.not_object`).
/// 3. **Envelope or raw.** The body is an SNS envelope if and only if it is an object whose `Type` member is
///    the string `"Notification"` and whose `TopicArn` member is a string starting `arn:`
///    (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>). Then `Message` must be
///    a string (`envelope.message_not_string`) holding the order as JSON (`order.not_json`), and the
///    envelope's `MessageId` is the SNS idempotency key. Any other object is the order itself, as delivered
///    under raw message delivery — so an order that merely has a field named `Message` is an order.
///    An envelope field the processor reads (`Message`, `MessageId`) holding an unpaired surrogate escape →
///    `envelope.unpaired_surrogate` (offset into the body). Fields it does not read (`Subject`, …) are never
///    decoded: they stay as bytes in the log and are not an error.
/// 4. **Validation** (`order.field_missing`, `order.field_invalid`, naming the field and value):
///    `orderId` a non-empty string; `userId`, `itemName`, `status` strings; `quantity` a JSON number whose exact
///    value is a whole number within ``ValidationRules/minimumQuantity`` … ``ValidationRules/maximumQuantity``
///    (`3.0`, `1e2` are accepted as 3 and 100; `2.5`, `"2"`, `-1`, `0` and 2^53+1 are rejected under the default
///    rules); `timestamp` an RFC 3339 instant. A field read here holding an unpaired surrogate escape →
///    `order.unpaired_surrogate` (offset into the body, or into the SNS Message text inside an envelope).
/// 5. **Idempotency.** An SQS MessageId or SNS MessageId already applied → `duplicate`.
/// 6. **Ordering.** If the projection holds a version with a later (timestamp, log sequence) → `stale`.
/// 7. Otherwise `projected`, with the item to write.
///
/// A `rejected` or `failed` decision on receive number ≥ maxReceiveCount is marked dead-lettered.
public struct OrderProcessor: Sendable {
    /// The processor's version, recorded with every attempt. Bump when decisions change.
    ///
    /// Version 2: `quantity` is judged by its exact value (`3.0`, `1e2` are 3 and 100; was: integer literals
    /// only), and a string that cannot be represented (an unpaired surrogate escape, invalid UTF-8) is rejected
    /// (was: decoded to U+FFFD and projected).
    public static let baseVersion = "ordlog-processor/2"

    public var rules: ValidationRules {
        didSet { version = Self.version(for: rules) }
    }

    public init(rules: ValidationRules = ValidationRules()) {
        self.rules = rules
        self.version = Self.version(for: rules)
    }

    /// ``baseVersion`` plus any non-default rules, e.g. `ordlog-processor/2 (acceptNumericStrings)`.
    public private(set) var version: String

    static func version(for rules: ValidationRules) -> String {
        let summary = rules.summary
        return summary.isEmpty ? Self.baseVersion : "\(Self.baseVersion) (\(summary))"
    }

    /// Decides what to do with one logged receive, given the projection's state: ``interpret(body:inputError:)``
    /// then ``decide(_:receive:state:)``.
    public func decide(_ receive: LoggedReceive, state: some ProcessorState) -> Decision {
        decide(interpret(body: receive.body, inputError: receive.inputError), receive: receive, state: state)
    }

    /// The state-reading half of ``decide(_:state:)`` (steps 5–7 and dead-lettering): given what the receive
    /// says (its ``Interpretation``, computed from the same receive), the idempotency and ordering checks against
    /// `state`. The state-free half, ``interpret(body:inputError:)``, may run on another thread, ahead of it.
    public func decide(_ interpretation: Interpretation, receive: LoggedReceive, state: some ProcessorState) -> Decision {
        var decision: Decision
        switch interpretation {
        case .rejected(let rejection): decision = rejection
        case .order(let item, let timestampNs, let snsMessageId):
            decision = checkState(
                item: item, timestampNs: timestampNs, snsMessageId: snsMessageId, receive: receive, state: state)
        }
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

    /// The state-free half of ``decide(_:state:)`` (steps 1–4): what a receive's body says, read from its bytes
    /// alone. Pure, and safe to call from any thread.
    /// - Parameters:
    ///   - body: the receive's body as logged (``LoggedReceive/body``).
    ///   - inputError: ``LoggedReceive/inputError``: set when the input was not an SQS message.
    public func interpret(body: [UInt8], inputError: String?) -> Interpretation {
        if let inputError {
            if let (kind, field) = Self.unrepresentableRecord(body) {
                let code = kind == .unpairedSurrogate ? "record.unpaired_surrogate" : "record.invalid_utf8"
                return .rejected(reject(code, field: field, inputError))
            }
            return .rejected(reject("input.not_sqs_message", inputError))
        }
        let order: JSONObject
        let snsMessageId: String?
        let offsetsIn: String
        switch parse(body: body) {
        case .failure(let rejection): return .rejected(rejection)
        case .success(let (o, sns, whereOffsets)):
            order = o
            snsMessageId = sns
            offsetsIn = whereOffsets
        }
        switch validate(order, offsetsIn: offsetsIn) {
        case .failure(var rejection):
            rejection.snsMessageId = snsMessageId
            return .rejected(rejection)
        case .success(let (item, ns)):
            return .order(item, timestampNs: ns, snsMessageId: snsMessageId)
        }
    }

    /// Steps 5–7: idempotency, then ordering, against `state`.
    private func checkState(
        item: OrderItem, timestampNs: Int64, snsMessageId: String?, receive: LoggedReceive,
        state: some ProcessorState
    ) -> Decision {
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
                current.isNewer(than: OrderVersion(timestampNs: timestampNs, seq: receive.seq))
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

    /// Why an input-error entry (the record's raw bytes) could not be read, when it is a string that cannot be
    /// represented rather than malformed JSON: the kind, and the record field holding it.
    static func unrepresentableRecord(_ bytes: [UInt8]) -> (JSONParseError.Kind, String?)? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            if error.kind != .syntax { return (error.kind, error.field) }
            if let bad = JSONParser.firstInvalidUTF8(bytes), bad <= error.offset { return (.invalidUTF8, nil) }
            return nil
        }
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

    /// ``object(_:keep:)`` over the UTF-8 bytes of `text`, read in place (the SNS Message is not copied).
    private func object(_ text: String, keep: JSONKeySet) -> Checked<JSONObject, (JSONParseError?, String)> {
        do {
            if let o = try JSONParser.parseObject(text, keep: keep) { return .success(o) }
            let type = (try? JSONParser.parse(text))?.typeName ?? "value"
            return .failure((nil, type))
        } catch {
            return .failure((error, ""))
        }
    }

    /// Unwraps the body: the order object and, for an SNS envelope, the SNS MessageId.
    /// Also returns what the order's byte offsets count into: the body, or the SNS Message text.
    func parse(body: [UInt8]) -> Checked<(JSONObject, String?, String), Decision> {
        let object: JSONObject
        switch self.object(body, keep: Self.bodyKeys) {
        case .success(let o): object = o
        case .failure((let error?, _)):
            if error.kind == .invalidUTF8 || JSONParser.firstInvalidUTF8(body).map({ $0 <= error.offset }) == true {
                let offset = error.kind == .invalidUTF8 ? error.offset : JSONParser.firstInvalidUTF8(body)!
                let inField = error.kind == .invalidUTF8 ? error.field.map { " in field \($0)" } ?? "" : ""
                return .failure(
                    reject(
                        "body.invalid_utf8", field: error.kind == .invalidUTF8 ? error.field : nil,
                        "body is not UTF-8: byte \(offset) of the body (0x\(String(body[offset], radix: 16)))\(inField) "
                            + "does not begin a UTF-8 character (\(body.count) bytes, kept as received)"))
            }
            return .failure(reject("body.not_json", "body is not JSON: \(error) (\(body.count) bytes)"))
        case .failure((nil, let type)):
            return .failure(reject("body.not_object", "body is a JSON \(type), expected an object"))
        }
        guard Self.envelopeTopicArn(object) != nil else {
            return .success((object, nil, "the body"))  // raw message delivery: the body is the order
        }
        for field in ["MessageId", "Message"] {
            if let error = object.unrepresentableError(field) {
                return .failure(
                    reject(
                        "envelope.unpaired_surrogate", field: field,
                        "SNS envelope field \(field) holds an \(error.reason) at byte \(error.offset) of the body"
                            + " (\(error.field ?? field)); it cannot be decoded without altering it"))
            }
        }
        let sns = object["MessageId"]?.stringValue
        guard case .string(let message)? = object["Message"] else {
            let what = object["Message"].map { "a JSON \($0.typeName)" } ?? "missing"
            return .failure(
                reject(
                    "envelope.message_not_string", field: "Message",
                    "SNS envelope field Message is \(what), expected a string", sns: sns))
        }
        switch self.object(message, keep: Self.orderKeys) {
        case .success(let order): return .success((order, sns, Self.inMessage))
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

    static let inMessage = "the SNS Message text (the order JSON, as decoded from the envelope's Message string)"

    /// Validates the order fields; returns the item and its timestamp in ns. `offsetsIn` says what the order's
    /// byte offsets count into (for errors).
    func validate(_ order: JSONObject, offsetsIn: String = "the body") -> Checked<(OrderItem, Int64), Decision> {
        var orderId: String?
        if order.unrepresentableError("orderId") == nil, case .string(let id)? = order["orderId"], !id.isEmpty {
            orderId = id
        }
        for field in ["orderId", "userId", "itemName", "quantity", "status", "timestamp"] {
            if let error = order.unrepresentableError(field) {
                return .failure(
                    reject(
                        "order.unpaired_surrogate", field: field,
                        "order field \(field) holds an \(error.reason) at byte \(error.offset) of \(offsetsIn)"
                            + " (\(error.field ?? field)); it cannot be decoded without altering it",
                        orderId: orderId))
            }
        }
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
        var expected: String { "an integer \(rules.minimumQuantity)…\(rules.maximumQuantity)" }  // built only to reject
        let literal: String
        switch value {
        case .number(let n): literal = n
        case .string(let s)
        where rules.acceptNumericStrings && !s.isEmpty && s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }):
            literal = s
        default: return .failure(expected)
        }
        if rules.integerLiteralsOnly,
            literal.utf8.contains(where: {
                $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
            })
        {
            return .failure("\(expected) (a JSON integer literal without fraction or exponent)")
        }
        switch Self.exactValue(ofLiteral: literal) {
        case .notWhole: return .failure("\(expected) (not a whole number)")
        case .outOfRange: return .failure("\(expected) (out of range)")
        case .whole(let q):
            guard q >= rules.minimumQuantity, q <= rules.maximumQuantity else {
                return .failure("\(expected) (out of range)")
            }
            return .success(q)
        }
    }

    /// The exact value of a JSON number literal, as far as a quantity needs it.
    enum NumberValue: Equatable {
        /// A whole number (`3`, `3.0`, `1e2`, `300e-2`, `-0` is 0).
        case whole(Int64)
        /// Not a whole number (`2.5`, `1e-400`).
        case notWhole
        /// A whole number with more than 18 digits (`1e400`, `99999999999999999999`): beyond every range rule.
        case outOfRange
    }

    /// Computes the value of a literal from the RFC 8259 grammar (`-? int frac? exp?`) exactly, from its digits
    /// and exponent, never through `Double` (`9007199254740993.0` is 9007199254740993, not 2^53). Linear in the
    /// literal's length, whatever its exponent (`1e999999999999` is out of range at once). A literal not in the
    /// grammar (a numeric string is digits only) is ``NumberValue/notWhole``.
    static func exactValue(ofLiteral literal: String) -> NumberValue {
        let b = Array(literal.utf8)
        var i = 0
        let negative = i < b.count && b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        var digits: [UInt8] = []
        while i < b.count, isDigit(b[i]) {
            digits.append(b[i] - 0x30)
            i += 1
        }
        guard !digits.isEmpty else { return .notWhole }
        var exponent = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, isDigit(b[i]) {
                digits.append(b[i] - 0x30)
                i += 1
            }
            guard i > start else { return .notWhole }
            exponent -= i - start
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                expNegative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            let start = i
            var e = 0
            while i < b.count, isDigit(b[i]) {
                if e < 1_000_000_000 { e = e * 10 + Int(b[i] - 0x30) }  // saturates: far beyond any digit count
                i += 1
            }
            guard i > start else { return .notWhole }
            exponent += expNegative ? -e : e
        }
        guard i == b.count else { return .notWhole }
        var lo = 0
        while lo < digits.count, digits[lo] == 0 { lo += 1 }
        var hi = digits.count
        while hi > lo, digits[hi - 1] == 0 {
            hi -= 1
            exponent += 1
        }
        if lo == hi { return .whole(0) }
        if exponent < 0 { return .notWhole }  // the last significant digit is after the point
        if hi - lo + exponent > 18 { return .outOfRange }
        var v: Int64 = 0
        for d in digits[lo..<hi] { v = v * 10 + Int64(d) }
        for _ in 0..<exponent { v *= 10 }
        return .whole(negative ? -v : v)
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
