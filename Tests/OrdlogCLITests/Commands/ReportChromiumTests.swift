import Foundation
import OrdlogTestSupport
import Testing

/// Headless Chromium (Debian package `chromium`, installed by scripts/install-deps.sh and .ci/run).
enum Chromium {
    static let path: String? = {
        let dirs =
            (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/bin", "/usr/local/bin"]
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
                return dir + "/" + name
            }
        }
        return nil
    }()
    /// In CI the tests must run: there a missing chromium fails them instead of skipping them.
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let runs = path != nil || inCI

    /// `chromium --headless --dump-dom` of a local file with networking disabled: every proxied request
    /// goes to a closed port and every host name fails to resolve. Returns the serialised DOM after load.
    static func dumpDOM(_ file: String) throws -> String {
        let chromium = try #require(path, "chromium is not installed (apt-get install chromium; CI installs it)")
        let dir = CLI.tempDir()
        let p = try TestProcess(
            URL(fileURLWithPath: chromium),
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(dir.path)/profile", "--proxy-server=127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", URL(fileURLWithPath: file).absoluteString,
            ], stderr: .discarded)
        let end = try p.wait(timeout: 300)
        #expect(end.status == 0, "chromium exited \(end.status)")
        return p.stdout
    }
}

@Suite(
    .enabled(if: Chromium.runs, "chromium is not installed (apt-get install chromium); CI installs it and runs these"))
struct ReportChromiumTests {
    @Test func sampleReportRendersOfflineWithTheTimelineCountsAndVerifiedHead() throws {
        let (dir, db) = try ReportCommandTests.sampleLog()
        let out = dir.appendingPathComponent("report.html").path
        // The default selection: what `ordlog report --out report.html` shows.
        let r = try CLI.run(["report", "--db", db, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let dom = try Chromium.dumpDOM(out)
        let head = try CLI.run(["head", "--db", db]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The page's script ran (the CSP allowed exactly it) and the DOM is complete without any network.
        #expect(dom.contains("data-js=\"on\""))
        #expect(dom.contains("</footer>"))
        #expect(dom.contains("<dd class=\"mono\" id=\"head\">\(head)</dd>"))
        #expect(dom.contains("<span class=\"ok\">verified</span>"))
        for id in ["ord-2001", "ord-2002", "ord-2003", "ord-2004"] { #expect(dom.contains(id), "no \(id)") }
        #expect(dom.contains("<tr data-outcome=\"projected\">"))
        #expect(dom.contains("<td class=\"n\">6</td>"))
        #expect(dom.contains("order.field_invalid:quantity"))
        // ord-2004: three receives and three attempts, the last dead-lettered, in its timeline under the group.
        let article = try #require(
            dom.firstMatch(of: #/<article class="message"[^>]*>(?s:.*?)</article>/#).map { String($0.output) })
        #expect(article.contains("ord-2004"))
        for label in ["receive #1", "receive #2", "receive #3", "rejected → DLQ"] {
            #expect(article.contains(label), "\(label)")
        }
        #expect(article.components(separatedBy: ">rejected</text>").count - 1 == 2)
        // Search boxes and buttons are shown only when the script runs; here it did.
        #expect(!dom.contains("<input type=\"search\" hidden"))
        // Without its script (--dump-dom needs JavaScript itself, so the page's one script is cut out instead)
        // the same content is there; only the search boxes and buttons stay hidden.
        let html = try String(contentsOfFile: out, encoding: .utf8)
        let cut = try #require(html.firstMatch(of: #/<script>(?s:.*?)</script>/#)?.range)
        let noScript = dir.appendingPathComponent("no-script.html").path
        try Data(html.replacingCharacters(in: cut, with: "").utf8).write(to: URL(fileURLWithPath: noScript))
        let plain = try Chromium.dumpDOM(noScript)
        #expect(!plain.contains("data-js=\"on\""))
        #expect(plain.contains("<input type=\"search\" hidden"))
        for text in ["receive #3", "rejected → DLQ", "order.field_invalid:quantity", head, "ord-2003", "</footer>"] {
            #expect(plain.contains(text), "without the script: no \(text)")
        }
    }

    @Test func hostileBodiesRenderAsTextAndInjectNothing() throws {
        let dir = CLI.tempDir()
        let db = dir.appendingPathComponent("ordlog.db").path
        #expect(try CLI.run(["ingest", "--exit-code", "--db", db, try HostileReportTraffic.path()]).status == 3)
        let out = dir.appendingPathComponent("report.html").path
        let r = try CLI.run(["report", "--db", db, "--out", out, "--order-id", "ord-evil", "--dead-lettered"])
        #expect(r.status == 0, "\(r.stderr)")
        let dom = try Chromium.dumpDOM(out)
        #expect(dom.contains("data-js=\"on\""))
        // No element was injected: no <img> at all, no event-handler attribute on any element.
        #expect(dom.firstMatch(of: #/(?i)<img[\s>\/]/#) == nil)
        #expect(dom.firstMatch(of: #/(?i)<[a-z][^<>]*\son[a-z]+\s*=/#) == nil)
        #expect(dom.components(separatedBy: "<script").count == 2)
        // The svg elements are the report's own (chart + timelines), none from a body.
        let svgs = dom.matches(of: #/<svg\b([^>]*)>/#).map { String($0.output.1) }
        #expect(svgs.allSatisfy { $0.contains("role=\"img\"") }, "\(svgs)")
        // The hostile text is there, as text: in the orders table, the error and the raw bodies.
        let escaped = "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
        #expect(dom.contains("<td>\(escaped)</td>"))
        #expect(dom.contains("&lt;svg onload=alert(1)&gt;"))
        #expect(dom.contains("<pre class=\"body\">\(escaped)\"'&gt;&lt;svg onload=alert(1)&gt;</pre>"))
    }
}
