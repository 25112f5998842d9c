import Foundation
import OrdlogAWS

// What `consume --durability s3` needs of the archive: increments put without a local file, the chain head of one
// consumer, and the increments a sealed segment makes redundant deleted.
extension SegmentArchive {
    /// Puts an increment: its segment, then its manifest (readers trust it from then on), each with
    /// `If-None-Match: *` and `x-amz-checksum-sha256`: 2 PUTs, no HEAD. A key that already holds the same bytes
    /// (a retry after a lost answer) counts as put.
    /// - Throws: ``SegmentError`` when a key holds other bytes; ``AWSServiceError``/``AWSTransportError``.
    public func put(_ increment: SegmentIncrement) async throws {
        let m = increment.manifest
        let manifestBytes = Data(m.json.utf8)
        for (key, data, sha) in [
            (location.key(m.name.description), Data(increment.bytes), m.sha256),
            (location.key(m.name.manifest), manifestBytes, sha256Hex(manifestBytes)),
        ] {
            do {
                try await s3.putObject(bucket: location.bucket, key: key, body: data)
            } catch let e as AWSServiceError where e == .preconditionFailed || e.httpStatus == 412 {
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
    public func deleteCovered(by sealed: SegmentManifest) async throws -> [SegmentName] {
        var deleted: [SegmentName] = []
        for name in try await listed(consumerFileId: sealed.consumerId)
        where name != sealed.name && name.firstSeq >= sealed.firstSeq && name.lastSeq <= sealed.lastSeq {
            try await s3.deleteObject(bucket: location.bucket, key: location.key(name.manifest))
            try await s3.deleteObject(bucket: location.bucket, key: location.key(name.description))
            deleted.append(name)
        }
        return deleted
    }
}
