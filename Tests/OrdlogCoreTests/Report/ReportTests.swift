import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogCore

/// Traffic for the report tests: the hostile fixture (``HostileReportTraffic``) and the shipped sample.
enum ReportTraffic {
    static let scriptBreak = HostileReportTraffic.scriptBreak
    static let attributeBreak = HostileReportTraffic.attributeBreak

    static func hostilePipeline() throws -> ProcessingStep {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest([try HostileReportTraffic.path()], into: p)
        return p
    }

    static func samplePipeline() throws -> ProcessingStep {
        let p = try Fixtures.pipeline()
        try Fixtures.ingest([Fixtures.sample("order-traffic.jsonl")], into: p)
        return p
    }

    static func render(_ p: ProcessingStep, _ options: ReportOptions = ReportOptions(), madeAt: Int64 = 0) throws -> String {
        ReportHTML.render(try ReportData.gather(log: p.log, path: "test.db", options: options, madeAtMs: madeAt))
    }
}

@Suite struct ReportHTMLTests {
    @Test func escapeLeavesNoMarkupCharacters() {
        let s = HTML.escape(ReportTraffic.scriptBreak + ReportTraffic.attributeBreak + "&amp;")
        for c in ["<", ">", "\"", "'"] { #expect(!s.contains(c)) }
        #expect(
            s == "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&gt;&lt;svg onload=alert(1)&gt;&amp;amp;")
        #expect(HTML.scriptJSON("\"</script>&\u{2028}\u{2029}\"") == "\"\\u003c/script\\u003e\\u0026\\u2028\\u2029\"")
        #expect(HTML.count(1_234_567) == "1,234,567")
        #expect(HTML.count(12) == "12")
    }

    @Test func sampleReportShowsOrd2004TimelineTheDLQGroupTheOrdersAndAVerifiedHead() throws {
        let p = try ReportTraffic.samplePipeline()
        var options = ReportOptions()
        options.orderIds = ["ord-2004"]
        options.deadLettered = true
        let data = try ReportData.gather(log: p.log, path: "test.db", options: options, madeAtMs: 0)
        #expect(data.verify.ok)
        #expect(data.head == (try p.log.head()))
        #expect(data.chosenOrders.count == 1)
        let ord = try #require(data.chosenOrders.first)
        #expect(ord.messages.count == 1)
        #expect(ord.messages[0].receives.map(\.receiveCount) == [1, 2, 3])
        #expect(ord.messages[0].attempts.map(\.decision.outcome) == [.rejected, .rejected, .rejected])
        #expect(ord.messages[0].attempts.map(\.decision.deadLettered) == [false, false, true])
        #expect(data.groups.map(\.fingerprint) == ["order.field_invalid:quantity"])
        #expect(data.groups[0].count == 1)
        #expect(data.receives == 13)
        #expect(data.attempts == 13)
        // ingest's summary: projected 6, duplicate 2, stale 1, rejected 4 (one of them dead-lettered).
        #expect(data.categoryCounts == [6, 2, 1, 3, 0, 1])
        let html = ReportHTML.render(data)
        for text in [
            "receive #1", "receive #2", "receive #3", "rejected → DLQ", "order.field_invalid:quantity",
            "ordlog redrive --db test.db --fingerprint order.field_invalid:quantity --dry-run",
            (try p.log.head())!.description, "verified",
        ] {
            #expect(html.contains(text), "missing \(text)")
        }
        let all = try ReportTraffic.render(p)
        for id in ["ord-2001", "ord-2002", "ord-2003"] { #expect(all.contains("data-order-id=\"\(id)\"")) }
    }

    @Test func hostileValuesAreEscapedEverywhere() throws {
        let p = try ReportTraffic.hostilePipeline()
        var options = ReportOptions()
        options.orderIds = ["ord-evil"]
        options.deadLettered = true
        let html = try ReportTraffic.render(p, options)
        #expect(!html.contains("<img"))
        #expect(!html.contains("<svg onload"))
        #expect(!html.contains("onerror=alert(1)>"))
        #expect(!html.contains("\"'>"))
        #expect(html.contains(HTML.escape(ReportTraffic.scriptBreak)))
        #expect(html.contains(HTML.escape(ReportTraffic.attributeBreak)))
        // The only <script> is the page's own, and it is the one the policy allows.
        #expect(html.components(separatedBy: "<script").count == 2)
        #expect(html.contains("<script>\(ReportHTML.script)</script>"))
        #expect(html.contains(HTML.escape(ReportHTML.contentSecurityPolicy)))
    }

    @Test func pageLoadsNothingFromAnywhere() throws {
        let html = try ReportTraffic.render(try ReportTraffic.samplePipeline())
        // The sample bodies hold https:// URLs (SigningCertURL), escaped as text: nothing may point at them.
        let pattern =
            #/(?i)(src|href|action|poster|srcset|data)\s*=\s*["']?\s*(https?:|//)|url\(\s*["']?\s*(https?:|//)|@import|<link|<iframe|<object|<embed/#
        #expect(html.firstMatch(of: pattern) == nil)
        for match in html.matches(of: #/href="([^"]*)"/#) { #expect(match.output.1.hasPrefix("#")) }
        #expect(!html.contains(" src="))
        let policy = ReportHTML.contentSecurityPolicy
        #expect(policy.hasPrefix("default-src 'none';"))
        #expect(policy.contains(HTML.cspHash(ReportHTML.script)))
    }

    @Test func sameLogSameBytesExceptTheMadeAtLine() throws {
        let p = try ReportTraffic.samplePipeline()
        var options = ReportOptions()
        options.orderIds = ["ord-2001", "ord-2004"]
        let a = try ReportTraffic.render(p, options, madeAt: 1_767_261_600_000)
        let b = try ReportTraffic.render(p, options, madeAt: 1_767_300_000_000)
        #expect(a != b)
        func strip(_ s: String) -> [Substring] { s.split(separator: "\n").filter { !$0.contains("id=\"made-at\"") } }
        #expect(strip(a) == strip(b))
        #expect(a.split(separator: "\n").count == strip(a).count + 1)
        #expect(try ReportTraffic.render(p, options, madeAt: 5) == (try ReportTraffic.render(p, options, madeAt: 5)))
    }

    @Test func capsAreSaidInThePage() throws {
        let p = try ReportTraffic.hostilePipeline()
        var options = ReportOptions()
        options.maxTimelines = 1
        options.maxOrders = 0
        let data = try ReportData.gather(log: p.log, path: "t.db", options: options, madeAtMs: 0)
        #expect(data.deadLetteredMessages == 2)
        #expect(data.dlqTimelinesShown == 1)
        #expect(data.groups.count == 2)
        let html = ReportHTML.render(data)
        #expect(html.contains("Showing timelines of 1 of 2 dead-lettered messages"))
        #expect(html.contains("showing 0 of 1"))
    }

    @Test func redactionUsesTheExportPseudonymsEverywhere() throws {
        let p = try ReportTraffic.samplePipeline()
        let redactor = Redactor(fields: ["userId", "itemName", "quantity"], key: "test-key")
        var options = ReportOptions()
        options.orderIds = ["ord-2001", "ord-2004"]
        options.redactor = redactor
        let data = try ReportData.gather(log: p.log, path: "t.db", options: options, madeAtMs: 0)
        let html = ReportHTML.render(data)
        for plain in ["Espresso machine", "user-17", "Grinder", "user-23", "\\\"two\\\"", "&quot;two&quot;"] {
            #expect(!html.contains(plain), "\(plain) is not redacted")
        }
        #expect(html.contains(redactor.pseudonym(field: "itemName", value: "Espresso machine")))
        #expect(html.contains(redactor.pseudonym(field: "userId", value: "user-17")))
        #expect(html.contains("value withheld: --redact quantity"))
        // The malformed (not JSON) sample body cannot be redacted and is not among the shown ones.
        #expect(data.unredactableBodies == 0)
        // Redacting orderId leaves no order id in the page: not the chosen ones, not a missing one, not the anchors.
        var byId = ReportOptions()
        byId.orderIds = ["ord-2001", "ord-2004", "ord-nope"]
        byId.redactor = Redactor(fields: ["orderId"], key: "test-key")
        let idPage = try ReportTraffic.render(p, byId)
        for id in ["ord-2001", "ord-2002", "ord-2003", "ord-2004", "ord-nope"] {
            #expect(!idPage.contains(id), "\(id) is not redacted")
        }
        #expect(idPage.contains(byId.redactor!.pseudonym(field: "orderId", value: "ord-nope")))
        // The same pseudonym as export --redact gives for the same body.
        let receive = try #require(try p.log.receives(messageId: "6f1c2a9e-0001-4c1e-9d8a-000000000001").first)
        let exported = String(decoding: try #require(Exporter.line(receive, redactor: redactor)).line, as: UTF8.self)
        #expect(exported.contains(redactor.pseudonym(field: "itemName", value: "Espresso machine")))
    }
}
