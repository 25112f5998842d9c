import Foundation

/// The recorded-traffic formats ordlog reads, detected from the content.
public enum TrafficFormat: String, Sendable {
    /// An SQS ReceiveMessage response, `{"Messages":[…]}` with PascalCase fields
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>).
    case receiveMessageResponse = "sqs-receive-message-response"
    /// A Lambda SQS event, `{"Records":[…]}` with camelCase fields
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>).
    case lambdaSQSEvent = "lambda-sqs-event"
    /// One SQS message object (PascalCase or Lambda camelCase), as a whole file.
    case singleMessage = "sqs-message"
    /// A JSON array of SQS messages.
    case messageArray = "sqs-message-array"
    /// JSON Lines: each line one SQS message, one ReceiveMessage response or one Lambda SQS event.
    case jsonLines = "json-lines"
}

/// A recorded-traffic file that could not be read at all. Names the file, the line, and what was expected.
public struct TrafficFileError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var reason: String
    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)"
    }
}

/// Reads recorded SQS traffic into ``IncomingMessage``s.
///
/// The format is detected from the content (see ``TrafficFormat``). Inside a readable file, an entry that
/// is not an SQS message (a JSON Lines line that is not JSON, an object without `MessageId`/`Body`) is not
/// dropped: it becomes an ``IncomingMessage`` with ``IncomingMessage/inputError`` set and its raw bytes as
/// the body, so it is logged and rejected like any bad message.
public enum TrafficReader {
    static let expected =
        "expected an SQS ReceiveMessage response {\"Messages\":[…]}, a Lambda SQS event {\"Records\":[…]}, "
        + "an SQS message object, or JSON Lines of those"

    /// Reads a file (`-` for standard input).
    /// - Throws: ``TrafficFileError`` when the file cannot be read, is empty, or holds no JSON at all.
    public static func read(path: String) throws -> (TrafficFormat, [IncomingMessage]) {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: path) else {
                var isDir: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
                throw TrafficFileError(file: path, line: nil,
                                       reason: !exists ? "no such file" : isDir.boolValue ? "is a directory, expected a file" : "cannot be read (permissions?)")
            }
            data = d
        }
        return try parse([UInt8](data), name: path == "-" ? "<stdin>" : path)
    }

    /// Parses recorded traffic from bytes; `name` is used in sources and errors.
    public static func parse(_ bytes: [UInt8], name: String) throws -> (TrafficFormat, [IncomingMessage]) {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        let content = bytes[start...]
        guard content.contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
            throw TrafficFileError(file: name, line: nil, reason: "file is empty; \(expected)")
        }
        // One JSON document?
        if let value = try? JSONParser.parse(content) {
            return try document(value, name: name, line: nil)
        }
        // JSON Lines.
        var messages: [IncomingMessage] = []
        var anyJSON = false
        var firstError: (Int, String)?
        var lineNo = 0
        var lineStart = content.startIndex
        while lineStart < content.endIndex {
            lineNo += 1
            let lineEnd = content[lineStart...].firstIndex(of: 0x0A) ?? content.endIndex
            var line = content[lineStart..<lineEnd]
            if line.last == 0x0D { line = line.dropLast() }
            lineStart = lineEnd < content.endIndex ? lineEnd + 1 : lineEnd
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let source = "\(name):\(lineNo)"
            do {
                let value = try JSONParser.parse(line)
                anyJSON = true
                do {
                    messages += try document(value, name: name, line: lineNo).1
                } catch let error as TrafficFileError {
                    messages.append(IncomingMessage(messageId: nil, body: Array(line), source: source, inputError: error.reason))
                }
            } catch {
                if firstError == nil { firstError = (lineNo, "\(error)") }
                messages.append(IncomingMessage(
                    messageId: nil, body: Array(line), source: source,
                    inputError: "line is not JSON (\(error)); \(expected)"))
            }
        }
        guard anyJSON else {
            throw TrafficFileError(file: name, line: firstError?.0, reason: "not JSON (\(firstError?.1 ?? "?")); \(expected)")
        }
        return (.jsonLines, messages)
    }

    static func document(_ value: JSONValue, name: String, line: Int?) throws -> (TrafficFormat, [IncomingMessage]) {
        let here = line.map { "\(name):\($0)" } ?? name
        switch value {
        case .array(let items):
            let messages = items.enumerated().map { i, item in
                message(item, source: "\(here)[\(i)]", lambdaARN: nil)
            }
            return (.messageArray, messages)
        case .object(let o):
            if let messagesValue = o["Messages"] {
                guard case .array(let items) = messagesValue else {
                    throw TrafficFileError(file: name, line: line, reason: "\"Messages\" is a JSON \(messagesValue.typeName), expected an array of SQS messages")
                }
                return (.receiveMessageResponse, items.enumerated().map { i, item in
                    message(item, source: "\(here)#Messages[\(i)]", lambdaARN: nil)
                })
            }
            if let recordsValue = o["Records"] {
                guard case .array(let items) = recordsValue else {
                    throw TrafficFileError(file: name, line: line, reason: "\"Records\" is a JSON \(recordsValue.typeName), expected an array of SQS records")
                }
                if let first = items.first?.objectValue, let src = first["EventSource"]?.stringValue ?? first["eventSource"]?.stringValue,
                    src != "aws:sqs"
                {
                    throw TrafficFileError(file: name, line: line, reason: "a Lambda event from \(src), not from SQS (eventSource aws:sqs); \(expected)")
                }
                return (.lambdaSQSEvent, items.enumerated().map { i, item in
                    message(item, source: "\(here)#Records[\(i)]", lambdaARN: item.objectValue?["eventSourceARN"]?.stringValue)
                })
            }
            if o.members.isEmpty { return (.receiveMessageResponse, []) }  // ReceiveMessage with no messages
            if o["MessageId"] != nil || o["messageId"] != nil {
                return (.singleMessage, [message(value, source: here, lambdaARN: o["eventSourceARN"]?.stringValue)])
            }
            throw TrafficFileError(file: name, line: line, reason: "a JSON object with keys \(o.members.prefix(6).map(\.key)); \(expected)")
        default:
            throw TrafficFileError(file: name, line: line, reason: "a JSON \(value.typeName); \(expected)")
        }
    }

    /// Maps one SQS message object (PascalCase API shape or camelCase Lambda shape) to an IncomingMessage.
    static func message(_ value: JSONValue, source: String, lambdaARN: String?) -> IncomingMessage {
        let src = lambdaARN.map { "\($0) (\(source))" } ?? source
        let raw = Array(JSONWriter.bytes(value))
        guard case .object(let o) = value else {
            return IncomingMessage(messageId: nil, body: raw, source: src,
                                   inputError: "a JSON \(value.typeName) where an SQS message object was expected")
        }
        let lambda = o["messageId"] != nil && o["MessageId"] == nil
        func field(_ pascal: String, _ camel: String) -> JSONValue? { lambda ? o[camel] : o[pascal] }
        func str(_ pascal: String, _ camel: String) -> String? { field(pascal, camel)?.stringValue }
        guard let messageId = str("MessageId", "messageId"), !messageId.isEmpty else {
            return IncomingMessage(messageId: nil, body: raw, source: src,
                                   inputError: "SQS message has no string MessageId (keys: \(o.members.prefix(8).map(\.key)))")
        }
        guard let body = str("Body", "body") else {
            let what = field("Body", "body").map { "a JSON \($0.typeName)" } ?? "missing"
            return IncomingMessage(messageId: nil, body: raw, source: src,
                                   inputError: "SQS message \(messageId) has Body \(what), expected a string")
        }
        var attributes = field("Attributes", "attributes")?.objectValue ?? JSONObject()
        if attributes.members.isEmpty, field("Attributes", "attributes") == nil { attributes = JSONObject() }
        return IncomingMessage(
            messageId: messageId, receiptHandle: str("ReceiptHandle", "receiptHandle"),
            md5OfBody: str("MD5OfBody", "md5OfBody"), body: Array(body.utf8), attributes: attributes,
            messageAttributes: field("MessageAttributes", "messageAttributes"),
            md5OfMessageAttributes: str("MD5OfMessageAttributes", "md5OfMessageAttributes"), source: src)
    }
}
