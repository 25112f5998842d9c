/// What `ordlog report` covers and how much of it it shows.
public struct ReportOptions: Sendable {
    /// Orders to show with a timeline of all their messages (compared byte for byte).
    public var orderIds: [String] = []
    /// Timelines for dead-lettered messages. The default selection (no order ids) shows them too.
    public var deadLettered = false
    /// Only messages sent in this window (SentTimestamp, else received-at; ms, inclusive), as `export`.
    public var sinceMs: Int64?
    public var untilMs: Int64?
    /// At most this many dead-lettered message timelines in all (spread over the fingerprint groups).
    public var maxTimelines = 50
    /// At most this many rows in the orders table (most recently written first).
    public var maxOrders = 100
    /// At most this many messages in one order's timeline (the first in log order).
    public var maxMessagesPerOrder = 50
    /// Pseudonymise these order fields everywhere in the page, as `export --redact` does in bodies.
    public var redactor: Redactor?

    public init() {}

    /// Dead-lettered timelines are shown with --dead-lettered, or when no order was asked for.
    public var showsDeadLetteredTimelines: Bool { deadLettered || orderIds.isEmpty }
}

/// An outcome as the report counts it: the five outcomes, with dead-lettered attempts counted apart from the
/// rejected/failed ones that were retried, so the chart's stacks add up to the number of attempts.
public enum ReportCategory: String, Sendable, CaseIterable {
    case projected, duplicate, stale, rejected, failed
    case deadLettered = "dead-lettered"

    init(outcome: Outcome, deadLettered: Bool) {
        if deadLettered {
            self = .deadLettered
            return
        }
        switch outcome {
        case .projected: self = .projected
        case .duplicate: self = .duplicate
        case .stale: self = .stale
        case .rejected: self = .rejected
        case .failed: self = .failed
        }
    }
}

/// Attempts over time: fixed-width buckets of the receive's time, counted by category, aggregated in SQL.
public struct ReportChart: Sendable, Equatable {
    /// Start of the first bucket (ms), a multiple of `bucketMs`.
    public var originMs: Int64
    public var bucketMs: Int64
    /// `counts[i][c]`: attempts in bucket i of category `ReportCategory.allCases[c]`.
    public var counts: [[Int]]
}

/// One message as the page shows it: its receives and attempts, and its latest body taken apart.
public struct ReportMessage: Sendable {
    public enum Redaction: Sendable, Equatable {
        /// No --redact.
        case none
        /// The order fields were pseudonymised in the body.
        case redacted
        /// --redact was asked for but the body has no such field or is not JSON: shown as it is.
        case unredactable
    }
    public var messageId: String
    public var orderId: String?
    public var receives: [LoggedReceive]
    public var attempts: [LoggedAttempt]
    /// The latest receive's body (redacted when asked), as text; invalid UTF-8 shows as U+FFFD.
    public var body: String
    public var bodyBytes: Int
    public var bodyIsUTF8: Bool
    public var anatomy: BodyAnatomy
    public var redaction: Redaction
    public var latest: LoggedAttempt? { attempts.last }
    public var fingerprint: String? { latest?.decision.errorFingerprint }
}

/// An order chosen with --order-id: its messages in log order, and its current item.
public struct ReportOrder: Sendable {
    public var orderId: String
    public var messages: [ReportMessage]
    /// Messages the log attributes to the order (more than `messages.count` when capped).
    public var messageCount: Int
    public var current: ProjectedOrder?
}

/// One fingerprint group of the dead-letter view.
public struct ReportGroup: Sendable {
    public var fingerprint: String
    public var count: Int
    public var firstSeen: Int64
    public var lastSeen: Int64
    /// The example messages with timelines (capped).
    public var examples: [ReportMessage]
    public var exampleError: String?
}

/// Everything the report shows, gathered from one log. ``ReportHTML/render(_:)`` turns it into the page.
public struct ReportData: Sendable {
    /// The log file(s) described.
    public var logs: [String]
    public var head: LogHead?
    /// The `--db` sources as given, for the command that checks the page against the logs (empty: ``logs``).
    public var sources: [String] = []
    /// Each consumer's chain head (``LogSet/heads()``), when the page is about a set of logs: what
    /// `ordlog verify --head` takes (the merged log's own ``head`` is no consumer's).
    public var chainHeads: [(consumer: String, head: LogHead)] = []
    /// The head as `ordlog verify --head` takes it: `SEQ:HASH` for one chain, `CONSUMER=SEQ:HASH …` for several.
    public var headArguments: [String] {
        if chainHeads.count > 1 { return chainHeads.map { "\($0.consumer)=\($0.head.description)" } }
        return [(chainHeads.first?.head ?? head ?? LogHead(seq: 0, hash: RecordHash.genesis)).description]
    }
    public var verify: VerifyResult
    /// When the report was made (ms): the only value that differs between two reports of the same log.
    public var madeAtMs: Int64
    public var options: ReportOptions
    public var receives = 0
    public var attempts = 0
    public var messages = 0
    public var inputErrors = 0
    public var ordersInProjection = 0
    /// Attempts by category, in `ReportCategory.allCases` order.
    public var categoryCounts: [Int] = Array(repeating: 0, count: ReportCategory.allCases.count)
    public var chart: ReportChart?
    public var groups: [ReportGroup] = []
    public var deadLetteredMessages = 0
    public var dlqTimelinesShown: Int { groups.reduce(0) { $0 + $1.examples.count } }
    public var chosenOrders: [ReportOrder] = []
    /// --order-id values the log has no message for.
    public var missingOrderIds: [String] = []
    /// The orders table (most recently written first, capped) and how many orders it was chosen from.
    public var orders: [ProjectedOrder] = []
    public var ordersSelected = 0
    /// Bodies that --redact could not rewrite (not JSON, or no such field), among those shown.
    public var unredactableBodies: Int {
        (groups.flatMap(\.examples) + chosenOrders.flatMap(\.messages)).filter { $0.redaction == .unredactable }.count
    }

    public init(logs: [String], head: LogHead?, verify: VerifyResult, madeAtMs: Int64, options: ReportOptions) {
        self.logs = logs
        self.head = head
        self.verify = verify
        self.madeAtMs = madeAtMs
        self.options = options
    }
}

extension ReportData {
    /// Gathers the report from `log`: verifies the chain, counts and charts in SQL, loads the DLQ groups with
    /// capped examples, the chosen orders' histories and the orders table. Memory is bounded by the caps.
    public static func gather(
        log: EventLog, path: String, options: ReportOptions, madeAtMs: Int64, verified: VerifyResult? = nil,
        sources: [String] = [], chainHeads: [(consumer: String, head: LogHead)] = [],
        progress: (String) -> Void = { _ in }
    ) throws -> ReportData {
        progress("verifying the hash chain")
        let verify = try verified ?? Verifier.verify(log) { seq in progress("verified through seq \(seq)") }
        var data = ReportData(
            logs: [path], head: try log.head(), verify: verify, madeAtMs: madeAtMs, options: options)
        data.sources = sources
        data.chainHeads = chainHeads
        let window = Window(since: options.sinceMs, until: options.untilMs)
        progress("counting")
        try data.count(log, window)
        progress("dead-letter groups")
        try data.gatherGroups(log, window)
        progress("orders")
        try data.gatherOrders(log, window)
        return data
    }

    /// The time window as SQL on a `receives` alias: the receive's SentTimestamp, else received-at (as
    /// `LogFilter`).
    struct Window {
        var since: Int64?
        var until: Int64?
        func condition(_ alias: String) -> (sql: String, values: [SQLiteValue]) {
            var parts: [String] = []
            var values: [SQLiteValue] = []
            let t = "coalesce(\(alias).sent_timestamp, \(alias).received_at)"
            if let since {
                parts.append("\(t) >= ?")
                values.append(.int(since))
            }
            if let until {
                parts.append("\(t) <= ?")
                values.append(.int(until))
            }
            return (parts.isEmpty ? "1" : parts.joined(separator: " AND "), values)
        }
        func contains(_ r: LoggedReceive) -> Bool {
            let t = r.sentTimestamp ?? r.receivedAt
            return (since.map { t >= $0 } ?? true) && (until.map { t <= $0 } ?? true)
        }
    }

    /// Bucket widths the chart chooses from: the smallest giving at most 60 buckets.
    static let bucketWidths: [Int64] = [
        1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800,
        2_592_000, 7_776_000, 31_536_000,
    ].map { $0 * 1000 }

    mutating func count(_ log: EventLog, _ window: Window) throws {
        let (w, values) = window.condition("r")
        let totals = try log.db.prepare(
            "SELECT count(*), count(DISTINCT message_id), count(input_error) FROM receives r WHERE \(w)")
        try totals.bind(values)
        if try totals.step() {
            receives = Int(totals.int64(0))
            messages = Int(totals.int64(1))
            inputErrors = Int(totals.int64(2))
        }
        ordersInProjection = Int(try log.db.scalarInt("SELECT count(*) FROM orders") ?? 0)
        let span = try log.db.prepare(
            "SELECT min(coalesce(r.sent_timestamp, r.received_at)), max(coalesce(r.sent_timestamp, r.received_at)) "
                + "FROM attempts a JOIN receives r ON r.seq = a.receive_seq WHERE \(w)")
        try span.bind(values)
        guard try span.step(), !span.isNull(0) else { return }
        let lo = span.int64(0)
        let hi = span.int64(1)
        let width: Int64 =
            Self.bucketWidths.first(where: { (hi - lo) / $0 < 60 }) ?? Self.bucketWidths[Self.bucketWidths.count - 1]
        let origin = lo - ((lo % width) + width) % width
        let buckets = Int((hi - origin) / width) + 1
        var counts = Array(repeating: Array(repeating: 0, count: ReportCategory.allCases.count), count: buckets)
        let s = try log.db.prepare(
            """
            SELECT (coalesce(r.sent_timestamp, r.received_at) - ?) / ? AS b, a.outcome, a.dead_lettered, count(*)
            FROM attempts a JOIN receives r ON r.seq = a.receive_seq WHERE \(w)
            GROUP BY b, a.outcome, a.dead_lettered ORDER BY b
            """)
        try s.bind([.int(origin), .int(width)] + values)
        while try s.step() {
            let b = Int(s.int64(0))
            let category = ReportCategory(
                outcome: Outcome(rawValue: s.text(1)) ?? .failed, deadLettered: s.int64(2) != 0)
            let c = ReportCategory.allCases.firstIndex(of: category)!
            let n = Int(s.int64(3))
            if b >= 0, b < buckets { counts[b][c] += n }
            categoryCounts[c] += n
            attempts += n
        }
        chart = ReportChart(originMs: origin, bucketMs: width, counts: counts)
    }

    mutating func gatherGroups(_ log: EventLog, _ window: Window) throws {
        let report = try log.deadLetterReport(
            examplesPerGroup: options.maxTimelines,
            including: { m in m.receives.contains { window.contains($0) } })
        deadLetteredMessages = report.messageCount
        // Spread the timelines over the groups: one example of each group in turn, until the cap.
        var taken = Array(repeating: 0, count: report.groups.count)
        if options.showsDeadLetteredTimelines {
            var left = options.maxTimelines
            var progressed = true
            while left > 0, progressed {
                progressed = false
                for (i, g) in report.groups.enumerated() where left > 0 && taken[i] < g.messages.count {
                    taken[i] += 1
                    left -= 1
                    progressed = true
                }
            }
        }
        groups = report.groups.enumerated().map { i, g in
            ReportGroup(
                fingerprint: g.fingerprint, count: g.count, firstSeen: g.firstSeen, lastSeen: g.lastSeen,
                examples: g.messages.prefix(taken[i]).map {
                    Self.message($0.messageId, $0.receives, $0.attempts, options)
                },
                exampleError: g.messages.first.flatMap { Self.errorText($0.latest.decision, options.redactor) })
        }
    }

    mutating func gatherOrders(_ log: EventLog, _ window: Window) throws {
        let projection = LocalProjection(db: log.db)
        for id in options.orderIds {
            let records = try log.history(orderId: id)
            guard !records.isEmpty else {
                missingOrderIds.append(id)
                continue
            }
            // Group by message, in order of each message's first record.
            var order: [String] = []
            var receives: [String: [LoggedReceive]] = [:]
            var attempts: [String: [LoggedAttempt]] = [:]
            for record in records {
                switch record {
                case .receive(let r):
                    let key = r.messageId ?? "seq:\(r.seq)"
                    if receives[key] == nil, attempts[key] == nil { order.append(key) }
                    receives[key, default: []].append(r)
                case .attempt(let a):
                    let key = a.messageId ?? "seq:\(a.receiveSeq)"
                    if receives[key] == nil, attempts[key] == nil { order.append(key) }
                    attempts[key, default: []].append(a)
                }
            }
            var messages: [ReportMessage] = []
            for key in order.prefix(options.maxMessagesPerOrder) {
                var rs = receives[key] ?? []
                let atts = attempts[key] ?? []
                if rs.isEmpty, let a = atts.first, let r = try log.receive(seq: a.receiveSeq) { rs = [r] }
                messages.append(Self.message(key, rs, atts, options))
            }
            chosenOrders.append(
                ReportOrder(
                    orderId: id, messages: messages, messageCount: order.count,
                    current: try projection.order(id).map { Self.redact($0, options.redactor) }))
        }
        let columns =
            "o.order_id, o.user_id, o.item_name, o.quantity, o.status, o.timestamp, o.timestamp_ns, o.last_seq, o.message_id"
        var condition = "1"
        var values: [SQLiteValue] = []
        if !options.orderIds.isEmpty {
            condition = "o.order_id IN (\(options.orderIds.map { _ in "?" }.joined(separator: ",")))"
            values = options.orderIds.map { .text($0) }
        } else if window.since != nil || window.until != nil {
            let (w, wv) = window.condition("r")
            condition =
                "EXISTS (SELECT 1 FROM attempts a JOIN receives r ON r.seq = a.receive_seq "
                + "WHERE a.order_id = o.order_id AND \(w))"
            values = wv
        }
        ordersSelected = Int(try log.db.scalarInt("SELECT count(*) FROM orders o WHERE \(condition)", values) ?? 0)
        orders = try projection.query(
            "SELECT \(columns) FROM orders o WHERE \(condition) ORDER BY o.last_seq DESC, o.order_id LIMIT ?",
            values + [.int(Int64(options.maxOrders))]
        ).map { Self.redact($0, options.redactor) }
    }

    // MARK: Redaction: the export --redact pseudonyms, applied to everything the page shows.

    static func message(
        _ id: String, _ receives: [LoggedReceive], _ attempts: [LoggedAttempt], _ options: ReportOptions
    ) -> ReportMessage {
        var bytes = receives.last?.body ?? []
        var redaction = ReportMessage.Redaction.none
        if let redactor = options.redactor {
            if let rewritten = redactor.redact(body: bytes) {
                bytes = rewritten
                redaction = .redacted
            } else {
                redaction = .unredactable
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let atts = attempts.map { a -> LoggedAttempt in
            var a = a
            a.decision = redact(a.decision, options.redactor)
            return a
        }
        let orderId = atts.last?.decision.orderId ?? atts.lazy.compactMap(\.decision.orderId).first
        return ReportMessage(
            messageId: id, orderId: orderId, receives: receives, attempts: atts, body: text, bodyBytes: bytes.count,
            bodyIsUTF8: text.utf8.elementsEqual(bytes), anatomy: BodyAnatomy(body: bytes), redaction: redaction)
    }

    static func pseudonym(_ field: String, _ value: String, _ redactor: Redactor?) -> String {
        guard let redactor, redactor.fields.contains(field) else { return value }
        return redactor.pseudonym(field: field, value: value)
    }

    static func redact(_ item: OrderItem, _ r: Redactor?) -> OrderItem {
        OrderItem(
            orderId: pseudonym("orderId", item.orderId, r), userId: pseudonym("userId", item.userId, r),
            itemName: pseudonym("itemName", item.itemName, r), quantity: item.quantity,
            status: pseudonym("status", item.status, r), timestamp: pseudonym("timestamp", item.timestamp, r))
    }

    static func redact(_ o: ProjectedOrder, _ r: Redactor?) -> ProjectedOrder {
        var o = o
        o.item = redact(o.item, r)
        return o
    }

    static func redact(_ d: Decision, _ r: Redactor?) -> Decision {
        guard let r else { return d }
        var d = d
        d.orderId = d.orderId.map { pseudonym("orderId", $0, r) }
        d.item = d.item.map { redact($0, r) }
        d.errorMessage = errorText(d, r)
        return d
    }

    /// The error message, withheld when it is about a redacted field (messages name the bad value).
    static func errorText(_ d: Decision, _ r: Redactor?) -> String? {
        guard let message = d.errorMessage else { return nil }
        if let r, let field = d.errorField, r.fields.contains(field) {
            return "order field \(field) is invalid (value withheld: --redact \(field))"
        }
        return message
    }
}
