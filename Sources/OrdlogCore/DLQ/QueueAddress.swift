import OrdlogAWS

/// Where a queue given as a name or a URL is.
public enum QueueAddress {
    /// `nameOrURL` as is when it is a URL (`https://` or `http://`), else the URL of the queue of that name
    /// (SQS GetQueueUrl).
    /// - Throws: ``AWSServiceError`` (no such queue: `AWS.SimpleQueueService.NonExistentQueue`) /
    ///   ``AWSTransportError``.
    public static func resolve(_ nameOrURL: String, sqs: SQSClient) async throws -> String {
        if nameOrURL.hasPrefix("https://") || nameOrURL.hasPrefix("http://") { return nameOrURL }
        return try await sqs.getQueueUrl(name: nameOrURL)
    }
}
