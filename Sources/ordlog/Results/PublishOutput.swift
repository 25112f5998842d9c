import OrdlogCore

/// `publish --json`: the topic, how many messages were published and their SNS MessageIds, in the order of the
/// input. The text view is ``summary``, from the same value.
struct PublishOutput: Encodable {
    var topicArn: String
    var published: Int
    var messageIds: [String]

    init(topicArn: String, messageIds: [String]) {
        (self.topicArn, published, self.messageIds) = (topicArn, messageIds.count, messageIds)
    }

    /// The text view: one line.
    var summary: String { "published \(plural(published, "message")) to \(topicArn)" }
}
