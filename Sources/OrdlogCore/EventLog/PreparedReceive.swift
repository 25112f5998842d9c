import Foundation

/// A received message with everything its receive record needs that depends on the message alone, computed
/// once and possibly on another thread than the log's writer (and appended with `EventLog.append(_:receivedAt:)`):
/// the body's SHA-256 (32 bytes), the format-2 receive-key digest (SHA-256, 32 bytes), whether `MD5OfBody`
/// matches the body, and the attributes as compact JSON text. What depends on the log (the sequence, the chain
/// hash, a receive count counted from the log, deduplication) is done when it is appended.
public struct PreparedReceive: Sendable {
    /// The message as received.
    public let message: IncomingMessage
    /// SHA-256 of ``IncomingMessage/body``.
    let bodyDigest: [UInt8]
    /// The format-2 receive-key digest (``RecordHash/receiveKeyDigest(messageId:receiptHandle:receiveCountAttribute:bodyDigest:source:)``).
    let keyDigest: [UInt8]
    /// Whether the body's MD5 matches `MD5OfBody` (hex, either case); nil when there is none.
    let md5Matches: Bool?
    /// ``IncomingMessage/attributes`` as compact JSON text.
    let attributesJSON: String
    /// ``IncomingMessage/messageAttributes`` as compact JSON text, or nil.
    let messageAttributesJSON: String?
    /// The receive key when its first 64 bits are free in the log (the usual case): ``RecordHash/receiveKeyText(_:full:)``.
    let receiveKey: String
    /// The receive record's format-2 encoding under ``receiveKey`` with everything but the log-dependent fields
    /// in place, so that appending hashes it without encoding it; nil when too large to keep.
    let hashTemplate: RecordHash.ReceiveTemplate?

    /// Computes the message's log-independent fields (pure; any thread).
    public init(_ m: IncomingMessage) {
        message = m
        // The body is hashed once: its digest stands in for it in the receive key and in the record hash.
        bodyDigest = RecordHash.bodyDigest(m.body)
        keyDigest = RecordHash.receiveKeyDigest(
            messageId: m.messageId, receiptHandle: m.receiptHandle,
            receiveCountAttribute: m.attributes["ApproximateReceiveCount"]?.stringValue, bodyDigest: bodyDigest,
            source: m.source)
        md5Matches = m.md5OfBody.map { RecordHash.md5Hex(m.body) == $0.lowercased() }
        attributesJSON = JSONWriter.string(.object(m.attributes))
        messageAttributesJSON = m.messageAttributes.map(JSONWriter.string)
        receiveKey = RecordHash.receiveKeyText(keyDigest)
        hashTemplate = RecordHash.ReceiveTemplate(
            LoggedReceive(
                seq: 0, receiveKey: receiveKey, messageId: m.messageId, receiptHandle: m.receiptHandle,
                md5OfBody: m.md5OfBody, md5Matches: md5Matches, body: [], attributesJSON: attributesJSON,
                messageAttributesJSON: messageAttributesJSON, md5OfMessageAttributes: m.md5OfMessageAttributes,
                receiveCount: 0, sentTimestamp: m.sentTimestamp, source: m.source, inputError: m.inputError,
                receivedAt: 0, prevHash: [], hash: [], format: 2),
            bodyDigest: bodyDigest)
    }
}
