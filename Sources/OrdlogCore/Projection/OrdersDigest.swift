import Crypto

/// The projection digest, the one copy: SHA-256 (hex) over the canonical encodings of the order items, fed in
/// `orderId` byte order (both ``LocalProjection/digest()`` and ``MemoryProjection/digest()`` use it, so equal
/// digests mean equal `Orders` tables whichever projection computed them).
///
/// Only the six item attributes count, not which log record wrote them. With no orders the digest is SHA-256 of
/// nothing (`e3b0c442…`).
public struct OrdersDigest {
    private var encoder = RecordHash.Encoder(kind: "order")
    private var empty = true

    public init() {}

    /// Adds the next order; call in ascending `orderId` byte order.
    public mutating func add(
        orderId: String, userId: String, itemName: String, quantity: Int64, status: String, timestamp: String
    ) {
        // One stream of per-order canonical encodings, each starting with the tag "order".
        if !empty { encoder.add("order") }
        empty = false
        encoder.add(orderId)
        encoder.add(userId)
        encoder.add(itemName)
        encoder.add(quantity)
        encoder.add(status)
        encoder.add(timestamp)
    }

    /// Adds the next order item; call in ascending `orderId` byte order.
    public mutating func add(_ item: OrderItem) {
        add(
            orderId: item.orderId, userId: item.userId, itemName: item.itemName, quantity: item.quantity,
            status: item.status, timestamp: item.timestamp)
    }

    /// The lowercase hex digest of everything added.
    public func finalize() -> String {
        if empty { return RecordHash.hex(Array(SHA256().finalize())) }  // no orders: the digest of nothing
        return RecordHash.hex(encoder.finalize())
    }
}
