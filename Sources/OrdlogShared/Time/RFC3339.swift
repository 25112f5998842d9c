/// Parses RFC 3339 `date-time` values (<https://www.rfc-editor.org/rfc/rfc3339#section-5.6>) into instants.
///
/// Pure arithmetic: no Foundation formatter, calendar, locale or time zone database is involved, so the
/// result is the same on every machine. Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `T`/`t` and
/// `Z`/`z` in either case, a leap second `:60`. Fractions beyond nanoseconds are truncated.
public enum RFC3339 {
    /// The instant of `text` in nanoseconds since 1970-01-01T00:00:00Z, or nil when `text` is not RFC 3339.
    public static func nanoseconds(_ text: String) -> Int64? {
        // In place over a native string's bytes (no array per call: it runs twice per projected order).
        if let r = text.utf8.withContiguousStorageIfAvailable({ nanoseconds(utf8: $0) }) { return r }
        return Array(text.utf8).withUnsafeBufferPointer { nanoseconds(utf8: $0) }
    }

    /// ``nanoseconds(_:)`` of UTF-8 text.
    static func nanoseconds(utf8 b: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2) else {
            return nil
        }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") else { return nil }
        i += 1
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2) else {
            return nil
        }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        var nanos: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if count < 9 { nanos = nanos * 10 + Int64(b[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in min(count, 9)..<9 { nanos *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
            i += 1
            guard let oh = digits(2), expect(0x3A), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        default:
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflow2) = ns.addingReportingOverflow(nanos)
        return overflow2 ? nil : total
    }

    static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Formats ms since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), independent of locale and TZ.
    public static func format(milliseconds ms: Int64) -> String { CivilTime.iso8601(milliseconds: ms) }

    /// Parses an RFC 3339 instant into ms since the epoch (truncating sub-millisecond digits).
    public static func milliseconds(_ text: String) -> Int64? {
        nanoseconds(text).map { $0 >= 0 ? $0 / 1_000_000 : ($0 - 999_999) / 1_000_000 }
    }
}
