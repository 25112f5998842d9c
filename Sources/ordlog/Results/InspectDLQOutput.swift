import Foundation
import OrdlogAWS
import OrdlogCore

/// inspect-dlq's MESSAGE object (documented in `ordlog inspect-dlq --help`): a failed message with its receives and
/// attempts in their record shapes, the SNS envelope, the order as far as it parsed and the raw body; read from
/// several logs also who logged each record (`consumers`, `attemptConsumers`, `outcomes`, each record's
/// `consumer`).
struct DeadLetterMessageOutput: Encodable {
    struct Envelope: Encodable {
        var topicArn: String?
        var snsMessageId: String?
        var timestamp: String?
        var subject: String?
        var messageAttributes: JSONValue?
    }

    var message: FailedMessage

    /// "rejected at c1, rejected (dead-lettered) at c3" when several consumers attempted the message.
    var outcomes: String? {
        LogSet.outcomeSummary(
            message.attempts.enumerated().map {
                LogSet.Record(
                    record: .attempt($1), consumerId: message.attemptConsumers[$0], url: URL(fileURLWithPath: "/"))
            })
    }

    func encode(to encoder: any Encoder) throws {
        let m = message
        let several = !m.receiveConsumers.isEmpty
        var c = encoder.container(keyedBy: AnyKey.self)
        func put(_ key: String, _ value: some Encodable) throws { try c.encode(value, forKey: AnyKey(key)) }
        try put("messageId", m.messageId)
        try put("fingerprint", m.fingerprint)
        try put("orderId", m.orderId)
        try put("deadLettered", several ? m.deadLettered : m.latest.decision.deadLettered)
        try put("latestAttempt", RecordJSON.attempt(m.latest))
        try put(
            "receives",
            m.receives.enumerated().map {
                withConsumer(RecordJSON.receive($1, includeBody: false), several ? m.receiveConsumers : [], $0)
            })
        try put(
            "attempts",
            m.attempts.enumerated().map { withConsumer(RecordJSON.attempt($1), several ? m.attemptConsumers : [], $0) })
        try put(
            "envelope",
            m.anatomy.envelope.map {
                Envelope(
                    topicArn: $0.topicArn, snsMessageId: $0.messageId, timestamp: $0.timestamp, subject: $0.subject,
                    messageAttributes: $0.messageAttributes)
            })
        try put("order", m.anatomy.order)
        try put("parseProblem", m.anatomy.problem)
        try BodyField(bytes: m.latestReceive.body).encode(to: encoder)
        guard several else { return }
        try put("consumers", m.receiveConsumers)
        try put("attemptConsumers", m.attemptConsumers)
        try put("outcomes", outcomes)
    }
}

/// `record` with a "consumer" member from `consumers[i]`, when read from several logs.
func withConsumer(_ record: JSONValue, _ consumers: [String], _ i: Int) -> JSONValue {
    guard i < consumers.count, case .object(var o) = record else { return record }
    o.members.append(("consumer", .string(consumers[i])))
    return .object(o)
}

/// `inspect-dlq --json` (summary): the dead-lettered count, the fingerprint groups and the input errors.
struct DeadLetterReportOutput: Encodable {
    struct Group: Encodable {
        var fingerprint: String
        var count: Int
        var firstSeen: String
        var lastSeen: String
        var messages: [DeadLetterMessageOutput]
    }
    var deadLettered: Int
    var groups: [Group]
    var inputErrors: [JSONValue]

    init(_ report: DeadLetterReport) {
        deadLettered = report.groups.flatMap(\.messages).filter { $0.deadLettered }.count
        groups = report.groups.map {
            Group(
                fingerprint: $0.fingerprint, count: $0.messages.count, firstSeen: time($0.firstSeen),
                lastSeen: time($0.lastSeen), messages: $0.messages.map(DeadLetterMessageOutput.init))
        }
        inputErrors = report.inputErrors.enumerated().map {
            withConsumer(RecordJSON.receive($1), report.inputErrorConsumers, $0)
        }
    }
}

/// `inspect-dlq --queue-url --json`: the real DLQ's messages, each joined to the logs: whether a log holds it, its
/// history, and the message as the queue returned it (attributes, message attributes, body), so nothing of a message
/// in no log is lost.
struct DeadLetterQueueOutput: Encodable {
    struct Message: Encodable {
        var joined: QueuedDeadLetter

        func encode(to encoder: any Encoder) throws {
            let queued = joined.queued
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(queued.messageId ?? "", forKey: AnyKey("messageId"))
            try c.encode(joined.inLog, forKey: AnyKey("inLog"))
            try c.encode(queued.approximateReceiveCount, forKey: AnyKey("queueReceiveCount"))
            try c.encode(queued.sentTimestamp, forKey: AnyKey("sentTimestamp"))
            try c.encode(joined.history.map(DeadLetterMessageOutput.init), forKey: AnyKey("history"))
            try c.encode(JSONValue.object(queued.attributes), forKey: AnyKey("attributes"))
            try c.encode(queued.messageAttributes, forKey: AnyKey("messageAttributes"))
            try c.encode(queued.md5OfBody, forKey: AnyKey("md5OfBody"))
            try BodyField(bytes: queued.body).encode(to: encoder)
        }
    }
    var queueUrl: String
    var inQueue: Int
    var inLog: Int
    var inNoLog: Int
    var messages: [Message]

    init(queueUrl: String, joined: [QueuedDeadLetter]) {
        self.queueUrl = queueUrl
        inQueue = joined.count
        inLog = joined.filter(\.inLog).count
        inNoLog = inQueue - inLog
        messages = joined.map(Message.init)
    }
}
