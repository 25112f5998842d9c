import OrdlogShared
import Crypto

/// The event log's hash chain: `hash(n) = SHA-256(hash(n−1) ‖ canonical(record n))`, with 32 zero bytes
/// before the first record.
///
/// The canonical encoding lists a record's immutable fields in a fixed order, each as a tag byte
/// (0 = NULL, 1 = 64-bit big-endian integer, 2 = 64-bit big-endian length + bytes). It is computed from
/// the stored column values, so `ordlog verify` can recompute every hash from the database alone.
///
/// Receives have two formats (column `format`, migration `0004_record_format2`): format 1 (NULL, every receive
/// written before that migration) starts with the kind `receive` and encodes the body itself; format 2 starts
/// with `receive/2` and encodes the body's SHA-256 in its place, so the body is hashed once per append (its
/// digest also derives the receive key). Attempts have one format.
public enum RecordHash {
    /// The `prev_hash` of the first record: 32 zero bytes.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// Writes the canonical encoding of fields into a buffer that is fed to SHA-256 in large pieces (one call
    /// per record instead of three per field: the hasher's per-call cost was most of the encoding's). Long
    /// streams (``LocalProjection/digest()``) are hashed every 64 KiB, so memory stays bounded.
    struct Encoder {
        private var hasher = SHA256()
        private var buffer: [UInt8] = []

        /// Starts a record: for chained records, `prev` (the previous hash) comes first.
        init(kind: String, prev: [UInt8]? = nil, capacity: Int = 512) {
            buffer.reserveCapacity(capacity)
            if let prev { buffer.append(contentsOf: prev) }
            add(kind)
        }

        mutating func add(_ v: Int64?) {
            guard let v else {
                tag(0)
                return
            }
            tag(1)
            var bigEndian = UInt64(bitPattern: v).bigEndian
            withUnsafeBytes(of: &bigEndian) { buffer.append(contentsOf: $0) }
        }
        mutating func add(_ s: String?) {
            guard var s else {
                tag(0)
                return
            }
            s.withUTF8 { addBytes(UnsafeRawBufferPointer($0)) }
        }
        mutating func add(_ b: [UInt8]?) {
            guard let b else {
                tag(0)
                return
            }
            b.withUnsafeBytes { addBytes($0) }
        }
        mutating func addBytes(_ b: UnsafeRawBufferPointer) {
            tag(2)
            var length = UInt64(b.count).bigEndian
            withUnsafeBytes(of: &length) { buffer.append(contentsOf: $0) }
            buffer.append(contentsOf: b)
            if buffer.count >= 65_536 {
                everHashed = true
                hasher.update(data: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        private mutating func tag(_ t: UInt8) { buffer.append(t) }

        /// The number of bytes added and not yet fed to the hasher.
        var pendingCount: Int { buffer.count }
        /// Every byte added, when none was fed to the hasher yet (fewer than 64 KiB were added); else nil.
        var allBytes: [UInt8]? { everHashed ? nil : buffer }
        private var everHashed = false

        /// The digest of everything added.
        func finalize() -> [UInt8] {
            var h = hasher
            h.update(data: buffer)
            return Array(h.finalize())
        }
    }

    /// The hash of a receive record given its fields and the previous hash, by the record's format
    /// (``LoggedReceive/format``): format 1 encodes the body, format 2 its SHA-256 digest (computed here from
    /// `r.body`, so an edited body still changes the hash).
    public static func hash(of r: LoggedReceive, prev: [UInt8]) -> [UInt8] {
        r.format == 2 ? hash(of: r, prev: prev, bodyDigest: bodyDigest(r.body)) : hashFormat1(of: r, prev: prev)
    }

    /// SHA-256 of a receive's body: what a format-2 receive's hash and receive key cover in place of the body.
    static func bodyDigest(_ body: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: body)) }

    /// A format-2 receive's hash, with the body's digest already computed (the append path computes it once).
    static func hash(of r: LoggedReceive, prev: [UInt8], bodyDigest: [UInt8]) -> [UInt8] {
        receiveHash(r, kind: "receive/2", prev: prev, bodyField: bodyDigest)
    }

    /// A receive's fields in their hashed order, under `kind`, with `bodyField` in the body's place: the body
    /// itself (format 1) or its SHA-256 (format 2). The two formats differ in nothing else.
    private static func receiveHash(_ r: LoggedReceive, kind: String, prev: [UInt8], bodyField: [UInt8]) -> [UInt8] {
        var e = Encoder(kind: kind, prev: prev)
        encodeReceive(r, bodyField: bodyField, into: &e)
        return e.finalize()
    }

    /// Adds a receive's fields in their hashed order (``receiveHash(_:kind:prev:bodyField:)``'s encoding, the one
    /// copy). Returns where, among the encoder's pending bytes, the 8 value bytes of `seq` and of `receiveCount`
    /// begin (`receivedAt`'s are the last 8).
    @discardableResult
    private static func encodeReceive(_ r: LoggedReceive, bodyField: [UInt8], into e: inout Encoder)
        -> (seqAt: Int, receiveCountAt: Int)
    {
        e.add(r.seq)
        let seqAt = e.pendingCount - 8
        e.add(r.receiveKey)
        e.add(r.messageId)
        e.add(r.receiptHandle)
        e.add(r.md5OfBody)
        e.add(r.md5Matches.map { $0 ? 1 : 0 })
        e.add(bodyField)
        e.add(r.attributesJSON)
        e.add(r.messageAttributesJSON)
        e.add(r.md5OfMessageAttributes)
        e.add(r.receiveCount)
        let receiveCountAt = e.pendingCount - 8
        e.add(r.sentTimestamp)
        e.add(r.source)
        e.add(r.inputError)
        e.add(r.receivedAt)
        return (seqAt, receiveCountAt)
    }

    /// A format-2 receive's canonical encoding built ahead, off the log's writer (``PreparedReceive``): every
    /// field in place except the previous hash, `seq`, `receiveCount` and `receivedAt`, which depend on the log
    /// and the clock and are written into a copy when the receive is appended. The same bytes as
    /// ``hash(of:prev:bodyDigest:)`` encodes, so the same hash.
    struct ReceiveTemplate: Sendable {
        private let bytes: [UInt8]
        private let seqAt: Int
        private let receiveCountAt: Int

        /// The template of `r` (its `seq`, `receiveCount`, `receivedAt` and `prevHash` are ignored); nil when its
        /// encoding is 64 KiB or more (then it is hashed the ordinary way).
        init?(_ r: LoggedReceive, bodyDigest: [UInt8]) {
            var e = Encoder(kind: "receive/2", prev: RecordHash.genesis)
            let (seqAt, receiveCountAt) = RecordHash.encodeReceive(r, bodyField: bodyDigest, into: &e)
            guard let bytes = e.allBytes else { return nil }
            self.bytes = bytes
            self.seqAt = seqAt
            self.receiveCountAt = receiveCountAt
        }

        /// The receive's hash with these log-dependent fields (`prev` must be 32 bytes), encoded in `scratch`
        /// (reused between calls: no allocation per receive).
        func hash(prev: [UInt8], seq: Int64, receiveCount: Int64, receivedAt: Int64, scratch: inout [UInt8])
            -> [UInt8]
        {
            precondition(prev.count == 32)
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: bytes)
            let end = bytes.count
            scratch.withUnsafeMutableBytes { b in
                prev.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 32) }
                b.storeBytes(of: UInt64(bitPattern: seq).bigEndian, toByteOffset: seqAt, as: UInt64.self)
                b.storeBytes(
                    of: UInt64(bitPattern: receiveCount).bigEndian, toByteOffset: receiveCountAt, as: UInt64.self)
                b.storeBytes(of: UInt64(bitPattern: receivedAt).bigEndian, toByteOffset: end - 8, as: UInt64.self)
            }
            return Array(SHA256.hash(data: scratch))
        }
    }

    /// A receive's identity in format 2: SHA-256 over message id, receipt handle, `ApproximateReceiveCount` as
    /// received, the body's digest, and the source when there is no message id (then nothing else tells two
    /// bad input lines apart).
    static func receiveKeyDigest(
        messageId: String?, receiptHandle: String?, receiveCountAttribute: String?, bodyDigest: [UInt8],
        source: String
    ) -> [UInt8] {
        var e = Encoder(kind: "receive-key/2")
        e.add(messageId)
        e.add(receiptHandle)
        e.add(receiveCountAttribute)
        e.add(bodyDigest)
        if messageId == nil { e.add(source) }
        return e.finalize()
    }

    /// The stored `receive_key` of a format-2 receive: `r2:` and the digest's first 8 bytes in hex, or the whole
    /// digest when `full` (the 64 bits are already another receive's key).
    static func receiveKeyText(_ digest: [UInt8], full: Bool = false) -> String {
        "r2:" + hex(full ? digest : Array(digest.prefix(8)))
    }

    /// The format-1 receive hash (rows written before migration 0004): the body itself is encoded.
    static func hashFormat1(of r: LoggedReceive, prev: [UInt8]) -> [UInt8] {
        receiveHash(r, kind: "receive", prev: prev, bodyField: r.body)
    }

    /// The hash of an attempt record given its fields and the previous hash.
    public static func hash(of a: LoggedAttempt, prev: [UInt8]) -> [UInt8] {
        hash(of: a, prev: prev, itemJSON: a.decision.item?.json)
    }

    /// The same, with the item's JSON text already built (it is also what gets stored).
    static func hash(of a: LoggedAttempt, prev: [UInt8], itemJSON: String?) -> [UInt8] {
        var e = Encoder(kind: "attempt", prev: prev)
        let d = a.decision
        e.add(a.seq)
        e.add(a.receiveSeq)
        e.add(a.messageId)
        e.add(d.outcome.rawValue)
        e.add(d.errorKind?.rawValue)
        e.add(d.errorCode)
        e.add(d.errorField)
        e.add(d.errorMessage)
        e.add(d.deadLettered ? 1 : 0)
        e.add(a.processorVersion)
        e.add(d.orderId)
        e.add(d.snsMessageId)
        e.add(itemJSON)
        e.add(d.note)
        e.add(a.trigger.rawValue)
        e.add(a.attemptedAt)
        return e.finalize()
    }

    /// Lowercase hex MD5 of `bytes`: SQS's `MD5OfBody`
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>).
    public static func md5Hex(_ bytes: [UInt8]) -> String { hex(Array(Insecure.MD5.hash(data: bytes))) }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
}
