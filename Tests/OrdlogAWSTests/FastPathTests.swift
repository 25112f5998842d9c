import Foundation
import Testing

@testable import OrdlogAWS

/// The hand-written fast paths give exactly what the Foundation forms they replace give.
@Suite("SigV4 and DynamoDB fast paths")
struct FastPathTests {
    @Test("amzDate's arithmetic matches a UTC Gregorian Calendar")
    func amzDateMatchesCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var rng = SystemRandomNumberGenerator()
        var instants: [Double] = [0, -1, -0.5, 86_399.999, 951_782_400, 4_107_542_400, 1_764_590_400.75, -2_208_988_800]
        for _ in 0..<2000 { instants.append(Double.random(in: -4_000_000_000...8_000_000_000, using: &rng)) }
        for t in instants {
            let date = Date(timeIntervalSince1970: t)
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(
                format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
            #expect(SigV4Signer.amzDate(date) == expected, "at \(t)")
        }
    }

    @Test("the signing key cache gives the same signature as a fresh derivation")
    func signingKeyCache() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret-one"), region: "us-east-1",
            service: "dynamodb")
        var other = signer
        other.credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret-two")
        let day1 = Date(timeIntervalSince1970: 1_764_590_400)
        let day2 = day1.addingTimeInterval(86_400)
        let a1 = signer.signature(stringToSign: "x", date: day1)
        #expect(signer.signature(stringToSign: "x", date: day1) == a1)
        #expect(other.signature(stringToSign: "x", date: day1) != a1)
        #expect(signer.signature(stringToSign: "x", date: day2) != a1)
        #expect(signer.signature(stringToSign: "x", date: day1) == a1)
    }

    struct Input: Encodable {
        var TableName: String
        var Item: DynamoDBItem
        var ConditionExpression: String?
        var ExpressionAttributeNames: [String: String]?
        var ExpressionAttributeValues: DynamoDBItem?
        var ReturnValuesOnConditionCheckFailure: String?
    }

    @Test("PutItem's body is byte for byte what JSONEncoder writes")
    func putItemBodyMatchesJSONEncoder() throws {
        let items: [DynamoDBItem] = [
            [
                "orderId": .s("o-1"), "userId": .s("u/1 \"quoted\" \\ back"), "itemName": .s("Café ☕️ 日本"),
                "quantity": .n("3"), "status": .s("PAID"), "timestamp": .s("2026-11-29T12:31:53.123+01:00"),
                "ordlogTimestampNs": .n("1764415913123000000"),
            ],
            ["orderId": .s(""), "Zeta": .bool(true), "alpha": .bool(false), "Beta": .null, "a10": .n("1"), "a9": .n("2"),
             "a_b": .s("~"), "a-b": .s("{}")],
        ]
        for item in items {
            for returnOld in [true, false] {
                for condition in [true, false] {
                    let input = Input(
                        TableName: "Orders", Item: item,
                        ConditionExpression: condition ? "attribute_not_exists(orderId) OR #ts <= :ts" : nil,
                        ExpressionAttributeNames: condition ? ["#ts": "ordlogTimestampNs"] : nil,
                        ExpressionAttributeValues: condition ? [":ts": .n("-12")] : nil,
                        ReturnValuesOnConditionCheckFailure: returnOld ? "ALL_OLD" : nil)
                    let fast = try #require(
                        PutItemBody.encode(
                            tableName: input.TableName, item: input.Item,
                            conditionExpression: input.ConditionExpression,
                            expressionAttributeNames: input.ExpressionAttributeNames,
                            expressionAttributeValues: input.ExpressionAttributeValues,
                            returnValuesOnConditionCheckFailure: input.ReturnValuesOnConditionCheckFailure))
                    let reference = try AWSClient.jsonEncoder().encode(input)
                    #expect(
                        String(decoding: fast, as: UTF8.self) == String(decoding: reference, as: UTF8.self))
                }
            }
        }
    }

    @Test("PutItem's fast body declines what it does not cover (JSONEncoder writes those)")
    func putItemBodyDeclines() {
        func body(_ item: DynamoDBItem) -> Data? {
            PutItemBody.encode(
                tableName: "Orders", item: item, conditionExpression: nil, expressionAttributeNames: nil,
                expressionAttributeValues: nil, returnValuesOnConditionCheckFailure: nil)
        }
        #expect(body(["a": .s("line\nbreak")]) == nil)
        #expect(body(["é": .s("x")]) == nil)
        #expect(body(["a": .m(["b": .s("x")])]) == nil)
        #expect(body(["a": .s("x")]) != nil)
    }
}
