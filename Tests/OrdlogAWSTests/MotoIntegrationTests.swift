import Foundation
import OrdlogAWS
import OrdlogTestSupport
import Testing

@Suite("against moto_server: SNS → SQS and DynamoDB", .serialized, .motoServer())
struct MotoIntegrationTests {
    static let order =
        #"{"orderId":"ord-1001","userId":"user-42","itemName":"Café crème – 東京 🍣","#
        + #""quantity":3,"status":"PENDING","timestamp":"2025-01-15T10:30:00.000Z"}"#

    @Test("fixture: free port, answers, stoppable")
    func fixture() throws {
        let server = try MotoContext.current()
        #expect(server.isRunning)
        #expect(server.endpoint.absoluteString == "http://127.0.0.1:\(server.port)")
        #expect(MotoServer.canConnect(port: server.port))
    }

    @Test("fixture: stop() terminates the process and frees the port")
    func fixtureStops() async throws {
        let extra = try await MotoServer.start()
        #expect(extra.isRunning)
        #expect(extra.port != (try MotoContext.current().port))
        extra.stop()
        #expect(!extra.isRunning)
        #expect(!MotoServer.canConnect(port: extra.port))
        extra.stop()  // idempotent
    }

    @Test("queues with redrive, topic with raw and non-raw subscriptions, publish, receive, batch ops")
    func snsToSqs() async throws {
        let config = try MotoContext.current().configuration()
        let sqs = SQSClient(configuration: config, retryPolicy: .noDelay())
        let sns = SNSClient(configuration: config, retryPolicy: .noDelay())

        // Queues: DLQ, main queue redriving to it after 3 receives, and two queues for raw delivery.
        let dlqUrl = try await sqs.createQueue(name: "OrderDLQ", attributes: ["MessageRetentionPeriod": "1209600"])
        let dlqArn = try await sqs.queueArn(queueUrl: dlqUrl)
        #expect(dlqArn == "arn:aws:sqs:us-east-1:123456789012:OrderDLQ")
        let redrive = #"{"deadLetterTargetArn":"\#(dlqArn)","maxReceiveCount":3}"#
        let queueUrl = try await sqs.createQueue(
            name: "OrderQueue",
            attributes: ["VisibilityTimeout": "30", "RedrivePolicy": redrive])
        #expect(try await sqs.getQueueUrl(name: "OrderQueue") == queueUrl)
        let attributes = try await sqs.getQueueAttributes(queueUrl: queueUrl)
        #expect(attributes["VisibilityTimeout"] == "30")
        let policy = try jsonObject(try #require(attributes["RedrivePolicy"]))
        #expect(policy["deadLetterTargetArn"] as? String == dlqArn)
        #expect("\(policy["maxReceiveCount"] ?? "")" == "3")
        try await sqs.setQueueAttributes(queueUrl: dlqUrl, attributes: ["VisibilityTimeout": "5"])
        #expect(
            try await sqs.getQueueAttributes(queueUrl: dlqUrl, names: ["VisibilityTimeout"])
                == ["VisibilityTimeout": "5"])
        let rawUrl = try await sqs.createQueue(name: "OrderQueueRaw")
        let laterRawUrl = try await sqs.createQueue(name: "OrderQueueRawLater")

        // Topic and subscriptions: non-raw, raw at Subscribe, raw via SetSubscriptionAttributes.
        let topicArn = try await sns.createTopic(name: "OrderTopic")
        #expect(topicArn == "arn:aws:sns:us-east-1:123456789012:OrderTopic")
        let subArn = try await sns.subscribe(
            topicArn: topicArn, protocol: "sqs",
            endpoint: try await sqs.queueArn(queueUrl: queueUrl))
        #expect(subArn.hasPrefix(topicArn + ":"))
        _ = try await sns.subscribe(
            topicArn: topicArn, protocol: "sqs",
            endpoint: try await sqs.queueArn(queueUrl: rawUrl),
            attributes: ["RawMessageDelivery": "true"])
        let laterArn = try await sns.subscribe(
            topicArn: topicArn, protocol: "sqs",
            endpoint: try await sqs.queueArn(queueUrl: laterRawUrl))
        try await sns.setSubscriptionAttributes(subscriptionArn: laterArn, name: "RawMessageDelivery", value: "true")

        let snsMessageId = try await sns.publish(
            topicArn: topicArn, message: Self.order, subject: "Order update",
            messageAttributes: [
                "source": .string("web"), "priority": .number("2"),
                "tags": .stringArray(["a", "b"]),
            ])
        #expect(UUID(uuidString: snsMessageId) != nil)

        // Non-raw: the SNS envelope, decoded and raw.
        let received = try await sqs.receiveMessage(
            queueUrl: queueUrl, maxNumberOfMessages: 10, waitTimeSeconds: 1,
            visibilityTimeout: 30)
        #expect(received.messages.count == 1)
        let message = try #require(received.messages.first)
        #expect(message.bodyMD5Matches)
        #expect(message.approximateReceiveCount == 1)
        #expect(message.attributes["SenderId"] != nil)
        #expect(Int(message.attributes["SentTimestamp"] ?? "") ?? 0 > 1_600_000_000_000)
        let envelope = try jsonObject(message.body)
        #expect(envelope["Type"] as? String == "Notification")
        #expect(envelope["MessageId"] as? String == snsMessageId)
        #expect(envelope["TopicArn"] as? String == topicArn)
        #expect(envelope["Subject"] as? String == "Order update")
        #expect(envelope["Message"] as? String == Self.order)
        #expect(envelope["Signature"] is String && envelope["SigningCertURL"] is String)
        #expect(envelope["Timestamp"] is String && envelope["UnsubscribeURL"] is String)
        let envelopeAttrs = try #require(envelope["MessageAttributes"] as? [String: [String: String]])
        #expect(envelopeAttrs["source"] == ["Type": "String", "Value": "web"])
        #expect(envelopeAttrs["priority"] == ["Type": "Number", "Value": "2"])
        #expect(envelopeAttrs["tags"]?["Type"] == "String.Array")
        // The raw bytes are the response body: it decodes to the same messages.
        let rawTop = try jsonObject(String(decoding: received.rawBody, as: UTF8.self))
        let rawMessages = try #require(rawTop["Messages"] as? [[String: Any]])
        #expect(rawMessages.count == 1)
        #expect(rawMessages[0]["Body"] as? String == message.body)
        #expect(rawMessages[0]["ReceiptHandle"] as? String == message.receiptHandle)

        // Raw delivery: the body is the published message itself; attributes become SQS message attributes.
        let raw = try await sqs.receiveMessage(queueUrl: rawUrl, waitTimeSeconds: 1)
        let rawMessage = try #require(raw.messages.first)
        #expect(rawMessage.body == Self.order)
        #expect(rawMessage.bodyMD5Matches)
        #expect(rawMessage.messageAttributes["source"] == .string("web"))
        #expect(rawMessage.messageAttributes["priority"] == .number("2"))
        #expect(rawMessage.md5OfMessageAttributes != nil)
        let later = try await sqs.receiveMessage(queueUrl: laterRawUrl, waitTimeSeconds: 1)
        #expect(later.messages.map(\.body) == [Self.order])

        // ChangeMessageVisibility 0 → visible again at once, with receive count 2.
        try await sqs.changeMessageVisibility(
            queueUrl: rawUrl, receiptHandle: rawMessage.receiptHandle,
            visibilityTimeout: 0)
        let again = try await sqs.receiveMessage(queueUrl: rawUrl, waitTimeSeconds: 1)
        #expect(again.messages.map(\.messageId) == [rawMessage.messageId])
        #expect(again.messages.first?.approximateReceiveCount == 2)
        let batchVisibility = try await sqs.changeMessageVisibilityBatch(
            queueUrl: rawUrl,
            entries: [
                SQSVisibilityEntry(
                    id: "a", receiptHandle: try #require(again.messages.first).receiptHandle,
                    visibilityTimeout: 0),
                SQSVisibilityEntry(id: "b", receiptHandle: "not-a-real-handle", visibilityTimeout: 0),
            ])
        #expect(batchVisibility.successful == ["a"])
        #expect(batchVisibility.failed.map(\.id) == ["b"])

        // DeleteMessageBatch: one success, one bad handle reported per entry (no throw).
        let deleted = try await sqs.deleteMessageBatch(
            queueUrl: queueUrl,
            entries: [
                SQSDeleteEntry(id: "0", receiptHandle: message.receiptHandle),
                SQSDeleteEntry(id: "1", receiptHandle: "not-a-real-handle"),
            ])
        #expect(deleted.successful == ["0"])
        #expect(deleted.failed.count == 1)
        #expect(deleted.failed.first?.id == "1")
        #expect(deleted.failed.first?.code == "ReceiptHandleIsInvalid")
        #expect(deleted.failed.first?.senderFault == true)
        let empty = try await sqs.receiveMessage(queueUrl: queueUrl, waitTimeSeconds: 0)
        #expect(empty.messages.isEmpty)

        // Errors from the real server are typed.
        do {
            _ = try await sqs.getQueueUrl(name: "NoSuchQueue")
            Issue.record("expected QueueDoesNotExist")
        } catch let e as AWSServiceError {
            #expect(e.code == "QueueDoesNotExist")
            #expect(e.httpStatus == 400)
            #expect(e.service == "SQS")
            #expect(e.operation == "GetQueueUrl")
        }
    }

    @Test("SendMessage / SendMessageBatch, and redrive to the DLQ after 3 receives")
    func sendAndRedrive() async throws {
        let config = try MotoContext.current().configuration()
        let sqs = SQSClient(configuration: config, retryPolicy: .noDelay())
        let dlqUrl = try await sqs.createQueue(name: "RedriveDLQ")
        let dlqArn = try await sqs.queueArn(queueUrl: dlqUrl)
        let queueUrl = try await sqs.createQueue(
            name: "RedriveQueue",
            attributes: [
                "RedrivePolicy": #"{"deadLetterTargetArn":"\#(dlqArn)","maxReceiveCount":"3"}"#
            ])
        let sent = try await sqs.sendMessage(
            queueUrl: queueUrl, body: "hello",
            messageAttributes: ["kind": .string("greeting")])
        #expect(sent.md5OfMessageBody == "5d41402abc4b2a76b9719d911017c592")
        let batch = try await sqs.sendMessageBatch(
            queueUrl: queueUrl,
            entries: [
                SQSSendEntry(id: "x", messageBody: "one"), SQSSendEntry(id: "y", messageBody: "two"),
            ])
        #expect(batch.successful.map(\.id).sorted() == ["x", "y"])
        #expect(batch.failed.isEmpty)
        for expectedCount in 1...3 {
            let r = try await sqs.receiveMessage(queueUrl: queueUrl, waitTimeSeconds: 0, visibilityTimeout: 0)
            #expect(r.messages.count == 3)
            #expect(r.messages.allSatisfy { $0.approximateReceiveCount == expectedCount })
        }
        let fourth = try await sqs.receiveMessage(queueUrl: queueUrl, waitTimeSeconds: 0, visibilityTimeout: 0)
        #expect(fourth.messages.isEmpty)
        let dead = try await sqs.receiveMessage(queueUrl: dlqUrl, waitTimeSeconds: 0)
        #expect(Set(dead.messages.map(\.body)) == ["hello", "one", "two"])
        #expect(dead.messages.first { $0.body == "hello" }?.messageId == sent.messageId)
    }

    @Test("DynamoDB: CreateTable, conditional PutItem, GetItem, Scan, DeleteTable")
    func dynamoDB() async throws {
        let config = try MotoContext.current().configuration()
        let ddb = DynamoDBClient(configuration: config, retryPolicy: .noDelay())
        let created = try await ddb.createTable(name: "Orders", partitionKey: .init(name: "orderId", type: "S"))
        #expect(created.tableName == "Orders")
        try await ddb.waitUntilActive(name: "Orders", timeout: 10, interval: 0.1)
        #expect(try await ddb.describeTable(name: "Orders").tableStatus == "ACTIVE")

        func order(_ id: String, quantity: String) -> DynamoDBItem {
            [
                "orderId": .s(id), "quantity": .n(quantity), "itemName": .s("Café crème – 東京 🍣"),
                "status": .s("PENDING"), "paid": .bool(true), "note": .null,
                "tags": .ss(["a", "b"]), "lines": .l([.m(["sku": .s("W-1"), "n": .n("2")])]),
                "blob": .b(Data([0, 1, 2, 255])),
            ]
        }
        let first = order("ord-1001", quantity: "3")
        let condition = "attribute_not_exists(#k)"
        try await ddb.putItem(
            tableName: "Orders", item: first, conditionExpression: condition,
            expressionAttributeNames: ["#k": "orderId"], returnOldItemOnConditionFailure: true)
        do {
            try await ddb.putItem(
                tableName: "Orders", item: order("ord-1001", quantity: "99"),
                conditionExpression: condition, expressionAttributeNames: ["#k": "orderId"],
                returnOldItemOnConditionFailure: true)
            Issue.record("expected ConditionalCheckFailedException")
        } catch let e as AWSServiceError {
            #expect(e.isConditionalCheckFailed)
            #expect(e.code == "ConditionalCheckFailedException")
            #expect(e.httpStatus == 400)
            #expect(e.conditionCheckFailedItem == first)
        }
        // ExpressionAttributeValues: replace only while still PENDING.
        let shipped = order("ord-1001", quantity: "3").merging(["status": .s("SHIPPED")]) { $1 }
        try await ddb.putItem(
            tableName: "Orders", item: shipped, conditionExpression: "#s = :pending",
            expressionAttributeNames: ["#s": "status"],
            expressionAttributeValues: [":pending": .s("PENDING")])
        await #expect(throws: AWSServiceError.self) {
            try await ddb.putItem(
                tableName: "Orders", item: first, conditionExpression: "#s = :pending",
                expressionAttributeNames: ["#s": "status"],
                expressionAttributeValues: [":pending": .s("PENDING")])
        }
        #expect(
            try await ddb.getItem(tableName: "Orders", key: ["orderId": .s("ord-1001")], consistentRead: true)
                == shipped)
        #expect(try await ddb.getItem(tableName: "Orders", key: ["orderId": .s("nope")]) == nil)

        var expected = [shipped]
        for i in 2...7 {
            let item = order("ord-100\(i)", quantity: "\(i).5")
            try await ddb.putItem(tableName: "Orders", item: item)
            expected.append(item)
        }
        let scanned = try await ddb.scanAll(tableName: "Orders", consistentRead: true, pageLimit: 2)
        func byId(_ items: [DynamoDBItem]) -> [DynamoDBItem] {
            items.sorted { ($0["orderId"]?.stringValue ?? "") < ($1["orderId"]?.stringValue ?? "") }
        }
        #expect(scanned.count == 7)
        #expect(byId(scanned) == byId(expected))
        #expect(try await ddb.scanAll(tableName: "Orders").count == 7)

        try await ddb.deleteTable(name: "Orders")
        do {
            _ = try await ddb.describeTable(name: "Orders")
            Issue.record("expected ResourceNotFoundException")
        } catch let e as AWSServiceError {
            #expect(e.code == "ResourceNotFoundException")
        }
    }
}

@Suite(
    "against moto_server with SigV4 checking (INITIAL_NO_AUTH_ACTION_COUNT)", .serialized,
    .motoServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"]))
struct MotoSignatureCheckTests {
    @Test("a correct signature succeeds; a wrong secret fails with SignatureDoesNotMatch naming the source")
    func signatureChecking() async throws {
        let server = try MotoContext.current()
        // The first three (unauthenticated) actions provision an IAM user with an allow-all policy and a key.
        let iam = AWSClient(service: .iam, configuration: server.configuration(), retryPolicy: .none)
        let version = "2010-05-08"
        _ = try await iam.queryCall(operation: "CreateUser", version: version, parameters: [("UserName", "ordlog")])
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try await iam.queryCall(
            operation: "PutUserPolicy", version: version,
            parameters: [
                ("UserName", "ordlog"), ("PolicyName", "allow-all"), ("PolicyDocument", policy),
            ])
        let (keyXML, _) = try await iam.queryCall(
            operation: "CreateAccessKey", version: version,
            parameters: [("UserName", "ordlog")])
        let key = try #require(keyXML.path("CreateAccessKeyResult", "AccessKey"))
        let keyId = try #require(key.child("AccessKeyId")?.text)
        let secret = try #require(key.child("SecretAccessKey")?.text)
        #expect(keyId.hasPrefix("AKIA"))

        let good = SQSClient(
            configuration: server.configuration(
                accessKeyId: keyId, secret: secret,
                source: "IAM user 'ordlog'"),
            retryPolicy: .noDelay())
        let url = try await good.createQueue(name: "signed-queue")
        #expect(url.hasSuffix("/signed-queue"))
        let ddb = DynamoDBClient(
            configuration: server.configuration(accessKeyId: keyId, secret: secret),
            retryPolicy: .noDelay())
        _ = try await ddb.createTable(name: "SignedTable", partitionKey: .init(name: "id"))
        let sns = SNSClient(
            configuration: server.configuration(accessKeyId: keyId, secret: secret),
            retryPolicy: .noDelay())
        _ = try await sns.publish(
            topicArn: try await sns.createTopic(name: "signed-topic"),
            message: "x y+z&=%", subject: "s p")

        let wrongSecret = "wrong-secret-\(UUID().uuidString)"
        let source = "profile 'wrong' in /tmp/ordlog-test/credentials"
        let bad = SQSClient(
            configuration: server.configuration(
                accessKeyId: keyId, secret: wrongSecret,
                source: source),
            retryPolicy: .noDelay())
        do {
            _ = try await bad.getQueueUrl(name: "signed-queue")
            Issue.record("expected SignatureDoesNotMatch")
        } catch let e as AWSServiceError {
            #expect(e.code == "SignatureDoesNotMatch")
            #expect(e.httpStatus == 403)
            #expect(e.isAuthError)
            #expect(e.credentialSource == source)
            #expect(e.description.contains(source))
            #expect(!e.description.contains(wrongSecret))
            #expect(!String(reflecting: e).contains(wrongSecret))
        }
    }
}
