import OrdlogCore
import Testing

/// ``JSONValueEncoder`` + ``JSONWriter`` print an `Encodable` exactly as a hand-built ``JSONValue`` tree of the same
/// members: declaration order, `nil` as `null`, `/` unescaped, integers as their text, JSON values inserted as they are.
@Suite struct JSONValueEncoderTests {
    struct Problem: Encodable {
        var seq: Int64
        var kind: String
    }
    struct Result: Encodable {
        var ok: Bool
        var zeta: String
        var alpha: Int
        var missing: String?
        var problem: Problem?
        var nested: [Problem]
        var raw: JSONValue
        var object: JSONObject?
    }

    @Test("an Encodable prints byte for byte as the hand-built tree")
    func matchesHandBuiltTree() throws {
        let raw = try JSONParser.parse(#"{"b":1.50,"a":[true,null,"x\/y"]}"#)
        let value = Result(
            ok: true, zeta: "a/b \"q\" \u{1B}é", alpha: -3, missing: nil, problem: Problem(seq: 9, kind: "edited"),
            nested: [Problem(seq: 1, kind: "k")], raw: raw, object: nil)
        let tree = JSONValue.object(
            JSONObject([
                ("ok", .bool(true)), ("zeta", .string("a/b \"q\" \u{1B}é")), ("alpha", .number("-3")), ("missing", .null),
                ("problem", .object(JSONObject([("seq", .number("9")), ("kind", .string("edited"))]))),
                ("nested", .array([.object(JSONObject([("seq", .number("1")), ("kind", .string("k"))]))])),
                ("raw", raw), ("object", .null),
            ]))
        let encoded = try JSONValueEncoder().encode(value)
        #expect(encoded == tree)
        #expect(JSONWriter.string(encoded) == JSONWriter.string(tree))
        #expect(JSONWriter.string(encoded).contains(#""zeta":"a/b \"q\" \u001bé""#))
        #expect(JSONWriter.string(encoded).contains(#""raw":{"b":1.50,"#))
    }

    @Test("IngestSummary encodes its counts in the documented order")
    func ingestSummaryOrder() throws {
        var s = IngestSummary()
        s.received = 13
        s.deadLettered = 1
        let text = JSONWriter.string(try JSONValueEncoder().encode(s))
        #expect(
            text == #"{"received":13,"appended":0,"alreadyLogged":0,"resumed":0,"projected":0,"duplicate":0,"#
                + #""stale":0,"rejected":0,"failed":0,"deadLettered":1,"inputErrors":0}"#)
    }

    @Test("arrays, top-level scalars and optionals in arrays")
    func scalarsAndArrays() throws {
        #expect(JSONWriter.string(try JSONValueEncoder().encode([1, 2])) == "[1,2]")
        #expect(JSONWriter.string(try JSONValueEncoder().encode("s/t")) == #""s/t""#)
        #expect(JSONWriter.string(try JSONValueEncoder().encode([Optional<Int>.none, 3])) == "[null,3]")
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(Double.nan) }
    }
}
