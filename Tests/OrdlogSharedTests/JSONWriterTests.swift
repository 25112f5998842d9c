import Testing

@testable import OrdlogShared

@Suite struct JSONWriterTests {
    private func literal(_ s: String, escapingLineSeparators: Bool = false) -> String {
        var out: [UInt8] = []
        JSONWriter.writeString(s, into: &out, escapingLineSeparators: escapingLineSeparators)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("strings: quote, backslash and control characters escaped; DEL, U+2028/9 and non-ASCII kept")
    func plainEscaping() {
        #expect(literal("a\"b\\c") == #""a\"b\\c""#)
        #expect(literal("\n\r\t\u{0}\u{7}\u{1b}\u{1f}") == #""\n\r\t\u0000\u0007\u001b\u001f""#)
        #expect(literal("\u{7f}\u{2028}\u{2029}/€ Café 🍣") == "\"\u{7f}\u{2028}\u{2029}/€ Café 🍣\"")
        #expect(literal("") == "\"\"")
    }

    @Test("for log lines: DEL and U+2028/9 escaped too, wherever they are; other E2 sequences kept")
    func logLineEscaping() {
        #expect(literal("\u{2028}", escapingLineSeparators: true) == #""\u2028""#)
        #expect(literal("a\u{2029}b\u{7f}", escapingLineSeparators: true) == #""a\u2029b\u007f""#)
        #expect(literal("€\u{2027}\u{202a}x\u{2028}", escapingLineSeparators: true) == "\"€\u{2027}\u{202a}x\\u2028\"")
        #expect(literal("tab\t\"q\"", escapingLineSeparators: true) == #""tab\t\"q\"""#)
    }
}
