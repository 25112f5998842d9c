import Crypto
import Foundation
import Logging

/// An object's metadata as `HeadObject` returns it.
public struct S3ObjectInfo: Sendable, Equatable {
    /// `Content-Length`, bytes.
    public var size: Int64
    /// `ETag` without quotes.
    public var eTag: String?
    /// `x-amz-checksum-sha256` (base64 of the SHA-256 of the bytes) when the object was stored with one and the
    /// request asked for it (`x-amz-checksum-mode: ENABLED`).
    public var checksumSHA256: String?
}

/// One key of a `ListObjectsV2` page.
public struct S3ListedObject: Sendable, Equatable {
    public var key: String
    /// `Size`, bytes.
    public var size: Int64
    /// `ETag` without quotes, or nil when the listing gave none. It changes when the object's bytes do (S3: "The
    /// ETag reflects changes only to the contents of an object, not its metadata"); it is an MD5 of the bytes only
    /// for a single unencrypted or SSE-S3 PUT
    /// ([Object](https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html)).
    public var eTag: String?
}

/// Amazon S3's REST API, as much as ordlog's sealed segments need: put (single or multipart, with a SHA-256
/// checksum), head, get and list.
///
/// Addressing: [path-style](https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html#path-style-access)
/// (`http://ENDPOINT/BUCKET/KEY`) when an endpoint URL is configured (`--endpoint-url`, `AWS_ENDPOINT_URL_S3`:
/// moto, MinIO), else virtual-hosted (`https://BUCKET.s3.REGION.amazonaws.com/KEY`). Every request is signed
/// with SigV4 (the shared ``SigV4Signer``), with the payload hash signed in `x-amz-content-sha256` and the path not
/// normalised ([S3 SigV4](https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html)).
/// Errors are S3's XML error body
/// ([ErrorResponses](https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)) decoded into
/// ``AWSServiceError`` (`NoSuchKey`, `NoSuchBucket`, `PreconditionFailed`, `BadDigest`, …); retries are the
/// ``AWSClient``'s.
public struct S3Client: Sendable {
    public let client: AWSClient
    /// Path-style addressing (`ENDPOINT/BUCKET/KEY`); else virtual-hosted.
    public let pathStyle: Bool

    public init(client: AWSClient, pathStyle: Bool) {
        self.client = client
        self.pathStyle = pathStyle
    }

    /// A client from a resolved configuration: path-style when an S3 endpoint is configured.
    public init(
        configuration: AWSConfiguration, transport: any HTTPTransport = CurlTransport.shared,
        retryPolicy: RetryPolicy = .standard, logger: Logger = Logger(label: "ordlog.aws.s3")
    ) {
        self.client = AWSClient(
            service: .s3, configuration: configuration, transport: transport, retryPolicy: retryPolicy,
            logger: logger)
        self.pathStyle = configuration.endpointOverrides[.s3] != nil
    }

    static let signing = SigV4Signer.Options(normalizePath: false, signPayloadHashHeader: true)

    func request(
        _ method: String, bucket: String, key: String? = nil, query: [(String, String)] = [],
        headers: [(name: String, value: String)] = [], body: Data = Data()
    ) -> AWSRequest {
        let base = client.endpoint.path.hasSuffix("/") ? String(client.endpoint.path.dropLast()) : client.endpoint.path
        let keyPath = key.map { "/" + $0 } ?? "/"
        return AWSRequest(
            method: method, host: pathStyle ? nil : "\(bucket).\(client.endpoint.host ?? "")",
            path: pathStyle ? base + "/" + bucket + (key.map { "/" + $0 } ?? "") : keyPath,
            query: query.map { SigV4Request.QueryItem($0.0, $0.1) }, headers: headers, body: body,
            signerOptions: Self.signing)
    }

    /// Base64 of the SHA-256 of `data`: the `x-amz-checksum-sha256` form.
    public static func checksumSHA256(_ data: Data) -> String { Data(SHA256.hash(data: data)).base64EncodedString() }

    /// Base64 of a SHA-256 given as lowercase hex (a manifest's `sha256`), or nil.
    public static func checksumSHA256(hex: String) -> String? {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        return Data(bytes).base64EncodedString()
    }

    /// [PutObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html) with
    /// `x-amz-checksum-sha256` (S3 rejects the upload with `BadDigest` if the bytes it received differ) and, when
    /// `ifNoneMatch`, `If-None-Match: *` (the put fails with `PreconditionFailed`, HTTP 412, when the key exists;
    /// a service that ignores the header overwrites: callers that must never overwrite ``headObject(bucket:key:)``
    /// first).
    /// - Returns: the `ETag` (without quotes).
    @discardableResult
    public func putObject(
        bucket: String, key: String, body: Data, contentType: String = "application/octet-stream",
        ifNoneMatch: Bool = true
    ) async throws -> String? {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", contentType), ("x-amz-checksum-sha256", Self.checksumSHA256(body)),
        ]
        if ifNoneMatch { headers.append(("If-None-Match", "*")) }
        let response = try await client.send(
            operation: "PutObject", request("PUT", bucket: bucket, key: key, headers: headers, body: body),
            timeout: 300)
        return response.header("ETag").map(Self.unquote)
    }

    /// [HeadObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html) with
    /// `x-amz-checksum-mode: ENABLED`; nil when there is no such key (HTTP 404).
    public func headObject(bucket: String, key: String) async throws -> S3ObjectInfo? {
        let response = try await client.send(
            operation: "HeadObject",
            request("HEAD", bucket: bucket, key: key, headers: [("x-amz-checksum-mode", "ENABLED")]),
            acceptStatus: [404])
        if response.status == 404 { return nil }
        return S3ObjectInfo(
            size: Int64(response.header("Content-Length") ?? "") ?? 0, eTag: response.header("ETag").map(Self.unquote),
            checksumSHA256: response.header("x-amz-checksum-sha256"))
    }

    /// [GetObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): the object's bytes.
    /// - Throws: ``AWSServiceError`` `NoSuchKey` when absent.
    public func getObject(bucket: String, key: String) async throws -> Data {
        try await client.send(operation: "GetObject", request("GET", bucket: bucket, key: key), timeout: 300).body
    }

    /// [ListObjectsV2](https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html), every page
    /// (`continuation-token` until `IsTruncated` is false): the keys under `prefix`, in S3's (UTF-8 binary) order,
    /// with each object's size and ETag.
    public func listObjects(bucket: String, prefix: String, pageSize: Int = 1000) async throws -> [S3ListedObject] {
        var out: [S3ListedObject] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(pageSize))]
            if let token { query.append(("continuation-token", token)) }
            let response = try await client.send(
                operation: "ListObjectsV2", request("GET", bucket: bucket, query: query))
            let root = try parse(response, "ListObjectsV2")
            for c in root.children("Contents") {
                guard let key = c.child("Key")?.text else { continue }
                out.append(
                    S3ListedObject(
                        key: key, size: Int64(c.child("Size")?.text ?? "") ?? 0,
                        eTag: c.child("ETag").map { Self.unquote($0.text) }))
            }
            let truncated = root.child("IsTruncated")?.text == "true"
            token = truncated ? root.child("NextContinuationToken")?.text : nil
            if truncated && (token ?? "").isEmpty {
                throw AWSResponseDecodingError(
                    service: "S3", operation: "ListObjectsV2", reason: "IsTruncated without NextContinuationToken",
                    bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
            }
        } while token != nil
        return out
    }

    // MARK: Multipart

    /// [CreateMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html)
    /// with the SHA-256 checksum algorithm; returns the upload id.
    public func createMultipartUpload(bucket: String, key: String) async throws -> String {
        let response = try await client.send(
            operation: "CreateMultipartUpload",
            request(
                "POST", bucket: bucket, key: key, query: [("uploads", "")],
                headers: [("Content-Type", "application/octet-stream"), ("x-amz-checksum-algorithm", "SHA256")]))
        guard let id = try parse(response, "CreateMultipartUpload").child("UploadId")?.text, !id.isEmpty else {
            throw AWSResponseDecodingError(
                service: "S3", operation: "CreateMultipartUpload", reason: "no UploadId",
                bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return id
    }

    /// A part uploaded with ``uploadPart(bucket:key:uploadId:partNumber:body:)``.
    public struct CompletedPart: Sendable, Equatable {
        public var partNumber: Int
        public var eTag: String
        public var checksumSHA256: String
    }

    /// [UploadPart](https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html) with the part's
    /// `x-amz-checksum-sha256`. Parts are 5 MiB or more except the last (S3's minimum).
    public func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, body: Data
    ) async throws -> CompletedPart {
        let checksum = Self.checksumSHA256(body)
        let response = try await client.send(
            operation: "UploadPart",
            request(
                "PUT", bucket: bucket, key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadId)],
                headers: [("x-amz-checksum-sha256", checksum)], body: body), timeout: 300)
        return CompletedPart(
            partNumber: partNumber, eTag: response.header("ETag").map(Self.unquote) ?? "", checksumSHA256: checksum)
    }

    /// The `CompleteMultipartUpload` request body for `parts`.
    public static func completeBody(_ parts: [CompletedPart]) -> Data {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for p in parts {
            xml += "<Part><ETag>\"\(p.eTag)\"</ETag><ChecksumSHA256>\(p.checksumSHA256)</ChecksumSHA256>"
            xml += "<PartNumber>\(p.partNumber)</PartNumber></Part>"
        }
        return Data((xml + "</CompleteMultipartUpload>").utf8)
    }

    /// [CompleteMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html).
    /// S3 may answer 200 with an `<Error>` body; that is thrown as an ``AWSServiceError``.
    public func completeMultipartUpload(
        bucket: String, key: String, uploadId: String, parts: [CompletedPart]
    ) async throws {
        let response = try await client.send(
            operation: "CompleteMultipartUpload",
            request(
                "POST", bucket: bucket, key: key, query: [("uploadId", uploadId)],
                headers: [("Content-Type", "application/xml")], body: Self.completeBody(parts)), timeout: 300)
        if let root = XMLElementNode.parse(response.body), root.name == "Error" {
            throw AWSServiceError.decode(
                service: "S3", operation: "CompleteMultipartUpload",
                response: HTTPResponse(status: 500, headers: response.headers, body: response.body))
        }
    }

    /// [DeleteObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html) (unversioned bucket:
    /// the object is gone; S3 answers 204 whether or not the key existed).
    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await client.send(
            operation: "DeleteObject", request("DELETE", bucket: bucket, key: key), acceptStatus: [404])
    }

    /// [DeleteObjects](https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html): up to 1,000 keys
    /// per request (more are sent 1,000 at a time, in order), quiet mode (only failures are answered), with the
    /// `Content-MD5` the operation requires. Keys that do not exist count as deleted.
    /// - Throws: ``AWSServiceError`` for a failed request, or for the first key S3 reports it could not delete.
    public func deleteObjects(bucket: String, keys: [String]) async throws {
        for start in stride(from: 0, to: keys.count, by: 1000) {
            var xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for key in keys[start..<min(start + 1000, keys.count)] {
                xml += "<Object><Key>" + Self.xmlEscaped(key) + "</Key></Object>"
            }
            xml += "</Delete>"
            let body = Data(xml.utf8)
            let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
            let response = try await client.send(
                operation: "DeleteObjects",
                request(
                    "POST", bucket: bucket, query: [("delete", "")],
                    headers: [("Content-MD5", md5), ("Content-Type", "application/xml")], body: body))
            let root = try parse(response, "DeleteObjects")
            if let e = root.children("Error").first {
                throw AWSServiceError(
                    service: "S3", operation: "DeleteObjects", code: e.child("Code")?.text ?? "Error",
                    message: (e.child("Key")?.text ?? "") + ": " + (e.child("Message")?.text ?? ""),
                    httpStatus: response.status)
            }
        }
    }

    static func xmlEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// [AbortMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html).
    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        _ = try await client.send(
            operation: "AbortMultipartUpload",
            request("DELETE", bucket: bucket, key: key, query: [("uploadId", uploadId)]))
    }

    /// Uploads `body`: one ``putObject(bucket:key:body:contentType:ifNoneMatch:)`` up to `multipartThreshold`
    /// bytes, else a multipart upload in parts of `partSize` bytes (aborted if any part fails).
    public func upload(
        bucket: String, key: String, body: Data, multipartThreshold: Int = 16 << 20, partSize: Int = 16 << 20
    ) async throws {
        guard body.count > multipartThreshold else {
            try await putObject(bucket: bucket, key: key, body: body)
            return
        }
        let uploadId = try await createMultipartUpload(bucket: bucket, key: key)
        do {
            var parts: [CompletedPart] = []
            var offset = 0
            while offset < body.count {
                let end = min(offset + max(partSize, 1), body.count)
                parts.append(
                    try await uploadPart(
                        bucket: bucket, key: key, uploadId: uploadId, partNumber: parts.count + 1,
                        body: body.subdata(in: offset..<end)))
                offset = end
            }
            try await completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
        } catch {
            try? await abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
            throw error
        }
    }

    /// [CreateBucket](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html) (for tests and
    /// setup; us-east-1 needs no location constraint).
    public func createBucket(_ bucket: String) async throws {
        var body = Data()
        if client.region != "us-east-1" {
            body = Data(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                    + client.region + "</LocationConstraint></CreateBucketConfiguration>").utf8)
        }
        _ = try await client.send(operation: "CreateBucket", request("PUT", bucket: bucket, body: body))
    }

    func parse(_ response: HTTPResponse, _ operation: String) throws -> XMLElementNode {
        guard let root = XMLElementNode.parse(response.body) else {
            throw AWSResponseDecodingError(
                service: "S3", operation: operation, reason: "not well-formed XML",
                bodyExcerpt: String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return root
    }

    static func unquote(_ s: String) -> String { s.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
}
