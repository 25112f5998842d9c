import OrdlogCore

/// `verify --json`: one shape for one log and many (documented in `ordlog verify --help`).
struct VerifyOutput: Encodable {
    struct Problem: Encodable {
        var seq: Int64
        var kind: String
        var message: String
        init?(_ p: ChainBreak?) {
            guard let p else { return nil }
            (seq, kind, message) = (p.seq, p.kind.rawValue, p.message)
        }
    }
    struct Identity: Encodable {
        var seq: Int64
        var consumerId: String
        var ordlogVersion: String
        var queue: String
        var recordedAt: String
    }
    struct File: Encodable {
        var file: String
        var consumer: String
        var ok: Bool
        var verified: Int64
        var head: String?
        var problem: Problem?
        var link: String?
    }
    struct Chain: Encodable {
        var consumer: String
        var head: String?
        var keptHead: String?
        var ok: Bool
        var problem: Problem?
    }

    var ok: Bool
    var verified: Int64
    /// The chain's head when there is one consumer.
    var head: String?
    var keptHead: String?
    /// The first problem of any file, else of any chain.
    var problem: Problem?
    var consumers: [Identity]
    var files: [File]
    var chains: [Chain]

    init(_ report: LogSet.VerifyReport, identities: [LoggedIdentity]) {
        let oneChain = report.chains.count == 1 ? report.chains[0] : nil
        ok = report.ok
        verified = report.verified
        head = oneChain?.head?.description
        keptHead = oneChain?.keptHead?.description
        problem = Problem(
            report.files.lazy.compactMap(\.chain.problem).first ?? report.chains.lazy.compactMap(\.problem).first)
        consumers = identities.map {
            Identity(
                seq: $0.seq, consumerId: $0.identity.consumerId, ordlogVersion: $0.identity.ordlogVersion,
                queue: $0.identity.queue, recordedAt: time($0.recordedAt))
        }
        files = report.files.map {
            File(
                file: $0.path, consumer: $0.consumerId, ok: $0.ok, verified: $0.chain.verified,
                head: $0.chain.head?.description, problem: Problem($0.chain.problem), link: $0.linkProblem)
        }
        chains = report.chains.map {
            Chain(
                consumer: $0.consumerId, head: $0.head?.description, keptHead: $0.keptHead?.description, ok: $0.ok,
                problem: Problem($0.problem))
        }
    }
}

/// `head --json`: one consumer's head, or `{"heads":[…]}` for several.
struct HeadOutput: Encodable {
    var consumer: String
    var seq: Int64
    var hash: String
    var head: String

    init(consumer: String, head h: LogHead) {
        (self.consumer, seq, hash, head) = (consumer, h.seq, RecordHash.hex(h.hash), h.description)
    }

    struct Several: Encodable { var heads: [HeadOutput] }
}
