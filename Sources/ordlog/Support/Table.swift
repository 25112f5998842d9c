import Foundation

/// A plain text table: columns padded to their widest cell (counted in Characters).
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }

    mutating func add(_ cells: String...) { rows.append(cells.map(terminalSafe)) }
    mutating func add(_ cells: [String]) { rows.append(cells.map(terminalSafe)) }

    func render() -> String {
        var widths = headers.map(displayWidth)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], displayWidth(cell)) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c + String(repeating: " ", count: max(0, widths[i] - displayWidth(c)))
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Shortens `s` to `n` characters with an ellipsis (on one line, control characters shown: see ``terminalSafe(_:)``).
func clip(_ s: String, _ n: Int) -> String {
    let flat = terminalSafe(s)
    return flat.count <= n ? flat : String(flat.prefix(n - 1)) + "…"
}

/// `s` for one line of a terminal: a line feed as `⏎`, every other control character (C0, DEL, C1: ESC, BEL,
/// CR, …) as its `\u{1B}`-style escape, so that a value from an untrusted message can neither move the cursor,
/// recolour or retitle the terminal, nor forge a line. Only what is printed for people goes through this; the
/// log, `--json` and `export` keep the values as they are.
func terminalSafe(_ s: String) -> String { terminalSafe(s, keepingLineBreaks: false) }

/// ``terminalSafe(_:)`` for a block of lines (a raw body): line feeds and tabs stay as they are, every other control
/// character is escaped all the same.
func terminalSafeBlock(_ s: String) -> String { terminalSafe(s, keepingLineBreaks: true) }

private func terminalSafe(_ s: String, keepingLineBreaks: Bool) -> String {
    guard s.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else { return s }
    var out = ""
    for u in s.unicodeScalars {
        if keepingLineBreaks, u == "\n" || u == "\t" {
            out.unicodeScalars.append(u)
        } else if u == "\n" {
            out += "⏎"
        } else if u.value < 0x20 || (0x7F...0x9F).contains(u.value) {
            out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
        } else {
            out.unicodeScalars.append(u)
        }
    }
    return out
}

/// "1 message", "2 messages".
func plural(_ n: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
    "\(n) \(n == 1 ? singular : pluralForm ?? singular + "s")"
}

/// Terminal columns `s` takes: 2 for East Asian wide and fullwidth characters and emoji, else 1 per Character.
func displayWidth(_ s: String) -> Int {
    s.reduce(0) { total, ch in
        guard let v = ch.unicodeScalars.first?.value else { return total }
        let wide =
            (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v) || (0x1F900...0x1F9FF).contains(v)
            || (0x20000...0x3FFFD).contains(v)
        return total + (wide ? 2 : 1)
    }
}

/// Prints one line for people, made safe for a terminal (``terminalSafe(_:)``): every human line of
/// a command goes through here (or ``say(_:)-table``), so a value from an untrusted message cannot drive the
/// terminal, whichever line it is put in. `--json` goes through ``printJSON(_:)``.
func say(_ line: String) { out(terminalSafe(line)) }

/// Prints a table for people (its cells made safe when added).
func say(_ table: Table) { out(table.render()) }

/// Prints a block of lines for people (a raw body): line breaks kept, every other control character escaped.
func sayBlock(_ text: String) { out(terminalSafeBlock(text)) }

/// `s` as one word for a POSIX shell, for the commands a hint suggests (`ordlog inspect-dlq --db PATH`): as it is
/// when made only of characters no shell treats specially, else in single quotes (a `'` inside as `'\''`); control
/// characters are escaped afterwards by ``say(_:)`` like any other value.
func shellQuoted(_ s: String) -> String {
    let plain = !s.isEmpty && s.unicodeScalars.allSatisfy { u in
        (u.isASCII && (CharacterSet.alphanumerics.contains(u) || "_-./:@%+=,".unicodeScalars.contains(u)))
    }
    return plain ? s : "'" + s.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
