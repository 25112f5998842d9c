import Crypto
import Foundation

/// Replaces chosen order fields with stable pseudonyms, so captured traffic can be shared as fixtures.
///
/// A string field `F` with value `v` becomes `F-` + the first 12 hex digits of HMAC-SHA256(key, v): the
/// same value always gives the same pseudonym (under one key), so orders stay linked across messages.
/// Fields are replaced in the order object: the body itself under raw message delivery, or the order
/// inside an SNS envelope's `Message` string. Only string values are replaced (a number stays a number).
public struct Redactor: Sendable {
    /// The order fields that can be redacted (the Orders item's attributes), by their exact JSON names.
    public static let redactableFields = ["orderId", "userId", "itemName", "quantity", "status", "timestamp"]

    /// A fresh random key (32 bytes, hex), used when the caller gives none: pseudonyms are then stable within
    /// one export but cannot be reversed by hashing guessed values with a published key.
    public static func randomKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return RecordHash.hex((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    public var fields: Set<String>
    public var key: [UInt8]

    /// - Parameters:
    ///   - fields: order field names, from ``redactableFields``.
    ///   - key: the HMAC key; keep it secret, or anyone can test guesses against the pseudonyms.
    public init(fields: [String], key: String) {
        self.fields = Set(fields)
        self.key = Array(key.utf8)
    }

    /// `field-` + the first 12 hex digits of HMAC-SHA256(key, value).
    public func pseudonym(field: String, value: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(value.utf8), using: SymmetricKey(data: key))
        return field + "-" + String(RecordHash.hex(Array(mac)).prefix(12))
    }

    func redact(_ order: JSONObject) -> (JSONObject, Bool) {
        var changed = false
        var out = order
        for i in out.members.indices where fields.contains(out.members[i].key) {
            if case .string(let v) = out.members[i].value {
                out.members[i].value = .string(pseudonym(field: out.members[i].key, value: v))
                changed = true
            }
        }
        return (out, changed)
    }

    /// True when the body, or its SNS envelope's Message, holds an unpaired surrogate escape (in a field the
    /// processor does not read, or it would have been rejected): it cannot be decoded and written back
    /// unaltered, so it cannot be redacted either.
    public static func undecodable(_ body: [UInt8]) -> Bool {
        do {
            if case .object(let o) = try JSONParser.parse(body), OrderProcessor.envelopeTopicArn(o) != nil,
                case .string(let message)? = o["Message"]
            {
                _ = try JSONParser.parse(Array(message.utf8))
            }
            return false
        } catch {
            return error.kind == .unpairedSurrogate
        }
    }

    /// The body with the fields replaced, or nil when nothing was replaced (not JSON, no such field).
    public func redact(body: [UInt8]) -> [UInt8]? {
        guard case .object(var object)? = try? JSONParser.parse(body) else { return nil }
        if OrderProcessor.envelopeTopicArn(object) != nil {  // the processor's rule, not a copy
            guard let i = object.members.lastIndex(where: { $0.key == "Message" }),
                case .string(let message) = object.members[i].value,
                case .object(let order)? = try? JSONParser.parse(Array(message.utf8))
            else { return nil }
            let (redacted, changed) = redact(order)
            guard changed else { return nil }
            object.members[i].value = .string(JSONWriter.string(.object(redacted)))
            return JSONWriter.bytes(.object(object))
        }
        let (redacted, changed) = redact(object)
        return changed ? JSONWriter.bytes(.object(redacted)) : nil
    }
}

/// Writes logged receives as SQS messages in the ReceiveMessage shape, one JSON object a line.
///
/// Line: `{"MessageId":S,"ReceiptHandle":S?,"MD5OfBody":S?,"Body":S,"Attributes":{…},
/// "MD5OfMessageAttributes":S?,"MessageAttributes":{…}?}` — PascalCase as the SQS API, attributes as
/// received, members absent when they were absent. `ordlog ingest` and `ordlog replay --traffic` read it.
/// When a body is redacted, MD5OfBody is recomputed so the export ingests cleanly.
public enum Exporter {
    /// The export line for `r` (with newline), or nil for a receive that was not an SQS message, whose body
    /// is not UTF-8 (a JSON string `Body` cannot carry those bytes: they are never replaced), or that is to be
    /// redacted but cannot be decoded (``Redactor/undecodable(_:)``: exporting it unredacted would leak the fields).
    public static func line(_ r: LoggedReceive, redactor: Redactor?) -> (line: [UInt8], redacted: Bool)? {
        guard let messageId = r.messageId, JSONParser.firstInvalidUTF8(r.body) == nil else { return nil }
        var body = r.body
        var md5 = r.md5OfBody
        var redacted = false
        if let redactor, let rewritten = redactor.redact(body: body) {
            body = rewritten
            redacted = true
            if md5 != nil { md5 = RecordHash.md5Hex(body) }
        } else if redactor != nil, Redactor.undecodable(body) {
            return nil
        }
        var m: [(key: String, value: JSONValue)] = [("MessageId", .string(messageId))]
        if let h = r.receiptHandle { m.append(("ReceiptHandle", .string(h))) }
        if let md5 { m.append(("MD5OfBody", .string(md5))) }
        m.append(("Body", .string(String(decoding: body, as: UTF8.self))))
        m.append(("Attributes", (try? JSONParser.parse(r.attributesJSON)) ?? .object(JSONObject())))
        if let md5a = r.md5OfMessageAttributes { m.append(("MD5OfMessageAttributes", .string(md5a))) }
        if let ma = r.messageAttributesJSON, let v = try? JSONParser.parse(ma) { m.append(("MessageAttributes", v)) }
        var bytes = JSONWriter.bytes(.object(JSONObject(m)))
        bytes.append(0x0A)
        return (bytes, redacted)
    }
}

/// What an export wrote (``Exporter/export(_:filter:redactor:to:progress:)``).
public struct ExportCounts: Sendable, Equatable {
    /// Lines written (one per SQS message).
    public var exported = 0
    /// Of those, bodies whose redacted fields were replaced.
    public var redacted = 0
    /// Of those, bodies written unchanged although a redactor was given (no such field, or not JSON).
    public var unredactable = 0
    /// Receives left out: input errors that were not SQS messages, bodies not UTF-8, or bodies to redact that
    /// cannot be decoded (``Exporter/line(_:redactor:)`` returned nil).
    public var skippedInputErrors = 0

    public init() {}
}

extension Exporter {
    /// Bytes gathered before each call of an export's sink (64 KiB).
    public static let sinkChunkBytes = 1 << 16

    /// Writes every receive of `log` matching `filter` as an export line (``line(_:redactor:)``), in log order,
    /// to `sink`.
    ///
    /// ```swift
    /// let counts = try Exporter.export(log, filter: LogFilter(), redactor: nil) { bytes in writeStdout(bytes) }
    /// ```
    ///
    /// Lines are gathered and handed to `sink` in chunks of just over ``sinkChunkBytes`` bytes, each chunk
    /// whole lines; the last chunk (possibly empty) is handed over at the end. Reads the log only.
    /// - Parameters:
    ///   - filter: which receives (sequence range, sent-time window, order, MessageIds, dead-lettered).
    ///   - redactor: replaces order fields with pseudonyms; nil exports the bodies as logged.
    ///   - sink: receives the bytes (UTF-8 JSON Lines); what it throws ends the export.
    ///   - progress: called after each chunk but the last, with the counts so far and the seq reached.
    /// - Returns: the counts of lines written, redacted, unredactable and skipped.
    /// - Throws: ``SQLiteError`` when the log cannot be read; what `sink` throws.
    public static func export(
        _ log: EventLog, filter: LogFilter, redactor: Redactor?, to sink: ([UInt8]) throws -> Void,
        progress: (ExportCounts, Int64) -> Void = { _, _ in }
    ) throws -> ExportCounts {
        let resolved = try filter.resolve(in: log)
        var counts = ExportCounts()
        var buffer: [UInt8] = []
        try log.forEachRecord(from: filter.fromSeq, through: filter.toSeq) { record in
            guard case .receive(let r) = record, resolved.matches(r) else { return true }
            guard let exported = line(r, redactor: redactor) else {
                counts.skippedInputErrors += 1
                return true
            }
            counts.exported += 1
            if exported.redacted { counts.redacted += 1 } else if redactor != nil { counts.unredactable += 1 }
            buffer += exported.line
            if buffer.count > sinkChunkBytes {
                try sink(buffer)
                buffer.removeAll(keepingCapacity: true)
                progress(counts, r.seq)
            }
            return true
        }
        try sink(buffer)
        return counts
    }
}
