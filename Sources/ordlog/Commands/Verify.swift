import ArgumentParser
import OrdlogCore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Walk the log's hash chain and report the first broken record.",
        discussion: """
            Recomputes every record's hash from its stored columns (both tables, merged by seq) and checks \
            that seqs are gapless and each record chains from the previous one. The first break is named \
            with its seq and kind: edited, deleted, reordered, inserted, broken-link; with --head (a head \
            kept elsewhere from `ordlog head`) also cut-off, when the newest records were removed or replaced.

            Each log records who wrote it (consumer id, ordlog version, queue: identity records, also \
            hash-chained); verify lists them.

            Several logs (repeated --db, a folder of *.db files, a glob, a sealed log with its segments, or \
            s3://BUCKET/PREFIX), e.g. one per consumer on one queue, or a consumer's segments: each file's chain \
            is walked; a file whose first record has seq > 1 must continue the previous segment of the same \
            consumer (its first record is that segment's head seq + 1 and chains from its head hash); a gap, an \
            overlap or a mismatch fails naming both files. A log written before identity records existed is its \
            own consumer, named after its file. Read commands merge several logs in one documented order: each \
            consumer's records (one log, or one consumer's sealed segments and live file) keep their log order \
            (seq), so a sealed log reads as it did before the seal; between consumers the next record is the one \
            with the smallest key among each consumer's next record: SQS SentTimestamp (receives without one \
            last), then SQS MessageId, then receive count, then consumer id, then seq; each attempt after the \
            receive it processed. The same records given twice are read once only when proven so: the same file \
            (a symlink), or a copy or an archived copy of a segment whose chain verifies with the same head, or a \
            backup that is a verified prefix of the live log (said on stderr). A copy that does not verify, or \
            two files of one consumer that fork, are BROKEN, named.

            --head applies to the newest record of the consumer's chain, sealed or not: the record at the kept \
            seq must still be there with the kept hash, so deleting the newest records, or the newest sealed or \
            archived segment, is found (cut-off). With several consumers give one per consumer, \
            CONSUMER=SEQ:HASH, as `ordlog head` prints them.

            Examples:
              ordlog verify
              ordlog verify --head "$(cat ordlog.head)"
              ordlog verify --json
              ordlog verify --db consumer-a.db --db consumer-b.db --db consumer-c.db
              ordlog verify --db logs/        # every *.db file in logs/
              ordlog verify --db 'logs/*.db'
              ordlog verify --db s3://audit-bucket/orders --head c1=120:3f… --head c2=98:a0…

            JSON (one shape for one log and many): {"ok":B,"verified":N,"head":"SEQ:HASH"|null (the chain's \
            head when there is one consumer),"keptHead":"SEQ:HASH"|null,"problem":{"seq":N,"kind":S,\
            "message":S}|null (the first),"consumers":[{"seq":N,"consumerId":S,"ordlogVersion":S,"queue":S,\
            "recordedAt":T}] (identity records),"files":[{"file":S,"consumer":S,"ok":B,"verified":N,"head":…,\
            "problem":…,"link":S|null}],"chains":[{"consumer":S,"head":…,"keptHead":…,"ok":B,"problem":…}]}. \
            Exit codes: 0 intact, 1 broken, 64 usage, 70 the log cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        name: .customLong("head"),
        help: ArgumentHelp(
            "A head kept from `ordlog head` (SEQ:HASH; with several consumers CONSUMER=SEQ:HASH, repeated): the "
                + "consumer's chain, sealed or not, must still hold it; detects the newest records being cut off.",
            valueName: "[consumer=]seq:hash"))
    var heads: [String] = []

    func validate() throws {
        for h in heads where Self.parse(h) == nil {
            throw ValidationError(
                "--head must be SEQ:HASH or CONSUMER=SEQ:HASH as printed by `ordlog head` (64 hex digits), got \(h)")
        }
    }

    /// `SEQ:HASH` (consumer nil) or `CONSUMER=SEQ:HASH`.
    static func parse(_ text: String) -> (consumer: String?, head: LogHead)? {
        if let head = LogHead(parsing: text) { return (nil, head) }
        guard let eq = text.lastIndex(of: "="), let head = LogHead(parsing: String(text[text.index(after: eq)...]))
        else { return nil }
        let consumer = String(text[..<eq])
        return consumer.isEmpty ? nil : (consumer, head)
    }

    /// The kept heads by consumer: a bare SEQ:HASH is the one consumer's (refused with several).
    func keptHeads(_ set: LogSet) throws -> [String: LogHead] {
        var out: [String: LogHead] = [:]
        for text in heads {
            let (consumer, head) = Self.parse(text)!
            if let consumer {
                out[consumer] = head
            } else if set.consumerIds.count == 1 {
                out[set.consumerIds[0]] = head
            } else {
                throw CLIError(
                    code: .usage,
                    message: "the logs given are \(plural(set.consumerIds.count, "consumer"))' "
                        + "(\(set.consumerIds.joined(separator: ", "))): give each head as CONSUMER=SEQ:HASH "
                        + "(`ordlog head` prints them so)")
            }
        }
        return out
    }

    func run() throws {
        try runReportingErrors {
            let set = try global.openLogSet()
            let kept = try keptHeads(set)
            let progress = Progress(label: "verify")
            let report = try set.verify(heads: kept) { url, seq in
                progress.update("\(url.lastPathComponent): verified through seq \(seq)")
            }
            progress.finish()
            let identities = set.members.flatMap(\.identities)
            let oneChain = report.chains.count == 1 ? report.chains[0] : nil
            if global.json {
                try printJSON(VerifyOutput(report, identities: identities))
            } else if report.files.count == 1, let f = report.files.first, let chain = oneChain {
                // One file: the chain's result as a sentence.
                if let p = f.chain.problem ?? chain.problem {
                    say("BROKEN at seq \(p.seq): \(p.kind.rawValue) (\(f.path))")
                    say("  \(p.message)")
                    say("  \(f.chain.verified) records before it verified.")
                } else if let l = f.linkProblem {
                    say("BROKEN: \(f.path): \(l)")
                } else {
                    say(
                        "OK: \(f.chain.verified) records verified, head \(chain.head?.description ?? "(empty log)")"
                            + (chain.keptHead != nil ? "; kept head \(chain.keptHead!.seq) present" : ""))
                }
                for i in identities {
                    say(
                        "  written by consumer \(terminalSafe(i.identity.consumerId)) from seq \(i.seq) (ordlog "
                            + "\(i.identity.ordlogVersion), \(terminalSafe(i.identity.queue)), since \(time(i.recordedAt)))")
                }
            } else {
                let bad = report.files.filter { !$0.ok }
                let badChains = report.chains.filter { !$0.ok }
                say(
                    (report.ok ? "OK" : "BROKEN")
                        + ": \(plural(report.files.count, "log")) of "
                        + "\(plural(Set(report.files.map(\.consumerId)).count, "consumer")), "
                        + "\(report.verified) records verified"
                        + (bad.isEmpty ? "" : "; \(bad.count) broken: \(bad.map(\.path).joined(separator: ", "))")
                        + (badChains.isEmpty
                            ? "" : "; cut off: \(badChains.map { terminalSafe($0.consumerId) }.joined(separator: ", "))"))
                var t = Table("file", "consumer", "records", "head", "result")
                for f in report.files {
                    let result =
                        f.chain.problem.map { "BROKEN at seq \($0.seq): \($0.kind.rawValue)" }
                        ?? (f.linkProblem != nil ? "BROKEN link" : "OK")
                    t.add(
                        f.path, f.consumerId.isEmpty ? "-" : f.consumerId, String(f.chain.verified),
                        clip(f.chain.head?.description ?? "(empty log)", 20), result)
                }
                say(t)
                for f in bad {
                    if let p = f.chain.problem { say("  \(f.path): seq \(p.seq): \(p.message)") }
                    if let l = f.linkProblem { say("  \(f.path): \(l)") }
                }
                for c in report.chains where c.keptHead != nil || !c.ok {
                    say(
                        "  consumer \(terminalSafe(c.consumerId)): head \(c.head?.description ?? "-")"
                            + (c.problem.map { ": BROKEN at seq \($0.seq): \($0.kind.rawValue): \($0.message)" }
                                ?? "; kept head \(c.keptHead!.seq) present"))
                }
            }
            if !report.ok { throw CLIError(code: .checkFailed, message: "") }
        }
    }
}
