import ArgumentParser
import OrdlogCore

struct Head: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Print the log's head (SEQ:HASH) to keep elsewhere for `ordlog verify --head`.",
        discussion: """
            Examples:
              ordlog head > ordlog.head
              ordlog verify --head "$(cat ordlog.head)"

            The head of a sealed log is its chain's newest record (the live file's, or the sealed head it \
            continues). Several consumers' logs (repeated --db, a folder, s3://…): one line per consumer, \
            CONSUMER=SEQ:HASH, the form `ordlog verify --head` takes. \
            Prints 0:000…0 (the genesis hash) for an empty log. \
            JSON: {"consumer":S,"seq":N,"hash":S,"head":"SEQ:HASH"}; several consumers: {"heads":[that…]}. \
            Exit codes: 0, 1 a sealed segment is missing or does not match its manifest, 70 the log cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReportingErrors {
            let set = try global.openLogSet()
            let heads = set.heads().map { ($0.consumerId, $0.head ?? LogHead(seq: 0, hash: RecordHash.genesis)) }
            if heads.count == 1, let (c, h) = heads.first {
                if global.json { try printJSON(HeadOutput(consumer: c, head: h)) } else { say(h.description) }
            } else if global.json {
                try printJSON(HeadOutput.Several(heads: heads.map { HeadOutput(consumer: $0.0, head: $0.1) }))
            } else {
                for (c, h) in heads { say("\(c)=\(h.description)") }
            }
        }
    }
}
