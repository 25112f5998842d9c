import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

// The CLI's side of sealed segments as log sources (issue #11 part B): the `s3://` case of
// ``LogSources/resolve(_:fileManager:s3:)`` (download into the local cache) and opening a sealed segment as a copy.

enum SegmentSources {
    /// `--cache`, else `$ORDLOG_CACHE`, else `$XDG_CACHE_HOME/ordlog`, else `~/.cache/ordlog`.
    static func cacheDirectory(_ flag: String?) -> String {
        let env = ProcessInfo.processInfo.environment
        if let flag, !flag.isEmpty { return flag }
        if let c = env["ORDLOG_CACHE"], !c.isEmpty { return c }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/ordlog" }
        return NSHomeDirectory() + "/.cache/ordlog"
    }

    /// The s3:// case: lists `spec` (`s3://BUCKET/PREFIX`, or `s3://BUCKET/PREFIX/<consumerId>` for one consumer of
    /// an archive), downloads the trusted segments into the cache and returns every consumer's chain (oldest
    /// first). Untrusted objects are reported on stderr and left out; a consumer whose chain misses a segment is
    /// refused (exit 1).
    static func s3Segments(_ spec: String, cache: String) throws -> [URL] {
        guard var location = S3Location(parsing: spec) else {
            throw CLIError(code: .usage, message: "\(spec) is not s3://BUCKET[/PREFIX]")
        }
        var chains = try s3Chains(location, cache: cache)
        let parts = location.prefix.split(separator: "/")
        if chains.isEmpty, let last = parts.last, SegmentName.isValidConsumerId(String(last)) {
            location.prefix = parts.dropLast().joined(separator: "/")
            chains = try s3Chains(location, cache: cache).filter { $0.key == String(last) }
        }
        guard !chains.isEmpty else {
            throw CLIError(code: .storage, message: "no trusted sealed segments under \(spec)")
        }
        return chains.keys.sorted().flatMap { chains[$0]!.map { URL(fileURLWithPath: $0.path) } }
    }

    static func s3Chains(_ location: S3Location, cache: String) throws -> [String: [TrustedSegment]] {
        let config: AWSConfiguration
        do {
            config = try AWSConfiguration.resolve(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CLIError(code: .aws, message: "reading \(location): \(error)")
        }
        let archive = SegmentArchive(s3: S3Client(configuration: config), location: location)
        let downloaded: SegmentArchive.Downloaded
        do {
            downloaded = try blockingAwait { try await archive.download(into: cache + "/s3") }
        } catch let e as AWSServiceError {
            throw CLIError(code: .aws, message: "reading \(location): \(e)")
        } catch let e as AWSTransportError {
            // --endpoint-url belongs to the command's own AWS calls; log sources are resolved before them.
            throw CLIError(
                code: .aws,
                message: "reading \(location): \(e). An s3:// log source takes its endpoint, region and credentials "
                    + "from the environment and profile (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3, AWS_REGION, "
                    + "AWS_PROFILE), not from --endpoint-url")
        }
        for u in downloaded.untrusted { err("ordlog: not trusted: s3://\(location.bucket)/\(u.key): \(u.reason)") }
        var out: [String: [TrustedSegment]] = [:]
        for consumer in Set(downloaded.segments.map(\.manifest.consumerId)) {
            let (chain, missing) = Segments.chain(downloaded.segments, consumerId: consumer)
            if let missing { throw CLIError(code: .checkFailed, message: "\(location): \(missing)") }
            out[consumer] = chain
        }
        return out
    }

    /// A private copy of the sealed segment at `path`, after checking it against its manifest (exit 1 when it
    /// does not match): opening a log migrates it and switches it to WAL mode, which would change a sealed file's
    /// bytes. The copies are removed when the process exits.
    static func openableCopy(of path: String) throws -> String {
        guard let segment = Segments.trusted(path) else {
            throw CLIError(
                code: .checkFailed,
                message: "\(path) does not match its manifest (edited after sealing, or half-written)")
        }
        let copy = SegmentCopies.shared.directory + "/" + UUID().uuidString + ".ordlog"
        do {
            try FileManager.default.copyItem(atPath: segment.path, toPath: copy)
        } catch {
            throw CLIError(code: .storage, message: "cannot copy \(path) to read it: \(error)")
        }
        return copy
    }
}

/// Where this process keeps its copies of sealed segments (removed at exit).
final class SegmentCopies: Sendable {
    static let shared = SegmentCopies()
    let directory: String
    private init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ordlog-segments-\(getpid())-\(UUID().uuidString)"
        ).path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: SegmentCopies.shared.directory) }
    }
}

/// Waits for an async body from synchronous code (a command's `run()`), on a detached task.
final class BlockingResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }

func blockingAwait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}
