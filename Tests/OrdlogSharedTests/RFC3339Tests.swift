import Testing

@testable import OrdlogShared

@Suite struct RFC3339Tests {
    @Test("parses instants exactly, with offsets and fractions")
    func parses() {
        #expect(RFC3339.nanoseconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.nanoseconds("2025-01-15T10:30:00.000Z") == 1_736_937_000_000_000_000)
        #expect(RFC3339.nanoseconds("2025-01-15T11:30:00.000+01:00") == RFC3339.nanoseconds("2025-01-15T10:30:00Z"))
        #expect(RFC3339.nanoseconds("2025-01-15t10:30:00.123456789z") == 1_736_937_000_123_456_789)
        #expect(RFC3339.nanoseconds("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.nanoseconds("1969-12-31T23:59:59.5Z") == -500_000_000)
    }

    @Test(
        "rejects what is not RFC 3339",
        arguments: [
            "2025-01-15", "2025-01-15T10:30:00", "2025-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2025-01-15 10:30:00Z",
            "2025-01-15T24:00:00Z", "2025-01-15T10:30:00.Z", "1736937000", "", "2025-01-15T10:30:00+0100",
        ])
    func rejects(text: String) { #expect(RFC3339.nanoseconds(text) == nil) }

    @Test("formats milliseconds as UTC")
    func formats() {
        #expect(RFC3339.format(milliseconds: 1_795_955_512_961) == "2026-11-29T12:31:52.961Z")
        #expect(RFC3339.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
    }
}
