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
        let logs = try global.openVerifiedLog(scratchPrefix: "ordlog-export")
        defer { withExtendedLifetime(logs) {} }
        let redactor = redaction.makeRedactor()
        let sink: ([UInt8]) throws -> Void
        var file: FileHandle?
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil),
                let h = FileHandle(forWritingAtPath: output)
            else { throw CLIError(code: .badInput, message: CannotWrite.message(output)) }
            file = h
            sink = { h.write(Data($0)) }
        } else {
            sink = { writeStdout($0) }
        }
        let progress = Progress(label: "export")
        let counts = try Exporter.export(logs.log, filter: filters.filter, redactor: redactor, to: sink) { c, seq in
            progress.update("\(c.exported) messages, at seq \(seq)")
        }
        progress.finish()
        try file?.close()
        func say(_ text: String) { if output == nil { err(text) } else { out(text) } }
        if global.json {
            // Not printJSON: with the lines on stdout the summary goes to stderr.
            say(JSONWriter.string(try JSONValueEncoder().encode(ExportOutput(counts, output: output))))
            return
        }
        var text = "Exported \(plural(counts.exported, "message"))" + (output.map { " to \($0)" } ?? "")
        if redactor != nil {
            text +=
                "; \(plural(counts.redacted, "body", "bodies")) redacted (\(redaction.redactFields.joined(separator: ",")))"
        }
        if counts.unredactable > 0 {
            text += "; \(plural(counts.unredactable, "body", "bodies")) without such a field or not JSON (unchanged)"
        }
        if counts.skippedInputErrors > 0 {
            text +=
                "; \(counts.skippedInputErrors) skipped (input errors that were not SQS messages, bodies not UTF-8 "
                + "or cannot be decoded to redact)"
        }
        say(text)
    }
}
