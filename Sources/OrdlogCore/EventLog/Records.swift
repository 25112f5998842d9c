/// An SQS message as received, before it is appended to the event log.
///
/// Mirrors the SQS `Message` shape
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_Message.html>); Lambda SQS
/// event records (camelCase) are mapped onto the same fields. Input that is not an SQS message at all
/// (an unparseable JSON Lines line) is still appended, with ``inputError`` set and the raw bytes as ``body``.
public struct IncomingMessage: Sendable, Equatable {
    /// SQS `MessageId`; nil only when the input was not an SQS message.
    public var messageId: String?
    /// SQS `ReceiptHandle` of this receive.
    public var receiptHandle: String?
    /// `MD5OfBody` as received (hex).
    public var md5OfBody: String?
    /// The message body, byte for byte (UTF-8 of the JSON string `Body`).
    public var body: [UInt8]
    /// SQS system attributes (`ApproximateReceiveCount`, `SentTimestamp`, `SenderId`, …) as received.
    public var attributes: JSONObject
    /// SQS message attributes as received, or nil when absent.
    public var messageAttributes: JSONValue?
    /// `MD5OfMessageAttributes` as received.
    public var md5OfMessageAttributes: String?
    /// Where it came from: a queue URL or ARN, or `file:line` / `file#Messages[i]`.
    public var source: String
    /// Why the input was not an SQS message (nil for a real message).
    public var inputError: String?

    public init(
        messageId: String?, receiptHandle: String? = nil, md5OfBody: String? = nil, body: [UInt8],
        attributes: JSONObject = JSONObject(), messageAttributes: JSONValue? = nil,
        md5OfMessageAttributes: String? = nil, source: String, inputError: String? = nil
    ) {
        self.messageId = messageId
        self.receiptHandle = receiptHandle
        self.md5OfBody = md5OfBody
        self.body = body
        self.attributes = attributes
        self.messageAttributes = messageAttributes
        self.md5OfMessageAttributes = md5OfMessageAttributes
        self.source = source
        self.inputError = inputError
    }

    /// `ApproximateReceiveCount` as an integer, when present and well-formed (a string of digits, as SQS sends
    /// it, or a JSON integer, as a hand-written capture may hold it: not ignored for its type).
    public var approximateReceiveCount: Int64? { Self.integer(attributes["ApproximateReceiveCount"]) }
    /// `SentTimestamp` in ms since the epoch, when present and well-formed (a digit string or a JSON integer).
    public var sentTimestamp: Int64? { Self.integer(attributes["SentTimestamp"]) }

    /// The receive number the log stores and the dead-letter rule judges, the one copy of that rule: the
    /// `ApproximateReceiveCount` SQS delivered when it is positive, else the receive's position (1-based) among
    /// its message's receives, from `position` (in one log when appended; in merge order when several logs are
    /// read as one, ``LogSet/isDeadLettered(_:receive:maxReceiveCount:)``).
    public static func receiveNumber(attribute: Int64?, position: () throws -> Int64) rethrows -> Int64 {
        if let attribute, attribute > 0 { return attribute }
        return try position()
    }

    static func integer(_ value: JSONValue?) -> Int64? {
        switch value {
        case .string(let s)?, .number(let s)?: Int64(s)
        default: nil
        }
    }
}

/// One receive of one message, as stored in the event log (table `receives`).
public struct LoggedReceive: Sendable, Equatable {
    /// Log sequence number.
    public var seq: Int64
    /// Identity of this receive (unique in the log). Format 1: hex SHA-256 over message id, receipt handle,
    /// receive count and body. Format 2: `r2:` and 16 hex digits of SHA-256 over message id, receipt handle,
    /// receive count and the body's SHA-256 (all 64 digits when those 16 are taken); see migration 0004.
    public var receiveKey: String
    public var messageId: String?
    public var receiptHandle: String?
    public var md5OfBody: String?
    /// True/false when `MD5OfBody` was present and does/does not match the body; nil when absent.
    public var md5Matches: Bool?
    public var body: [UInt8]
    /// System attributes, compact JSON text as received.
    public var attributesJSON: String
    /// Message attributes, compact JSON text, or nil.
    public var messageAttributesJSON: String?
    public var md5OfMessageAttributes: String?
    /// `ApproximateReceiveCount`, or this receive's ordinal among logged receives of the message.
    public var receiveCount: Int64
    /// `SentTimestamp` (ms), if present.
    public var sentTimestamp: Int64?
    public var source: String
    public var inputError: String?
    /// When ordlog received it, ms since the epoch.
    public var receivedAt: Int64
    public var prevHash: [UInt8]
    public var hash: [UInt8]
    /// The record format, which says what ``hash`` covers (see ``RecordHash``):
    /// 1 for receives written before migration `0004_record_format2` (or by an older ordlog), whose hash covers
    /// the body; 2 for receives written since, whose hash covers the body's SHA-256.
    public var format: Int = 2
}

/// What processing one receive decided. Stored in the event log as an attempt.
public enum Outcome: String, Sendable, Codable, CaseIterable {
    /// The order was written to the projection.
    case projected
    /// The SQS or SNS MessageId was already applied; nothing changed.
    case duplicate
    /// The projection holds a newer version of the order; nothing changed.
    case stale
    /// A permanent error: the message can never succeed as it is (invalid order, not JSON, …).
    case rejected
    /// A transient error: retrying may succeed (the projection write failed).
    case failed

    /// True for outcomes after which the message may be deleted from the queue.
    public var isFinal: Bool { self == .projected || self == .duplicate || self == .stale }
}

/// The class of a processing error.
public enum ErrorKind: String, Sendable, Codable {
    /// The message itself is bad; redelivery will fail again.
    case permanent
    /// Something outside the message failed; redelivery may succeed.
    case transient
}

/// One processing attempt of one receive, as stored in the event log (table `attempts`).
public struct LoggedAttempt: Sendable, Equatable {
    public var seq: Int64
    public var receiveSeq: Int64
    public var messageId: String?
    public var decision: Decision
    public var processorVersion: String
    /// `receive` (first processing of a receive) or `redrive` (re-processing after a fix).
    public var trigger: AttemptTrigger
    /// ms since the epoch.
    public var attemptedAt: Int64
    public var prevHash: [UInt8]
    public var hash: [UInt8]
}

/// Why an attempt was made: the first processing of a receive, or a redrive. Stored and hashed as its text
/// (`attempts.trigger`), which is kept as read: a value this version does not name is still read, shown and
/// verified byte for byte.
public struct AttemptTrigger: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The first processing of a receive (ingest, consume).
    public static let receive = AttemptTrigger(rawValue: "receive")
    /// Re-processing a dead-lettered message after a fix (`ordlog redrive`).
    public static let redrive = AttemptTrigger(rawValue: "redrive")
    public var description: String { rawValue }
}
