import Foundation
import OrdlogCore
import Testing

@Suite struct IngestCommandTests {
    @Test("ingest of the shipped sample prints the summary and exits 3 (one message dead-lettered)")
    func ingestSample() throws {
        let db = CLI.tempDir().appendingPathComponent("o.db").path
        let r = try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")])
        #expect(r.status == 3, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines[1].split(separator: " ", omittingEmptySubsequences: true) == [
                "received", "appended", "already-logged", "projected", "duplicate", "stale", "rejected", "failed",
                "dead-lettered",
            ])
        #expect(
            lines[2].split(separator: " ", omittingEmptySubsequences: true) == [
                "13", "13", "0", "6", "2", "1", "4", "0", "1",
            ])

        let again = try CLI.run(["ingest", "--db", db, "--json", CLI.sample("order-traffic.jsonl")])
        #expect(again.status == 0)
        let json = try #require(
            try JSONParser.parse(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
        #expect(json["alreadyLogged"] == .number("13"))
        #expect(json["appended"] == .number("0"))
        #expect(json["projected"] == .number("0"))

        let orders = try CLI.run(["orders", "--db", db, "--json"])
        let items = try #require(
            try JSONParser.parse(orders.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).arrayValue)
        #expect(items.count == 3)
        #expect(items[0].objectValue?["status"] == .string("DELIVERED"))
        #expect(items[1].objectValue?["itemName"] == .string("Café crème – 東京 🍣"))

        let one = try CLI.run(["orders", "--db", db, "ord-2003"])
        #expect(one.stdout.contains("ord-2003  user-23  Grinder   1         PAID"))
        let missing = try CLI.run(["orders", "--db", db, "ord-nope"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("order ord-nope is not in the projection"))

        let history = try CLI.run(["history", "--db", db, "ord-2004"])
        #expect(history.status == 0)
        #expect(history.stdout.contains("rejected (dead-lettered)"))
        #expect(
            history.stdout.contains(
                #"permanent error order.field_invalid:quantity: order field quantity is the string "two""#))
    }

    @Test("exit codes: 4 for bad input files, 64 for usage errors, ORDLOG_DB honoured")
    func exitCodes() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("env.db").path
        let bad = try CLI.run(["ingest", "/nonexistent.json", CLI.sample("bad-input.jsonl")], env: ["ORDLOG_DB": db])
        #expect(bad.status == 4)
        #expect(bad.stderr.contains("/nonexistent.json: no such file"))
        #expect(FileManager.default.fileExists(atPath: db))
        let usage = try CLI.run(["ingest", "--max-receive-count", "0", "x"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--max-receive-count must be 1…1000"))
        let notADB = dir.appendingPathComponent("junk.db")
        try Data(
            "this is not sqlite, just text that is long enough to be a header......................................................"
                .utf8
        ).write(to: notADB)
        let storage = try CLI.run(["orders", "--db", notADB.path])
        #expect(storage.status == 70)
        #expect(storage.stderr.contains("cannot open event log"))
    }

    @Test("ingest reads standard input")
    func stdin() throws {
        let db = CLI.tempDir().appendingPathComponent("s.db").path
        let data = try Data(contentsOf: URL(fileURLWithPath: CLI.sample("order-traffic.jsonl")))
        let r = try CLI.run(["ingest", "--db", db, "--json", "-"], stdin: data)
        #expect(r.stdout.contains(#""received":13"#))
        #expect(r.stdout.contains(#""file":"-","format":"json-lines""#))
    }

    @Test("help texts carry examples and the exit codes")
    func help() throws {
        let root = try CLI.run(["--help"])
        #expect(root.stdout.contains("ingest"))
        #expect(root.stdout.contains("Exit codes:"))
        let ingest = try CLI.run(["ingest", "--help"])
        #expect(ingest.stdout.contains("ordlog ingest samples/order-traffic.jsonl"))
        #expect(ingest.stdout.contains("--max-receive-count"))
    }
}
