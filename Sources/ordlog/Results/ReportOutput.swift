import OrdlogCore

/// `report --json` (documented in `ordlog report --help`): the page written and what it shows. The text view is
/// ``summary``, from the same value.
struct ReportOutput: Encodable {
    var path: String
    var bytes: Int
    var sections: [String]
    /// `SEQ:HASH` (several consumers: their heads, space-separated); `null` for an empty log.
    var head: String?
    var verified: Bool
    var verifiedRecords: Int64
    var problem: String?
    var deadLettered: Int
    var groups: Int
    /// Dead-lettered message timelines plus --order-id timelines.
    var timelines: Int
    var orders: Int
    var ordersShown: Int
    var missingOrderIds: [String]
    var unredactable: Int
    /// Of ``timelines``, those of dead-lettered messages (the text view says it; not in the JSON).
    var deadLetteredTimelines: Int

    enum CodingKeys: String, CodingKey {
        case path, bytes, sections, head, verified, verifiedRecords, problem, deadLettered, groups, timelines, orders
        case ordersShown, missingOrderIds, unredactable
    }

    init(path: String, bytes: Int, sections: [String], data: ReportData) {
        (self.path, self.bytes, self.sections) = (path, bytes, sections)
        head = data.chainHeads.isEmpty && data.head == nil ? nil : data.headArguments.joined(separator: " ")
        verified = data.verify.ok
        verifiedRecords = data.verify.verified
        problem = data.verify.problem?.description
        deadLettered = data.deadLetteredMessages
        groups = data.groups.count
        deadLetteredTimelines = data.dlqTimelinesShown
        timelines = data.dlqTimelinesShown + data.chosenOrders.count
        orders = data.ordersSelected
        ordersShown = data.orders.count
        missingOrderIds = data.missingOrderIds
        unredactable = data.unredactableBodies
    }

    /// The text view: one line.
    var summary: String {
        let integrity = problem.map { "HASH CHAIN BROKEN (\($0))" } ?? "verified \(plural(Int(verifiedRecords), "record"))"
        return "Wrote \(path) (\(plural(bytes, "byte"))): head \(head ?? "0 (empty log)"), \(integrity); "
            + "\(plural(deadLettered, "dead-lettered message")) in \(plural(groups, "group")) "
            + "(\(deadLetteredTimelines) with timelines), "
            + "\(plural(timelines - deadLetteredTimelines, "order timeline")), "
            + "\(ordersShown) of \(plural(orders, "order")) in the table."
    }
}
