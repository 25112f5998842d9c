import OrdlogAWS

extension CommandFailure {
    /// The one error → exit status table: what status `error` ends a command with, and the line said on stderr.
    ///
    /// | error | status |
    /// |---|---|
    /// | ``CommandFailure`` | its own |
    /// | ``LogSourceError`` | by its kind: 70 missing, unreadable, not a log, not found; 1 broken chain; 5 AWS; 64 usage |
    /// | ``LogSetBroken`` | 1 |
    /// | ``EventLogCopyError``, ``WriterLockError``, ``SQLiteError`` | 70 |
    /// | `AWSServiceError`, `AWSTransportError`, `AWSResponseDecodingError`, `NoCredentialsError`, `CredentialSourceError`, `CredentialSourceNotApplicable`, `AWSConfigurationError` | 5 |
    ///
    /// - Returns: nil for an error the table does not know (ArgumentParser's own: `ExitCode`, `ValidationError`,
    ///   `CleanExit`), which the caller passes on.
    public init?(_ error: any Error) {
        switch error {
        case let e as CommandFailure: self = e
        case let e as LogSourceError: self.init(e)
        case let e as LogSetBroken: self.init(code: .checkFailed, message: "\(e)")
        case let e as EventLogCopyError: self.init(code: .storage, message: "\(e)")
        case let e as WriterLockError: self.init(code: .storage, message: "\(e)")
        case let e as SQLiteError: self.init(code: .storage, message: Self.storageMessage(e))
        case let e as DurabilityError: self.init(code: .storage, message: "\(e)")
        case let e as SegmentError: self.init(code: .storage, message: "\(e)")
        case is AWSServiceError, is AWSTransportError, is AWSResponseDecodingError, is NoCredentialsError,
            is CredentialSourceError, is CredentialSourceNotApplicable, is AWSConfigurationError:
            self.init(code: .aws, message: "\(error)")
        default: return nil
        }
    }

    /// A source that cannot be read, with what to do.
    public init(_ e: LogSourceError) {
        switch e.kind {
        case .missing:
            self.init(
                code: .storage,
                message: "no event log at \(e.source) (set it with --db or ORDLOG_DB; default ./ordlog.db). Create "
                    + "one with `ordlog ingest FILE` or `ordlog consume`.")
        case .notALog:
            self.init(
                code: .storage,
                message: "\(e.source) is not an ordlog event log (it has no receives table). A projection written "
                    + "with --into is read with `ordlog orders --db \(e.source)`; other commands need the log itself "
                    + "(--db / ORDLOG_DB).")
        case .unreadable:
            self.init(code: .storage, message: "cannot open event log \(e.source): \(e.message). Check --db / ORDLOG_DB.")
        case .notFound: self.init(code: .storage, message: "\(e)")
        case .brokenChain: self.init(code: .checkFailed, message: "\(e)")
        case .aws: self.init(code: .aws, message: "\(e)")
        case .usage: self.init(code: .usage, message: "\(e)")
        }
    }

    /// A storage error said for a user: what failed and what to check, with SQLite's code for reference.
    public static func storageMessage(_ error: SQLiteError) -> String {
        switch error.code {
        case SQLiteResultCode.readOnly:
            return
                "cannot write the event log: it is read-only (SQLite error 8). Check that the file and its directory are writable."
        case SQLiteResultCode.full: return "cannot write the event log: the disk is full (SQLite error 13)."
        case SQLiteResultCode.busy, SQLiteResultCode.locked:
            return "the event log is locked by another process (SQLite error \(error.code)); try again when it finishes."
        case SQLiteResultCode.ioError: return "I/O error on the event log (SQLite error 10): \(error.message)"
        case SQLiteResultCode.corrupt, SQLiteResultCode.notADatabase:
            return "the event log is damaged or not an ordlog database (SQLite error \(error.code)): \(error.message)"
        default: return "event log error: \(error)"
        }
    }
}
