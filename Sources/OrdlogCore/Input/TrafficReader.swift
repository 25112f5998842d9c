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
/// the body, so it is logged and rejected like any bad message. So does an entry holding a string that cannot be
/// represented (an unpaired surrogate escape, bytes that are not UTF-8, in its `Body` or any other field, all of
/// which are stored): its bytes as read are kept, and the input error names the field and the byte offset into
/// them. A single document holding one is logged whole, since the entries inside it cannot be told apart without
/// decoding it.
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
                throw TrafficFileError(
                    file: path, line: nil,
                    reason: !exists
                        ? "no such file"
                        : isDir.boolValue ? "is a directory, expected a file" : "cannot be read (permissions?)")
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
        do {
            return try document(try JSONParser.parse(content), name: name, line: nil, bytes: Array(content))
        } catch is JSONParseError {
            // One document holding a string that cannot be represented. Each SQS record in it is read on its own,
            // so only the records holding one are logged as read and rejected; a document whose records cannot be
            // told apart without decoding it is logged whole (without the whitespace around it) and rejected.
            func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
            let doc = Array(content.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
            if let found = recordsOneByOne(doc, here: name) { return found }
            if JSONParser.isSingleValue(doc) {
                do { _ = try JSONParser.parse(doc) } catch {
                    if let reason = unreadable(error, in: doc, what: "document as read") {
                        let format: TrafficFormat = doc.first == UInt8(ascii: "[") ? .messageArray : .singleMessage
                        return (format, [IncomingMessage(messageId: nil, body: doc, source: name, inputError: reason)])
                    }
                }
            }
        }
        // JSON Lines. Every entry of recorded SQS traffic is a JSON object or array, so a file whose first
        // non-blank byte is neither (a SQLite file given by mistake, an executable, random bytes) is not recorded
        // traffic: refused as a whole, nothing appended, rather than logged line by line as bad input.
        if let first = content.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }),
            first != UInt8(ascii: "{"), first != UInt8(ascii: "[")
        {
            let line = 1 + content.prefix { $0 != first }.filter { $0 == 0x0A }.count
            let what = first < 0x20 || first >= 0x7F ? "a byte 0x\(String(first, radix: 16, uppercase: true))" : "\"\(Character(Unicode.Scalar(first)))\""
            throw TrafficFileError(
                file: name, line: line,
                reason: "not recorded traffic: it starts with \(what), not a JSON object or array; \(expected)")
        }
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
            let (found, parseError) = entries(line: line, name: name, lineNo: lineNo)
            if let parseError {
                if firstError == nil { firstError = (lineNo, "\(parseError)") }
            } else {
                anyJSON = true
            }
            messages += found
        }
        guard anyJSON else {
            throw TrafficFileError(
                file: name, line: firstError?.0, reason: "not JSON (\(firstError?.1 ?? "?")); \(expected)")
        }
        return (.jsonLines, messages)
    }

    /// `bytes`, the document as read, give each entry's exact bytes for the error cases (else they are the value
    /// re-serialised).
    static func document(_ value: JSONValue, name: String, line: Int?, bytes: [UInt8]? = nil) throws -> (
        TrafficFormat, [IncomingMessage]
    ) {
        let here = line.map { "\(name):\($0)" } ?? name
        let spans = bytes.flatMap { JSONParser.elementRanges($0, arrayMember: ["Messages", "Records"]) }
        func raw(_ member: String?, _ i: Int, of count: Int) -> [UInt8]? {
            guard let bytes, let spans, spans.member == member, spans.ranges.count == count else { return nil }
            return Array(bytes[spans.ranges[i]])
        }
        switch value {
        case .array(let items):
            let messages = items.enumerated().map { i, item in
                message(item, source: "\(here)[\(i)]", lambdaARN: nil, raw: raw(nil, i, of: items.count))
            }
            return (.messageArray, messages)
        case .object(let o):
            if let messagesValue = o["Messages"] {
                guard case .array(let items) = messagesValue else {
                    throw TrafficFileError(
                        file: name, line: line,
                        reason: "\"Messages\" is a JSON \(messagesValue.typeName), expected an array of SQS messages")
                }
                return (
                    .receiveMessageResponse,
                    items.enumerated().map { i, item in
                        message(
                            item, source: "\(here)#Messages[\(i)]", lambdaARN: nil,
                            raw: raw("Messages", i, of: items.count))
                    }
                )
            }
            if let recordsValue = o["Records"] {
                guard case .array(let items) = recordsValue else {
                    throw TrafficFileError(
                        file: name, line: line,
                        reason: "\"Records\" is a JSON \(recordsValue.typeName), expected an array of SQS records")
                }
                if let first = items.first?.objectValue,
                    let src = first["EventSource"]?.stringValue ?? first["eventSource"]?.stringValue,
                    src != "aws:sqs"
                {
                    throw TrafficFileError(
                        file: name, line: line,
                        reason: "a Lambda event from \(src), not from SQS (eventSource aws:sqs); \(expected)")
                }
                return (
                    .lambdaSQSEvent,
                    items.enumerated().map { i, item in
                        message(
                            item, source: "\(here)#Records[\(i)]",
                            lambdaARN: item.objectValue?["eventSourceARN"]?.stringValue,
                            raw: raw("Records", i, of: items.count))
                    }
                )
            }
            if o.members.isEmpty { return (.receiveMessageResponse, []) }  // ReceiveMessage with no messages
            if o["MessageId"] != nil || o["messageId"] != nil {
                return (
                    .singleMessage,
                    [message(value, source: here, lambdaARN: o["eventSourceARN"]?.stringValue, raw: bytes)]
                )
            }
            throw TrafficFileError(
                file: name, line: line, reason: "a JSON object with keys \(o.members.prefix(6).map(\.key)); \(expected)"
            )
        default:
            throw TrafficFileError(file: name, line: line, reason: "a JSON \(value.typeName); \(expected)")
        }
    }

    /// Maps one SQS message object (PascalCase API shape or camelCase Lambda shape) to an IncomingMessage.
    /// `raw` gives the entry's bytes for the error cases only (the line as read, or the value re-serialised).
    static func message(_ value: JSONValue, source: String, lambdaARN: String?, raw: [UInt8]? = nil) -> IncomingMessage
    {
        let src = lambdaARN.map { "\($0) (\(source))" } ?? source
        func rawBytes() -> [UInt8] { raw ?? JSONWriter.bytes(value) }
        guard case .object(let o) = value else {
            return IncomingMessage(
                messageId: nil, body: rawBytes(), source: src,
                inputError: "a JSON \(value.typeName) where an SQS message object was expected")
        }
        let lambda = o["messageId"] != nil && o["MessageId"] == nil
        func field(_ pascal: String, _ camel: String) -> JSONValue? { lambda ? o[camel] : o[pascal] }
        func str(_ pascal: String, _ camel: String) -> String? { field(pascal, camel)?.stringValue }
        guard let messageId = str("MessageId", "messageId"), !messageId.isEmpty else {
            return IncomingMessage(
                messageId: nil, body: rawBytes(), source: src,
                inputError: "SQS message has no string MessageId (keys: \(o.members.prefix(8).map(\.key)))")
        }
        guard let body = str("Body", "body") else {
            let what = field("Body", "body").map { "a JSON \($0.typeName)" } ?? "missing"
            return IncomingMessage(
                messageId: nil, body: rawBytes(), source: src,
                inputError: "SQS message \(messageId) has Body \(what), expected a string")
        }
        return IncomingMessage(
            messageId: messageId, receiptHandle: str("ReceiptHandle", "receiptHandle"),
            md5OfBody: str("MD5OfBody", "md5OfBody"), body: Array(body.utf8),
            attributes: field("Attributes", "attributes")?.objectValue ?? JSONObject(),
            messageAttributes: field("MessageAttributes", "messageAttributes"),
            md5OfMessageAttributes: str("MD5OfMessageAttributes", "md5OfMessageAttributes"), source: src)
    }

    /// The records of a document (`{"Messages":[…]}`, `{"Records":[…]}`, `[…]`) read one by one from their own
    /// bytes, for a document that does not parse as a whole because a record holds a string that cannot be
    /// represented: that record is logged as read and rejected, the others are read as usual. Nil when the records
    /// cannot be told apart.
    static func recordsOneByOne(_ doc: [UInt8], here: String) -> (TrafficFormat, [IncomingMessage])? {
        guard let (member, ranges) = JSONParser.elementRanges(doc, arrayMember: ["Messages", "Records"]) else {
            return nil
        }
        let messages = ranges.enumerated().map { i, range in
            let record = Array(doc[range])
            let source = member.map { "\(here)#\($0)[\(i)]" } ?? "\(here)[\(i)]"
            let value: JSONValue
            do throws(JSONParseError) { value = try JSONParser.parse(record) } catch {
                let reason = unreadable(error, in: record, what: "record as read") ?? "not JSON: \(error)"
                return IncomingMessage(messageId: nil, body: record, source: source, inputError: reason)
            }
            return message(
                value, source: source, lambdaARN: value.objectValue?["eventSourceARN"]?.stringValue, raw: record)
        }
        let format: TrafficFormat =
            member == "Records" ? .lambdaSQSEvent : member == nil ? .messageArray : .receiveMessageResponse
        return (format, messages)
    }

    /// The input error for a record that holds a string that cannot be represented (an unpaired surrogate
    /// escape, bytes that are not UTF-8), naming the record's field and the byte offset into `bytes` (the record
    /// as read, which is logged as the receive's body); nil for malformed JSON.
    static func unreadable(_ error: JSONParseError, in bytes: some Collection<UInt8>, what: String) -> String? {
        let field = error.field.map { "field \($0)" } ?? "text"
        let kept = "(kept byte for byte as this receive's body)"
        switch error.kind {
        case .unpairedSurrogate:
            return "SQS record \(field) holds an \(error.reason) at byte \(error.offset) of the \(what) \(kept): "
                + "it cannot be decoded without altering it, so the record was not read"
        case .invalidUTF8:
            return "SQS record \(field) is not UTF-8 at byte \(error.offset) of the \(what) \(kept), "
                + "so the record was not read"
        case .syntax:
            guard let bad = JSONParser.firstInvalidUTF8(Array(bytes)), bad <= error.offset else { return nil }
            return "SQS record is not UTF-8 at byte \(bad) of the \(what) \(kept), so the record was not read"
        }
    }

    // MARK: Streaming

    /// Reads a file (`-` for standard input) and hands its messages to `body` in batches of `batchSize`, in
    /// order. JSON Lines are streamed (memory stays bounded by one read chunk and one batch, whatever the file
    /// size); a single JSON document (a ReceiveMessage response, a Lambda event) is read whole.
    /// - Returns: the detected format and the number of entries read.
    /// - Throws: ``TrafficFileError`` when the file cannot be read or is not recorded traffic; whatever `body`
    ///   throws (reading stops there).
    @discardableResult
    ///
    /// Standard input is read live: whatever has arrived is processed (a partial batch included) before the next
    /// blocking read, so `tail -f capture.jsonl | ordlog ingest -` works.
    /// - Parameter waiting: told `true` just before a read that may block and `false` after it, so a caller can
    ///   treat an interrupt during the wait as safe to act on at once (nothing is half-processed then).
    /// - Parameters:
    ///   - maxBatchBytes: a batch is also handed on once its message bodies reach this many bytes.
    ///   - maxBatchSeconds: and once this long has passed since its first message was read (monotonic clock),
    ///     so a steady stream of input is still handed on promptly; nil for no time bound.
    public static func stream(
        path: String, batchSize: Int, maxBatchBytes: Int = .max, maxBatchSeconds: Double? = nil,
        waiting: (Bool) -> Void = { _ in },
        _ body: ([IncomingMessage]) throws -> Void
    ) throws -> (TrafficFormat, Int) {
        let live = path == "-"
        let name = path == "-" ? "<stdin>" : path
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw TrafficFileError(file: path, line: nil, reason: "no such file")
            }
            if isDir.boolValue {
                throw TrafficFileError(file: path, line: nil, reason: "is a directory, expected a file")
            }
            guard let h = FileHandle(forReadingAtPath: path) else {
                throw TrafficFileError(file: path, line: nil, reason: "cannot be read (permissions?)")
            }
            handle = h
        }
        defer { if path != "-" { try? handle.close() } }
        func read() throws -> [UInt8] {
            waiting(true)
            defer { waiting(false) }
            if live { return [UInt8](handle.availableData) }  // what has arrived; empty only at end of input
            do { return [UInt8](try handle.read(upToCount: 4 << 20) ?? Data()) } catch {
                throw TrafficFileError(file: name, line: nil, reason: "read failed: \(error)")
            }
        }
        var buffer = try read()
        if live {
            // Read until the first line is complete and something follows it (or the input ends).
            func decided() -> Bool {
                guard let nl = buffer.firstIndex(of: 0x0A) else { return false }
                return buffer[(nl + 1)...].contains { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
            }
            while !decided() {
                let more = try read()
                if more.isEmpty { break }
                buffer += more
            }
        }
        var start = buffer.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        // JSON Lines if the first non-blank line is a complete JSON value and more follows it.
        var jsonLines = false
        while start < buffer.count,
            buffer[start] == 0x0A || buffer[start] == 0x0D || buffer[start] == 0x20 || buffer[start] == 0x09
        {
            start += 1
        }
        if let newline = buffer[start...].firstIndex(of: 0x0A) {
            var firstLine = buffer[start..<newline]
            if firstLine.last == 0x0D { firstLine = firstLine.dropLast() }
            let rest = buffer[(newline + 1)...]
            if JSONParser.isSingleValue(firstLine),
                rest.contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) })
            {
                jsonLines = true
            }
        }
        if !jsonLines {
            // One document (or a file that is not JSON Lines at its first line): read it whole.
            while true {
                let more = try read()
                if more.isEmpty { break }
                buffer += more
            }
            let (format, messages) = try parse(buffer, name: name)
            var i = 0
            while i < messages.count {
                var end = i
                var bytes = 0
                while end < messages.count, end - i < batchSize, bytes < maxBatchBytes {
                    bytes += messages[end].body.count
                    end += 1
                }
                try body(Array(messages[i..<end]))
                i = end
            }
            return (format, messages.count)
        }
        // Stream JSON Lines.
        var batch: [IncomingMessage] = []
        batch.reserveCapacity(min(batchSize, 1 << 16))
        var batchBytes = 0
        var batchStarted: UInt64 = 0
        let maxNanos = maxBatchSeconds.map { UInt64(max(0, $0) * 1e9) }
        func handOn() throws {
            try body(batch)
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
        }
        var count = 0
        var lineNo = 0
        var pending = Array(buffer[start...])
        // Lines before `start` were blank: count them so line numbers match the file.
        lineNo = buffer[..<start].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        var eof = false
        while true {
            var lineStart = 0
            while let nl = pending[lineStart...].firstIndex(of: 0x0A) {
                lineNo += 1
                var line = pending[lineStart..<nl]
                if line.last == 0x0D { line = line.dropLast() }
                lineStart = nl + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                for m in entries(line: line, name: name, lineNo: lineNo).messages {
                    if batch.isEmpty, maxNanos != nil { batchStarted = DispatchTime.now().uptimeNanoseconds }
                    batch.append(m)
                    batchBytes += m.body.count
                    count += 1
                    if batch.count >= batchSize || batchBytes >= maxBatchBytes
                        || maxNanos.map({ DispatchTime.now().uptimeNanoseconds - batchStarted >= $0 }) == true
                    {
                        try handOn()
                    }
                }
            }
            pending.removeFirst(lineStart)
            if eof { break }
            if live, !batch.isEmpty {  // hand on what has arrived before waiting for more
                try handOn()
            }
            let more = try read()
            if more.isEmpty {
                eof = true
                if !pending.isEmpty { pending.append(0x0A) }  // the last line has no newline
            } else {
                pending += more
            }
        }
        if !batch.isEmpty { try handOn() }
        return (.jsonLines, count)
    }

    /// The messages of one JSON Lines line: a message, a ReceiveMessage response or a Lambda event; or one
    /// entry with an input error and the line's raw bytes. `parseError` is set when the line is not JSON.
    static func entries(line: ArraySlice<UInt8>, name: String, lineNo: Int)
        -> (messages: [IncomingMessage], parseError: JSONParseError?)
    {
        let source = "\(name):\(lineNo)"
        let value: JSONValue
        do { value = try JSONParser.parse(line) } catch {
            if let reason = unreadable(error, in: line, what: "line as read") {
                // JSON, but not text that can be read without altering it: not a parse error of the file.
                if let (_, found) = recordsOneByOne(Array(line), here: source) { return (found, nil) }
                return ([IncomingMessage(messageId: nil, body: Array(line), source: source, inputError: reason)], nil)
            }
            return (
                [
                    IncomingMessage(
                        messageId: nil, body: Array(line), source: source,
                        inputError: "line is not JSON (\(error)); \(expected)")
                ], error
            )
        }
        if case .object(let o) = value, o["Messages"] == nil, o["Records"] == nil,
            o["MessageId"] != nil || o["messageId"] != nil
        {
            return (
                [message(value, source: source, lambdaARN: o["eventSourceARN"]?.stringValue, raw: Array(line))], nil
            )
        }
        do {
            return (try document(value, name: name, line: lineNo, bytes: Array(line)).1, nil)
        } catch {
            let reason = (error as? TrafficFileError)?.reason ?? "\(error)"
            return ([IncomingMessage(messageId: nil, body: Array(line), source: source, inputError: reason)], nil)
        }
    }
}
