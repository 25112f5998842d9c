import OrdlogCore

/// One row of `orders --json` (documented in `ordlog orders --help`): the order item's members, then `lastSeq` and
/// `messageId` (the receive that wrote this version). `orders --json` prints an array of them, `orders ORDER_ID
/// --json` one (or `null`). The text view is ``table(_:)``, from the same values.
struct OrderOutput: Encodable {
    var orderId: String
    var userId: String
    var itemName: String
    var quantity: Int64
    var status: String
    var timestamp: String
    var lastSeq: Int64
    var messageId: String?

    init(_ o: ProjectedOrder) {
        (orderId, userId, itemName, quantity) = (o.item.orderId, o.item.userId, o.item.itemName, o.item.quantity)
        (status, timestamp, lastSeq, messageId) = (o.item.status, o.item.timestamp, o.lastSeq, o.messageId)
    }

    /// The text view: one row per order, long values clipped (the message id is left out).
    static func table(_ orders: [OrderOutput]) -> Table {
        var t = Table("orderId", "userId", "itemName", "quantity", "status", "timestamp", "lastSeq")
        for o in orders {
            t.add(
                clip(o.orderId, 40), clip(o.userId, 24), clip(o.itemName, 32), String(o.quantity), o.status,
                o.timestamp, String(o.lastSeq))
        }
        return t
    }
}
