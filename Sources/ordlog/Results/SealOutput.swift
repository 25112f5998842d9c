import OrdlogCore

/// `seal --json` (documented in `ordlog seal --help`): `{"sealed":B,"segment":PATH|null,"manifest":{…}|null}`.
struct SealOutput: Encodable {
    var sealed: Bool
    var segment: String?
    var manifest: SegmentManifest?

    init(_ result: SealResult?) {
        (sealed, segment, manifest) = (result != nil, result?.segmentPath, result?.manifest)
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
