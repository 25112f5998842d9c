/// UTC calendar arithmetic without `Calendar` or a time zone database: proleptic Gregorian, H. Hinnant's
/// `civil_from_days` (https://howardhinnant.github.io/date_algorithms.html). The one copy for SigV4's
/// `X-Amz-Date`, the log's RFC 3339 times and the JSON log handler's timestamps; independent of locale and TZ.
public enum CivilTime {
    /// The date of `days` since 1970-01-01 (negative before it): year, month 1…12, day 1…31.
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC; floor division, so times before 1970
    /// count back correctly).
    public static func iso8601(milliseconds ms: Int64) -> String {
        let totalSeconds = floorDiv(ms, 1000)
        let millis = ms - totalSeconds * 1000
        let days = floorDiv(totalSeconds, 86_400)
        let secondOfDay = totalSeconds - days * 86_400
        let (y, m, d) = civil(fromDays: days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// `a / b` rounded towards negative infinity (`b` > 0).
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
