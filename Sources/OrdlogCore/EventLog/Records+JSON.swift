import Foundation

/// The documented JSON shapes of log records, used by every `--json` output.
///
/// Receive: `{"type":"receive","seq":N,"messageId":S|null,"receiptHandle":S|null,"receiveCount":N,
/// "sentTimestamp":ms|null,"receivedAt":"RFC 3339","source":S,"md5OfBody":S|null,"md5Matches":B|null,
/// "attributes":{…},"messageAttributes":{…}|null,"inputError":S|null,"body":S}` — `body` is the body as
/// text when it is valid UTF-8, otherwise `bodyBase64` carries the bytes. `hash` is the record hash (hex).
///
/// Attempt: `{"type":"attempt","seq":N,"receiveSeq":N,"messageId":S|null,"outcome":S,"errorKind":S|null,
/// "errorCode":S|null,"errorField":S|null,"errorMessage":S|null,"deadLettered":B,"orderId":S|null,
/// "snsMessageId":S|null,"item":{…}|null,"note":S|null,"processorVersion":S,"trigger":S,"attemptedAt":"RFC 3339"}`.
public enum RecordJSON {
    static func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    static func opt(_ n: Int64?) -> JSONValue { n.map { .number(String($0)) } ?? .null }

    /// The body as `("body", text)` when valid UTF-8, else `("bodyBase64", base64)`.
    public static func body(_ bytes: [UInt8]) -> (key: String, value: JSONValue) {
        let s = String(decoding: bytes, as: UTF8.self)
        if s.utf8.elementsEqual(bytes) { return ("body", .string(s)) }
        return ("bodyBase64", .string(Data(bytes).base64EncodedString()))
    }

    /// A receive record in the receive shape above; `includeBody: false` leaves the body out.
    public static func receive(_ r: LoggedReceive, includeBody: Bool = true) -> JSONValue {
        var m: [(key: String, value: JSONValue)] = [
            ("type", .string("receive")), ("seq", .number(String(r.seq))), ("messageId", opt(r.messageId)),
            ("receiptHandle", opt(r.receiptHandle)), ("receiveCount", .number(String(r.receiveCount))),
            ("sentTimestamp", opt(r.sentTimestamp)),
            ("receivedAt", .string(RFC3339.format(milliseconds: r.receivedAt))),
            ("source", .string(r.source)), ("md5OfBody", opt(r.md5OfBody)),
            ("md5Matches", r.md5Matches.map(JSONValue.bool) ?? .null),
            ("attributes", (try? JSONParser.parse(r.attributesJSON)) ?? .object(JSONObject())),
            ("messageAttributes", r.messageAttributesJSON.flatMap { try? JSONParser.parse($0) } ?? .null),
            ("inputError", opt(r.inputError)),
        ]
        if includeBody { m.append(body(r.body)) }
        m.append(("hash", .string(RecordHash.hex(r.hash))))
        return .object(JSONObject(m))
    }

    /// An Orders item: `{"orderId","userId","itemName","quantity","status","timestamp"}`.
    public static func item(_ i: OrderItem) -> JSONValue { .object(JSONObject(i.jsonMembers)) }

    /// The decision members of the attempt shape, from `outcome` to `note`.
    public static func decision(_ d: Decision) -> [(key: String, value: JSONValue)] {
        [
            ("outcome", .string(d.outcome.rawValue)), ("errorKind", opt(d.errorKind?.rawValue)),
            ("errorCode", opt(d.errorCode)), ("errorField", opt(d.errorField)), ("errorMessage", opt(d.errorMessage)),
            ("deadLettered", .bool(d.deadLettered)), ("orderId", opt(d.orderId)), ("snsMessageId", opt(d.snsMessageId)),
            ("item", d.item.map(item) ?? .null), ("note", opt(d.note)),
        ]
    }

    /// An attempt record in the attempt shape above.
    public static func attempt(_ a: LoggedAttempt) -> JSONValue {
        var m: [(key: String, value: JSONValue)] = [
            ("type", .string("attempt")), ("seq", .number(String(a.seq))),
            ("receiveSeq", .number(String(a.receiveSeq))),
            ("messageId", opt(a.messageId)),
        ]
        m += decision(a.decision)
        m += [
            ("processorVersion", .string(a.processorVersion)), ("trigger", .string(a.trigger.rawValue)),
            ("attemptedAt", .string(RFC3339.format(milliseconds: a.attemptedAt))),
            ("hash", .string(RecordHash.hex(a.hash))),
        ]
        return .object(JSONObject(m))
    }

    /// A receive or attempt record in its shape.
    public static func record(_ r: LogRecord) -> JSONValue {
        switch r {
        case .receive(let x): receive(x)
        case .attempt(let x): attempt(x)
        }
    }

    /// A projected order: the item members plus `lastSeq` and `messageId` (which receive wrote it).
    public static func order(_ o: ProjectedOrder) -> JSONValue {
        var m = o.item.jsonMembers
        m.append(("lastSeq", .number(String(o.lastSeq))))
        m.append(("messageId", opt(o.messageId)))
        return .object(JSONObject(m))
    }
}
