/// The JSON shapes of `ordlog replay --json`'s members, one place for each.

extension ReplayCounts {
    /// `{"replayed":N,"projected":N,"duplicate":N,"stale":N,"rejected":N,"failed":N,"deadLettered":N}`.
    public var json: JSONValue {
        let members: [(String, Int)] = [
            ("replayed", replayed), ("projected", projected), ("duplicate", duplicate), ("stale", stale),
            ("rejected", rejected), ("failed", failed), ("deadLettered", deadLettered),
        ]
        return .object(JSONObject(members.map { (key: $0.0, value: .number(String($0.1))) }))
    }
}

extension VerdictDifference {
    /// `{"seq":N,"messageId":S|null,"receiveCount":N,"recorded":DECISION|null,"replayed":DECISION}`, DECISION
    /// being the decision members of the attempt record shape (``RecordJSON/decision(_:)``).
    public var json: JSONValue {
        .object(
            JSONObject([
                ("seq", .number(String(seq))), ("messageId", messageId.map(JSONValue.string) ?? .null),
                ("receiveCount", .number(String(receiveCount))),
                ("recorded", recorded.map { .object(JSONObject(RecordJSON.decision($0))) } ?? .null),
                ("replayed", .object(JSONObject(RecordJSON.decision(replayed)))),
            ]))
    }
}

extension Expectations.Difference {
    /// `{"kind":"changed"|"missing"|"unexpected","key":S,"expected":LINE|null,"actual":LINE|null}`.
    public var json: JSONValue {
        .object(
            JSONObject([
                ("kind", .string(kind.rawValue)), ("key", .string(key)),
                ("expected", expected.map(JSONValue.object) ?? .null),
                ("actual", actual.map(JSONValue.object) ?? .null),
            ]))
    }
}
