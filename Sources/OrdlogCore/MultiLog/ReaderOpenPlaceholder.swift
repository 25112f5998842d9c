import Foundation
import Logging

// Placeholder until the reader-open work lands (a hot journal recovered on a private copy, scratch space removed
// on every way out).
extension EventLog {
    /// Opens the log at `path` for reading only; never changes its bytes.
    public static func openForReading(path: String, logger: Logger, note: (String) -> Void) throws -> EventLog {
        do {
            return try EventLog(path: path, logger: logger, readOnly: true)
        } catch let old as EventLogNeedsMigration {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "ordlog-read-\(getpid())-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let copy = dir.appendingPathComponent("migrated.db").path
            try SQLiteConnection(path: path, readOnly: true)
                .execute("VACUUM INTO '\(copy.replacingOccurrences(of: "'", with: "''"))'")
            note(
                "\(path) was written by an older ordlog (migrations \(old.pending.joined(separator: ", ")) "
                    + "not applied): reading a migrated copy; the file is left as it is (ingest or consume migrate it)")
            return try EventLog(path: copy, logger: logger)
        }
    }
}
