import OrdlogCore

/// `history --json` (documented in `ordlog history --help`): an array of the order's records in their record shapes
/// (``RecordJSON``), each followed by `consumer` and `file`, an attempt also by `messageDeadLettered`. The text view
/// (``printText(orderId:logCount:bodies:)``) renders the same value.
struct HistoryOutput: Encodable {
    /// One record with who logged it and where.
    struct Record: Encodable {
        var record: LogSet.Record
        /// An attempt's message is dead-lettered (by the rule inspect-dlq uses); nil for a receive.
        var messageDeadLettered: Bool?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            if case .object(let o) = RecordJSON.record(record.record) {
                for (key, value) in o.members { try c.encode(value, forKey: AnyKey(key)) }
            }
            try c.encode(record.consumerId, forKey: AnyKey("consumer"))
            try c.encode(record.url.path, forKey: AnyKey("file"))
            if let messageDeadLettered { try c.encode(messageDeadLettered, forKey: AnyKey("messageDeadLettered")) }
        }
    }

    var records: [LogSet.Record]
    /// Each attempted message's dead-letter judgment, by MessageId.
    var deadLettered: [String: Bool]

    func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        for r in records {
            var deadLettered: Bool?
            if case .attempt(let a) = r.record { deadLettered = a.messageId.flatMap { self.deadLettered[$0] } ?? false }
            try c.encode(Record(record: r, messageDeadLettered: deadLettered))
        }
    }
}

extension HistoryOutput {
    /// The text view: a heading, then one line per record (with its details below it), and after a message's last
    /// attempt how the consumers' attempts ended and whether it is dead-lettered. `logCount` is how many logs were
    /// read (more than one: each line names its consumer).
    func printText(orderId: String, logCount: Int, bodies: Bool) {
        let consumers = Set(records.map(\.consumerId)).sorted()
        say(
            "History of order \(terminalSafe(orderId)): \(plural(records.count, "record"))"
                + (logCount > 1
                    ? " from \(plural(logCount, "log")), consumers \(consumers.map(terminalSafe).joined(separator: ", "))"
                    : ", consumer \(terminalSafe(consumers.joined(separator: ", ")))"))
        let several = logCount > 1
        var byMessage: [String: [LogSet.Record]] = [:]
        for r in records {
            if case .attempt(let a) = r.record, let id = a.messageId { byMessage[id, default: []].append(r) }
        }
        var summarised = Set<String>()
        for (index, rec) in records.enumerated() {
            let who = several ? "  \(terminalSafe(rec.consumerId))" : ""
            switch rec.record {
            case .receive(let r):
                let sent = r.sentTimestamp.map { RFC3339.format(milliseconds: $0) } ?? "-"
                say(
                    "#\(r.seq)\(who)  receive  message \(r.messageId ?? "-")  receive #\(r.receiveCount)  sent \(sent)  from \(r.source)"
                )
                if r.md5Matches == false { say("      MD5OfBody does not match the body") }
                if bodies { sayBlock("      body: \(displayBody(r.body))") }
            case .attempt(let a):
                let d = a.decision
                var line = "#\(a.seq)\(who)  attempt  \(d.outcome.rawValue)"
                if d.deadLettered { line += " (dead-lettered)" }
                line += "  for receive #\(a.receiveSeq)  \(a.processorVersion)  at \(RFC3339.format(milliseconds: a.attemptedAt))"
                say(line)
                if let item = d.item, d.outcome == .projected {
                    say("      wrote \(item.json)")
                }
                if let note = d.note { say("      \(note)") }
                if let message = d.errorMessage {
                    say("      \(d.errorKind?.rawValue ?? "error") error \(d.errorFingerprint ?? ""): \(message)")
                }
                // After a message's last attempt: how the consumers' attempts ended, when several did, and whether
                // the message is dead-lettered when no attempt says so (judged on the merged receives).
                if let id = a.messageId, !summarised.contains(id),
                    !records[(index + 1)...].contains(where: {
                        if case .attempt(let b) = $0.record { b.messageId == id } else { false }
                    })
                {
                    summarised.insert(id)
                    if let summary = LogSet.outcomeSummary(byMessage[id] ?? []) {
                        say("      message \(terminalSafe(id)): \(summary)")
                    }
                    if deadLettered[id] == true, !d.deadLettered {
                        say("      message \(terminalSafe(id)): dead-lettered (its receives across the logs reached maxReceiveCount)")
                    }
                }
            }
        }
    }
}
