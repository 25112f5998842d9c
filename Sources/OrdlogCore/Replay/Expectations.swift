import Foundation

/// The expectations file of `ordlog replay --record-expect / --expect`: JSON Lines, one decision a line,
/// in log order, with no wall-clock times, so recording the same traffic twice gives the same bytes.
///
/// Line: `{"seq":N,"messageId":S|null,"receiveCount":N,"outcome":S,"errorKind":S|null,"errorCode":S|null,
/// "errorField":S|null,"errorMessage":S|null,"deadLettered":B,"orderId":S|null,"snsMessageId":S|null,
/// "item":{…}|null,"note":S|null}` (the decision members as in ``RecordJSON/decision(_:)``).
///
/// Lines are matched by message (MessageId and receive count; `seq` for entries without a MessageId) and
/// compared on the fields of ``Decision/sameVerdict(as:)`` — not on `errorMessage` or `note`.
public enum Expectations {
    /// The members of a decision that count for a comparison.
    public static let comparedKeys = [
        "outcome", "errorKind", "errorCode", "errorField", "deadLettered", "orderId", "snsMessageId", "item",
    ]

    public static func json(_ d: ReplayedDecision) -> JSONValue {
        var m: [(key: String, value: JSONValue)] = [
            ("seq", .number(String(d.seq))), ("messageId", d.messageId.map(JSONValue.string) ?? .null),
            ("receiveCount", .number(String(d.receiveCount))),
        ]
        m += RecordJSON.decision(d.decision)
        return .object(JSONObject(m))
    }

    /// One line of the file, with its newline.
    public static func line(_ d: ReplayedDecision) -> [UInt8] {
        var bytes = JSONWriter.bytes(json(d))
        bytes.append(0x0A)
        return bytes
    }

    /// The key a line is matched by.
    public static func key(_ o: JSONObject) -> String {
        if let id = o["messageId"]?.stringValue {
            return "\(id)#\(o["receiveCount"].map(JSONWriter.string) ?? "?")"
        }
        return "seq:\(o["seq"].map(JSONWriter.string) ?? "?")"
    }

    /// Reads an expectations file.
    /// - Throws: ``TrafficFileError`` naming the line when a line is not a JSON object.
    public static func read(path: String) throws -> [JSONObject] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrafficFileError(file: path, line: nil, reason: "cannot read the expectations file")
        }
        var out: [JSONObject] = []
        for (i, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let o = (try? JSONParser.parse(line))?.objectValue else {
                throw TrafficFileError(
                    file: path, line: i + 1, reason: "not a JSON object; expected an expectations line")
            }
            out.append(o)
        }
        return out
    }

    /// One difference between an expectations file and a replay.
    public struct Difference: Sendable, Equatable {
        public enum Kind: String, Sendable { case changed, missing, unexpected }
        public var kind: Kind
        public var key: String
        public var expected: JSONObject?
        public var actual: JSONObject?
    }

    /// Compares expected lines with replayed ones; differences in replay order, then missing ones.
    public static func compare(expected: [JSONObject], actual: [JSONObject]) -> [Difference] {
        var byKey: [String: JSONObject] = [:]
        for e in expected { byKey[key(e)] = e }
        var out: [Difference] = []
        var seen = Set<String>()
        for a in actual {
            let k = key(a)
            seen.insert(k)
            guard let e = byKey[k] else {
                out.append(Difference(kind: .unexpected, key: k, expected: nil, actual: a))
                continue
            }
            if comparedKeys.contains(where: { e[$0] != a[$0] }) {
                out.append(Difference(kind: .changed, key: k, expected: e, actual: a))
            }
        }
        for e in expected where !seen.contains(key(e)) {
            out.append(Difference(kind: .missing, key: key(e), expected: e, actual: nil))
        }
        return out
    }
}
