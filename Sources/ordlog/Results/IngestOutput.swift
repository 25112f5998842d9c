import OrdlogCore

/// `ingest --json`: the summary's counts (``IngestSummary``, in its order), then `interrupted`, `files` and `db`.
struct IngestOutput: Encodable {
    /// A file read (`format`, `messages`) or refused (`error`).
    struct File: Encodable {
        var file: String
        var format: String?
        var messages: Int?
        var error: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(file, forKey: AnyKey("file"))
            if let error {
                try c.encode(error, forKey: AnyKey("error"))
            } else {
                try c.encode(format, forKey: AnyKey("format"))
                try c.encode(messages, forKey: AnyKey("messages"))
            }
        }
    }

    var summary: IngestSummary
    var interrupted: Bool
    var files: [File]
    var db: String

    enum CodingKeys: String, CodingKey { case interrupted, files, db }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(interrupted, forKey: .interrupted)
        try c.encode(files, forKey: .files)
        try c.encode(db, forKey: .db)
    }
}

extension IngestOutput.File {
    init(file: String, format: String, messages: Int) { self.init(file: file, format: format, messages: messages, error: nil) }
    init(file: String, error: String) { self.init(file: file, format: nil, messages: nil, error: error) }
}
