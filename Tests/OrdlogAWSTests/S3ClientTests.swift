import Foundation
import OrdlogTestSupport
import Testing

@testable import OrdlogAWS

/// S3's SigV4 and addressing at the protocol seam (no network).
@Suite struct S3SigningTests {
    /// "Example: GET Object" of the S3 SigV4 header-based auth page
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): virtual-hosted
    /// `examplebucket`, key `test.txt`, `Range: bytes=0-9`, at 20130524T000000Z.
    @Test func signsTheDocumentedGetObjectExample() throws {
        let client = AWSClient(
            service: .s3,
            credentials: AWSCredentials(
                accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                source: "test"),
            region: "us-east-1", endpoint: URL(string: "https://s3.amazonaws.com")!)
        let s3 = S3Client(client: client, pathStyle: false)
        let request = s3.request("GET", bucket: "examplebucket", key: "test.txt", headers: [("Range", "bytes=0-9")])
        let date = try #require(SigV4Signer.parseAmzDate("20130524T000000Z"))
        let signed = client.signedRequest(request, date: date)
        #expect(signed.url.absoluteString == "https://examplebucket.s3.amazonaws.com/test.txt")
        #expect(signed.header("Host") == "examplebucket.s3.amazonaws.com")
        #expect(
            signed.header("x-amz-content-sha256") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            signed.header("Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func pathStyleWithAnEndpointAndKeysEncodedOnce() throws {
        let client = AWSClient(
            service: .s3, credentials: AWSCredentials(accessKeyId: "a", secretAccessKey: "b", source: "t"),
            region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:5000")!)
        let s3 = S3Client(client: client, pathStyle: true)
        let r = client.signedRequest(
            s3.request("GET", bucket: "b1", key: "p/c 1/x+y.ordlog", query: [("uploadId", "a/b=")]))
        #expect(r.url.absoluteString == "http://127.0.0.1:5000/b1/p/c%201/x%2By.ordlog?uploadId=a%2Fb%3D")
        #expect(r.header("Host") == "127.0.0.1:5000")
    }

    @Test func checksumsAreBase64OfTheSHA256() {
        #expect(S3Client.checksumSHA256(Data("hello".utf8)) == "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        #expect(
            S3Client.checksumSHA256(hex: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
                == "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        #expect(S3Client.checksumSHA256(hex: "zz") == nil)
    }

    @Test func completeBodyListsEveryPartInOrder() {
        let body = String(
            decoding: S3Client.completeBody([
                .init(partNumber: 1, eTag: "e1", checksumSHA256: "c1"),
                .init(partNumber: 2, eTag: "e2", checksumSHA256: "c2"),
            ]), as: UTF8.self)
        #expect(
            body == "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<Part><ETag>\"e1\"</ETag><ChecksumSHA256>c1</ChecksumSHA256><PartNumber>1</PartNumber></Part>"
                + "<Part><ETag>\"e2\"</ETag><ChecksumSHA256>c2</ChecksumSHA256><PartNumber>2</PartNumber></Part>"
                + "</CompleteMultipartUpload>")
    }
}

/// The S3 client against moto_server (S3 on the same port as the other services).
@Suite("against moto_server: S3", .serialized, .motoServer())
struct S3MotoTests {
    static func s3() throws -> S3Client {
        var config = try MotoContext.current().configuration()
        config.endpointOverrides[.s3] = try MotoContext.current().endpoint
        return S3Client(configuration: config, retryPolicy: .noDelay())
    }

    @Test func putHeadGetListAndNeverOverwrite() async throws {
        let s3 = try Self.s3()
        #expect(s3.pathStyle)
        try await s3.createBucket("seg-put")
        #expect(try await s3.headObject(bucket: "seg-put", key: "a/1") == nil)
        let body = Data("segment bytes".utf8)
        try await s3.putObject(bucket: "seg-put", key: "a/1", body: body)
        let info = try #require(try await s3.headObject(bucket: "seg-put", key: "a/1"))
        #expect(info.size == Int64(body.count))
        #expect(try await s3.getObject(bucket: "seg-put", key: "a/1") == body)
        // A second put with If-None-Match: * is refused, whatever its bytes.
        await #expect(throws: AWSServiceError.self) {
            try await s3.putObject(bucket: "seg-put", key: "a/1", body: Data("other".utf8))
        }
        #expect(try await s3.getObject(bucket: "seg-put", key: "a/1") == body)
        // (A wrong x-amz-checksum-sha256 is refused by S3 with BadDigest; moto stores the object anyway, so that
        // check cannot be tested here.)
        // Errors come from S3's XML body.
        do {
            _ = try await s3.getObject(bucket: "seg-put", key: "nope")
            Issue.record("GetObject of a missing key succeeded")
        } catch let e as AWSServiceError {
            #expect(e.code == "NoSuchKey")
            #expect(e.httpStatus == 404)
        }
    }

    @Test func deleteObjectsAndDeleteObject() async throws {
        let s3 = try Self.s3()
        try await s3.createBucket("seg-del")
        for i in 0..<5 { try await s3.putObject(bucket: "seg-del", key: "p/k\(i)&<x>", body: Data([UInt8(i)])) }
        // A batch with a key that does not exist (counted as deleted), keys that need XML escaping.
        try await s3.deleteObjects(bucket: "seg-del", keys: ["p/k0&<x>", "p/k1&<x>", "p/nope"])
        try await s3.deleteObject(bucket: "seg-del", key: "p/k2&<x>")
        try await s3.deleteObject(bucket: "seg-del", key: "p/also-nope")
        try await s3.deleteObjects(bucket: "seg-del", keys: [])
        let left = try await s3.listObjects(bucket: "seg-del", prefix: "p/")
        #expect(left.map(\.key) == ["p/k3&<x>", "p/k4&<x>"])
    }

    @Test func listingFollowsContinuationTokens() async throws {
        let s3 = try Self.s3()
        try await s3.createBucket("seg-list")
        for i in 0..<7 { try await s3.putObject(bucket: "seg-list", key: "p/k\(i)", body: Data([UInt8(i)])) }
        try await s3.putObject(bucket: "seg-list", key: "other/x", body: Data([1]))
        let listed = try await s3.listObjects(bucket: "seg-list", prefix: "p/", pageSize: 3)
        #expect(listed.map(\.key) == (0..<7).map { "p/k\($0)" })
        #expect(listed.allSatisfy { $0.size == 1 })
    }

    @Test func multipartUploadAboveTheThreshold() async throws {
        let s3 = try Self.s3()
        try await s3.createBucket("seg-multi")
        // 5 MiB parts (S3's minimum but for the last): 2 parts.
        var body = Data(count: (5 << 20) + 1234)
        for i in stride(from: 0, to: body.count, by: 4096) { body[i] = UInt8(truncatingIfNeeded: i / 4096) }
        try await s3.upload(bucket: "seg-multi", key: "big", body: body, multipartThreshold: 1 << 20, partSize: 5 << 20)
        let info = try #require(try await s3.headObject(bucket: "seg-multi", key: "big"))
        #expect(info.size == Int64(body.count))
        #expect(info.eTag?.hasSuffix("-2") == true)  // a multipart ETag names its part count
        #expect(try await s3.getObject(bucket: "seg-multi", key: "big") == body)
    }
}
