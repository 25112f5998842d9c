import Foundation

@testable import OrdlogCore

/// Paths and temporary databases for tests.
enum Fixtures {
    /// The package root (the folder holding Package.swift).
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `../shared/samples-aws` beside the package root (CI lays `shared/` next to the clone).
    static let sharedSamples: URL = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/samples-aws")

    static func shared(_ relative: String) -> String { sharedSamples.appendingPathComponent(relative).path }
    static func sample(_ relative: String) -> String { packageRoot.appendingPathComponent("samples/\(relative)").path }

    /// Files in a shared samples folder with the given suffix, sorted.
    static func sharedFiles(_ folder: String, suffix: String = ".json") -> [String] {
        let dir = sharedSamples.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.sorted().map { dir.appendingPathComponent($0).path }
    }

    /// A fresh temporary directory, unique per call.
    static func tempDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ordlog-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A path for a fresh event log in its own temporary directory.
    static func tempDB() -> String { tempDir().appendingPathComponent("ordlog.db").path }

    /// A fixed clock for deterministic received_at/attempted_at values.
    static let fixedClock: @Sendable () -> Int64 = { 1_767_261_600_000 }

    /// Opens a fresh log and pipeline.
    static func pipeline(rules: ValidationRules = ValidationRules()) throws -> Pipeline {
        Pipeline(log: try EventLog(path: tempDB()), processor: OrderProcessor(rules: rules), clock: fixedClock)
    }

    /// Ingests files through `pipeline` in batches of 10 and returns the summary.
    @discardableResult
    static func ingest(_ files: [String], into pipeline: Pipeline) throws -> IngestSummary {
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
