import Foundation
import OrdlogAWS
import Testing

/// A transport that replays canned responses (or errors) and records requests.
final class FakeTransport: HTTPTransport, @unchecked Sendable {
    enum Step {
        case respond(HTTPResponse)
        case fail(Error)
    }

    private let lock = NSLock()
    private var steps: [Step]
    private(set) var requests: [HTTPRequest] = []

    init(_ steps: [Step]) { self.steps = steps }

    var requestCount: Int { lock.withLock { requests.count } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let step: Step = lock.withLock {
            requests.append(request)
            return steps.isEmpty ? .respond(HTTPResponse(status: 599)) : steps.removeFirst()
        }
        switch step {
        case .respond(let response): return response
        case .fail(let error): throw error
        }
    }
}

@Suite("retry policy")
struct RetryTests {
    static let ok = HTTPResponse(
        status: 200, headers: ["Content-Type": "application/x-amz-json-1.0"],
        body: Data(#"{"QueueUrl":"http://q/1/orders"}"#.utf8))

    func sqs(_ transport: FakeTransport, policy: RetryPolicy = .noDelay(maxAttempts: 3)) -> SQSClient {
        SQSClient(
            client: AWSClient(
                service: .sqs,
                credentials: AWSCredentials(accessKeyId: "k", secretAccessKey: "s"),
                region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:1")!,
                transport: transport, retryPolicy: policy))
    }

    static func json(_ status: Int, _ type: String) -> HTTPResponse {
        HTTPResponse(status: status, body: Data(#"{"__type":"com.amazonaws.sqs#\#(type)","message":"m"}"#.utf8))
    }

    @Test func serverErrorIsRetried() async throws {
        let transport = FakeTransport([
            .respond(HTTPResponse(status: 500, body: Data("<html>oops</html>".utf8))),
            .respond(Self.ok),
        ])
        let url = try await sqs(transport).getQueueUrl(name: "orders")
        #expect(url == "http://q/1/orders")
        #expect(transport.requestCount == 2)
        // Each attempt is signed and targeted.
        #expect(transport.requests.allSatisfy { $0.header("X-Amz-Target") == "AmazonSQS.GetQueueUrl" })
        #expect(transport.requests.allSatisfy { $0.header("Authorization")?.contains("/sqs/aws4_request") == true })
    }

    @Test func clientErrorIsNotRetried() async throws {
        let transport = FakeTransport([.respond(Self.json(400, "QueueDoesNotExist")), .respond(Self.ok)])
        await #expect(throws: AWSServiceError.self) { try await sqs(transport).getQueueUrl(name: "orders") }
        #expect(transport.requestCount == 1)
    }

    @Test(arguments: [
        "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
        "Throttling",
    ])
    func throttlingIsRetried(_ code: String) async throws {
        let transport = FakeTransport([
            .respond(Self.json(400, code)), .respond(Self.json(400, code)),
            .respond(Self.ok),
        ])
        _ = try await sqs(transport).getQueueUrl(name: "orders")
        #expect(transport.requestCount == 3)
    }

    @Test func cancellationIsNotRetried() async throws {
        let transport = FakeTransport([.fail(CancellationError()), .respond(Self.ok)])
        await #expect(throws: CancellationError.self) { try await sqs(transport).getQueueUrl(name: "orders") }
        #expect(transport.requestCount == 1)
    }

    @Test func transportErrorsAreRetried() async throws {
        let endpoint = URL(string: "http://127.0.0.1:1")!
        let transport = FakeTransport([
            .fail(AWSTransportError(endpoint: endpoint, reason: "connection reset")),
            .respond(Self.ok),
        ])
        #expect(try await sqs(transport).getQueueUrl(name: "orders") == "http://q/1/orders")
        #expect(transport.requestCount == 2)
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        let transport = FakeTransport(Array(repeating: .respond(HTTPResponse(status: 503)), count: 5))
        do {
            _ = try await sqs(transport, policy: .noDelay(maxAttempts: 4)).getQueueUrl(name: "orders")
            Issue.record("expected an error")
        } catch let e as AWSServiceError {
            #expect(e.httpStatus == 503)
            #expect(e.code == "HTTP 503")
        }
        #expect(transport.requestCount == 4)
    }

    @Test func backoffIsFullJitterAndCapped() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: 0.1, maxDelay: 1)
        for attempt in 1...8 {
            let ceiling = min(1, 0.1 * pow(2, Double(attempt - 1)))
            for _ in 0..<20 {
                let d = policy.delay(afterAttempt: attempt)
                #expect(d >= 0 && d <= ceiling)
            }
        }
        #expect(RetryPolicy.noDelay().delay(afterAttempt: 3) == 0)
    }

    @Test("connection refused becomes a clear error naming the endpoint")
    func connectionRefused() async throws {
        // Port 1 on loopback: nothing listens there.
        let client = SQSClient(
            client: AWSClient(
                service: .sqs, credentials: AWSCredentials(accessKeyId: "k", secretAccessKey: "s"),
                region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:1")!, retryPolicy: .noDelay(maxAttempts: 2)
            ))
        do {
            _ = try await client.getQueueUrl(name: "orders")
            Issue.record("expected an error")
        } catch let e as AWSTransportError {
            #expect(e.description.contains("http://127.0.0.1:1"))
            #expect(e.attempts == 2)
            #expect(e.description.contains("--endpoint-url"))
        }
    }
}
