import Crypto
import Foundation

// The SQS API shapes the client sends and returns (AWS JSON 1.0, PascalCase on the wire); the client is in
// SQSClient.swift.

/// A received message, in the SQS API's PascalCase
/// [Message](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_Message.html) shape.
public struct SQSMessage: Codable, Sendable, Equatable {
    public var messageId: String
    public var receiptHandle: String
    /// Hex MD5 of the UTF-8 body.
    public var md5OfBody: String?
    public var body: String
    /// System attributes, all strings: `ApproximateReceiveCount`, `SentTimestamp` (epoch ms), `SenderId`, …
    public var attributes: [String: String]
    /// Message attributes (only those requested).
    public var messageAttributes: [String: SQSMessageAttributeValue]
    public var md5OfMessageAttributes: String?

    public init(
        messageId: String, receiptHandle: String, md5OfBody: String?, body: String,
        attributes: [String: String] = [:], messageAttributes: [String: SQSMessageAttributeValue] = [:],
        md5OfMessageAttributes: String? = nil
    ) {
        self.messageId = messageId
        self.receiptHandle = receiptHandle
        self.md5OfBody = md5OfBody
        self.body = body
        self.attributes = attributes
        self.messageAttributes = messageAttributes
        self.md5OfMessageAttributes = md5OfMessageAttributes
    }

    enum CodingKeys: String, CodingKey {
        case messageId = "MessageId"
        case receiptHandle = "ReceiptHandle"
        case md5OfBody = "MD5OfBody"
        case body = "Body"
        case attributes = "Attributes"
        case messageAttributes = "MessageAttributes"
        case md5OfMessageAttributes = "MD5OfMessageAttributes"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messageId = try c.decode(String.self, forKey: .messageId)
        receiptHandle = try c.decode(String.self, forKey: .receiptHandle)
        md5OfBody = try c.decodeIfPresent(String.self, forKey: .md5OfBody)
        body = try c.decodeIfPresent(String.self, forKey: .body) ?? ""
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        messageAttributes =
            try c.decodeIfPresent(
                [String: SQSMessageAttributeValue].self,
                forKey: .messageAttributes) ?? [:]
        md5OfMessageAttributes = try c.decodeIfPresent(String.self, forKey: .md5OfMessageAttributes)
    }

    /// Whether ``md5OfBody`` equals the hex MD5 of the UTF-8 ``body`` (SQS's integrity check).
    public var bodyMD5Matches: Bool {
        md5OfBody?.lowercased() == SigV4Signer.hex(Data(Insecure.MD5.hash(data: Data(body.utf8))))
    }

    /// `Attributes["ApproximateReceiveCount"]` as an integer.
    public var approximateReceiveCount: Int? { attributes["ApproximateReceiveCount"].flatMap { Int($0) } }
}

/// An SQS MessageAttributeValue:
/// `DataType` is `String`, `Number` or `Binary` (optionally with a `.custom` suffix); binary is base64 on the wire.
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html>)
public struct SQSMessageAttributeValue: Codable, Sendable, Equatable {
    public var dataType: String
    public var stringValue: String?
    public var binaryValue: Data?

    public init(dataType: String, stringValue: String? = nil, binaryValue: Data? = nil) {
        self.dataType = dataType
        self.stringValue = stringValue
        self.binaryValue = binaryValue
    }

    public static func string(_ value: String) -> Self { .init(dataType: "String", stringValue: value) }
    public static func number(_ value: String) -> Self { .init(dataType: "Number", stringValue: value) }
    public static func binary(_ value: Data) -> Self { .init(dataType: "Binary", binaryValue: value) }

    enum CodingKeys: String, CodingKey {
        case dataType = "DataType"
        case stringValue = "StringValue"
        case binaryValue = "BinaryValue"
    }
}

/// The result of `SQSClient.receiveMessage(queueUrl:…)`.
public struct SQSReceiveResult: Sendable, Equatable {
    /// Decoded messages, in response order (empty when the poll returned nothing).
    public var messages: [SQSMessage]
    /// The HTTP response body exactly as received (`{"Messages":[…]}` or `{}`).
    public var rawBody: Data
    public var requestId: String?
}

/// One entry of a DeleteMessageBatch request. `id` must be unique within the batch.
public struct SQSDeleteEntry: Codable, Sendable, Equatable {
    public var id: String
    public var receiptHandle: String
    public init(id: String, receiptHandle: String) {
        self.id = id
        self.receiptHandle = receiptHandle
    }
    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case receiptHandle = "ReceiptHandle"
    }
}

/// One entry of a ChangeMessageVisibilityBatch request.
public struct SQSVisibilityEntry: Codable, Sendable, Equatable {
    public var id: String
    public var receiptHandle: String
    /// Seconds, 0…43200.
    public var visibilityTimeout: Int
    public init(id: String, receiptHandle: String, visibilityTimeout: Int) {
        self.id = id
        self.receiptHandle = receiptHandle
        self.visibilityTimeout = visibilityTimeout
    }
    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case receiptHandle = "ReceiptHandle"
        case visibilityTimeout = "VisibilityTimeout"
    }
}

/// A failed batch entry (BatchResultErrorEntry).
/// See <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_BatchResultErrorEntry.html>.
public struct SQSBatchFailure: Codable, Sendable, Equatable {
    public var id: String
    /// `true` if the caller's input was at fault (do not retry unchanged).
    public var senderFault: Bool
    /// E.g. `ReceiptHandleIsInvalid`.
    public var code: String
    public var message: String?
    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case senderFault = "SenderFault"
        case code = "Code"
        case message = "Message"
    }
}

/// Result of a batch delete / visibility change: ids that succeeded and entries that failed.
public struct SQSBatchResult: Decodable, Sendable, Equatable {
    /// Ids of the successful entries.
    public var successful: [String]
    public var failed: [SQSBatchFailure]

    enum CodingKeys: String, CodingKey {
        case successful = "Successful"
        case failed = "Failed"
    }
    struct IdOnly: Decodable { var Id: String }

    public init(successful: [String], failed: [SQSBatchFailure]) {
        self.successful = successful
        self.failed = failed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        successful = try (c.decodeIfPresent([IdOnly].self, forKey: .successful) ?? []).map(\.Id)
        failed = try c.decodeIfPresent([SQSBatchFailure].self, forKey: .failed) ?? []
    }
}

/// Result of SendMessage.
public struct SQSSendResult: Codable, Sendable, Equatable {
    public var messageId: String
    public var md5OfMessageBody: String?
    public var md5OfMessageAttributes: String?
    public var sequenceNumber: String?
    enum CodingKeys: String, CodingKey {
        case messageId = "MessageId"
        case md5OfMessageBody = "MD5OfMessageBody"
        case md5OfMessageAttributes = "MD5OfMessageAttributes"
        case sequenceNumber = "SequenceNumber"
    }
}

/// One entry of a SendMessageBatch request.
public struct SQSSendEntry: Codable, Sendable, Equatable {
    public var id: String
    public var messageBody: String
    public var delaySeconds: Int?
    public var messageAttributes: [String: SQSMessageAttributeValue]?
    public init(
        id: String, messageBody: String, delaySeconds: Int? = nil,
        messageAttributes: [String: SQSMessageAttributeValue]? = nil
    ) {
        self.id = id
        self.messageBody = messageBody
        self.delaySeconds = delaySeconds
        self.messageAttributes = messageAttributes
    }
    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case messageBody = "MessageBody"
        case delaySeconds = "DelaySeconds"
        case messageAttributes = "MessageAttributes"
    }
}

/// Result of SendMessageBatch.
public struct SQSSendBatchResult: Decodable, Sendable, Equatable {
    public struct Success: Codable, Sendable, Equatable {
        public var id: String
        public var messageId: String
        public var md5OfMessageBody: String?
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case messageId = "MessageId"
            case md5OfMessageBody = "MD5OfMessageBody"
        }
    }
    public var successful: [Success]
    public var failed: [SQSBatchFailure]
    enum CodingKeys: String, CodingKey {
        case successful = "Successful"
        case failed = "Failed"
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        successful = try c.decodeIfPresent([Success].self, forKey: .successful) ?? []
        failed = try c.decodeIfPresent([SQSBatchFailure].self, forKey: .failed) ?? []
    }
}
