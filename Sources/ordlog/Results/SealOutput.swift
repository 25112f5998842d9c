import OrdlogCore

/// `seal --json` (documented in `ordlog seal --help`): `{"sealed":B,"segment":PATH|null,"manifest":{…}|null,
/// "removedLeftovers":[{"path","kind","pid","bytes"}…]}`.
struct SealOutput: Encodable {
    /// A file a killed seal had left, removed by this one.
    struct Leftover: Encodable {
        var path: String
        var kind: String
        var pid: Int32
        var bytes: Int64
    }

    var sealed: Bool
    var segment: String?
    var manifest: SegmentManifest?
    var removedLeftovers: [Leftover]

    init(_ result: SealResult?) {
        (sealed, segment, manifest) = (result != nil, result?.segmentPath, result?.manifest)
        removedLeftovers = (result?.removedLeftovers ?? []).map {
            Leftover(path: $0.path, kind: $0.kind.rawValue, pid: $0.pid, bytes: $0.bytes)
        }
    }
}

/// `archive --json` (documented in `ordlog archive --help`): the segment names uploaded and already there, the
/// segment files not trusted (not archived), and the S3 location.
struct ArchiveOutput: Encodable {
    struct Untrusted: Encodable {
        var path: String
        var reason: String
    }

    var uploaded: [String]
    var alreadyArchived: [String]
    var untrusted: [Untrusted]
    var to: String
}
