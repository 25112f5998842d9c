import OrdlogCore
import Testing

/// The library types `seal`, `replay`, `reproject` and `redrive` print through ``JSONValueEncoder`` keep the
/// documented shapes: a segment manifest as its file's JSON, a DynamoDB sync as `{"table","created","written","stale"}`.
@Suite struct SegmentManifestEncodingTests {
    @Test("a manifest encodes to the documented members, in order, hashes as hex")
    func manifestShape() throws {
        let m = SegmentManifest(
            consumerId: "c1", queue: "q/\"x\"", ordlogVersion: "1.2.3", firstSeq: 1, lastSeq: 42,
            prevHash: [UInt8](repeating: 0, count: 32), headHash: [UInt8](repeating: 0xab, count: 32),
            sha256: String(repeating: "cd", count: 32), bytes: 4096, sealedAt: "2026-01-02T03:04:05.006Z")
        let expected =
            #"{"format":"ordlog-segment/1","consumerId":"c1","queue":"q/\"x\"","ordlogVersion":"1.2.3","firstSeq":1,"#
            + #""lastSeq":42,"prevHash":""# + String(repeating: "0", count: 64) + #"","headHash":""#
            + String(repeating: "ab", count: 32) + #"","sha256":""# + String(repeating: "cd", count: 32)
            + #"","bytes":4096,"sealedAt":"2026-01-02T03:04:05.006Z"}"#
        #expect(m.json == expected + "\n")
        #expect(JSONWriter.string(try JSONValueEncoder().encode(m)) == expected)
        #expect(SegmentManifest(json: Array(m.json.utf8)) == m)
    }

    @Test("a DynamoDB sync result encodes as the commands' dynamodb member")
    func syncResultShape() throws {
        let r = DynamoDBProjection.SyncResult(tableName: "Orders", created: true, written: 3, stale: 1)
        #expect(
            JSONWriter.string(try JSONValueEncoder().encode(r))
                == #"{"table":"Orders","created":true,"written":3,"stale":1}"#)
    }
}
