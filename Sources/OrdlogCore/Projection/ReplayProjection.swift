import Foundation

/// A projection a replay decides against and writes into: the SQLite ``LocalProjection`` (`replay --into`,
/// the live projection) or the in-memory ``MemoryProjection`` (`replay`'s default).
///
/// The processor reads the state through ``ProcessorState`` (the one copy of the idempotency and ordering
/// rules is ``OrderProcessor/decide(_:state:)``), and what a final decision writes is
/// ``Decision/forEachProjectionWrite(receive:item:key:)`` (the one copy of the write rule), so both
/// projections hold the same orders and keys after the same decisions, and ``digest()`` is ``OrdersDigest``
/// over both.
public protocol ReplayProjection: ProcessorState, AnyObject {
    /// Applies a final decision (`projected`, `duplicate`, `stale`); other outcomes change nothing.
    /// - Throws: a storage error (SQLite) when the write fails.
    func apply(_ decision: Decision, receive: LoggedReceive) throws
    /// All orders, sorted by `orderId` bytes.
    func orders() throws -> [ProjectedOrder]
    /// The number of orders.
    func orderCount() throws -> Int
    /// ``OrdersDigest`` of the orders in `orderId` byte order.
    func digest() throws -> String
    /// Called before the first decision of a replay (the SQLite projection opens a transaction).
    func beginReplay() throws
    /// Called every `batchSize` decisions (the SQLite projection commits its transaction and opens the next).
    func replayBatchEnded() throws
    /// Called after the last decision (the SQLite projection commits).
    func endReplay() throws
    /// Called when a replay fails half-way (the SQLite projection rolls back its open transaction).
    func abortReplay()
}

extension ReplayProjection {
    public func beginReplay() throws {}
    public func replayBatchEnded() throws {}
    public func endReplay() throws {}
    public func abortReplay() {}
}

extension Decision {
    /// What applying this decision writes, the one copy of the rule for every projection: a `projected`
    /// decision writes its item (with its timestamp in ns, and the receive's seq and SQS MessageId); a final
    /// decision (`projected`, `duplicate`, `stale`) records the receive's SQS MessageId and the decision's SNS
    /// MessageId as applied at the receive's seq. Other outcomes write nothing.
    public func forEachProjectionWrite(
        receive: LoggedReceive, item writeItem: (OrderItem, _ timestampNs: Int64) throws -> Void,
        key writeKey: (IdempotencyKind, String) throws -> Void
    ) rethrows {
        guard outcome.isFinal else { return }
        if outcome == .projected, let item { try writeItem(item, RFC3339.nanoseconds(item.timestamp) ?? 0) }
        if let id = receive.messageId { try writeKey(.sqs, id) }
        if let snsMessageId { try writeKey(.sns, snsMessageId) }
    }
}

/// The projection held in memory: what `ordlog replay` decides against unless `--into` asks for a file.
///
/// The same content as a ``LocalProjection`` after the same decisions (same orders, same applied keys, same
/// ``digest()``), with the same byte-for-byte key comparison as SQLite's BINARY collation and DynamoDB (two
/// `orderId`s that are canonically equivalent Unicode but differ in bytes are two orders). Memory: one entry
/// per order (the item as decoded) and, per applied idempotency key, its bytes once in an arena plus 28 bytes
/// of index (``ByteKeyTable``); nothing per receive.
public final class MemoryProjection: ReplayProjection {
    /// Each order's position in ``orderList``. The orders themselves are not the dictionary's values: at 198k
    /// orders its storage has 2^19 buckets (load ≤ 3/4), and 136-byte values in every bucket were ~70 MB of a
    /// 1M replay's peak; an `Int` per bucket is 4 MB.
    private var positions: [ByteString: Int] = [:]
    /// The orders, in the order first written.
    private var orderList: [ProjectedOrder] = []
    private let sqsKeys = ByteKeyTable()
    private let snsKeys = ByteKeyTable()

    public init() {}

    public func appliedSeq(kind: IdempotencyKind, id: String) -> Int64? {
        (kind == .sqs ? sqsKeys : snsKeys).seq(of: id)
    }

    public func currentVersion(orderId: String) -> OrderVersion? {
        positions[ByteString(orderId)].map {
            OrderVersion(timestampNs: orderList[$0].timestampNs, seq: orderList[$0].lastSeq)
        }
    }

    public func apply(_ decision: Decision, receive: LoggedReceive) {
        decision.forEachProjectionWrite(
            receive: receive,
            item: { item, ns in
                let order = ProjectedOrder(item: item, timestampNs: ns, lastSeq: receive.seq, messageId: receive.messageId)
                if let i = positions[ByteString(item.orderId)] {
                    orderList[i] = order
                } else {
                    positions[ByteString(item.orderId)] = orderList.count
                    orderList.append(order)
                }
            },
            key: { kind, id in (kind == .sqs ? sqsKeys : snsKeys).insert(id, seq: receive.seq) })
    }

    /// Positions in ``orderList`` sorted by `orderId` bytes (positions, not the 136-byte values: moving one
    /// retains and releases its strings).
    private func sortedPositions() -> [Int] {
        var order = Array(orderList.indices)
        order.sort { ByteString.compare(orderList[$0].item.orderId, orderList[$1].item.orderId) < 0 }
        return order
    }

    public func orders() -> [ProjectedOrder] { sortedPositions().map { orderList[$0] } }

    public func orderCount() -> Int { orderList.count }

    /// The order `orderId` (byte-wise), or nil.
    public func order(_ orderId: String) -> ProjectedOrder? { positions[ByteString(orderId)].map { orderList[$0] } }

    /// The number of applied keys of `kind`.
    public func appliedCount(_ kind: IdempotencyKind) -> Int { (kind == .sqs ? sqsKeys : snsKeys).count }

    public func digest() -> String {
        var d = OrdersDigest()
        for i in sortedPositions() { d.add(orderList[i].item) }
        return d.finalize()
    }
}

/// A `String` compared and hashed by its UTF-8 bytes (not by Unicode canonical equivalence, as `String` is).
struct ByteString: Hashable {
    var string: String
    init(_ string: String) { self.string = string }
    static func == (a: ByteString, b: ByteString) -> Bool { ByteString.compare(a.string, b.string) == 0 }
    func hash(into hasher: inout Hasher) {
        ByteString.withBytes(string) { hasher.combine(bytes: $0) }
    }

    /// `body` over the UTF-8 bytes of `s` (in place for a native string).
    @inline(__always)
    static func withBytes<T>(_ s: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        if let r = s.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return r }
        return Array(s.utf8).withUnsafeBytes(body)
    }

    /// memcmp order of the UTF-8 bytes, a shorter prefix first (SQLite's BINARY collation): <0, 0 or >0.
    static func compare(_ a: String, _ b: String) -> Int {
        withBytes(a) { x in
            withBytes(b) { y in
                let n = min(x.count, y.count)
                if n > 0, let xp = x.baseAddress, let yp = y.baseAddress {
                    let c = memcmp(xp, yp, n)
                    if c != 0 { return Int(c) }
                }
                return x.count - y.count
            }
        }
    }
}

/// A set of byte strings, each with an `Int64` (the seq at which an idempotency key was applied), stored
/// compactly: the bytes of all keys once, back to back, in one arena grown with `realloc` (no second copy
/// while growing), an 8-byte start offset and an 8-byte value per key, and an open-addressing index of 8-byte
/// slots (load ≤ 1/2). A key that is a lowercase canonical UUID (what SQS and SNS MessageIds are) is stored
/// as a tag byte and its 16 bytes, any other key as another tag byte and its bytes, so two keys are equal
/// exactly when their bytes are: about 17 + 32 bytes per MessageId, against ~110 for a `[String: Int64]`.
final class ByteKeyTable {
    private var arena: UnsafeMutablePointer<UInt8>?
    private var arenaCount = 0
    private var arenaCapacity = 0
    /// Key i is `arena[starts[i] ..< starts[i + 1]]`.
    private var starts: [Int] = [0]
    private var values: [Int64] = []
    /// 0: empty; otherwise (hash's high 32 bits << 32) | (key index + 1). A key's home slot is given by the
    /// hash's high bits too (``home(_:)``), so growing the index re-places every key from its slot alone,
    /// without hashing its bytes again.
    private var slots: [UInt64] = Array(repeating: 0, count: 1024)
    /// log2(slots.count).
    private var slotBits = 10

    var count: Int { values.count }

    deinit { free(arena) }

    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = Hasher()
        h.combine(bytes: bytes)
        return UInt64(bitPattern: Int64(h.finalize()))
    }

    private func keyEquals(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let start = starts[index]
        let n = starts[index + 1] - start
        guard n == bytes.count else { return false }
        if n == 0 { return true }
        return memcmp(arena! + start, bytes.baseAddress!, n) == 0
    }

    /// The first slot to probe for a key whose hash has these high 32 bits: their top `bits` bits.
    @inline(__always)
    private static func home(_ high32: UInt64, bits: Int) -> Int { Int(truncatingIfNeeded: high32 >> (32 - bits)) }

    /// The slot holding `bytes`, or the empty slot where it would go.
    private func find(_ bytes: UnsafeRawBufferPointer, hash: UInt64) -> (slot: Int, index: Int?) {
        let mask = slots.count - 1
        let tag = hash >> 32
        var i = Self.home(tag, bits: slotBits)
        while true {
            let s = slots[i]
            if s == 0 { return (i, nil) }
            if s >> 32 == tag, keyEquals(Int(s & 0xFFFF_FFFF) - 1, bytes) { return (i, Int(s & 0xFFFF_FFFF) - 1) }
            i = (i + 1) & mask
        }
    }

    /// `body` over the stored form of `key`: 0x01 and the 16 bytes of a lowercase canonical UUID
    /// (`8-4-4-4-12` hex digits), otherwise 0x00 and the key's bytes. One-to-one, so comparing stored forms
    /// is comparing keys byte for byte.
    static func withStoredForm<T>(_ key: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        ByteString.withBytes(key) { b in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: b.count + 1) { out in
                if b.count == 36, packUUID(b, into: out) {
                    return body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: out[0..<17])))
                }
                out[0] = 0
                for i in 0..<b.count { out[i + 1] = b[i] }
                return body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: out[0..<(b.count + 1)])))
            }
        }
    }

    /// Writes 0x01 and the 16 bytes of the UUID `b` (36 bytes) into `out`; false when `b` is not a lowercase
    /// canonical UUID.
    static func packUUID(_ b: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        guard b.count == 36, out.count >= 17 else { return false }
        out[0] = 1
        var o = 1
        var i = 0
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard b[i] == UInt8(ascii: "-") else { return false }
                i += 1
                continue
            }
            guard let hi = nibble(b[i]), let lo = nibble(b[i + 1]) else { return false }
            out[o] = hi << 4 | lo
            o += 1
            i += 2
        }
        return true
    }

    /// The value stored with `key` (compared byte for byte), or nil.
    func seq(of key: String) -> Int64? {
        Self.withStoredForm(key) { b in find(b, hash: Self.hash(b)).index.map { values[$0] } }
    }

    /// Stores `key` with `seq` unless it is already present (then the first value stays, as
    /// `INSERT OR IGNORE` keeps it).
    func insert(_ key: String, seq: Int64) {
        Self.withStoredForm(key) { b in
            let h = Self.hash(b)
            let (slot, index) = find(b, hash: h)
            guard index == nil else { return }
            precondition(values.count < Int(UInt32.max - 1), "more than 4 billion idempotency keys")
            if arenaCount + b.count > arenaCapacity {
                let capacity = max(1 << 16, max(arenaCount + b.count, arenaCapacity * 2))
                guard let grown = realloc(arena, capacity) else { fatalError("out of memory for idempotency keys") }
                arena = grown.assumingMemoryBound(to: UInt8.self)
                arenaCapacity = capacity
            }
            if b.count > 0 { memcpy(arena! + arenaCount, b.baseAddress!, b.count) }
            arenaCount += b.count
            starts.append(arenaCount)
            values.append(seq)
            slots[slot] = (h >> 32) << 32 | UInt64(values.count)
            if values.count * 2 > slots.count { grow() }
        }
    }

    private func grow() {
        precondition(slotBits < 32, "idempotency key index full")
        let bits = slotBits + 1
        var new = [UInt64](repeating: 0, count: 1 << bits)
        let mask = new.count - 1
        for s in slots where s != 0 {
            var i = Self.home(s >> 32, bits: bits)
            while new[i] != 0 { i = (i + 1) & mask }
            new[i] = s
        }
        slots = new
        slotBits = bits
    }
}
