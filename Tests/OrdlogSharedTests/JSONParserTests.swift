import Testing

@testable import OrdlogShared

@Suite struct JSONParserTests {
    @Test("the 8-byte string scanner stops at a quote, backslash or control byte at every offset")
    func wordScannerFindsEverySpecialByte() throws {
        for prefix in 0..<20 {
            for byte: UInt8 in [0x22, 0x5C, 0x0A, 0x1F, 0x00] {
                for filler in ["a", "é"] {  // ASCII and non-ASCII runs before the byte
                    let head = String(repeating: filler, count: prefix)
                    var raw = Array("[\"".utf8) + Array(head.utf8)
                    switch byte {
                    case 0x22:  // an escaped quote inside, then the closing quote after more text
                        raw += Array("\\\"xyz0123456789\"]".utf8)
                        #expect(try JSONParser.parse(raw) == .array([.string(head + "\"xyz0123456789")]))
                        let skipped = Array("{\"skip\":\"".utf8) + Array(head.utf8) + Array("\\\"xyz0123456789\",\"k\":1}".utf8)
                        #expect(try JSONParser.parseObject(skipped, keep: JSONKeySet(["k"]))?["k"] == .number("1"))
                    case 0x5C:
                        raw += Array("\\\\tail-tail-tail\"]".utf8)
                        #expect(try JSONParser.parse(raw) == .array([.string(head + "\\tail-tail-tail")]))
                    default:  // an unescaped control byte is an error wherever it is
                        raw += [byte] + Array("0123456789abcdef\"]".utf8)
                        #expect(throws: JSONParseError.self) { try JSONParser.parse(raw) }
                        // also in a member that is checked but not built (skipped)
                        let skipped = Array("{\"skip\":\"".utf8) + Array(head.utf8) + [byte] + Array("0123456789\"}".utf8)
                        #expect(throws: JSONParseError.self) { try JSONParser.parseObject(skipped, keep: JSONKeySet([])) }
                    }
                }
            }
            // invalid UTF-8 after an ASCII run is found in built and in skipped strings
            let bad = Array("{\"skip\":\"".utf8) + Array(repeating: UInt8(ascii: "a"), count: prefix) + [0xFF]
                + Array("0123456789\"}".utf8)
            #expect(throws: JSONParseError.self) { try JSONParser.parseObject(bad, keep: JSONKeySet([])) }
            #expect(throws: JSONParseError.self) { try JSONParser.parseObject(bad, keep: JSONKeySet(["skip"])) }
        }
    }

    @Test("numbers keep their literal text")
    func numberLiterals() throws {
        let v = try JSONParser.parse(#"[2, 2.0, 9007199254740993, -0, 1e3]"#)
        #expect(
            v == .array([.number("2"), .number("2.0"), .number("9007199254740993"), .number("-0"), .number("1e3")]))
    }

    @Test("strings decode escapes and surrogate pairs; a lone surrogate is an error, never U+FFFD")
    func strings() throws {
        #expect(try JSONParser.parse(#""a\"b\\c\n\u00e9\ud83c\udf63""#) == .string("a\"b\\c\né🍣"))
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#""\ud800x""#) }
    }

    @Test("object lookup returns the last duplicate and compares keys byte for byte")
    func objectLookup() throws {
        let o = try #require(try JSONParser.parse(#"{"a":1,"a":2,"\u00e9":3}"#).objectValue)
        #expect(o["a"] == .number("2"))
        #expect(o["é"] == .number("3"))  // precomposed U+00E9
        #expect(o["e\u{301}"] == nil)  // decomposed: a different key
    }

    @Test(
        "rejects malformed input with an offset",
        arguments: [
            ("{\"a\":", "unexpected end of input"), ("[1,]", "unexpected character"), ("01", "leading zero"),
            ("\"abc", "unterminated string"), ("{} x", "unexpected data after"),
            ("tru", "unexpected end of input in literal"),
            ("\"a\u{01}b\"", "control character"),
        ])
    func rejects(input: String, reason: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(input) }
        do { _ = try JSONParser.parse(input) } catch { #expect(error.reason.contains(reason), "\(error)") }
    }

    @Test("invalid UTF-8 inside a string is an error")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("nesting deeper than the limit is an error, not a stack overflow")
    func deepNesting() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        do {
            _ = try JSONParser.parse(deep)
            Issue.record("expected an error")
        } catch {
            #expect(error.reason.contains("nesting deeper than 128"))
        }
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
    }

    @Test("the writer round-trips and escapes control characters")
    func writer() throws {
        let v = try JSONParser.parse(#"{"k":"a\"\u0001é","n":[1.50,true,null]}"#)
        let text = JSONWriter.string(v)
        #expect(text == #"{"k":"a\"\u0001é","n":[1.50,true,null]}"#)
        #expect(try JSONParser.parse(text) == v)
    }
}
