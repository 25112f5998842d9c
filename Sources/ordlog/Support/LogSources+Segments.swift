import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

// Source resolution for sealed segments (issue #11 part B), kept apart from `--db` parsing: the two branches a
// multi-log `LogSources.resolve` calls. Until merged reading of several logs exists, a reading command reads one
// consumer's whole chain as one assembled file (``Segments/assemble(segments:live:into:)``).

enum SegmentSources {
    /// `--cache`, else `$ORDLOG_CACHE`, else `$XDG_CACHE_HOME/ordlog`, else `~/.cache/ordlog`.
    static func cacheDirectory(_ flag: String?) -> String {
        let env = ProcessInfo.processInfo.environment
        if let flag, !flag.isEmpty { return flag }
        if let c = env["ORDLOG_CACHE"], !c.isEmpty { return c }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/ordlog" }
        return NSHomeDirectory() + "/.cache/ordlog"
    }

    /// The local branch: the sealed segments the live log at `path` continues (oldest first), empty if none.
    static func localSegments(forLog path: String) throws -> [TrustedSegment] {
        do { return try Segments.localChain(forLog: path) } catch let e as SegmentError {
            throw CLIError(code: .checkFailed, message: "\(e)")
        }
    }

    /// The s3:// branch: lists `location`, downloads trusted segments into the cache and returns each consumer's
    /// chain (oldest first), by consumer id. Untrusted objects are reported on stderr and left out.
    static func s3Segments(_ location: S3Location, cache: String) throws -> [String: [TrustedSegment]] {
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
            throw CLIError(code: .aws, message: "reading \(location): \(e)")
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

    /// One file holding `segments` then `live`, under the cache (rebuilt on every read).
    static func assembled(_ segments: [TrustedSegment], live: String?, cache: String, name: String) throws -> String {
        let dir = cache + "/assembled"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        let path = dir + "/" + safe + ".ordlog"
        do { try Segments.assemble(segments: segments, live: live, into: path) } catch let e as SegmentError {
            throw CLIError(code: .checkFailed, message: "\(e)")
        }
        return path
    }
}

extension GlobalOptions {
    /// The log a reading command reads: `--db` itself; or, when `--db` is `s3://BUCKET/PREFIX` or a live log that
    /// continues sealed local segments, one assembled file with the whole chain of its consumer.
    /// - Throws: ``CLIError`` (exit 1 when a segment is missing or does not match its manifest, 5 for S3, 70 storage).
    func openReadLog() throws -> EventLog {
        let cache = SegmentSources.cacheDirectory(self.cache)
        if var location = S3Location(parsing: dbPath) {
            var chains = try SegmentSources.s3Segments(location, cache: cache)
            // s3://BUCKET/PREFIX/<consumerId>: one consumer of an archive.
            let parts = location.prefix.split(separator: "/")
            if chains.isEmpty, let last = parts.last, SegmentName.isValidConsumerId(String(last)) {
                location.prefix = parts.dropLast().joined(separator: "/")
                chains = try SegmentSources.s3Segments(location, cache: cache).filter { $0.key == String(last) }
            }
            guard chains.count == 1, let (consumer, chain) = chains.first else {
                throw CLIError(
                    code: chains.isEmpty ? .storage : .usage,
                    message: chains.isEmpty
                        ? "no trusted sealed segments under \(location)"
                        : "\(location) holds the logs of \(chains.count) consumers (\(chains.keys.sorted().joined(separator: ", "))); "
                            + "give one consumer's prefix, e.g. \(location)/\(chains.keys.sorted()[0])")
            }
            let path = try SegmentSources.assembled(
                chain, live: nil, cache: cache, name: "s3-\(location.bucket)-\(location.prefix)-\(consumer)")
            return try EventLog(path: path, logger: makeLogger("ordlog.eventlog"))
        }
        if FileManager.default.fileExists(atPath: dbPath) {
            let segments = try SegmentSources.localSegments(forLog: dbPath)
            if !segments.isEmpty {
                _ = try openLog()  // the usual checks and messages for the live file
                let absolute = URL(fileURLWithPath: dbPath).standardizedFileURL.path
                let path = try SegmentSources.assembled(segments, live: dbPath, cache: cache, name: "local-\(absolute)")
                return try EventLog(path: path, logger: makeLogger("ordlog.eventlog"))
            }
        }
        return try openLog()
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
