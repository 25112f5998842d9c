import Foundation
import OrdlogShared
import Testing

/// The one UTC calendar routine (SigV4 dates, RFC 3339 output, JSON log timestamps) against known instants and a
/// Gregorian `Calendar`, before 1970 too.
@Suite struct CivilTimeTests {
    @Test("milliseconds since the epoch as ISO 8601, at known instants and around the epoch")
    func knownInstants() {
        #expect(CivilTime.iso8601(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(CivilTime.iso8601(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(CivilTime.iso8601(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(CivilTime.iso8601(milliseconds: 1_767_261_600_123) == "2026-01-01T10:00:00.123Z")
    }

    @Test("civil(fromDays:) equals a UTC Gregorian Calendar over ±200 years")
    func matchesCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let days = Int64.random(in: -73_000...73_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(days) * 86_400)
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            let (y, m, d) = CivilTime.civil(fromDays: days)
            #expect(Int(y) == c.year && Int(m) == c.month && Int(d) == c.day, "day \(days)")
        }
    }
}
