import Foundation
/// One item of the `Orders` table: the six attributes the original processor wrote.
///
/// Strings are kept exactly as sent (compared as UTF-8 bytes, never Unicode-normalised).
public struct OrderItem: Sendable, Equatable, Codable {
    public var orderId: String
    public var userId: String
    public var itemName: String
    /// A whole number of units, 1 … 2^53−1 by default (see ``ValidationRules``).
    public var quantity: Int64
    public var status: String
    /// The order's RFC 3339 timestamp, as sent.
    public var timestamp: String

    public init(orderId: String, userId: String, itemName: String, quantity: Int64, status: String, timestamp: String) {
        self.orderId = orderId
        self.userId = userId
        self.itemName = itemName
        self.quantity = quantity
        self.status = status
        self.timestamp = timestamp
    }

    public static func == (a: OrderItem, b: OrderItem) -> Bool {
        a.orderId.utf8.elementsEqual(b.orderId.utf8) && a.userId.utf8.elementsEqual(b.userId.utf8)
            && a.itemName.utf8.elementsEqual(b.itemName.utf8) && a.quantity == b.quantity
            && a.status.utf8.elementsEqual(b.status.utf8) && a.timestamp.utf8.elementsEqual(b.timestamp.utf8)
    }

    /// Compact JSON with keys in a fixed order: orderId, userId, itemName, quantity, status, timestamp.
    public var json: String {
        JSONWriter.string(.object(JSONObject(jsonMembers)))
    }

    var jsonMembers: [(key: String, value: JSONValue)] {
        [
            ("orderId", .string(orderId)), ("userId", .string(userId)), ("itemName", .string(itemName)),
            ("quantity", .number(String(quantity))), ("status", .string(status)), ("timestamp", .string(timestamp)),
        ]
    }

    /// Parses the JSON written by ``json``: nil when it is not a JSON object holding the six attributes (the
    /// strings as strings, `quantity` as a whole number that fits an `Int64`).
    public init?(json: String) {
        guard let item = Self.compact(json) ?? Self.parsed(json) else { return nil }
        self = item
    }

    /// ``init(json:)`` through the general JSON parser.
    static func parsed(_ json: String) -> OrderItem? {
        guard let o = try? JSONParser.parse(json).objectValue,
            let orderId = o["orderId"]?.stringValue, let userId = o["userId"]?.stringValue,
            let itemName = o["itemName"]?.stringValue, case .number(let q)? = o["quantity"], let quantity = Int64(q),
            let status = o["status"]?.stringValue, let timestamp = o["timestamp"]?.stringValue
        else { return nil }
        return OrderItem(
            orderId: orderId, userId: userId, itemName: itemName, quantity: quantity, status: status,
            timestamp: timestamp)
    }

    /// The item when `json` is exactly what ``json`` writes for values that need no escape (the keys in its
    /// order, no whitespace, strings without `\` or control characters, `quantity` an integer), read without
    /// building a JSON tree (what re-projecting the log's attempts decodes); nil for any other text, which the
    /// general parser then reads, so both paths give the same item for every input.
    static func compact(_ json: String) -> OrderItem? {
        var json = json
        return json.withUTF8 { b -> OrderItem? in
            guard let base = b.baseAddress else { return nil }
            var p = 0
            func literal(_ s: StaticString) -> Bool {
                let n = s.utf8CodeUnitCount
                guard p + n <= b.count, memcmp(base + p, s.utf8Start, n) == 0 else { return false }
                p += n
                return true
            }
            // After an opening quote: the string up to the closing one, which is consumed.
            func string() -> String? {
                let start = p
                while p < b.count {
                    let c = b[p]
                    if c == 0x22 { break }
                    if c == 0x5C || c < 0x20 { return nil }
                    p += 1
                }
                guard p < b.count else { return nil }
                defer { p += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: b[start..<p]), as: UTF8.self)
            }
            func integer() -> Int64? {
                let start = p
                if p < b.count, b[p] == UInt8(ascii: "-") { p += 1 }
                guard p < b.count, b[p] >= 0x30, b[p] <= 0x39 else { return nil }
                if b[p] == 0x30 {
                    p += 1
                } else {
                    while p < b.count, b[p] >= 0x30, b[p] <= 0x39 { p += 1 }
                }
                return Int64(String(decoding: UnsafeBufferPointer(rebasing: b[start..<p]), as: UTF8.self))
            }
            guard literal(#"{"orderId":""#), let orderId = string(), literal(#","userId":""#), let userId = string(),
                literal(#","itemName":""#), let itemName = string(), literal(#","quantity":"#),
                let quantity = integer(), literal(#","status":""#), let status = string(),
                literal(#","timestamp":""#), let timestamp = string(), literal("}"), p == b.count
            else { return nil }
            return OrderItem(
                orderId: orderId, userId: userId, itemName: itemName, quantity: quantity, status: status,
                timestamp: timestamp)
        }
    }
}

/// What the processor decided for one receive: the outcome, and either the item or the reason.
///
/// Deterministic: equal inputs and state give equal decisions, so ``Decision`` values from a replay can be
/// compared with the recorded ones field by field.
public struct Decision: Sendable, Equatable {
    public var outcome: Outcome
    public var errorKind: ErrorKind?
    /// A stable machine-readable code, e.g. `body.not_json`, `order.field_missing`, `order.field_invalid`.
    public var errorCode: String?
    /// The order field at fault (`orderId`, `quantity`, …), when one is.
    public var errorField: String?
    /// A human-readable reason naming the field and the bad value.
    public var errorMessage: String?
    /// True when this failure exhausted the redrive policy's maxReceiveCount.
    public var deadLettered: Bool
    public var orderId: String?
    /// The SNS MessageId from the envelope (nil under raw message delivery).
    public var snsMessageId: String?
    /// The item written (projected) or that would have been (duplicate, stale).
    public var item: OrderItem?
    /// Why nothing was written, for duplicate and stale outcomes.
    public var note: String?

    public init(
        outcome: Outcome, errorKind: ErrorKind? = nil, errorCode: String? = nil, errorField: String? = nil,
        errorMessage: String? = nil, deadLettered: Bool = false, orderId: String? = nil, snsMessageId: String? = nil,
        item: OrderItem? = nil, note: String? = nil
    ) {
        self.outcome = outcome
        self.errorKind = errorKind
        self.errorCode = errorCode
        self.errorField = errorField
        self.errorMessage = errorMessage
        self.deadLettered = deadLettered
        self.orderId = orderId
        self.snsMessageId = snsMessageId
        self.item = item
        self.note = note
    }

    /// `errorCode` + `errorField`: the key DLQ summaries group failures by, e.g. `order.field_invalid:quantity`.
    public var errorFingerprint: String? {
        guard let errorCode else { return nil }
        return errorField.map { "\(errorCode):\($0)" } ?? errorCode
    }
}
