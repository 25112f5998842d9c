import Foundation
import Testing

@testable import OrdlogCore

@Suite struct MigrationFilesTests {
    @Test("the embedded migrations equal migrations/*.sql byte for byte, in order")
    func embeddedEqualsFiles() throws {
        let dir = Fixtures.packageRoot.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files.map { String($0.dropLast(4)) } == Migrations.ids)
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            let embedded = try #require(Migrations.sql(String(file.dropLast(4))))
            #expect(
                Array(embedded.utf8) == Array(text.utf8),
                "\(file) differs from its embedded copy: run scripts/embed-migrations.sh")
        }
    }

    @Test("opening a log applies and records every migration once")
    func appliedOnce() throws {
        let path = Fixtures.tempDB()
        _ = try EventLog(path: path)
        let log = try EventLog(path: path)
        let count = try log.db.scalarInt("SELECT count(*) FROM schema_migrations")
        #expect(count == Int64(Migrations.ids.count))
        #expect(try log.db.scalarText("PRAGMA journal_mode") == "wal")
    }
}
