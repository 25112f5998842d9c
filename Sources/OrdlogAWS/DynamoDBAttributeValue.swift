import Foundation

/// A DynamoDB [AttributeValue](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html):
/// on the wire a single-key JSON object such as `{"S":"x"}`, `{"N":"3"}` (numbers are **strings**),
/// `{"B":"<base64>"}`, `{"BOOL":true}`, `{"NULL":true}`, `{"M":{…}}`, `{"L":[…]}`, `{"SS":[…]}`,
/// `{"NS":["1","2"]}`, `{"BS":["<base64>"]}`.
public indirect enum DynamoDBAttributeValue: Sendable, Equatable, Hashable, Codable {
    case s(String)
    /// A number as its decimal text (kept verbatim, no floating-point conversion).
    case n(String)
    case b(Data)
    case bool(Bool)
    case null
    case m([String: DynamoDBAttributeValue])
    case l([DynamoDBAttributeValue])
    case ss([String])
    case ns([String])
    case bs([Data])

    private enum Key: String, CodingKey {
        case S, N, B, BOOL, NULL, M, L, SS, NS, BS
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "AttributeValue must have exactly one known key"))
        }
        switch key {
        case .S: self = .s(try c.decode(String.self, forKey: key))
        case .N: self = .n(try c.decode(String.self, forKey: key))
        case .B: self = .b(try Self.base64(try c.decode(String.self, forKey: key), c.codingPath))
        case .BOOL: self = .bool(try c.decode(Bool.self, forKey: key))
        case .NULL: self = .null
        case .M: self = .m(try c.decode([String: DynamoDBAttributeValue].self, forKey: key))
        case .L: self = .l(try c.decode([DynamoDBAttributeValue].self, forKey: key))
        case .SS: self = .ss(try c.decode([String].self, forKey: key))
        case .NS: self = .ns(try c.decode([String].self, forKey: key))
        case .BS: self = .bs(try c.decode([String].self, forKey: key).map { try Self.base64($0, c.codingPath) })
        }
    }

    private static func base64(_ text: String, _ path: [CodingKey]) throws -> Data {
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "invalid base64"))
        }
        return data
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .s(let v): try c.encode(v, forKey: .S)
        case .n(let v): try c.encode(v, forKey: .N)
        case .b(let v): try c.encode(v.base64EncodedString(), forKey: .B)
        case .bool(let v): try c.encode(v, forKey: .BOOL)
        case .null: try c.encode(true, forKey: .NULL)
        case .m(let v): try c.encode(v, forKey: .M)
        case .l(let v): try c.encode(v, forKey: .L)
        case .ss(let v): try c.encode(v, forKey: .SS)
        case .ns(let v): try c.encode(v, forKey: .NS)
        case .bs(let v): try c.encode(v.map { $0.base64EncodedString() }, forKey: .BS)
        }
    }

    /// The string of an `S` value.
    public var stringValue: String? { if case .s(let v) = self { return v } else { return nil } }
    /// The text of an `N` value.
    public var numberText: String? { if case .n(let v) = self { return v } else { return nil } }
}

/// A DynamoDB item: attribute name → value.
public typealias DynamoDBItem = [String: DynamoDBAttributeValue]
