import Foundation

extension LogSet {
    /// The set as one log, for the commands that read every record (replay, export, orders, report, reproject):
    /// one log is read as it is (its own file); several (a sealed log's segments, several consumers), or one sealed
    /// segment, are merged into a scratch log at `scratchPath` (``mergedLog(path:batchSize:)``). Not verified here: call
    /// ``requireVerified(progress:)`` first.
    /// - Throws: ``SQLiteError``.
    public func readableLog(scratchPath: @autoclosure () -> String) throws -> EventLog {
        if isOneLogWithItsProjection { return members[0].log }
        return try mergedLog(path: scratchPath())
    }

    /// Whether the set is one file that keeps its own projection, read as it is. Not so for several files (merged),
    /// nor for one sealed segment (`<first>-<last>.ordlog`: `ordlog seal` empties a segment's projection tables, and
    /// a consumer's whole chain in S3 is often one), which ``readableLog(scratchPath:)`` copies into the scratch
    /// log so that its projection can be built there.
    public var isOneLogWithItsProjection: Bool { members.count == 1 && members[0].url.pathExtension != "ordlog" }

    /// Writes every log's receives, in the merge order, each followed by its recorded attempts, into a new log at
    /// `path` (a scratch file), so that anything that reads one log (replay, export, reproject, report) reads
    /// them all as one. A receive logged in several of the logs (same receive key: the same traffic ingested
    /// twice) is written once. Receives keep their bodies, attributes, sources and received-at times; a receive
    /// without `ApproximateReceiveCount` is counted among the merged receives of its message, and each copied
    /// attempt is marked dead-lettered by the set's rule (``isDeadLettered(_:receive:)``) on that count, so the
    /// merged log's dead-lettered messages are the set's. Streams receive by receive; holds only the merge keys in
    /// memory.
    /// - Throws: ``SQLiteError``.
    public func mergedLog(path: String, batchSize: Int = 10_000) throws -> EventLog {
        var keys: [(Key, Int, Int64)] = []  // merge key, member index, receive seq
        for (i, m) in members.enumerated() {
            let s = try m.log.db.prepare(
                "SELECT seq, sent_timestamp, message_id, receive_count FROM receives ORDER BY seq")
            while try s.step() {
                let seq = s.int64(0)
                keys.append(
                    (
                        Key(
                            sent: s.optionalInt64(1) ?? .max, messageId: s.optionalText(2) ?? "",
                            receiveCount: s.int64(3), consumer: m.consumer(at: seq), file: m.url.path,
                            receiveSeq: seq, seq: seq, chain: m.consumerId, member: i), i, seq
                    ))
            }
        }
        keys = Self.merged(keys.map { ($0.0, ($0.1, $0.2)) }).map { ($0.0, $0.1.0, $0.1.1) }
        let out = try EventLog(path: path)
        // One prepared statement per log for its receives and one for their attempts, reused receive by receive.
        let receiveStatements = try members.map {
            try $0.log.db.prepare("SELECT \(EventLog.receiveColumns) FROM receives WHERE seq = ?")
        }
        let attemptStatements = try members.map {
            try $0.log.db.prepare(
                "SELECT \(EventLog.attemptColumns) FROM attempts WHERE receive_seq = ? ORDER BY seq")
        }
        var start = 0
        while start < keys.count {
            let end = min(start + batchSize, keys.count)
            try out.write {
                for (_, i, seq) in keys[start..<end] {
                    let rs = receiveStatements[i]
                    rs.reset()
                    try rs.bind([.int(seq)])
                    guard let r = try rs.firstRow(EventLog.readReceive) else { continue }
                    guard case .appended(let copy) = try out.append(Self.incoming(r), receivedAt: r.receivedAt)
                    else { continue }
                    let at = attemptStatements[i]
                    at.reset()
                    try at.bind([.int(seq)])
                    var attempts: [LoggedAttempt] = []
                    while try at.step() { attempts.append(EventLog.readAttempt(at)) }
                    for a in attempts {
                        var decision = a.decision
                        decision.deadLettered = isDeadLettered(a.decision, receive: copy)
                        try out.appendAttempt(
                            receive: copy, decision: decision, processorVersion: a.processorVersion,
                            trigger: a.trigger, attemptedAt: a.attemptedAt)
                    }
                }
            }
            start = end
        }
        return out
    }

    /// A logged receive as it was received.
    static func incoming(_ r: LoggedReceive) -> IncomingMessage {
        IncomingMessage(
            messageId: r.messageId, receiptHandle: r.receiptHandle, md5OfBody: r.md5OfBody, body: r.body,
            attributes: (try? JSONParser.parse(r.attributesJSON))?.objectValue ?? JSONObject(),
            messageAttributes: r.messageAttributesJSON.flatMap { try? JSONParser.parse($0) },
            md5OfMessageAttributes: r.md5OfMessageAttributes, source: r.source, inputError: r.inputError)
    }
}
