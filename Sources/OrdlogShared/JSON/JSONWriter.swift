/// Writes ``JSONValue``s as compact JSON text, deterministically.
///
/// Output is byte-identical for equal input: members are written in stored order (use
/// ``JSONWriter/sortedObject(_:)`` to build key-sorted objects), numbers as their literal text, non-ASCII
/// as UTF-8, and only `"`, `\` and control characters escaped. Independent of locale and time zone.
public enum JSONWriter {
    /// Serializes `value` to compact JSON text.
    public static func string(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Serializes `value` to compact JSON bytes.
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    /// An object whose members are sorted by the UTF-8 bytes of their keys.
    public static func sortedObject(_ members: [(String, JSONValue)]) -> JSONValue {
        .object(
            JSONObject(
                members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.map { (key: $0.0, value: $0.1) }))
    }

    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal: `"` and `\` escaped, control characters as `\n`, `\r`, `\t` or
    /// `\u00xx` (lowercase hex), everything else as UTF-8. The one JSON string escaper of the project.
    ///
    /// ```swift
    /// var out: [UInt8] = []
    /// JSONWriter.writeString("tab\there", into: &out)                               // "tab\there"
    /// JSONWriter.writeString("a\u{2028}b", into: &out, escapingLineSeparators: true) // "a\u2028b"
    /// ```
    ///
    /// - Parameters:
    ///   - s: the text.
    ///   - out: the bytes to append to.
    ///   - escapingLineSeparators: also escape U+2028 and U+2029 (`\u2028`, `\u2029`), where some log viewers
    ///     break lines, and DEL (`\u007f`): for JSON Lines logs. Still valid JSON either way.
    public static func writeString(_ s: String, into out: inout [UInt8], escapingLineSeparators: Bool = false) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // Runs that need no escape (nearly all text) are appended whole.
            var runStart = 0
            var i = 0
            while i < bytes.count {
                let c = bytes[i]
                var width = 1
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 {
                    // escaped below
                } else if escapingLineSeparators
                    && (c == 0x7F
                        || (c == 0xE2 && i + 2 < bytes.count && bytes[i + 1] == 0x80
                            && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9)))
                {
                    width = c == 0x7F ? 1 : 3  // DEL; U+2028/U+2029 are E2 80 A8/A9
                } else {
                    i += 1
                    continue
                }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                switch c {
                case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0xE2: out.append(contentsOf: Array("\\u202".utf8) + [bytes[i + 2] == 0xA8 ? 0x38 : 0x39])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hexDigits[Int(c >> 4)], hexDigits[Int(c & 0xF)]])
                }
                i += width
                runStart = i
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
