import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// ``Reprojector/rebuild(_:log:logPath:startedAt:shouldStop:onCheckpoint:onTestPause:publish:)`` on
/// `samples/order-traffic.jsonl`: where the build goes, the staging file for DynamoDB, publishing.
@Suite struct ReprojectionTests {
    static func sampleLog() throws -> (EventLog, String) {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        return (p.log, p.log.db.path)
    }

    @Test("for DynamoDB the build is staged beside the log, published, then removed")
    func stagesPublishesAndRemoves() async throws {
        let (log, path) = try Self.sampleLog()
        var options = ReprojectOptions()
        options.forDynamoDB = true
        options.dynamoDBTable = "Orders"
        options.target = .seq(10)
        let staging = options.stagingPath(logPath: path)
        #expect(staging == path + ".reproject-Orders-seq-10.db")
        var published: LocalProjection?
        let report = try await Reprojector.rebuild(options, log: log, logPath: path, startedAt: 0) { projection in
            published = projection
            #expect(FileManager.default.fileExists(atPath: staging), "built in the staging file")
            return DynamoDBProjection.SyncResult(
                tableName: "Orders", created: false, written: try projection.orderCount())
        }
        #expect(report.buildPath == staging)
        #expect(try published?.digest() == report.result.digest)
        #expect(report.published?.written == report.result.orders)
        #expect(!FileManager.default.fileExists(atPath: staging), "the staging file goes once published")
    }

    @Test("into a file: built there, published as it is, kept; the live projection is unchanged")
    func intoAFileIsKept() async throws {
        let (log, path) = try Self.sampleLog()
        let live = try LocalProjection(db: log.db).digest()
        var options = ReprojectOptions()
        options.intoPath = Fixtures.tempDB()
        var checkpoints: [Int64] = []
        let report = try await Reprojector.rebuild(
            options, log: log, logPath: path, startedAt: 0, onCheckpoint: { seq, _ in checkpoints.append(seq) }
        ) { _ in nil }
        #expect(report.buildPath == options.intoPath)
        #expect(report.result.digest == live)
        #expect(!checkpoints.isEmpty)
        #expect(FileManager.default.fileExists(atPath: options.intoPath!))
        #expect(try LocalProjection(db: log.db).digest() == live)
    }

    @Test("stopped after a checkpoint: interrupted, nothing published")
    func interruptedDoesNotPublish() async throws {
        let (log, path) = try Self.sampleLog()
        var options = ReprojectOptions()
        options.intoPath = Fixtures.tempDB()
        options.batchSize = 5
        let report = try await Reprojector.rebuild(
            options, log: log, logPath: path, startedAt: 0, shouldStop: { true }
        ) { _ in
            Issue.record("an unfinished build is not published")
            return nil
        }
        #expect(report.result.interrupted)
        #expect(report.published == nil)
    }

    @Test("in place on a log that continues sealed segments is refused")
    func inPlaceAfterASealIsRefused() async throws {
        let (log, path) = try Self.sampleLog()
        try log.write {
            _ = try log.appendIdentity(
                ConsumerIdentity(consumerId: "c1", ordlogVersion: "test", queue: ""), recordedAt: 0)
        }
        _ = try Segments.seal(log, ordlogVersion: "test")
        let live = try EventLog(path: path)
        await #expect {
            _ = try await Reprojector.rebuild(ReprojectOptions(), log: live, logPath: path, startedAt: 0) { _ in nil }
        } throws: { ($0 as? ReprojectSetupError)?.kind == .continuesSealedSegments }
    }
}
