import Foundation
import OrdlogAWS

// What `consume --durability s3` needs of the archive: increments put without a local file, the chain head of one
// consumer, and the increments a sealed segment makes redundant deleted.
extension SegmentArchive {
    /// Puts an increment: its segment, then its manifest (readers trust it from then on), each with
    /// `If-None-Match: *` and `x-amz-checksum-sha256`: 2 PUTs, no HEAD. A key that already holds the same bytes
    /// (a retry after a lost answer) counts as put. A segment object without a manifest at the name is what an
    /// upload killed between its two PUTs left: never trusted by a reader, it is replaced.
    /// - Throws: ``SegmentError`` when a key holds other bytes that a manifest vouches for;
    ///   ``AWSServiceError``/``AWSTransportError``.
    public func put(_ increment: SegmentIncrement) async throws {
        let m = increment.manifest
        let manifestBytes = Data(m.json.utf8)
        for (key, data, sha, isSegment) in [
            (location.key(m.name.description), Data(increment.bytes), m.sha256, true),
            (location.key(m.name.manifest), manifestBytes, sha256Hex(manifestBytes), false),
        ] {
            do {
                try await s3.putObject(bucket: location.bucket, key: key, body: data)
            } catch let e as AWSServiceError where e == .preconditionFailed || e.httpStatus == 412 {
                if isSegment, try await manifest(m.name) == nil {
                    try await s3.putObject(bucket: location.bucket, key: key, body: data, ifNoneMatch: false)
                    continue
                }
                guard try await alreadyThere(key: key, sha256: sha, bytes: Int64(data.count)) else { throw e }
            }
        }
    }

    /// The manifests of `consumerFileId`'s segments and increments in S3, by name (listed, not fetched).
    public func listed(consumerFileId: String) async throws -> [SegmentName] {
        let prefix = location.key(consumerFileId) + "/"
        let objects = try await s3.listObjects(bucket: location.bucket, prefix: prefix)
        let root = location.prefix.isEmpty ? "" : location.prefix + "/"
        return objects.compactMap { o in
            let relative = String(o.key.dropFirst(root.count))
            guard relative.hasSuffix(".manifest.json"), let name = SegmentName(parsing: relative) else { return nil }
            return name
        }
    }

    /// The manifest of `name` in S3, or nil when absent or not a manifest of it.
    public func manifest(_ name: SegmentName) async throws -> SegmentManifest? {
        guard try await s3.headObject(bucket: location.bucket, key: location.key(name.manifest)) != nil else {
            return nil
        }
        let data = try await s3.getObject(bucket: location.bucket, key: location.key(name.manifest))
        guard let m = SegmentManifest(json: Array(data)), m.name == name else { return nil }
        return m
    }

    /// Whether S3 holds, under `m`'s name, a manifest of the same records: the same range chained from the same
    /// hash to the same head hash (the chain commits to every record between).
    func holdsSameRecords(_ m: SegmentManifest) async throws -> Bool {
        guard let there = try await manifest(m.name) else { return false }
        return there.prevHash == m.prevHash && there.headHash == m.headHash
    }

    /// Deletes the increments of `sealed`'s consumer that `sealed` covers (a range inside its own, another name):
    /// each manifest first (readers stop trusting it), then its segment. Call only once `sealed` is in S3.
    /// - Returns: the names deleted.
    /// Segment objects without a manifest that start at or before its last seq (left by an upload killed between
    /// its two PUTs: never trusted) go too.
    public func deleteCovered(by sealed: SegmentManifest) async throws -> [SegmentName] {
        let prefix = location.key(sealed.consumerId) + "/"
        let root = location.prefix.isEmpty ? "" : location.prefix + "/"
        let keys = Set(try await s3.listObjects(bucket: location.bucket, prefix: prefix).map(\.key))
        var deleted: [SegmentName] = []
        for key in keys.sorted() where key.hasSuffix(".ordlog") {
            guard let name = SegmentName(parsing: String(key.dropFirst(root.count))), name != sealed.name else {
                continue
            }
            let covered = name.firstSeq >= sealed.firstSeq && name.lastSeq <= sealed.lastSeq
            // Without a manifest it is what a killed upload left (this consumer's own uploads are not under way
            // while it compacts): never trusted, whatever range it names, up to the sealed head.
            let orphan = !keys.contains(location.key(name.manifest)) && name.firstSeq <= sealed.lastSeq
            if covered || orphan { deleted.append(name) }
        }
        // Every manifest first (readers stop trusting those increments), then the segments: a batch of 1,000 keys
        // a request (1,800 increments at 1 s and 15 minutes: 4 requests, not 3,600).
        let manifests = deleted.map { location.key($0.manifest) }.filter(keys.contains)
        try await s3.deleteObjects(bucket: location.bucket, keys: manifests)
        try await s3.deleteObjects(bucket: location.bucket, keys: deleted.map { location.key($0.description) })
        return deleted
    }
}
