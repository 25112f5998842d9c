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
            let segmentSent = try await put(
                key: segKey, fileAt: segment.path, sha256: m.sha256, bytes: m.bytes)
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
        } catch let e as AWSServiceError where e.code == "PreconditionFailed" || e.httpStatus == 412 {
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

    /// Lists the prefix, downloads every manifest and its segment into `cache` (`cache/<bucket>/<prefix>/…`; files
    /// already there and matching are not fetched again), keeping only segments that match their manifests.
    public func download(into cache: String) async throws -> Downloaded {
        let listPrefix = location.prefix.isEmpty ? "" : location.prefix + "/"
        let objects = try await s3.listObjects(bucket: location.bucket, prefix: listPrefix)
        let keys = Set(objects.map(\.key))
        let root = cache + "/" + location.bucket + (location.prefix.isEmpty ? "" : "/" + location.prefix)
        var result = Downloaded(segments: [], untrusted: [])
        for object in objects {
            let relative = String(object.key.dropFirst(listPrefix.count))
            guard let name = SegmentName(parsing: relative) else { continue }
            if relative.hasSuffix(".ordlog") {
                if !keys.contains(object.key + ".manifest.json") {
                    result.untrusted.append((object.key, "no manifest (an interrupted archive?)"))
                }
                continue
            }
            guard relative == name.manifest else { continue }
            let segKey = location.key(name.description)
            guard keys.contains(segKey) else {
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
            if let t = Segments.trusted(local), t.manifest == manifest {
                result.segments.append(t)
                continue
            }
            let data = try await s3.getObject(bucket: location.bucket, key: segKey)
            guard Int64(data.count) == manifest.bytes, sha256Hex(data) == manifest.sha256
            else {
                result.untrusted.append((segKey, "its bytes do not match its manifest (sha256 or size)"))
                continue
            }
            unlink(local + ".manifest.json")
            try Segments.writeAtomically(Array(data), to: local)
            try Segments.writeAtomically(Array(manifestData), to: local + ".manifest.json")
            result.segments.append(TrustedSegment(path: local, manifest: manifest))
        }
        return result
    }
}
