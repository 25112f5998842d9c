import Foundation
import OrdlogTestSupport

@testable import OrdlogCore

/// Paths and temporary databases for tests (forwards to OrdlogTestSupport's ``TestFixtures``).
enum Fixtures {
    /// The package root (the folder holding Package.swift).
    static var packageRoot: URL { TestFixtures.packageRoot }

    /// `Tests/Fixtures/<relative>`; throws, naming the path, when it is missing.
    static func fixture(_ relative: String) throws -> String { try TestFixtures.path(relative) }

    /// Files in a `Tests/Fixtures` folder with the given suffix, sorted; throws when the folder is missing or empty.
    static func fixtureFiles(_ folder: String, suffix: String = ".json") throws -> [String] {
        try TestFixtures.files(folder, suffix: suffix)
    }

    @available(*, deprecated, renamed: "fixture", message: "fixtures are in Tests/Fixtures now")
    static func shared(_ relative: String) throws -> String { try fixture(relative) }
    @available(*, deprecated, renamed: "fixtureFiles", message: "fixtures are in Tests/Fixtures now")
    static func sharedFiles(_ folder: String, suffix: String = ".json") throws -> [String] {
        try fixtureFiles(folder, suffix: suffix)
    }

    static func sample(_ relative: String) -> String { TestFixtures.sample(relative) }

    /// A fresh temporary directory, unique per call, removed when the test process exits.
    static func tempDir() -> URL { TemporaryDirectory.forTestProcess("ordlog-test") }

    /// A path for a fresh event log in its own temporary directory.
    static func tempDB() -> String { tempDir().appendingPathComponent("ordlog.db").path }

    /// A fixed clock for deterministic received_at/attempted_at values.
    static let fixedClock: @Sendable () -> Int64 = { 1_767_261_600_000 }

    /// Opens a fresh log and pipeline.
    static func pipeline(rules: ValidationRules = ValidationRules()) throws -> ProcessingStep {
        ProcessingStep(log: try EventLog(path: tempDB()), processor: OrderProcessor(rules: rules), clock: fixedClock)
    }

    /// Ingests files through `pipeline` in batches of 10 and returns the summary.
    @discardableResult
    static func ingest(_ files: [String], into pipeline: ProcessingStep) throws -> IngestSummary {
        var summary = IngestSummary()
        for file in files {
            let (_, messages) = try TrafficReader.read(path: file)
            var i = 0
            while i < messages.count {
                let batch = Array(messages[i..<min(i + 10, messages.count)])
                try pipeline.ingest(batch: batch, summary: &summary)
                i += batch.count
            }
        }
        return summary
    }
}
