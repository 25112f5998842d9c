/// Encodes any `Encodable` into a ``JSONValue``, members in the order they are encoded (a synthesized
/// `encode(to:)` encodes in the order of its `CodingKeys`), so that ``JSONWriter`` prints it exactly as a hand-built
/// tree of the same members.
///
/// ```swift
/// struct Head: Encodable { var consumer: String; var seq: Int64; var keptHead: String? }
/// JSONWriter.string(try JSONValueEncoder().encode(Head(consumer: "c1", seq: 3, keptHead: nil)))
/// // {"consumer":"c1","seq":3,"keptHead":null}
/// ```
///
/// Unlike Foundation's `JSONEncoder` it keeps the key order, never escapes `/`, writes integers as their decimal
/// text, and writes a `nil` optional property as `null` (`encodeIfPresent` included), as every documented ordlog
/// shape does (`"orderId":S|null`); a type that leaves a key out says so in its own `encode(to:)`. A ``JSONValue``
/// or ``JSONObject`` inside the value is inserted as it is (a record in its documented shape, a parsed body).
public struct JSONValueEncoder: Sendable {
    public init() {}

    /// `value` as a JSON tree.
    /// - Throws: `EncodingError.invalidValue` for a non-finite floating-point number, or an error of the value's own
    ///   `encode(to:)`.
    public func encode(_ value: some Encodable) throws -> JSONValue {
        try Self.box(value, codingPath: [])
    }

    static func box(_ value: any Encodable, codingPath: [any CodingKey]) throws -> JSONValue {
        switch value {
        case let v as JSONValue: return v
        case let v as JSONObject: return .object(v)
        default:
            let encoder = _Encoder(codingPath: codingPath)
            try value.encode(to: encoder)
            return encoder.storage.value
        }
    }
}

/// Where an encoder, or a container it handed out, puts its value: filled in as the value is encoded.
private final class Slot {
    enum Content {
        case empty
        case value(JSONValue)
        case object([(key: String, slot: Slot)])
        case array([Slot])
    }
    var content: Content = .empty

    var value: JSONValue {
        switch content {
        case .empty: return .object(JSONObject())
        case .value(let v): return v
        case .object(let members): return .object(JSONObject(members.map { ($0.key, $0.slot.value) }))
        case .array(let items): return .array(items.map(\.value))
        }
    }

    /// The member `key`, replacing an earlier one in place (as a dictionary would) so its position stays.
    func member(_ key: String) -> Slot {
        if case .empty = content { content = .object([]) }
        guard case .object(var members) = content else { preconditionFailure("not an object: \(key)") }
        let slot = Slot()
        if let i = members.firstIndex(where: { $0.key == key }) { members[i].slot = slot } else {
            members.append((key, slot))
        }
        content = .object(members)
        return slot
    }

    func append() -> Slot {
        if case .empty = content { content = .array([]) }
        guard case .array(var items) = content else { preconditionFailure("not an array") }
        let slot = Slot()
        items.append(slot)
        content = .array(items)
        return slot
    }

    var arrayCount: Int { if case .array(let items) = content { items.count } else { 0 } }
}

private struct _Encoder: Encoder {
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let storage: Slot

    init(codingPath: [any CodingKey], storage: Slot = Slot()) {
        self.codingPath = codingPath
        self.storage = storage
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .empty = storage.content { storage.content = .object([]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(codingPath: codingPath, slot: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .empty = storage.content { storage.content = .array([]) }
        return UnkeyedContainer(codingPath: codingPath, slot: storage)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(codingPath: codingPath, slot: storage)
    }
}

/// Scalars as JSON values: integers as their decimal text, floating point as Swift prints it (finite only).
private enum Scalar {
    static func number(_ n: some BinaryInteger) -> JSONValue { .number(String(n)) }
    static func number(_ d: Double, _ path: [any CodingKey]) throws -> JSONValue {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, .init(codingPath: path, debugDescription: "\(d) is not JSON"))
        }
        if d == d.rounded(), abs(d) < 1e15 { return .number(String(Int64(d))) }
        return .number("\(d)")
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var codingPath: [any CodingKey]
    let slot: Slot

    private func set(_ v: JSONValue, _ key: Key) { slot.member(key.stringValue).content = .value(v) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try Scalar.number(value, codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try Scalar.number(Double(value), codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(Scalar.number(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try JSONValueEncoder.box(value, codingPath: codingPath + [key]), key)
    }

    // A nil optional is written as null, not left out (the documented shapes say `S|null`).
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try put(value, key) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try put(value, key) }

    private mutating func put<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = slot.member(key.stringValue)
        child.content = .object([])
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(codingPath: codingPath + [key], slot: child))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = slot.member(key.stringValue)
        child.content = .array([])
        return UnkeyedContainer(codingPath: codingPath + [key], slot: child)
    }

    mutating func superEncoder() -> any Encoder {
        _Encoder(codingPath: codingPath, storage: slot.member("super"))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        _Encoder(codingPath: codingPath + [key], storage: slot.member(key.stringValue))
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { String(intValue!) }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    var codingPath: [any CodingKey]
    let slot: Slot
    var count: Int { slot.arrayCount }

    private func add(_ v: JSONValue) { slot.append().content = .value(v) }
    private var nextPath: [any CodingKey] { codingPath + [IndexKey(count)] }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode(_ value: Bool) throws { add(.bool(value)) }
    mutating func encode(_ value: String) throws { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(try Scalar.number(value, nextPath)) }
    mutating func encode(_ value: Float) throws { add(try Scalar.number(Double(value), nextPath)) }
    mutating func encode(_ value: Int) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: Int8) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: Int16) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: Int32) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: Int64) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: UInt) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: UInt8) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: UInt16) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: UInt32) throws { add(Scalar.number(value)) }
    mutating func encode(_ value: UInt64) throws { add(Scalar.number(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        add(try JSONValueEncoder.box(value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let path = nextPath
        let child = slot.append()
        child.content = .object([])
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(codingPath: path, slot: child))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let child = slot.append()
        child.content = .array([])
        return UnkeyedContainer(codingPath: path, slot: child)
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return _Encoder(codingPath: path, storage: slot.append())
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    var codingPath: [any CodingKey]
    let slot: Slot

    private func set(_ v: JSONValue) { slot.content = .value(v) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try Scalar.number(value, codingPath)) }
    mutating func encode(_ value: Float) throws { set(try Scalar.number(Double(value), codingPath)) }
    mutating func encode(_ value: Int) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: Int8) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: Int16) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: Int32) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: Int64) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: UInt) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: UInt8) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: UInt16) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: UInt32) throws { set(Scalar.number(value)) }
    mutating func encode(_ value: UInt64) throws { set(Scalar.number(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        set(try JSONValueEncoder.box(value, codingPath: codingPath))
    }
}

extension JSONValue: Encodable {
    /// The value through any encoder (``JSONValueEncoder`` inserts it as it is): a number as an integer when its
    /// text is one, else as a `Double`.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .number(let n):
            var c = encoder.singleValueContainer()
            if let i = Int64(n) { try c.encode(i) } else { try c.encode(Double(n) ?? 0) }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let o): try o.encode(to: encoder)
        }
    }
}

extension JSONObject: Encodable {
    /// The members in their order, through any encoder (``JSONValueEncoder`` inserts the object as it is).
    public func encode(to encoder: any Encoder) throws {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        var c = encoder.container(keyedBy: Key.self)
        for m in members { try c.encode(m.value, forKey: Key(stringValue: m.key)) }
    }
}
