import ArgumentParser
import Foundation
import OrdlogCore

/// `--redact FIELDS` and `--redact-key`, shared by `export` and `report`: the same fields, the same key rule.
struct RedactOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("Comma-separated order fields to pseudonymise, e.g. userId,itemName.", valueName: "fields"))
    var redact: String?
    @Option(
        name: .customLong("redact-key"),
        help: "Secret HMAC key for pseudonyms (env: ORDLOG_REDACT_KEY; default: random per export).")
    var redactKey: String?

    var redactFields: [String] {
        (redact ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        if redact != nil, redactFields.isEmpty {
            throw ValidationError("--redact needs field names, e.g. userId,itemName")
        }
        let unknown = redactFields.filter { !Redactor.redactableFields.contains($0) }
        if !unknown.isEmpty {
            throw ValidationError(
                "--redact: unknown order field(s) \(unknown.joined(separator: ", ")); the fields are "
                    + Redactor.redactableFields.joined(separator: ", ") + " (case matters)")
        }
        // An empty key is a key anyone can guess (HMAC with ""), typically an unset variable in `--redact-key "$KEY"`.
        let envKey = ProcessInfo.processInfo.environment["ORDLOG_REDACT_KEY"]
        if redactKey?.isEmpty == true || (redactKey == nil && envKey?.isEmpty == true) {
            throw ValidationError(
                "the redaction key is empty (an unset variable?): anyone could test guessed values against its "
                    + "pseudonyms. Give a secret with --redact-key or ORDLOG_REDACT_KEY, or neither for a random key.")
        }
    }

    /// The redactor for the given fields, or nil without --redact. The key is --redact-key, else
    /// $ORDLOG_REDACT_KEY, else a random one (said on stderr: pseudonyms are then stable within one output only).
    func makeRedactor(output what: String = "file") -> Redactor? {
        let fields = redactFields
        guard !fields.isEmpty else { return nil }
        var key = redactKey ?? ProcessInfo.processInfo.environment["ORDLOG_REDACT_KEY"]
        if key == nil {
            key = Redactor.randomKey()
            err(
                "ordlog: no --redact-key or ORDLOG_REDACT_KEY: using a random key, so pseudonyms are stable within this \(what) only"
            )
        }
        return Redactor(fields: fields, key: key!)
    }
}
