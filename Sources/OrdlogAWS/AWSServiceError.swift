import Foundation

/// An error response from an AWS (or moto) endpoint: any non-2xx HTTP status.
///
/// Decoded from every shape seen in practice:
/// - AWS JSON 1.0
///   ([SQS](https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html),
///   [DynamoDB](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html)):
///   `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"…"}` — ``code`` is the text after `#`;
///   the message key may be `message` or `Message`; the `X-Amzn-ErrorType` header is a fallback;
/// - query/XML ([SNS](https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html)) and moto's auth errors
///   (XML even for JSON services): the first `<Code>`/`<Message>` in `<ErrorResponse>`;
/// - anything else (moto's HTML 500 pages): ``code`` is `HTTP <status>` and ``message`` a short body excerpt.
///
/// ``description`` names the service, code, status, request id and the credential source, never secrets.
public struct AWSServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `SQS`, `SNS` or `DynamoDB` (or another service's display name).
    public var service: String
    /// The operation that failed, e.g. `ReceiveMessage`.
    public var operation: String
    /// Short error code, e.g. `QueueDoesNotExist`, `ConditionalCheckFailedException`, `SignatureDoesNotMatch`.
    public var code: String
    /// The service's message text (may be empty).
    public var message: String
    /// HTTP status code.
    public var httpStatus: Int
    /// `x-amzn-RequestId` / `x-amz-request-id` header or XML `<RequestId>`, if any.
    public var requestId: String?
    /// SQS legacy code and fault from the `x-amzn-query-error` header, e.g.
    /// `AWS.SimpleQueueService.NonExistentQueue;Sender`.
    public var queryError: String?
    /// Where the signing credentials came from (see ``AWSCredentials/source``), for auth errors.
    public var credentialSource: String?
    /// The raw error body, e.g. to read DynamoDB's `Item` on a failed condition.
    public var body: Data

    public init(
        service: String, operation: String, code: String, message: String, httpStatus: Int,
        requestId: String? = nil, queryError: String? = nil, credentialSource: String? = nil,
        body: Data = Data()
    ) {
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.requestId = requestId
        self.queryError = queryError
        self.credentialSource = credentialSource
        self.body = body
    }

    /// `true` for DynamoDB's `ConditionalCheckFailedException` (a PutItem condition did not hold).
    public var isConditionalCheckFailed: Bool { self == .conditionalCheckFailed }

    /// `true` for authentication/signature failures.
    public var isAuthError: Bool { Code.authentication.contains(errorCode) }

    /// ``code`` as a ``Code``, to compare with the named ones.
    public var errorCode: Code { Code(code) }

    public var description: String {
        var text = "\(service) \(operation) failed: \(code) (HTTP \(httpStatus))"
        if !message.isEmpty { text += ": \(message)" }
        if let queryError { text += " [\(queryError)]" }
        if let requestId { text += " [request id \(requestId)]" }
        if let credentialSource, isAuthError || httpStatus == 403 {
            text += " — credentials from \(credentialSource)"
        }
        return text
    }

    /// Decodes an error response. Never fails: unknown shapes give `HTTP <status>` as the code.
    public static func decode(
        service: String, operation: String, response: HTTPResponse,
        credentialSource: String? = nil
    ) -> AWSServiceError {
        var code: String?
        var message: String?
        var requestId = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        let body = response.body
        let firstByte = body.first { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }
        if firstByte == UInt8(ascii: "{"),
            let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        {
            if let type = (object["__type"] ?? object["code"] ?? object["Code"]) as? String {
                code = shortCode(type)
            }
            message = (object["message"] ?? object["Message"] ?? object["errorMessage"]) as? String
        } else if firstByte == UInt8(ascii: "<"), let root = XMLElementNode.parse(body),
            root.name != "html" && root.name != "!doctype"
        {
            if let c = root.firstDescendant("Code")?.text, !c.isEmpty { code = c }
            message = root.firstDescendant("Message")?.text
            requestId = requestId ?? root.firstDescendant("RequestId")?.text ?? root.firstDescendant("RequestID")?.text
        }
        if code == nil, let header = response.header("X-Amzn-ErrorType") {
            code = shortCode(String(header.split(separator: ":").first ?? Substring(header)))
        }
        if code == nil, let q = response.header("x-amzn-query-error"), let c = q.split(separator: ";").first {
            code = String(c)
        }
        if message == nil && code == nil {
            let excerpt = String(decoding: body.prefix(200), as: UTF8.self)
                .replacingOccurrences(of: "\n", with: " ")
            message = htmlText(excerpt)
        }
        return AWSServiceError(
            service: service, operation: operation, code: code ?? "HTTP \(response.status)",
            message: message ?? "", httpStatus: response.status, requestId: requestId,
            queryError: response.header("x-amzn-query-error"),
            credentialSource: credentialSource, body: body)
    }

    /// `com.amazonaws.sqs#QueueDoesNotExist` → `QueueDoesNotExist`.
    static func shortCode(_ type: String) -> String {
        if let hash = type.lastIndex(of: "#") { return String(type[type.index(after: hash)...]) }
        return type
    }

    private static func htmlText(_ text: String) -> String {
        guard text.contains("<") else { return text.trimmingCharacters(in: .whitespaces) }
        var out = ""
        var inTag = false
        for ch in text {
            if ch == "<" {
                inTag = true
                out += " "
                continue
            }
            if ch == ">" {
                inTag = false
                continue
            }
            if !inTag { out.append(ch) }
        }
        return out.split(separator: " ").joined(separator: " ")
    }
}

/// When and how long to wait before retrying a failed call.
///
/// Retries HTTP 5xx, HTTP 429, throttling codes and transport failures, with exponential backoff and
/// *full jitter* (`random(0 ... min(maxDelay, baseDelay * 2^(attempt-1)))`, see the AWS Architecture Blog
/// [Exponential Backoff And Jitter](https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)).
/// Other 4xx errors are never retried. Use ``noDelay(maxAttempts:)`` in tests.
public struct RetryPolicy: Sendable, Equatable {
    /// Total attempts including the first (1 = no retries).
    public var maxAttempts: Int
    /// Backoff base, in seconds.
    public var baseDelay: Double
    /// Backoff cap, in seconds.
    public var maxDelay: Double

    public init(maxAttempts: Int = 4, baseDelay: Double = 0.1, maxDelay: Double = 20) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(0, maxDelay)
    }

    /// The AWS SDK "standard" mode defaults: 3 attempts, base 100 ms, cap 20 s.
    public static let standard = RetryPolicy(maxAttempts: 3, baseDelay: 0.1, maxDelay: 20)
    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)
    /// Retries without waiting (for tests).
    public static func noDelay(maxAttempts: Int = 3) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, baseDelay: 0, maxDelay: 0)
    }

    /// Error codes treated as throttling (retried whatever the HTTP status).
    public static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "ThrottlingError",
        "AWS.SimpleQueueService.RequestThrottled",
    ]
    /// Transient error codes retried like 5xx.
    public static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "InternalServerError",
        "ServiceUnavailable",
    ]

    /// Whether `error` (from attempt number `attempt`, 1-based) should be retried.
    public func shouldRetry(_ error: Error, attempt: Int) -> Bool {
        guard attempt < maxAttempts else { return false }
        return Self.isRetryable(error)
    }

    /// Whether an error is retryable in principle: transport errors, 5xx, 429, throttling/transient codes.
    public static func isRetryable(_ error: Error) -> Bool {
        if error is AWSTransportError { return true }
        guard let e = error as? AWSServiceError else { return false }
        if e.httpStatus >= 500 || e.httpStatus == 429 { return true }
        if throttlingCodes.contains(e.code) || transientCodes.contains(e.code) { return true }
        if let q = e.queryError?.split(separator: ";").first, throttlingCodes.contains(String(q)) { return true }
        return false
    }

    /// The delay in seconds before attempt `attempt + 1`, with full jitter (``FullJitterBackoff``, `attempt - 1`
    /// failures before this one).
    public func delay(afterAttempt attempt: Int) -> Double {
        guard baseDelay > 0, maxDelay > 0 else { return 0 }
        return FullJitterBackoff.delay(afterFailures: attempt - 1, base: baseDelay, cap: maxDelay)
    }
}

extension AWSServiceError {
    /// An AWS error code (the text after `#` in `__type`, or the XML `<Code>`), with the codes ordlog tells apart
    /// named as soto names them (`AWSClientError.accessDenied`, `SQSErrorType.queueDoesNotExist`): compare with
    /// `error == .queueDoesNotExist` or `case .throttling = error` (matched on the code alone), never with the
    /// string.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // SQS
        /// SQS: the queue named does not exist (JSON protocol).
        public static let queueDoesNotExist = Code("QueueDoesNotExist")
        /// SQS: the queue named does not exist, as the query protocol (and `x-amzn-query-error`) names it.
        public static let nonExistentQueue = Code("AWS.SimpleQueueService.NonExistentQueue")
        /// SQS (query protocol): a request throttled.
        public static let sqsRequestThrottled = Code("AWS.SimpleQueueService.RequestThrottled")
        // DynamoDB
        /// DynamoDB: the table (or index) does not exist, or is not ACTIVE yet.
        public static let resourceNotFound = Code("ResourceNotFoundException")
        /// DynamoDB: a PutItem/UpdateItem condition did not hold.
        public static let conditionalCheckFailed = Code("ConditionalCheckFailedException")
        /// DynamoDB: the table's provisioned throughput was exceeded.
        public static let provisionedThroughputExceeded = Code("ProvisionedThroughputExceededException")
        /// DynamoDB: another transaction is in progress on the item.
        public static let transactionInProgress = Code("TransactionInProgressException")
        // S3
        /// S3: an `If-None-Match`/`If-Match` precondition did not hold (HTTP 412).
        public static let preconditionFailed = Code("PreconditionFailed")
        // Authentication and authorisation
        public static let accessDenied = Code("AccessDenied")
        public static let accessDeniedException = Code("AccessDeniedException")
        public static let signatureDoesNotMatch = Code("SignatureDoesNotMatch")
        public static let invalidClientTokenId = Code("InvalidClientTokenId")
        public static let unrecognizedClient = Code("UnrecognizedClientException")
        public static let incompleteSignature = Code("IncompleteSignature")
        public static let missingAuthenticationToken = Code("MissingAuthenticationToken")
        public static let invalidSignature = Code("InvalidSignatureException")
        public static let expiredToken = Code("ExpiredToken")
        public static let expiredTokenException = Code("ExpiredTokenException")
        // Throttling
        public static let throttling = Code("Throttling")
        public static let throttlingException = Code("ThrottlingException")
        public static let tooManyRequests = Code("TooManyRequestsException")
        public static let requestLimitExceeded = Code("RequestLimitExceeded")
        public static let slowDown = Code("SlowDown")

        /// The codes of authentication and signature failures (``AWSServiceError/isAuthError``).
        public static let authentication: Set<Code> = [
            .signatureDoesNotMatch, .invalidClientTokenId, .unrecognizedClient, .incompleteSignature,
            .missingAuthenticationToken, .invalidSignature, .accessDenied, .accessDeniedException, .expiredToken,
            .expiredTokenException,
        ]
        /// The codes of expired session credentials, after which fresh ones are fetched and the call retried once.
        public static let expired: Set<Code> = [.expiredToken, .expiredTokenException]
    }

    /// True when the error's code is `code` (whatever else the response said).
    public static func == (error: AWSServiceError, code: Code) -> Bool { error.errorCode == code }

    /// Matches an error on its code: `case .queueDoesNotExist = error`, `catch let e as AWSServiceError where …`.
    public static func ~= (code: Code, error: AWSServiceError) -> Bool { error.errorCode == code }

    /// True when the error's code is one of `codes`.
    public func `is`(_ codes: Code...) -> Bool { codes.contains(errorCode) }
}
