import Crypto
import Foundation
import OrdlogAWS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

func sha256Hex(_ data: Data) -> String { Hex.encode(SHA256.hash(data: data)) }

/// `s3://BUCKET/PREFIX`: where sealed segments are archived.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// Without leading or trailing `/`; may be empty.
    public var prefix: String

    /// Parses `s3://BUCKET[/PREFIX]`, or nil.
    public init?(parsing text: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        // Bucket names: 3-63 of lowercase letters, digits, `.` and `-`.
        guard (3...63).contains(bucket.count),
            bucket.utf8.allSatisfy({
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D
            })
        else { return nil }
        self.bucket = String(bucket)
        self.prefix = String(rest.dropFirst(bucket.count)).split(separator: "/").joined(separator: "/")
    }

    public init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix
    }

    /// The key of a relative segment or manifest name.
    public func key(_ relative: String) -> String { prefix.isEmpty ? relative : prefix + "/" + relative }

    public var description: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/" + prefix) }
}

/// What ``SegmentArchive/upload(_:)`` did.
public struct ArchiveSummary: Sendable, Equatable {
    /// Segments (with their manifests) uploaded by this run.
    public var uploaded: [SegmentName] = []
    /// Segments already in S3 with the same checksum: nothing was sent.
    public var alreadyArchived: [SegmentName] = []
}

/// Sealed segments in S3: upload (`ordlog archive`, `consume --archive-every`) and download for reading.
///
/// Objects are `PREFIX/<consumerId>/<first>-<last>.ordlog` and, uploaded after it, the same key +
/// `.manifest.json` (see ``SegmentManifest``). Uploading is idempotent and never overwrites: an object already at
/// a key with the same SHA-256 is a no-op, one with other bytes is an error. A reader trusts a segment only when its
/// manifest exists and the downloaded bytes match it, so an interrupted archive (a segment without a manifest, a
/// partial multipart upload, which S3 never shows as an object) leaves nothing trusted.
public struct SegmentArchive: Sendable {
    public let s3: S3Client
    public let location: S3Location
    /// Files above this size are sent as a multipart upload…
    public var multipartThreshold: Int = 16 << 20
    /// …in parts of this size (S3's minimum is 5 MiB, except the last part).
    public var partSize: Int = 16 << 20

    public init(s3: S3Client, location: S3Location) {
        self.s3 = s3
        self.location = location
    }

    /// Uploads each segment, then its manifest, skipping those already archived with the same checksum.
    /// - Throws: ``SegmentError`` when S3 holds other bytes at a segment's key, or an upload's checksum or size does
    ///   not match after upload; ``AWSServiceError``/``AWSTransportError`` for failed calls.
    public func upload(_ segments: [TrustedSegment]) async throws -> ArchiveSummary {
        var summary = ArchiveSummary()
        for segment in segments {
            let m = segment.manifest
            // The manifest as written at the seal, byte for byte.
            guard let manifestBytes = FileManager.default.contents(atPath: segment.path + ".manifest.json") else {
                throw SegmentError("cannot read the manifest of \(segment.path)")
            }
            let segKey = location.key(m.name.description)
            let manKey = location.key(m.name.manifest)
            let segmentSent: Bool
            do {
                segmentSent = try await put(key: segKey, fileAt: segment.path, sha256: m.sha256, bytes: m.bytes)
            } catch let e as SegmentError {
                // The same records under the same name in another file (an increment of `consume --durability
                // s3` that happened to end where the seal did): archived already.
                guard try await holdsSameRecords(m) else { throw e }
                summary.alreadyArchived.append(m.name)
                continue
            }
            let manifestSent = try await put(
                key: manKey, data: manifestBytes, sha256: sha256Hex(manifestBytes),
                bytes: Int64(manifestBytes.count))
            if segmentSent || manifestSent {
                summary.uploaded.append(m.name)
            } else {
                summary.alreadyArchived.append(m.name)
            }
        }
        return summary
    }

    /// Puts a file unless the key already holds the same bytes. Returns whether anything was sent.
    func put(key: String, fileAt path: String, sha256: String, bytes: Int64) async throws -> Bool {
        if try await alreadyThere(key: key, sha256: sha256, bytes: bytes) { return false }
        guard let data = FileManager.default.contents(atPath: path) else { throw SegmentError("cannot read \(path)") }
        return try await put(key: key, data: data, sha256: sha256, bytes: bytes, checked: true)
    }

    func put(key: String, data: Data, sha256: String, bytes: Int64, checked: Bool = false) async throws -> Bool {
        if !checked, try await alreadyThere(key: key, sha256: sha256, bytes: bytes) { return false }
        guard sha256Hex(data) == sha256, Int64(data.count) == bytes else {
            throw SegmentError(
                "\(key): the local file changed since it was sealed (checksum differs from its manifest)")
        }
        do {
            try await s3.upload(
                bucket: location.bucket, key: key, body: data, multipartThreshold: multipartThreshold,
                partSize: partSize)
        } catch let e as AWSServiceError where e == .preconditionFailed || e.httpStatus == 412 {
            // Someone else put it first (If-None-Match: *): fine if it is the same bytes.
            if try await alreadyThere(key: key, sha256: sha256, bytes: bytes) { return false }
            throw e
        }
        // The single PUT and each part carried x-amz-checksum-sha256 (S3 refuses a mismatch with BadDigest); check
        // what is stored now.
        guard let info = try await s3.headObject(bucket: location.bucket, key: key), info.size == bytes else {
            throw SegmentError("\(location.description): \(key) is not stored with \(bytes) bytes after its upload")
        }
        if data.count <= multipartThreshold, let stored = info.checksumSHA256,
            stored != S3Client.checksumSHA256(hex: sha256)
        {
            throw SegmentError("\(location.description): \(key) is stored with checksum \(stored), not the file's")
        }
        return true
    }

    /// True when `key` holds exactly these bytes; false when absent.
    /// - Throws: ``SegmentError`` when it holds other bytes (never overwritten).
    func alreadyThere(key: String, sha256: String, bytes: Int64) async throws -> Bool {
        guard let info = try await s3.headObject(bucket: location.bucket, key: key) else { return false }
        if info.size == bytes, let stored = info.checksumSHA256, stored == S3Client.checksumSHA256(hex: sha256) {
            return true
        }
        if info.size == bytes {
            // No whole-object checksum (a multipart object's is per part): compare the bytes.
            let data = try await s3.getObject(bucket: location.bucket, key: key)
            if sha256Hex(data) == sha256 { return true }
        }
        throw SegmentError(
            "\(location.description): \(key) already exists with other content (\(info.size) bytes); a sealed "
                + "segment is never overwritten. Archive to another prefix, or find out who wrote it")
    }

    /// What ``download(into:)`` found.
    public struct Downloaded: Sendable {
        /// Segments whose bytes matched their manifests, in the local cache.
        public var segments: [TrustedSegment]
        /// Keys not trusted, with why (no manifest, checksum or size differs, manifest unreadable).
        public var untrusted: [(key: String, reason: String)]
    }

    /// Lists the prefix, downloads every manifest and its segment into `cache` (`cache/<bucket>/<prefix>/…`),
    /// keeping only segments whose bytes match their manifests (SHA-256 and size).
    ///
    /// **The cache.** An archive is checked where it lies: a segment already in the cache is used only while the
    /// object in S3 is still the one it was downloaded from. Beside each downloaded segment `<local>` is written,
    /// last, `<local>.s3.json` ({"key", "eTag", "size"}: what the listing said of the object when it was fetched).
    /// A cached segment is reused only when the listing's ETag and size (bytes) of its key equal the recorded ones
    /// *and* the cached file still matches the manifest now in S3 (which is fetched on every run). Otherwise the
    /// cached copy, its manifest and sidecar are removed, and the segment is downloaded and checked as a new one:
    /// so an object replaced in S3 that no longer matches its manifest is reported untrusted, never served from the
    /// cache. That includes a copy without a sidecar (cached by an older ordlog, or a download interrupted before
    /// it was written): it was never checked against S3, and is fetched again once.
    ///
    /// The ETag comes from the
    /// [ListObjectsV2](https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html) listing the download
    /// starts with, not from a [HeadObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html)
    /// per segment: a warm read costs one list and one GET per manifest, and no request per segment. S3 says the
    /// ETag "reflects changes only to the contents of an object"
    /// ([Object](https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html)): it is the MD5 of the bytes for
    /// a single PUT (unencrypted or SSE-S3), the MD5 of the parts' MD5s with `-N` for a multipart upload, an opaque
    /// value under SSE-KMS or SSE-C; other bytes with the same ETag and size would need an MD5 second preimage. The
    /// listing does not carry the object's `x-amz-checksum-sha256` (a HEAD does), so none is recorded; the SHA-256
    /// that makes a segment trusted is its manifest's, checked on every download. The ETag recorded is the
    /// listing's, read before the GET: if the object changes in between, the next run sees another ETag and fetches
    /// it again (never the other way round).
    public func download(into cache: String) async throws -> Downloaded {
        let listPrefix = location.prefix.isEmpty ? "" : location.prefix + "/"
        let objects = try await s3.listObjects(bucket: location.bucket, prefix: listPrefix)
        let listed = Dictionary(objects.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let root = cache + "/" + location.bucket + (location.prefix.isEmpty ? "" : "/" + location.prefix)
        var result = Downloaded(segments: [], untrusted: [])
        for object in objects {
            let relative = String(object.key.dropFirst(listPrefix.count))
            guard let name = SegmentName(parsing: relative) else { continue }
            if relative.hasSuffix(".ordlog") {
                if listed[object.key + ".manifest.json"] == nil {
                    result.untrusted.append((object.key, "no manifest (an interrupted archive?)"))
                }
                continue
            }
            guard relative == name.manifest else { continue }
            let segKey = location.key(name.description)
            guard let segObject = listed[segKey] else {
                result.untrusted.append((object.key, "a manifest without its segment"))
                continue
            }
            let manifestData = try await s3.getObject(bucket: location.bucket, key: object.key)
            guard let manifest = SegmentManifest(json: Array(manifestData)), manifest.name == name else {
                result.untrusted.append((object.key, "not a manifest of this segment"))
                continue
            }
            let local = root + "/" + name.description
            try FileManager.default.createDirectory(
                atPath: (local as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let inS3 = CachedObject(key: segKey, eTag: segObject.eTag ?? "", size: segObject.size)
            if !inS3.eTag.isEmpty, CachedObject(sidecarOf: local) == inS3, let t = Segments.trusted(local),
                t.manifest == manifest
            {
                result.segments.append(t)
                continue
            }
            // Not known to be what S3 holds now: nothing of the old copy stays trusted, whatever the GET brings.
            unlink(local + ".manifest.json")
            unlink(CachedObject.sidecar(of: local))
            unlink(local)
            let data = try await s3.getObject(bucket: location.bucket, key: segKey)
            guard Int64(data.count) == manifest.bytes, sha256Hex(data) == manifest.sha256
            else {
                result.untrusted.append((segKey, "its bytes do not match its manifest (sha256 or size)"))
                continue
            }
            try Segments.writeAtomically(Array(data), to: local)
            try Segments.writeAtomically(Array(manifestData), to: local + ".manifest.json")
            try Segments.writeAtomically(Array(inS3.json.utf8), to: CachedObject.sidecar(of: local))
            result.segments.append(TrustedSegment(path: local, manifest: manifest))
        }
        return result
    }

    /// What the listing said of a segment's object when it was downloaded: `<local>.s3.json` beside the cached copy.
    struct CachedObject: Equatable {
        var key: String
        /// Without quotes; empty when the listing gave none (then the copy is never reused).
        var eTag: String
        /// Bytes.
        var size: Int64

        static func sidecar(of local: String) -> String { local + ".s3.json" }

        init(key: String, eTag: String, size: Int64) {
            self.key = key
            self.eTag = eTag
            self.size = size
        }

        /// The sidecar of `local`, or nil when there is none or it does not parse.
        init?(sidecarOf local: String) {
            guard let data = FileManager.default.contents(atPath: Self.sidecar(of: local)),
                let o = (try? JSONParser.parse(Array(data)))?.objectValue,
                let key = o["key"]?.stringValue, let eTag = o["eTag"]?.stringValue,
                let size = SegmentManifest.int(o["size"])
            else { return nil }
            self.init(key: key, eTag: eTag, size: size)
        }

        var json: String {
            JSONWriter.string(
                .object(
                    JSONObject([
                        ("key", .string(key)), ("eTag", .string(eTag)), ("size", .number(String(size))),
                    ]))) + "\n"
        }
    }
}
