import Foundation

/// The report tests' hostile traffic (`Tests/Fixtures/report/hostile.jsonl`), shared by the core and the Chromium
/// suites: ord-evil projected with the two break-out strings as userId/itemName; evil-2 (a body that is not JSON,
/// both strings) and evil-3 (both strings as the quantity) each received three times and dead-lettered.
public enum HostileReportTraffic {
    /// Ends a `<script>` element and injects an element with an event handler.
    public static let scriptBreak = "</script><img src=x onerror=alert(1)>"
    /// Ends a quoted attribute and injects an element with an event handler.
    public static let attributeBreak = "\"'><svg onload=alert(1)>"

    /// The fixture's path; fails naming it when missing.
    public static func path() throws -> String { try TestFixtures.path("report/hostile.jsonl") }
}
