import Foundation
import OrdlogAWS
import OrdlogCore
import OrdlogTestSupport
import Testing

/// `SegmentArchive.download(into:)` against moto_server's S3: a cached segment is used only while the object in S3
/// is still the one it was downloaded from (issue 18, item 5).
@Suite(.serialized, .motoServer()) struct ArchiveCacheTests {
    /// Counts the requests sent through it (method and URL path), passing each on to curl.
    final class CountingTransport: HTTPTransport, @unchecked Sendable {
        private let lock = NSLock()
        private var sent: [(method: String, path: String)] = []

        func send(_ request: HTTPRequest) async throws -> HTTPResponse {
            lock.withLock { sent.append((request.method, request.url.path)) }
            return try await CurlTransport.shared.send(request)
        }

        /// GETs of segment objects (not manifests, not listings) since the last call.
        func takeSegmentGets() -> [String] {
            lock.withLock {
                defer { sent = [] }
                return sent.filter { $0.method == "GET" && $0.path.hasSuffix(".ordlog") }.map(\.path)
            }
        }
    }

    /// A bucket with two sealed segments of consumer c1 archived under `p/`, and an archive reading it through a
    /// counting transport.
    struct Archived {
        var archive: SegmentArchive
        var transport: CountingTransport
        var segments: [TrustedSegment]
        var cache: String
        func key(_ s: TrustedSegment) -> String { archive.location.key(s.manifest.name.description) }
        func key(manifestOf s: TrustedSegment) -> String { archive.location.key(s.manifest.name.manifest) }
    }

    static func archived(bucket: String) async throws -> Archived {
        let server = try MotoContext.current()
        var config = AWSEndToEndTests.config(server)
        config.endpointOverrides[.s3] = server.endpoint
        let transport = CountingTransport()
        let s3 = S3Client(configuration: config, transport: transport, retryPolicy: .noDelay())
        try await s3.createBucket(bucket)
        // Two segments, each of one identity record: the smallest logs Segments.seal seals.
        let dir = CLI.tempDir()
        let path = dir.appendingPathComponent("c1.db").path
        var segments: [TrustedSegment] = []
        for queue in ["q1", "q2"] {
            let log = try EventLog(path: path)
            try log.write {
                _ = try log.appendIdentity(
                    ConsumerIdentity(consumerId: "c1", ordlogVersion: "test", queue: queue), recordedAt: 0)
            }
            let sealed = try #require(try Segments.seal(log, ordlogVersion: "test", now: 1_767_261_600_000))
            segments.append(try #require(Segments.trusted(sealed.segmentPath)))
        }
        let archive = SegmentArchive(s3: s3, location: S3Location(bucket: bucket, prefix: "p"))
        #expect(try await archive.upload(segments).uploaded.count == 2)
        _ = transport.takeSegmentGets()
        return Archived(
            archive: archive, transport: transport, segments: segments,
            cache: dir.appendingPathComponent("cache").path)
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test func aWarmCacheIsUsedWithoutGettingTheSegmentsAgain() async throws {
        let a = try await Self.archived(bucket: "cache-warm")
        let cold = try await a.archive.download(into: a.cache)
        #expect(cold.untrusted.isEmpty)
        #expect(cold.segments.map(\.manifest) == a.segments.map(\.manifest))
        #expect(a.transport.takeSegmentGets().count == 2)
        // Beside each cached segment, what the listing said of its object.
        for (s, sealed) in zip(cold.segments, a.segments) {
            #expect(try Self.bytes(s.path) == Self.bytes(sealed.path))
            let sidecar = String(decoding: try Self.bytes(s.path + ".s3.json"), as: UTF8.self)
            #expect(sidecar.contains("\"eTag\":\""), "\(sidecar)")
            #expect(sidecar.contains("\"size\":\(s.manifest.bytes)"), "\(sidecar)")
        }

        let warm = try await a.archive.download(into: a.cache)
        #expect(warm.untrusted.isEmpty)
        #expect(warm.segments == cold.segments)
        #expect(a.transport.takeSegmentGets().isEmpty)
    }

    @Test func aCachedCopyWithoutItsSidecarIsFetchedAgain() async throws {
        let a = try await Self.archived(bucket: "cache-old")
        let cold = try await a.archive.download(into: a.cache)
        #expect(cold.segments.count == 2)
        _ = a.transport.takeSegmentGets()
        // As an older ordlog left it: the segment and its manifest, nothing said of the object in S3.
        unlink(cold.segments[0].path + ".s3.json")
        let warm = try await a.archive.download(into: a.cache)
        #expect(warm.segments == cold.segments)
        #expect(a.transport.takeSegmentGets() == ["/cache-old/" + a.key(a.segments[0])])
        #expect(FileManager.default.fileExists(atPath: cold.segments[0].path + ".s3.json"))
    }

    @Test func aSegmentReplacedInS3IsNotServedFromTheCache() async throws {
        let a = try await Self.archived(bucket: "cache-replaced")
        let cold = try await a.archive.download(into: a.cache)
        #expect(cold.segments.count == 2)
        // Other bytes of the same size at the first segment's key; its manifest left as it was.
        var forged = try Self.bytes(a.segments[0].path)
        forged[forged.count / 2] ^= 0xFF
        try await a.archive.s3.putObject(
            bucket: "cache-replaced", key: a.key(a.segments[0]), body: forged, ifNoneMatch: false)
        _ = a.transport.takeSegmentGets()

        let warm = try await a.archive.download(into: a.cache)
        #expect(warm.segments.map(\.manifest) == [a.segments[1].manifest])
        #expect(warm.untrusted.count == 1)
        #expect(warm.untrusted.first?.key == a.key(a.segments[0]))
        #expect(warm.untrusted.first?.reason.contains("do not match its manifest") == true)
        // The replaced object was fetched; the other was not.
        #expect(a.transport.takeSegmentGets() == ["/cache-replaced/" + a.key(a.segments[0])])
        // Nothing of the stale copy is left to be trusted.
        #expect(Segments.trusted(cold.segments[0].path) == nil)
        #expect(!FileManager.default.fileExists(atPath: cold.segments[0].path))
    }

    @Test func aSegmentAndManifestReplacedTogetherAreReadAnew() async throws {
        let a = try await Self.archived(bucket: "cache-rewritten")
        let cold = try await a.archive.download(into: a.cache)
        #expect(cold.segments.count == 2)
        // New bytes at the first segment's key, and a manifest of the same segment that matches them.
        var newBytes = try Self.bytes(a.segments[0].path)
        newBytes[newBytes.count / 2] ^= 0xFF
        var manifest = a.segments[0].manifest
        manifest.sha256 = Hex.encode(Array(newBytes).sha256ForTest)
        manifest.bytes = Int64(newBytes.count)
        try await a.archive.s3.putObject(
            bucket: "cache-rewritten", key: a.key(a.segments[0]), body: newBytes, ifNoneMatch: false)
        try await a.archive.s3.putObject(
            bucket: "cache-rewritten", key: a.key(manifestOf: a.segments[0]), body: Data(manifest.json.utf8),
            ifNoneMatch: false)

        let warm = try await a.archive.download(into: a.cache)
        #expect(warm.untrusted.isEmpty)
        #expect(warm.segments.map(\.manifest) == [manifest, a.segments[1].manifest])
        #expect(try Self.bytes(warm.segments[0].path) == newBytes)
    }
}

extension Array where Element == UInt8 {
    /// SHA-256 of the bytes, through S3Client's base64 checksum (the test target has no Crypto of its own).
    fileprivate var sha256ForTest: [UInt8] {
        Array(Data(base64Encoded: S3Client.checksumSHA256(Data(self)))!)
    }
}
