import Foundation

/// A parsed JSON value (RFC 8259) that keeps what ordlog must not lose.
///
/// - Numbers keep their literal text (`2`, `2.0`, `9007199254740993` stay distinguishable), so the
///   processor can decide about them exactly instead of after a lossy conversion to `Double`.
/// - Object members keep their order and duplicates; ``JSONObject/subscript(_:)`` returns the *last*
///   member with a key, as JavaScript's `JSON.parse` (the original processor) does.
/// - Keys are compared byte for byte (UTF-8), not by Unicode canonical equivalence.
/// - Strings are exactly the text sent: a string that cannot be represented (an unpaired UTF-16 surrogate
///   escape such as `"\ud83c"`, invalid UTF-8) is an error, never replaced by U+FFFD.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, as its literal text from the input (validated against the RFC 8259 grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value as a string, if it is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The value as an object, if it is one.
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    /// The value as an array, if it is one.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    /// A short name of the value's JSON type, for error messages (`"string"`, `"number"`, …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object: its members in input order, duplicates kept.
public struct JSONObject: Sendable, Equatable {
    /// The members, in the order they appeared.
    public var members: [(key: String, value: JSONValue)]
    /// Members that were asked for (``JSONParser/parseObject(_:keep:)``) but whose value holds a string that
    /// cannot be represented (an unpaired surrogate escape), so they have no value: each with its key, where it
    /// stood (it came after `members[position - 1]`), and the error naming the byte offset. Empty otherwise.
    public var unrepresentable: [(key: String, position: Int, error: JSONParseError)] = []

    public init(_ members: [(key: String, value: JSONValue)] = []) { self.members = members }

    /// The error for the *last* member named `key` when that member's value could not be represented; nil
    /// when the last such member has a value (or there is none). Check it before reading a field with
    /// ``subscript(_:)``, which does not see these members.
    public func unrepresentableError(_ key: String) -> JSONParseError? {
        guard let bad = unrepresentable.last(where: { $0.key.utf8.elementsEqual(key.utf8) }) else { return nil }
        if let i = members.lastIndex(where: { $0.key.utf8.elementsEqual(key.utf8) }), i >= bad.position {
            return nil
        }
        return bad.error
    }

    /// The last member named `key` (byte-wise comparison), or nil.
    public subscript(key: String) -> JSONValue? {
        var k = key
        return k.withUTF8 { kb in
            var i = members.count - 1
            while i >= 0 {
                var mk = members[i].key
                if mk.utf8.count == kb.count,
                    kb.count == 0 || mk.withUTF8({ memcmp($0.baseAddress!, kb.baseAddress!, kb.count) == 0 })
                {
                    return members[i].value
                }
                i -= 1
            }
            return nil
        }
    }

    /// How many members are named `key` (byte-wise).
    public func count(of key: String) -> Int {
        members.reduce(0) { $0 + ($1.key.utf8.elementsEqual(key.utf8) ? 1 : 0) }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.unrepresentable.map(\.key) == rhs.unrepresentable.map(\.key)
            && lhs.unrepresentable.map(\.position) == rhs.unrepresentable.map(\.position)
            && lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy {
                $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value
            }
    }
}

/// Why a JSON text could not be parsed: what was expected and the byte offset where parsing stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 0-based byte offset into the input: where parsing stopped; for ``Kind/unpairedSurrogate`` the
    /// backslash of the escape, for ``Kind/invalidUTF8`` the first byte that is not UTF-8.
    public let offset: Int
    /// What went wrong, for example `expected ':' after object key`.
    public let reason: String
    /// What kind of problem: the text is malformed, or well-formed but holds a string that cannot be represented.
    public var kind: Kind = .syntax
    /// The object keys and array indexes leading to the value at fault, outermost first (`["Messages", "[0]",
    /// "Body"]`); empty at the top level.
    public var path: [String] = []

    public enum Kind: String, Sendable {
        /// Not JSON (RFC 8259 grammar).
        case syntax
        /// A `\u` escape of a UTF-16 surrogate (`\ud800`…`\udfff`) that is not part of a high-low pair: no
        /// Unicode text holds it, so decoding it could only replace it.
        case unpairedSurrogate
        /// Bytes that are not UTF-8.
        case invalidUTF8
    }

    /// ``path`` as a field name: `Body`, `Messages[0].Body`, `itemName`; nil at the top level.
    public var field: String? {
        guard !path.isEmpty else { return nil }
        var s = ""
        for p in path {
            if !s.isEmpty, !p.hasPrefix("[") { s += "." }
            s += p
        }
        return s
    }

    public var description: String { "\(reason) at byte \(offset)" }

    /// An error at `offset` (the parser's; `package` so that tests elsewhere in the package can build the one they
    /// expect).
    package init(offset: Int, reason: String, kind: Kind = .syntax, path: [String] = []) {
        self.offset = offset
        self.reason = reason
        self.kind = kind
        self.path = path
    }

    /// The same error inside member or element `component` of an enclosing value.
    func inside(_ component: String) -> JSONParseError {
        var e = self
        e.path.insert(component, at: 0)
        return e
    }
}

/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// Rejects, with a ``JSONParseError``: invalid UTF-8 inside strings, control characters in strings,
/// trailing data, leading zeros, and nesting deeper than ``maxDepth`` (so a hostile, deeply nested body
/// is an error, never a stack overflow). A string holding an unpaired UTF-16 surrogate escape (`"\ud83c"`
/// alone) is an error of kind ``JSONParseError/Kind/unpairedSurrogate`` when the string is built; it is never
/// replaced by U+FFFD. ``parseObject(_:keep:)`` builds only the members asked for, so a member it skips may
/// hold one (nothing of it is decoded); a kept member that does is listed in ``JSONObject/unrepresentable``.
public struct JSONParser {
    /// The deepest array/object nesting accepted. 128 levels.
    public static let maxDepth = 128

    /// Parses one complete JSON text.
    /// - Throws: ``JSONParseError``.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        // Parse in place when the bytes are contiguous (arrays, slices); copy only otherwise.
        var result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buf in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer: buf) }
        }
        if result == nil {
            result = Array(bytes).withUnsafeBufferPointer { buf in
                Result { () throws(JSONParseError) -> JSONValue in try parse(buffer: buf) }
            }
        }
        return try result!.get()
    }

    /// Parses a JSON text that must be an object, building only the members named in `keep` (in order,
    /// duplicates kept); every other member is still checked for well-formedness, but not built (so an unpaired
    /// surrogate escape in it is not an error: it is never decoded). A kept member whose value holds an unpaired
    /// surrogate escape goes to ``JSONObject/unrepresentable`` instead of ``JSONObject/members``. Returns nil
    /// when the text is valid JSON but not an object (use ``parse(_:)`` to say what it is).
    /// - Throws: ``JSONParseError`` for malformed JSON anywhere in the text.
    public static func parseObject(_ bytes: [UInt8], keep: JSONKeySet) throws(JSONParseError) -> JSONObject? {
        let result: Result<JSONObject?, JSONParseError> = bytes.withUnsafeBufferPointer { buf in
            Result { () throws(JSONParseError) -> JSONObject? in try parseObject(buffer: buf, keep: keep) }
        }
        return try result.get()
    }

    /// ``parseObject(_:keep:)`` over the UTF-8 bytes of `text` (in place for a native string: no copy).
    public static func parseObject(_ text: String, keep: JSONKeySet) throws(JSONParseError) -> JSONObject? {
        let result: Result<JSONObject?, JSONParseError>? = text.utf8.withContiguousStorageIfAvailable { buf in
            Result { () throws(JSONParseError) -> JSONObject? in try parseObject(buffer: buf, keep: keep) }
        }
        if let result { return try result.get() }
        return try parseObject(Array(text.utf8), keep: keep)
    }

    /// ``parseObject(_:keep:)`` over a buffer.
    public static func parseObject(buffer buf: UnsafeBufferPointer<UInt8>, keep: JSONKeySet) throws(JSONParseError)
        -> JSONObject?
    {
        var parser = Cursor(buf: buf)
        parser.skipWhitespace()
        guard parser.pos < buf.count, buf[parser.pos] == UInt8(ascii: "{") else {
            _ = try parse(buffer: buf)  // throws for malformed text
            return nil
        }
        let object = try parser.parseObject(depth: 1, keep: keep)
        parser.skipWhitespace()
        if parser.pos != buf.count { throw parser.fail("unexpected data after the JSON value") }
        return object
    }

    /// Parses one complete JSON text from a buffer.
    public static func parse(buffer buf: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var parser = Cursor(buf: buf)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.pos != buf.count { throw parser.fail("unexpected data after the JSON value") }
        return value
    }

    /// Parses one complete JSON text from a string.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// The offset of the first byte of `bytes` that is not part of well-formed UTF-8 (RFC 3629: no overlong
    /// forms, no encoded surrogates, nothing above U+10FFFF), or nil when all of it is UTF-8.
    public static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): offset += UTF8.width(s)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// ``firstInvalidUTF8(_:)`` for an array.
    public static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) }
    }

    /// True when `bytes` hold exactly one well-formed JSON value (whitespace around it allowed), judged by the
    /// grammar alone: strings are not decoded or checked for UTF-8, so a value holding an unpaired surrogate
    /// escape or bytes that are not UTF-8 still counts. For telling one document from JSON Lines.
    public static func isSingleValue(_ bytes: some Collection<UInt8>) -> Bool {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { buf in
            var c = Cursor(buf: buf, checkUTF8: false)
            c.skipWhitespace()
            do { try c.skipValue(depth: 0) } catch { return false }
            c.skipWhitespace()
            return c.pos == buf.count
        }
    }

    /// Where the elements of a document's array are, by grammar alone (nothing decoded, UTF-8 not checked): for
    /// a top-level array its elements (`member` nil); for a top-level object, the elements of the array that is the
    /// value of its last member named one of `arrayMember` (keys compared as written). Nil when there is no such
    /// array or `bytes` are not one JSON value. Ranges are byte offsets into `bytes`.
    public static func elementRanges(_ bytes: [UInt8], arrayMember keys: [String]) -> (
        member: String?, ranges: [Range<Int>]
    )? {
        bytes.withUnsafeBufferPointer { buf -> (member: String?, ranges: [Range<Int>])? in
            var c = Cursor(buf: buf, checkUTF8: false)
            func elements() throws(JSONParseError) -> [Range<Int>] {
                c.pos += 1
                var ranges: [Range<Int>] = []
                c.skipWhitespace()
                if c.pos < buf.count, buf[c.pos] == UInt8(ascii: "]") {
                    c.pos += 1
                    return ranges
                }
                while true {
                    c.skipWhitespace()
                    let start = c.pos
                    try c.skipValue(depth: 2)
                    ranges.append(start..<c.pos)
                    c.skipWhitespace()
                    guard c.pos < buf.count else { throw c.fail("unexpected end of input in array") }
                    if buf[c.pos] == UInt8(ascii: ",") {
                        c.pos += 1
                        continue
                    }
                    guard buf[c.pos] == UInt8(ascii: "]") else { throw c.fail("expected ',' or ']' in array") }
                    c.pos += 1
                    return ranges
                }
            }
            var found: (member: String?, ranges: [Range<Int>])?
            do {
                c.skipWhitespace()
                guard c.pos < buf.count else { return nil }
                if buf[c.pos] == UInt8(ascii: "[") {
                    found = (nil, try elements())
                } else if buf[c.pos] == UInt8(ascii: "{") {
                    c.pos += 1
                    c.skipWhitespace()
                    if c.pos < buf.count, buf[c.pos] == UInt8(ascii: "}") {
                        c.pos += 1
                    } else {
                        while true {
                            c.skipWhitespace()
                            guard c.pos < buf.count, buf[c.pos] == UInt8(ascii: "\"") else { return nil }
                            let keyStart = c.pos + 1
                            try c.skipString()
                            let key = String(
                                decoding: UnsafeBufferPointer(rebasing: buf[keyStart..<(c.pos - 1)]), as: UTF8.self)
                            c.skipWhitespace()
                            guard c.pos < buf.count, buf[c.pos] == UInt8(ascii: ":") else { return nil }
                            c.pos += 1
                            c.skipWhitespace()
                            if keys.contains(key), c.pos < buf.count, buf[c.pos] == UInt8(ascii: "[") {
                                found = (key, try elements())
                            } else {
                                try c.skipValue(depth: 1)
                            }
                            c.skipWhitespace()
                            guard c.pos < buf.count else { return nil }
                            if buf[c.pos] == UInt8(ascii: ",") {
                                c.pos += 1
                                continue
                            }
                            guard buf[c.pos] == UInt8(ascii: "}") else { return nil }
                            c.pos += 1
                            break
                        }
                    }
                } else {
                    return nil
                }
            } catch {
                return nil
            }
            c.skipWhitespace()
            return c.pos == buf.count ? found : nil
        }
    }

    struct Cursor {
        let buf: UnsafeBufferPointer<UInt8>
        var pos = 0
        /// Whether skipped strings are checked for UTF-8 (``JSONParser/isSingleValue(_:)`` does not).
        var checkUTF8 = true

        func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: pos, reason: reason) }

        mutating func skipWhitespace() {
            while pos < buf.count {
                let c = buf[pos]
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { return }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard pos < buf.count else { throw fail("unexpected end of input, expected a value") }
            switch buf[pos] {
            case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
            case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw fail("unexpected character '\(printable(buf[pos]))', expected a value")
            }
        }

        func printable(_ c: UInt8) -> String {
            c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
        }

        mutating func literal(_ word: StaticString) throws(JSONParseError) {
            let n = word.utf8CodeUnitCount
            guard pos + n <= buf.count else { throw fail("unexpected end of input in literal") }
            for i in 0..<n where buf[pos + i] != word.utf8Start[i] {
                throw fail("invalid literal, expected '\(word)'")
            }
            pos += n
        }

        /// An object keeping only the members named in `keep` (all members when nil).
        mutating func parseObject(depth: Int, keep: JSONKeySet? = nil) throws(JSONParseError) -> JSONObject {
            if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth) levels") }
            pos += 1
            var members: [(key: String, value: JSONValue)] = []
            if let keep { members.reserveCapacity(keep.keys.count) }  // one allocation for the kept members
            var unrepresentable: [(key: String, position: Int, error: JSONParseError)] = []
            func object() -> JSONObject {
                var o = JSONObject(members)
                o.unrepresentable = unrepresentable
                return o
            }
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "}") {
                pos += 1
                return JSONObject(members)
            }
            while true {
                skipWhitespace()
                guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else {
                    throw fail("expected a string object key")
                }
                if let keep {
                    // Decide on the key's raw bytes; build a String only for kept members.
                    let keyStart = pos + 1
                    try skipString()
                    let raw = UnsafeBufferPointer(rebasing: buf[keyStart..<(pos - 1)])
                    var kept: String?
                    if raw.contains(UInt8(ascii: "\\")) {
                        var p2 = Cursor(buf: buf, pos: keyStart - 1)
                        do {
                            let key = try p2.parseString()
                            if keep.contains(Array(key.utf8)) { kept = key }
                        } catch let e where e.kind == .unpairedSurrogate {
                            // No kept key (valid text) can equal it: the member is skipped, never decoded.
                        }
                    } else if keep.contains(raw) {
                        kept = String(decoding: raw, as: UTF8.self)
                    }
                    skipWhitespace()
                    guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else {
                        throw fail("expected ':' after object key")
                    }
                    pos += 1
                    skipWhitespace()
                    if let kept {
                        let valueStart = pos
                        do {
                            members.append((kept, try parseValue(depth: depth)))
                        } catch let e where e.kind == .unpairedSurrogate {
                            unrepresentable.append((kept, members.count, e.inside(kept)))
                            pos = valueStart
                            try skipValue(depth: depth)
                        } catch {
                            throw error.inside(kept)
                        }
                    } else {
                        do { try skipValue(depth: depth) } catch {
                            throw error.inside(String(decoding: raw, as: UTF8.self))  // the key as written
                        }
                    }
                } else {
                    let key = try parseString()
                    skipWhitespace()
                    guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else {
                        throw fail("expected ':' after object key")
                    }
                    pos += 1
                    skipWhitespace()
                    do { members.append((key, try parseValue(depth: depth))) } catch { throw error.inside(key) }
                }
                skipWhitespace()
                guard pos < buf.count else { throw fail("unexpected end of input in object") }
                if buf[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if buf[pos] == UInt8(ascii: "}") {
                    pos += 1
                    return object()
                }
                throw fail("expected ',' or '}' in object")
            }
        }

        /// Checks one value for well-formedness without building it (no string in it is decoded).
        mutating func skipValue(depth: Int) throws(JSONParseError) {
            guard pos < buf.count else { throw fail("unexpected end of input, expected a value") }
            switch buf[pos] {
            case UInt8(ascii: "\""): try skipString()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try parseNumber()
            case UInt8(ascii: "{"), UInt8(ascii: "["): try skipContainer(depth: depth + 1)
            default: _ = try parseValue(depth: depth)  // literals
            }
        }

        /// Checks an object or array for well-formedness without building it.
        mutating func skipContainer(depth: Int) throws(JSONParseError) {
            if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth) levels") }
            let isObject = buf[pos] == UInt8(ascii: "{")
            let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == close {
                pos += 1
                return
            }
            while true {
                skipWhitespace()
                if isObject {
                    guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else {
                        throw fail("expected a string object key")
                    }
                    try skipString()
                    skipWhitespace()
                    guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else {
                        throw fail("expected ':' after object key")
                    }
                    pos += 1
                    skipWhitespace()
                }
                try skipValue(depth: depth)
                skipWhitespace()
                guard pos < buf.count else { throw fail("unexpected end of input in \(isObject ? "object" : "array")") }
                if buf[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if buf[pos] == close {
                    pos += 1
                    return
                }
                throw fail(isObject ? "expected ',' or '}' in object" : "expected ',' or ']' in array")
            }
        }

        /// The end of the run of plain string bytes starting at `from`: the index of the first quote, backslash
        /// or control character (< 0x20), or `buf.count`; `nonASCII` is set when the run holds a byte ≥ 0x80.
        /// Scans 8 bytes at a time (exact SWAR tests for a zero byte after XOR and for a byte below 0x20), the
        /// string scanner's hot loop over 1 KB envelopes.
        @inline(__always)
        func plainRunEnd(from: Int, nonASCII: inout Bool) -> Int {
            var i = from
            let n = buf.count
            guard let base = buf.baseAddress else { return i }
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            var high: UInt64 = 0
            while i + 8 <= n {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let q = w ^ (0x22 &* ones)
                let b = w ^ (0x5C &* ones)
                let special = ((q &- ones) & ~q) | ((b &- ones) & ~b) | ((w &- 0x20 &* ones) & ~w)
                if special & highs != 0 { break }
                high |= w
                i += 8
            }
            if high & highs != 0 { nonASCII = true }
            while i < n {
                let c = base[i]
                if c == 0x22 || c == 0x5C || c < 0x20 { break }
                if c >= 0x80 { nonASCII = true }
                i += 1
            }
            return i
        }

        /// Checks a string (escapes, control characters, UTF-8) without building it.
        mutating func skipString() throws(JSONParseError) {
            pos += 1
            let start = pos
            var ascii = true
            while pos < buf.count {
                var nonASCII = false
                pos = plainRunEnd(from: pos, nonASCII: &nonASCII)
                if nonASCII { ascii = false }
                guard pos < buf.count else { break }
                let c = buf[pos]
                if c == UInt8(ascii: "\"") {
                    if !ascii, checkUTF8,
                        let bad = JSONParser.firstInvalidUTF8(UnsafeBufferPointer(rebasing: buf[start..<pos]))
                    {
                        throw JSONParseError(offset: start + bad, reason: "invalid UTF-8 in string", kind: .invalidUTF8)
                    }
                    pos += 1
                    return
                }
                if c < 0x20 { throw fail("control character in string (must be escaped)") }
                if c >= 0x80 { ascii = false }
                if c == UInt8(ascii: "\\") {
                    pos += 1
                    guard pos < buf.count else { break }
                    switch buf[pos] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        pos += 1
                    case UInt8(ascii: "u"):
                        pos += 1
                        _ = try hex4()
                    default:
                        throw fail("invalid escape '\\\(printable(buf[pos]))' in string")
                    }
                    continue
                }
                pos += 1
            }
            throw fail("unterminated string")
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> [JSONValue] {
            if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth) levels") }
            pos += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "]") {
                pos += 1
                return items
            }
            while true {
                skipWhitespace()
                do { items.append(try parseValue(depth: depth)) } catch { throw error.inside("[\(items.count)]") }
                skipWhitespace()
                guard pos < buf.count else { throw fail("unexpected end of input in array") }
                if buf[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if buf[pos] == UInt8(ascii: "]") {
                    pos += 1
                    return items
                }
                throw fail("expected ',' or ']' in array")
            }
        }

        mutating func parseNumber() throws(JSONParseError) -> String {
            let start = pos
            if buf[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < buf.count, isDigit(buf[pos]) else { throw fail("invalid number: expected a digit") }
            if buf[pos] == UInt8(ascii: "0") {
                pos += 1
                if pos < buf.count, isDigit(buf[pos]) { throw fail("invalid number: leading zero") }
            } else {
                while pos < buf.count, isDigit(buf[pos]) { pos += 1 }
            }
            if pos < buf.count, buf[pos] == UInt8(ascii: ".") {
                pos += 1
                guard pos < buf.count, isDigit(buf[pos]) else {
                    throw fail("invalid number: expected a digit after '.'")
                }
                while pos < buf.count, isDigit(buf[pos]) { pos += 1 }
            }
            if pos < buf.count, buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E") {
                pos += 1
                if pos < buf.count, buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-") { pos += 1 }
                guard pos < buf.count, isDigit(buf[pos]) else {
                    throw fail("invalid number: expected an exponent digit")
                }
                while pos < buf.count, isDigit(buf[pos]) { pos += 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
        }

        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

        mutating func parseString() throws(JSONParseError) -> String {
            pos += 1  // opening quote
            let start = pos
            var ascii = true
            // Fast path: no escapes.
            while pos < buf.count {
                var nonASCII = false
                pos = plainRunEnd(from: pos, nonASCII: &nonASCII)
                if nonASCII { ascii = false }
                guard pos < buf.count else { break }
                let c = buf[pos]
                if c == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: buf[start..<pos])
                    pos += 1
                    return try makeString(slice, ascii: ascii, rawStart: start)
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw fail("control character in string (must be escaped)") }
                if c >= 0x80 { ascii = false }
                pos += 1
            }
            // Slow path with escapes.
            var out = [UInt8]()
            // One allocation for an escaped string of up to 4 KiB (an SNS Message), whatever follows it.
            out.reserveCapacity(min(buf.count - start, 4096))
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<pos]))
            while pos < buf.count {
                let c = buf[pos]
                if c == UInt8(ascii: "\"") {
                    pos += 1
                    return try out.withUnsafeBufferPointer { b throws(JSONParseError) in
                        try makeString(b, ascii: ascii, rawStart: start, rawEnd: pos - 1)
                    }
                }
                if c < 0x20 { throw fail("control character in string (must be escaped)") }
                if c != UInt8(ascii: "\\") {
                    // Copy the whole run up to the next quote, backslash or control character at once.
                    let runStart = pos
                    var nonASCII = false
                    pos = plainRunEnd(from: pos, nonASCII: &nonASCII)
                    if nonASCII { ascii = false }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<pos]))
                    continue
                }
                let escapeStart = pos
                pos += 1
                guard pos < buf.count else { break }
                let e = buf[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        var paired = false
                        if pos + 1 < buf.count, buf[pos] == UInt8(ascii: "\\"), buf[pos + 1] == UInt8(ascii: "u") {
                            let save = pos
                            pos += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                                paired = true
                            } else {
                                pos = save
                            }
                        }
                        if !paired { throw unpairedSurrogate(at: escapeStart) }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw unpairedSurrogate(at: escapeStart)
                    }
                    if scalar >= 0x80 { ascii = false }
                    guard let u = UnicodeScalar(scalar) else { throw unpairedSurrogate(at: escapeStart) }
                    appendUTF8(u, to: &out)
                default:
                    pos -= 1
                    throw fail("invalid escape '\\\(printable(e))' in string")
                }
            }
            throw fail("unterminated string")
        }

        mutating func hex4() throws(JSONParseError) -> UInt32 {
            guard pos + 4 <= buf.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = buf[pos]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("invalid hex digit in \\u escape")
                }
                v = v << 4 | d
                pos += 1
            }
            return v
        }

        func appendUTF8(_ scalar: UnicodeScalar, to out: inout [UInt8]) {
            UTF8.encode(scalar) { out.append($0) }
        }

        /// The error for the `\uXXXX` escape starting at `offset`.
        func unpairedSurrogate(at offset: Int) -> JSONParseError {
            let escape = String(
                decoding: UnsafeBufferPointer(rebasing: buf[offset..<min(offset + 6, buf.count)]), as: UTF8.self)
            return JSONParseError(
                offset: offset, reason: "unpaired surrogate escape \(escape) in string (not Unicode text)",
                kind: .unpairedSurrogate)
        }

        /// `bytes` as a String; `rawStart..<rawEnd` is where the string's text is in the input (for the offset of
        /// the first byte that is not UTF-8; `rawEnd` nil when `bytes` is that range itself).
        func makeString(_ bytes: UnsafeBufferPointer<UInt8>, ascii: Bool, rawStart: Int, rawEnd: Int? = nil)
            throws(JSONParseError) -> String
        {
            if ascii { return String(decoding: bytes, as: UTF8.self) }
            guard let s = String(validating: bytes, as: UTF8.self) else {
                let raw = UnsafeBufferPointer(rebasing: buf[rawStart..<(rawEnd ?? rawStart + bytes.count)])
                let bad = JSONParser.firstInvalidUTF8(raw) ?? 0
                throw JSONParseError(offset: rawStart + bad, reason: "invalid UTF-8 in string", kind: .invalidUTF8)
            }
            return s
        }
    }
}

/// A small set of object keys matched by their UTF-8 bytes, for ``JSONParser/parseObject(_:keep:)``.
public struct JSONKeySet: Sendable {
    let keys: [[UInt8]]

    public init(_ keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    /// The union of two key sets.
    public func union(_ other: [String]) -> JSONKeySet {
        JSONKeySet(keys.map { String(decoding: $0, as: UTF8.self) } + other)
    }

    func contains(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        for k in keys where k.count == raw.count {
            if k.withUnsafeBufferPointer({ memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }) { return true }
        }
        return false
    }

    func contains(_ raw: [UInt8]) -> Bool { raw.withUnsafeBufferPointer { contains($0) } }
}
