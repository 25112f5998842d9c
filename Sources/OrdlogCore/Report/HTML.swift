import Crypto
import Foundation

/// The one escaping rule of the report: every value that is not markup goes through ``HTML/escape(_:)``.
///
/// It escapes `&`, `<`, `>`, `"` and `'`, so the same function is safe for HTML text, for quoted attribute
/// values and for text inside inline SVG (which the HTML parser reads with the same rules). Nothing from
/// the log is ever put inside `<script>` or `<style>`; the page's script reads the DOM, not embedded data.
public enum HTML {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}": out += "\u{FFFD}"  // the parser would replace it anyway; keep the output clean
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// JSON text made safe inside `<script type="application/json">`: `<`, `>`, `&`, U+2028 and U+2029
    /// become `\u003c` etc., so no `</script>` or `<!--` can appear. (The report embeds no data today; this
    /// is here so any future embedding uses the right rule.)
    public static func scriptJSON(_ json: String) -> String {
        var out = ""
        for ch in json.unicodeScalars {
            switch ch {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// `'sha256-…'` of an inline script's exact text, for the Content-Security-Policy `script-src`.
    public static func cspHash(_ script: String) -> String {
        "'sha256-" + Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString() + "'"
    }

    /// `1234567` → `1,234,567` (no locale: the report is byte-for-byte deterministic).
    public static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// A stable element id for a value (message id, order id): `prefix-` + 16 hex digits of its SHA-256, so
    /// any value (spaces, quotes, non-ASCII) gives a valid, unique-enough fragment.
    public static func anchor(_ prefix: String, _ value: String) -> String {
        prefix + "-" + String(RecordHash.hex(Array(SHA256.hash(data: Array(value.utf8)))).prefix(16))
    }
}
