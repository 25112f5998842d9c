import Foundation

// The merge order documented on LogSet: the merged record, its key, the k-way merge between consumers, and
// the rule that reads a receive once.
extension LogSet {
    /// A receive or attempt of one of the logs, with who logged it.
    public struct Record: Sendable {
        public var record: LogRecord
        public var consumerId: String
        /// The file it is in.
        public var url: URL

        public init(record: LogRecord, consumerId: String, url: URL) {
            self.record = record
            self.consumerId = consumerId
            self.url = url
        }
    }

    /// The merge key of the documented order.
    struct Key: Comparable {
        var sent: Int64
        var messageId: String
        var receiveCount: Int64
        var consumer: String
        var file: String
        var receiveSeq: Int64
        var seq: Int64
        /// The stream the record is in (its member's consumer: one log, or one consumer's chain of segments) and
        /// where in that stream (member index, then ``seq``); not part of the comparison of heads.
        var chain: String = ""
        var member: Int = 0

        static func < (a: Key, b: Key) -> Bool {
            if a.sent != b.sent { return a.sent < b.sent }
            if a.messageId != b.messageId { return a.messageId.utf8.lexicographicallyPrecedes(b.messageId.utf8) }
            if a.receiveCount != b.receiveCount { return a.receiveCount < b.receiveCount }
            if a.consumer != b.consumer { return a.consumer.utf8.lexicographicallyPrecedes(b.consumer.utf8) }
            if a.file != b.file { return a.file.utf8.lexicographicallyPrecedes(b.file.utf8) }
            if a.receiveSeq != b.receiveSeq { return a.receiveSeq < b.receiveSeq }
            return a.seq < b.seq
        }
    }

    static func key(_ r: LoggedReceive, _ m: Member, member: Int, seq: Int64? = nil) -> Key {
        Key(
            sent: r.sentTimestamp ?? .max, messageId: r.messageId ?? "", receiveCount: r.receiveCount,
            consumer: m.consumer(at: r.seq), file: m.url.path, receiveSeq: r.seq, seq: seq ?? r.seq,
            chain: m.consumerId, member: member)
    }

    /// The documented merge: each consumer's records (its chain: ``Member/consumerId``) in log order (member,
    /// then seq); between consumers, repeatedly the smallest key among each consumer's next record.
    static func merged<T>(_ items: [(Key, T)]) -> [(Key, T)] {
        var byChain: [String: [(Key, T)]] = [:]
        for item in items { byChain[item.0.chain, default: []].append(item) }
        let streams = byChain.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { chain in
            byChain[chain]!.sorted { ($0.0.member, $0.0.seq) < ($1.0.member, $1.0.seq) }
        }
        var next = Array(repeating: 0, count: streams.count)
        var out: [(Key, T)] = []
        out.reserveCapacity(items.count)
        while true {
            var best: Int? = nil
            for s in streams.indices where next[s] < streams[s].count {
                if let b = best, !(streams[s][next[s]].0 < streams[b][next[b]].0) { continue }
                best = s
            }
            guard let b = best else { break }
            out.append(streams[b][next[b]])
            next[b] += 1
        }
        return out
    }

    /// `records` in merge order with every receive whose receive key an earlier one has (the same receive logged
    /// twice: the same traffic ingested into two logs, or again after a seal) left out, with its attempts: the rule
    /// ``mergedLog(path:batchSize:)`` applies, so every command reads a receive once.
    static func receivedOnce(_ records: [(Key, Record)]) -> [(Key, Record)] {
        var keys = Set<String>()
        var dropped = Set<String>()  // "path\0seq" of the receives left out
        return records.filter { _, r in
            switch r.record {
            case .receive(let x):
                if keys.insert(x.receiveKey).inserted { return true }
                dropped.insert(r.url.path + "\u{0}\(x.seq)")
                return false
            case .attempt(let a):
                return !dropped.contains(r.url.path + "\u{0}\(a.receiveSeq)")
            }
        }
    }

    /// Sorts one member's records into merge keys; an attempt whose receive is not among `records` is read.
    static func keyed(_ records: [LogRecord], _ m: Member, member: Int) throws -> [(Key, Record)] {
        var receives: [Int64: LoggedReceive] = [:]
        for case .receive(let r) in records { receives[r.seq] = r }
        return try records.map { record in
            let key: Key
            switch record {
            case .receive(let r): key = Self.key(r, m, member: member)
            case .attempt(let a):
                if let r = try receives[a.receiveSeq] ?? m.log.receive(seq: a.receiveSeq) {
                    key = Self.key(r, m, member: member, seq: a.seq)
                } else {
                    key = Key(
                        sent: .max, messageId: a.messageId ?? "", receiveCount: 0, consumer: m.consumer(at: a.seq),
                        file: m.url.path, receiveSeq: a.receiveSeq, seq: a.seq, chain: m.consumerId, member: member)
                }
            }
            return (key, Record(record: record, consumerId: key.consumer, url: m.url))
        }
    }
}
