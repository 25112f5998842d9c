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

    /// Parses the JSON written by ``json``.
    public init?(json: String) {
        guard let o = try? JSONParser.parse(json).objectValue,
            let orderId = o["orderId"]?.stringValue, let userId = o["userId"]?.stringValue,
            let itemName = o["itemName"]?.stringValue, case .number(let q)? = o["quantity"], let quantity = Int64(q),
            let status = o["status"]?.stringValue, let timestamp = o["timestamp"]?.stringValue
        else { return nil }
        self.init(
            orderId: orderId, userId: userId, itemName: itemName, quantity: quantity, status: status,
            timestamp: timestamp)
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
