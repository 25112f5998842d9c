import ArgumentParser
import Foundation
import OrdlogCore

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the log (or a filtered part) as SQS messages, JSON Lines, for ingest or replay --traffic.",
        discussion: """
            Each receive becomes one line in the SQS ReceiveMessage message shape, PascalCase: \
            {"MessageId","ReceiptHandle","MD5OfBody","Body","Attributes","MD5OfMessageAttributes",\
            "MessageAttributes"} with the attributes as received (absent members stay absent). Receives that \
            were not SQS messages (input errors) are skipped and counted. The log is not changed.

            --redact FIELDS replaces those order fields (in a raw body, or inside the SNS envelope's Message) \
            with stable pseudonyms: FIELD-<first 12 hex of HMAC-SHA256(key, value)>. FIELDS are order field \
            names, exactly: orderId, userId, itemName, quantity, status, timestamp; anything else is refused. \
            The key is --redact-key or $ORDLOG_REDACT_KEY; without one a random key is used for this export \
            (pseudonyms are then stable within the file only). Keep the key secret: with it, anyone can test \
            guessed values against the pseudonyms. The same value always maps to the same pseudonym under one \
            key, so orders stay linked. A rewritten body is re-serialised compactly, its MD5OfBody is recomputed (the \
            SNS Signature no longer verifies); bodies that are not JSON cannot be redacted and are counted as \
            unredactable (their lines are still written — check them before sharing).

            \(severalLogsHelp)

            Examples:
              ordlog export > all.jsonl
              ordlog export --db logs/ > all-consumers.jsonl
              ordlog export --order-id ord-2004 --output ord-2004.jsonl
              ordlog export --redact userId,itemName --output fixtures/traffic.jsonl
              ordlog export --dead-lettered | ordlog replay --traffic - --accept-numeric-strings

            The summary goes to stderr when the lines go to stdout, else to stdout. Summary JSON: \
            {"exported":N,"redacted":N,"unredactable":N,"skippedInputErrors":N,"output":S|null}. \
            Exit codes: 0, 4 the output cannot be written, 64 usage, 70 the log cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Filters") var filters: FilterOptions

    @Option(help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file"))
    var output: String?
    @OptionGroup var redaction: RedactOptions

    func run() throws {
        try runReportingErrors { try execute() }
    }

    func execute() throws {
        do {
            let logs = try global.openVerifiedLog(scratchPrefix: "ordlog-export")
            defer { withExtendedLifetime(logs) {} }
            let log = logs.log
            let resolved = try filters.filter.resolve(in: log)
            let fields = redaction.redactFields
            let redactor = redaction.makeRedactor()
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil),
                    let h = FileHandle(forWritingAtPath: output)
                else { throw CLIError(code: .badInput, message: "cannot write \(output)") }
                handle = h
            } else {
                handle = FileHandle.standardOutput
            }
            var exported = 0
            var redacted = 0
            var unredactable = 0
            var skipped = 0
            var buffer: [UInt8] = []
            let progress = Progress(label: "export")
            try log.forEachRecord(from: filters.filter.fromSeq, through: filters.filter.toSeq) { record in
                guard case .receive(let r) = record, resolved.matches(r) else { return true }
                guard let exportedLine = Exporter.line(r, redactor: redactor) else {
                    skipped += 1
                    return true
                }
                let line = exportedLine.line
                let didRedact = exportedLine.redacted
                exported += 1
                if didRedact { redacted += 1 } else if redactor != nil { unredactable += 1 }
                buffer += line
                if buffer.count > 1 << 16 {
                    if output == nil { writeStdout(buffer) } else { handle.write(Data(buffer)) }
                    buffer.removeAll(keepingCapacity: true)
                    progress.update("\(exported) messages, at seq \(r.seq)")
                }
                return true
            }
            if output == nil { writeStdout(buffer) } else { handle.write(Data(buffer)) }
            progress.finish()
            if output != nil { try handle.close() }
            func say(_ text: String) { if output == nil { err(text) } else { out(text) } }
            if global.json {
                say(
                    JSONWriter.string(
                        obj([
                            ("exported", num(exported)), ("redacted", num(redacted)),
                            ("unredactable", num(unredactable)),
                            ("skippedInputErrors", num(skipped)), ("output", str(output)),
                        ])))
            } else {
                var text = "Exported \(plural(exported, "message"))" + (output.map { " to \($0)" } ?? "")
                if redactor != nil {
                    text += "; \(plural(redacted, "body", "bodies")) redacted (\(fields.joined(separator: ",")))"
                }
                if unredactable > 0 {
                    text += "; \(plural(unredactable, "body", "bodies")) without such a field or not JSON (unchanged)"
                }
                if skipped > 0 {
                    text +=
                        "; \(skipped) skipped (input errors that were not SQS messages, bodies not UTF-8 "
                        + "or cannot be decoded to redact)"
                }
                say(text)
            }
        }
    }
}
