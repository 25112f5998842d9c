import Crypto

/// The event log's hash chain: `hash(n) = SHA-256(hash(n−1) ‖ canonical(record n))`, with 32 zero bytes
/// before the first record.
///
/// The canonical encoding lists a record's immutable fields in a fixed order, each as a tag byte
/// (0 = NULL, 1 = 64-bit big-endian integer, 2 = 64-bit big-endian length + bytes). It is computed from
/// the stored column values, so `ordlog verify` can recompute every hash from the database alone.
public enum RecordHash {
    /// The `prev_hash` of the first record: 32 zero bytes.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    struct Encoder {
        var bytes: [UInt8] = []
        init(kind: String) {
            bytes.reserveCapacity(512)
            add(kind)
        }
        mutating func add(_ v: Int64?) {
            guard let v else { bytes.append(0); return }
            bytes.append(1)
            withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
        }
        mutating func add(_ s: String?) {
            guard var s else { bytes.append(0); return }
            s.withUTF8 { addBytes($0) }
        }
        mutating func add(_ b: [UInt8]?) {
            guard let b else { bytes.append(0); return }
            b.withUnsafeBufferPointer { addBytes($0) }
        }
        mutating func addBytes(_ b: UnsafeBufferPointer<UInt8>) {
            bytes.append(2)
            withUnsafeBytes(of: Int64(b.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: b)
        }
    }

    static func chain(_ prev: [UInt8], _ encoded: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: prev)
        hasher.update(data: encoded)
        return Array(hasher.finalize())
    }

    /// The hash of a receive record given its fields and the previous hash.
    public static func hash(of r: LoggedReceive, prev: [UInt8]) -> [UInt8] {
        var e = Encoder(kind: "receive")
        e.add(r.seq)
        e.add(r.receiveKey)
        e.add(r.messageId)
        e.add(r.receiptHandle)
        e.add(r.md5OfBody)
        e.add(r.md5Matches.map { $0 ? 1 : 0 })
        e.add(r.body)
        e.add(r.attributesJSON)
        e.add(r.messageAttributesJSON)
        e.add(r.md5OfMessageAttributes)
        e.add(r.receiveCount)
        e.add(r.sentTimestamp)
        e.add(r.source)
        e.add(r.inputError)
        e.add(r.receivedAt)
        return chain(prev, e.bytes)
    }

    /// The hash of an attempt record given its fields and the previous hash.
    public static func hash(of a: LoggedAttempt, prev: [UInt8]) -> [UInt8] {
        var e = Encoder(kind: "attempt")
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
        e.add(d.item?.json)
        e.add(d.note)
        e.add(a.trigger)
        e.add(a.attemptedAt)
        return chain(prev, e.bytes)
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
