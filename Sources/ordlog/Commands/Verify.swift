import ArgumentParser
import OrdlogCore

func parseHead(_ text: String) -> LogHead? { LogHead(parsing: text) }

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

            Several logs (repeated --db, a folder of *.db files, or a glob), e.g. one per consumer on one queue, \
            or a consumer's segments: each file's chain is walked; a file whose first record has seq > 1 must \
            continue the previous segment of the same consumer (its first record is that segment's head seq + 1 \
            and chains from its head hash); a gap, an overlap or a mismatch fails naming both files. A log \
            written before identity records existed is its own consumer, named after its file. Read commands \
            merge several logs in one documented order: each consumer's records (one log, or one consumer's \
            sealed segments and live file) keep their log order (seq), so a sealed log reads as it did before \
            the seal; between consumers the next record is the one with the smallest key among each \
            consumer's next record: SQS SentTimestamp (receives without one last), then SQS MessageId, then \
            receive count, then consumer id, then seq; each attempt after the receive it processed. The same \
            log given twice (the same file, a copy, an archived copy of a segment: same consumer, seq range and \
            head hash) is read once, said on stderr; two logs of one consumer with different records fail.

            Examples:
              ordlog verify
              ordlog verify --head "$(cat ordlog.head)"
              ordlog verify --json
              ordlog verify --db consumer-a.db --db consumer-b.db --db consumer-c.db
              ordlog verify --db logs/        # every *.db file in logs/
              ordlog verify --db 'logs/*.db'

            JSON: {"ok":B,"verified":N,"head":"SEQ:HASH"|null,"keptHead":"SEQ:HASH"|null,\
            "problem":{"seq":N,"kind":S,"message":S}|null,"consumers":[{"seq":N,"consumerId":S,\
            "ordlogVersion":S,"queue":S,"recordedAt":T}]}. Several logs: {"ok":B,"verified":N,"files":[{"file":S,\
            "consumer":S,"ok":B,"verified":N,"head":…,"problem":…,"link":S|null}]}. \
            Exit codes: 0 intact, 1 broken, 64 usage, 70 the log cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        help: ArgumentHelp(
            "A head kept from `ordlog head`; detects the newest records being cut off.", valueName: "seq:hash"))
    var head: String?

    func validate() throws {
        if let head, parseHead(head) == nil {
            throw ValidationError("--head must be SEQ:HASH as printed by `ordlog head` (64 hex digits), got \(head)")
        }
    }

    func identitiesJSON(_ ids: [LoggedIdentity]) -> JSONValue {
        .array(
            ids.map { i in
                obj([
                    ("seq", num(i.seq)), ("consumerId", .string(i.identity.consumerId)),
                    ("ordlogVersion", .string(i.identity.ordlogVersion)), ("queue", .string(i.identity.queue)),
                    ("recordedAt", .string(time(i.recordedAt))),
                ])
            })
    }

    func problemJSON(_ p: ChainBreak?) -> JSONValue {
        p.map { p in
            obj([("seq", num(p.seq)), ("kind", .string(p.kind.rawValue)), ("message", .string(p.message))])
        } ?? .null
    }

    /// Several logs: each file's chain and the links between a consumer's segments.
    func verifySet() throws {
        if head != nil { throw CLIError(code: .usage, message: "--head goes with one log (one --db file)") }
        let set = try global.openLogSet()
        let progress = Progress(label: "verify")
        let report = try set.verify { url, seq in progress.update("\(url.lastPathComponent): verified through seq \(seq)") }
        progress.finish()
        if global.json {
            out(
                JSONWriter.string(
                    obj([
                        ("ok", .bool(report.ok)), ("verified", num(report.verified)),
                        (
                            "files",
                            .array(
                                report.files.map { f in
                                    obj([
                                        ("file", .string(f.url.path)), ("consumer", .string(f.consumerId)),
                                        ("ok", .bool(f.ok)), ("verified", num(f.chain.verified)),
                                        ("head", str(f.chain.head?.description)),
                                        ("problem", problemJSON(f.chain.problem)), ("link", str(f.linkProblem)),
                                    ])
                                })
                        ),
                    ])))
        } else {
            let bad = report.files.filter { !$0.ok }
            out(
                (report.ok ? "OK" : "BROKEN")
                    + ": \(plural(report.files.count, "log")) of \(plural(set.consumerIds.count, "consumer")), "
                    + "\(report.verified) records verified"
                    + (bad.isEmpty ? "" : "; \(bad.count) broken: \(bad.map { $0.url.path }.joined(separator: ", "))"))
            var t = Table("file", "consumer", "records", "head", "result")
            for f in report.files {
                let result =
                    f.chain.problem.map { "BROKEN at seq \($0.seq): \($0.kind.rawValue)" }
                    ?? (f.linkProblem != nil ? "BROKEN link" : "OK")
                t.add(
                    f.url.path, f.consumerId, String(f.chain.verified),
                    clip(f.chain.head?.description ?? "(empty log)", 20), result)
            }
            out(t.render())
            for f in bad {
                if let p = f.chain.problem { out("  \(f.url.path): seq \(p.seq): \(p.message)") }
                if let l = f.linkProblem { out("  \(f.url.path): \(l)") }
            }
        }
        if !report.ok { throw CLIError(code: .checkFailed, message: "") }
    }

    func run() throws {
        try runReportingErrors {
            if try global.readsSeveralLogs() { return try verifySet() }
            let log = try global.openLog(readOnly: true)
            let kept = head.flatMap(parseHead)
            let progress = Progress(label: "verify")
            let result = try Verifier.verify(log, head: kept) { seq in progress.update("verified through seq \(seq)") }
            progress.finish()
            if global.json {
                out(
                    JSONWriter.string(
                        obj([
                            ("ok", .bool(result.ok)), ("verified", num(result.verified)),
                            ("head", str(result.head?.description)), ("keptHead", str(kept?.description)),
                            ("problem", problemJSON(result.problem)),
                            ("consumers", identitiesJSON(try log.identities())),
                        ])))
            } else if let p = result.problem {
                out("BROKEN at seq \(p.seq): \(p.kind.rawValue)")
                out("  \(p.message)")
                out("  \(result.verified) records before it verified.")
            } else {
                out(
                    "OK: \(result.verified) records verified, head \(result.head?.description ?? "(empty log)")"
                        + (kept != nil ? "; kept head \(kept!.seq) present" : ""))
            }
            if !global.json {
                for i in try log.identities() {
                    out(
                        "  written by consumer \(terminalSafe(i.identity.consumerId)) from seq \(i.seq) (ordlog "
                            + "\(i.identity.ordlogVersion), \(terminalSafe(i.identity.queue)), since \(time(i.recordedAt)))")
                }
            }
            if !result.ok { throw CLIError(code: .checkFailed, message: "") }
        }
    }
}

struct Head: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Print the log's head (SEQ:HASH) to keep elsewhere for `ordlog verify --head`.",
        discussion: """
            Examples:
              ordlog head > ordlog.head
              ordlog verify --head "$(cat ordlog.head)"

            Prints 0:000…0 (the genesis hash) for an empty log. \
            JSON: {"seq":N,"hash":S,"head":"SEQ:HASH"}. Exit codes: 0, 70 the log cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReportingErrors {
            let log = try global.openLog(readOnly: true)
            let h = try log.head() ?? LogHead(seq: 0, hash: RecordHash.genesis)
            if global.json {
                out(
                    JSONWriter.string(
                        obj([
                            ("seq", num(h.seq)), ("hash", .string(RecordHash.hex(h.hash))),
                            ("head", .string(h.description)),
                        ])))
            } else {
                out(h.description)
            }
        }
    }
}
