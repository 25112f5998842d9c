import OrdlogCore

/// Prints a command's `--json` result: `value` encoded by ``JSONValueEncoder`` (members in declaration order,
/// `nil` as `null`) and written by ``JSONWriter``, one line on stdout. The one way a command prints JSON.
func printJSON(_ value: some Encodable) throws {
    out(JSONWriter.string(try JSONValueEncoder().encode(value)))
}

/// The body of a record or message as the documented shapes carry it: `"body"` (text, when valid UTF-8) or
/// `"bodyBase64"`.
struct BodyField: Encodable {
    var bytes: [UInt8]

    /// Encodes the one member into the enclosing object's encoder.
    func encode(to encoder: any Encoder) throws {
        let (key, value) = RecordJSON.body(bytes)
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(value, forKey: AnyKey(key))
    }
}

/// A coding key made from any string, for members whose names are data.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
