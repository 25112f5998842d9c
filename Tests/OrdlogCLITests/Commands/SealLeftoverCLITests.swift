import Foundation
import OrdlogCore
import OrdlogTestSupport
import Testing

/// `ordlog seal` names the files of killed seals it removed, in text and JSON.
@Suite struct SealLeftoverCLITests {
    /// A log with the sample traffic, and a `<log>.sealing-<pid>-<ms>` file of a seal whose process has exited.
    static func logWithLeftover() throws -> (db: String, leftover: String, pid: Int32) {
        let db = CLI.tempDir().appendingPathComponent("s.db").path
        #expect(try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")]).status == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let leftover = db + ".sealing-\(p.processIdentifier)-1767261600000"
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data(repeating: 0, count: 4096)))
        return (db, leftover, p.processIdentifier)
    }

    @Test("seal prints each leftover it removed")
    func text() throws {
        let (db, leftover, pid) = try Self.logWithLeftover()
        let r = try CLI.run(["seal", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "removed \(leftover) (next-live-file, 4096 bytes): left by a seal (pid \(pid)) that is no longer running"
            ))
        #expect(r.stdout.contains("sealed seq 1…"))
        #expect(!FileManager.default.fileExists(atPath: leftover))
    }

    @Test("seal --json lists the leftovers it removed")
    func json() throws {
        let (db, leftover, pid) = try Self.logWithLeftover()
        let r = try CLI.run(["seal", "--db", db, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONParser.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
        #expect(o["sealed"] == .bool(true))
        #expect(
            o["removedLeftovers"]
                == .array([
                    .object(
                        JSONObject([
                            ("path", .string(leftover)), ("kind", .string("next-live-file")),
                            ("pid", .number(String(pid))), ("bytes", .number("4096")),
                        ]))
                ]))
    }
}
