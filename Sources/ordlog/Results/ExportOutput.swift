import OrdlogCore

/// `export --json`'s summary (documented in `ordlog export --help`): the counts, then the output file or null.
struct ExportOutput: Encodable {
    var exported: Int
    var redacted: Int
    var unredactable: Int
    var skippedInputErrors: Int
    var output: String?

    init(_ counts: ExportCounts, output: String?) {
        exported = counts.exported
        redacted = counts.redacted
        unredactable = counts.unredactable
        skippedInputErrors = counts.skippedInputErrors
        self.output = output
    }
}
