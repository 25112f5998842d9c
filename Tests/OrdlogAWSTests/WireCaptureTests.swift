import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

/// A request/response pair captured from botocore ↔ moto (`Tests/Fixtures/moto-captured/wire/*.json`, written by
/// scripts/capture-moto.py).
struct WireCapture: Sendable {
    var name: String
    var service: String
    var operation: String
    var method: String
    var url: URL
    var requestHeaders: [String: String]
    var requestBody: String
    var status: Int
    var responseHeaders: [String: String]
    var responseBody: String

    var response: HTTPResponse {
        HTTPResponse(status: status, headers: responseHeaders, body: Data(responseBody.utf8))
    }

    func requestHeader(_ name: String) -> String? {
        requestHeaders.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    static func allNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: try TestFixtures.url("moto-captured/wire").path)
            .filter { $0.hasSuffix(".json") }.sorted()
    }

    static func load(_ name: String) throws -> WireCapture {
        struct File: Decodable {
            struct Request: Decodable {
                var method: String
                var url: String
                var headers: [String: String]
                var body: String
            }
            struct Response: Decodable {
                var status: Int
                var headers: [String: String]
                var body: String
            }
            var service: String
            var operation: String
            var request: Request
            var response: Response
        }
        let data = try Data(contentsOf: try TestFixtures.url("moto-captured/wire/\(name)"))
        let f = try JSONDecoder().decode(File.self, from: data)
        return WireCapture(
            name: name, service: f.service, operation: f.operation, method: f.request.method,
            url: try #require(URL(string: f.request.url)), requestHeaders: f.request.headers,
            requestBody: f.request.body, status: f.response.status,
            responseHeaders: f.response.headers, responseBody: f.response.body)
    }
}

@Suite("botocore-signed requests captured from moto")
struct WireCaptureTests {
    static func names() -> [String] { (try? WireCapture.allNames()) ?? ["<samples not found>"] }

    @Test("there are captures for SQS, SNS and DynamoDB")
    func present() throws {
        let names = try WireCapture.allNames()
        #expect(names.count >= 14)
        let services = Set(try names.map { try WireCapture.load($0).service })
        #expect(services == ["sqs", "sns", "dynamodb"])
    }

    @Test("our signer reproduces botocore's Authorization exactly", arguments: names())
    func reproduceSignature(_ name: String) throws {
        let capture = try WireCapture.load(name)
        let authorization = try #require(capture.requestHeader("Authorization"))
        // AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/sqs/aws4_request, SignedHeaders=a;b, Signature=…
        let fields = Dictionary(
            uniqueKeysWithValues: authorization.dropFirst("AWS4-HMAC-SHA256 ".count)
                .components(separatedBy: ", ").map { part -> (String, String) in
                    let kv = part.split(separator: "=", maxSplits: 1)
                    return (String(kv[0]), String(kv[1]))
                })
        let scope = try #require(fields["Credential"]).split(separator: "/")
        #expect(scope[0] == "testing")
        let signedNames = try #require(fields["SignedHeaders"]).split(separator: ";").map(String.init)
        let host = capture.url.port.map { "\(capture.url.host!):\($0)" } ?? capture.url.host!
        var headers: [SigV4Request.Header] = []
        for headerName in signedNames where headerName != "x-amz-date" {
            let value = headerName == "host" ? host : try #require(capture.requestHeader(headerName))
            headers.append(.init(headerName, value))
        }
        let amzDate = try #require(capture.requestHeader("X-Amz-Date"))
        let date = try #require(SigV4Signer.parseAmzDate(amzDate))
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            region: String(scope[2]), service: String(scope[3]))
        let signature = signer.sign(
            SigV4Request(
                method: capture.method, path: capture.url.path, headers: headers,
                body: Data(capture.requestBody.utf8)), date: date)
        #expect(signature.signedHeaders == fields["SignedHeaders"])
        #expect(signature.signature == fields["Signature"], "\(name)")
        #expect(signature.authorization == authorization)
    }

    @Test("AWSClient builds the same signed DynamoDB request as botocore")
    func clientSignsLikeBotocore() throws {
        let capture = try WireCapture.load("dynamodb-PutItem.ok.json")
        let host = try #require(capture.url.port.map { "\(capture.url.host!):\($0)" })  // the capture's moto port
        let amzDate = try #require(capture.requestHeader("X-Amz-Date"))
        let date = try #require(SigV4Signer.parseAmzDate(amzDate))
        let client = AWSClient(
            service: .dynamodb,
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            region: "us-east-1", endpoint: try #require(URL(string: "http://\(host)")))
        let request = client.signedRequest(
            headers: [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "DynamoDB_20120810.PutItem"),
            ],
            body: Data(capture.requestBody.utf8), date: date)
        #expect(request.header("Authorization") == capture.requestHeader("Authorization"))
        #expect(request.header("Host") == host)
        #expect(request.url.absoluteString == "http://\(host)/")
    }

    @Test("form encoding of SNS Publish matches botocore's body byte for byte")
    func snsFormEncoding() throws {
        let capture = try WireCapture.load("sns-Publish.query-protocol.json")
        let message =
            #"{"orderId": "ord-1001", "userId": "user-42", "itemName": "Widget", "quantity": 3, "#
            + #""status": "PENDING", "timestamp": "2025-01-15T10:30:00.000Z"}"#
        let params =
            [("Action", "Publish"), ("Version", "2010-03-31")]
            + SNSClient.publishParameters(
                topicArn: "arn:aws:sns:us-east-1:123456789012:OrderTopic",
                message: message, subject: nil, messageAttributes: [:])
        let ours = String(decoding: AWSClient.formEncode(params), as: UTF8.self)
        #expect(ours == capture.requestBody)
        #expect(
            String(decoding: AWSClient.formEncode([("a b", "x+y~z*é&=")]), as: UTF8.self)
                == "a+b=x%2By~z%2A%C3%A9%26%3D")
        let attrs = SNSClient.publishParameters(
            topicArn: "t", message: "m", subject: "Order update",
            messageAttributes: ["b": .binary(Data([0, 1, 2])), "a": .stringArray(["x", "y"]), "c": .number("1.5")])
        #expect(
            attrs.map { "\($0.0)=\($0.1)" } == [
                "TopicArn=t", "Message=m", "Subject=Order update",
                "MessageAttributes.entry.1.Name=a", "MessageAttributes.entry.1.Value.DataType=String.Array",
                #"MessageAttributes.entry.1.Value.StringValue=["x","y"]"#,
                "MessageAttributes.entry.2.Name=b", "MessageAttributes.entry.2.Value.DataType=Binary",
                "MessageAttributes.entry.2.Value.BinaryValue=AAEC",
                "MessageAttributes.entry.3.Name=c", "MessageAttributes.entry.3.Value.DataType=Number",
                "MessageAttributes.entry.3.Value.StringValue=1.5",
            ])
    }
}

@Suite("error decoding on captured bodies")
struct ErrorDecodingTests {
    func decode(_ name: String, service: String) throws -> AWSServiceError {
        let capture = try WireCapture.load(name)
        return AWSServiceError.decode(service: service, operation: capture.operation, response: capture.response)
    }

    @Test func sqsQueueDoesNotExist() throws {
        let e = try decode("sqs-ReceiveMessage.nonexistent-queue.json", service: "SQS")
        #expect(e.code == "QueueDoesNotExist")
        #expect(e.message == "The specified queue does not exist.")
        #expect(e.httpStatus == 400)
        #expect(e.queryError == "AWS.SimpleQueueService.NonExistentQueue;Sender")
        #expect(e.requestId?.isEmpty == false)
        #expect(!RetryPolicy.isRetryable(e))
        #expect(e.description.contains("SQS ReceiveMessage failed: QueueDoesNotExist (HTTP 400)"))
    }

    @Test func sqsReceiptHandleIsInvalid() throws {
        let e = try decode("sqs-DeleteMessage.bad-handle.json", service: "SQS")
        #expect(e.code == "ReceiptHandleIsInvalid")
        #expect(e.message == "The input receipt handle is invalid.")
        #expect(e.queryError == "ReceiptHandleIsInvalid;Sender")
    }

    @Test func dynamoConditionalCheckFailedCarriesOldItem() throws {
        let e = try decode("dynamodb-PutItem.conditional-check-failed.json", service: "DynamoDB")
        #expect(e.code == "ConditionalCheckFailedException")
        #expect(e.isConditionalCheckFailed)
        #expect(e.message == "The conditional request failed")
        let item = try #require(e.conditionCheckFailedItem)
        #expect(item["orderId"] == .s("ord-1001"))
        #expect(item["quantity"] == .n("3"))
        #expect(item.count == 6)
    }

    @Test func dynamoValidationAndNotFound() throws {
        let bad = try decode("dynamodb-PutItem.N-not-a-number.json", service: "DynamoDB")
        #expect(bad.code == "ValidationException")
        #expect(bad.message == "The parameter cannot be converted to a numeric value: two")
        #expect(!bad.isConditionalCheckFailed)
        #expect(bad.conditionCheckFailedItem == nil)
        let missingKey = try decode("dynamodb-PutItem.missing-key.json", service: "DynamoDB")
        #expect(missingKey.code == "ValidationException")
        #expect(missingKey.message == "One or more parameter values were invalid: Missing the key orderId in the item")
        let notFound = try decode("dynamodb-PutItem.table-missing.json", service: "DynamoDB")
        #expect(notFound.code == "ResourceNotFoundException")
        #expect(notFound.message == "Requested resource not found")
    }

    @Test("moto's XML auth error, SNS XML error, HTML 500, header-only")
    func otherShapes() {
        let xml =
            #"<?xml version="1.0" encoding="utf-8"?>"# + "\n"
            + "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
            + "calculated does not match</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"
        let auth = AWSServiceError.decode(
            service: "SQS", operation: "CreateQueue",
            response: HTTPResponse(status: 403, body: Data(xml.utf8)),
            credentialSource: "profile 'x' in /root/.aws/credentials")
        #expect(auth.code == "SignatureDoesNotMatch")
        #expect(auth.isAuthError)
        #expect(auth.description.contains("credentials from profile 'x' in /root/.aws/credentials"))
        let sns =
            #"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>"#
            + "<Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r-1</RequestId>"
            + "</ErrorResponse>"
        let notFound = AWSServiceError.decode(
            service: "SNS", operation: "Publish",
            response: HTTPResponse(status: 404, body: Data(sns.utf8)))
        #expect(notFound.code == "NotFound")
        #expect(notFound.message == "Topic does not exist")
        #expect(notFound.requestId == "r-1")
        let html =
            "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server "
            + "Error</h1>"
        let e500 = AWSServiceError.decode(
            service: "DynamoDB", operation: "PutItem",
            response: HTTPResponse(status: 500, body: Data(html.utf8)))
        #expect(e500.code == "HTTP 500")
        #expect(e500.message.contains("Internal Server Error"))
        #expect(RetryPolicy.isRetryable(e500))
        let headerOnly = AWSServiceError.decode(
            service: "DynamoDB", operation: "PutItem",
            response: HTTPResponse(status: 400, headers: ["X-Amzn-ErrorType": "ThrottlingException:http://x"]))
        #expect(headerOnly.code == "ThrottlingException")
        #expect(RetryPolicy.isRetryable(headerOnly))
    }
}
