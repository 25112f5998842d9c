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

            Examples:
              ordlog verify
              ordlog verify --head "$(cat ordlog.head)"
              ordlog verify --json

            JSON: {"ok":B,"verified":N,"head":"SEQ:HASH"|null,"keptHead":"SEQ:HASH"|null,\
            "problem":{"seq":N,"kind":S,"message":S}|null}. \
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

    func run() throws {
        try runReportingErrors {
            let log = try global.openReadLog()
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
                            (
                                "problem",
                                result.problem.map { p in
                                    obj([
                                        ("seq", num(p.seq)), ("kind", .string(p.kind.rawValue)),
                                        ("message", .string(p.message)),
                                    ])
                                } ?? .null
                            ),
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
            let log = try global.openLog()
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
