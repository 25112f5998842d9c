import Foundation

extension LogSet {
    /// The dead-letter rule of a set, the one place it is applied to logged records: a message is dead-lettered
    /// when its latest attempt (in merge order) is — marked so when it was recorded, or judged so by the processor's
    /// rule (``OrderProcessor/isDeadLettered(_:receive:)``: a failure on receive number ≥ ``maxReceiveCount``) with
    /// the receive's number counted in merge order. A receive's number is its `ApproximateReceiveCount`, or, without
    /// one, its position among the message's receives in merge order: so three consumers' logs holding one receive
    /// each of a poison message, none with a count, dead-letter it as one log holding the three would.
    /// - Parameters:
    ///   - decision: the attempt's recorded decision.
    ///   - receive: the receive it processed, with ``LoggedReceive/receiveCount`` the number counted in merge order.
    ///   - maxReceiveCount: the redrive policy's maxReceiveCount; nil: ``maxReceiveCount``.
    /// - Returns: whether the attempt is dead-lettered.
    public func isDeadLettered(_ decision: Decision, receive: LoggedReceive, maxReceiveCount: Int64? = nil) -> Bool {
        var rules = ValidationRules()
        rules.maxReceiveCount = maxReceiveCount ?? self.maxReceiveCount
        return decision.deadLettered || OrderProcessor(rules: rules).isDeadLettered(decision.outcome, receive: receive)
    }

    /// The receives of one message in merge order with their numbers counted in merge order (see
    /// ``isDeadLettered(_:receive:)``).
    static func counted(_ receives: [LoggedReceive]) -> [LoggedReceive] {
        var position: Int64 = 0
        return receives.map { r in
            position += 1
            var c = r
            c.receiveCount = IncomingMessage.receiveNumber(attribute: r.approximateReceiveCountAttribute) { position }
            return c
        }
    }

    /// One message with the receives and attempts of every log, in merge order, or nil when no log has an
    /// attempt for it; ``FailedMessage/deadLettered`` by the set's rule (``isDeadLettered(_:receive:)``).
    /// - Parameter maxReceiveCount: overrides ``maxReceiveCount`` for this call.
    public func failedMessage(_ messageId: String, maxReceiveCount: Int64? = nil) throws -> FailedMessage? {
        var all: [(Key, Record)] = []
        for (i, m) in members.enumerated() {
            let records =
                try m.log.receives(messageId: messageId).map(LogRecord.receive)
                + m.log.attempts(messageId: messageId).map(LogRecord.attempt)
            all += try Self.keyed(records, m, member: i)
        }
        all = Self.receivedOnce(Self.merged(all))
        var receives: [LoggedReceive] = []
        var receiveFiles: [URL] = []
        var receiveConsumers: [String] = []
        var attempts: [LoggedAttempt] = []
        var attemptConsumers: [String] = []
        var latestFile: URL?
        for (_, r) in all {
            switch r.record {
            case .receive(let x):
                receives.append(x)
                receiveFiles.append(r.url)
                receiveConsumers.append(r.consumerId)
            case .attempt(let x):
                attempts.append(x)
                attemptConsumers.append(r.consumerId)
                latestFile = r.url
            }
        }
        guard let last = receives.last, let latest = attempts.last else { return nil }
        let counted = Self.counted(receives)
        // The receive the latest attempt processed (same file, same seq), with its number in merge order.
        var processed = counted[counted.count - 1]
        for i in receives.indices.reversed() where receives[i].seq == latest.receiveSeq && receiveFiles[i] == latestFile {
            processed = counted[i]
            break
        }
        var m = FailedMessage(
            messageId: messageId, receives: receives, attempts: attempts, anatomy: BodyAnatomy(body: last.body))
        m.receiveConsumers = receiveConsumers
        m.attemptConsumers = attemptConsumers
        m.isDeadLettered = isDeadLettered(latest.decision, receive: processed, maxReceiveCount: maxReceiveCount)
        return m
    }

    /// The dead-letter view of the set: dead-lettered messages by the set's rule (or, with `includeRetrying`,
    /// every message whose latest attempt failed), grouped by fingerprint (largest group first, then by
    /// fingerprint), messages in merge order; and the input that was not an SQS message at all.
    /// - Parameter maxReceiveCount: overrides ``maxReceiveCount`` for this call.
    /// - Throws: ``SQLiteError``.
    public func deadLetterReport(includeRetrying: Bool = false, maxReceiveCount: Int64? = nil) throws
        -> DeadLetterReport
    {
        var candidates = Set<String>()
        for m in members {
            let s = try m.log.db.prepare(
                "SELECT DISTINCT message_id FROM attempts WHERE message_id IS NOT NULL AND outcome IN ('rejected','failed')")
            while try s.step() { candidates.insert(s.text(0)) }
        }
        var messages: [FailedMessage] = []
        for id in candidates {
            guard let m = try failedMessage(id, maxReceiveCount: maxReceiveCount), !m.latest.decision.outcome.isFinal
            else { continue }
            if m.deadLettered || includeRetrying { messages.append(m) }
        }
        func firstKey(_ m: FailedMessage) -> (Int64, String) { (m.receives[0].sentTimestamp ?? .max, m.messageId) }
        messages.sort { firstKey($0) < firstKey($1) }
        var groups: [String: FingerprintGroup] = [:]
        var order: [String] = []
        for m in messages {
            let times = m.receives.map(\.receivedAt)
            if groups[m.fingerprint] == nil {
                order.append(m.fingerprint)
                groups[m.fingerprint] = FingerprintGroup(
                    fingerprint: m.fingerprint, messages: [], count: 0, firstSeen: times.min() ?? 0,
                    lastSeen: times.max() ?? 0)
            }
            groups[m.fingerprint]!.count += 1
            groups[m.fingerprint]!.messages.append(m)
            groups[m.fingerprint]!.firstSeen = min(groups[m.fingerprint]!.firstSeen, times.min() ?? 0)
            groups[m.fingerprint]!.lastSeen = max(groups[m.fingerprint]!.lastSeen, times.max() ?? 0)
        }
        let sorted = order.compactMap { groups[$0] }.sorted {
            $0.count != $1.count
                ? $0.count > $1.count
                : $0.fingerprint.utf8.lexicographicallyPrecedes($1.fingerprint.utf8)
        }
        var inputErrors: [(Key, Record)] = []
        for (i, m) in members.enumerated() {
            inputErrors += try Self.keyed(
                try m.log.receives(where: "input_error IS NOT NULL").map(LogRecord.receive), m, member: i)
        }
        inputErrors = Self.receivedOnce(Self.merged(inputErrors))
        var report = DeadLetterReport(
            groups: sorted,
            inputErrors: inputErrors.compactMap { if case .receive(let r) = $0.1.record { r } else { nil } })
        report.inputErrorConsumers = inputErrors.map(\.1.consumerId)
        return report
    }

    /// The SQS MessageIds of the dead-lettered messages (the set's rule), sorted.
    public func deadLetteredMessageIds() throws -> [String] {
        try deadLetterReport().groups.flatMap(\.messages).map(\.messageId).sorted()
    }
}

extension LoggedReceive {
    /// The `ApproximateReceiveCount` attribute SQS delivered the message with, or nil when it had none (a
    /// captured Lambda event or a file that dropped it: the count is then the receive's position).
    public var approximateReceiveCountAttribute: Int64? {
        guard let o = (try? JSONParser.parse(Array(attributesJSON.utf8)))?.objectValue,
            let v = o["ApproximateReceiveCount"]
        else { return nil }
        // Read as ``EventLog`` reads it when it appends (``IncomingMessage/approximateReceiveCount``).
        return IncomingMessage.integer(v)
    }
}
