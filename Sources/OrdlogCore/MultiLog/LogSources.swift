import Foundation
import OrdlogAWS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A log source that cannot be resolved: names the source and why.
public struct LogSourceError: Error, CustomStringConvertible, Equatable {
    /// What kind of failure, for the exit code a command gives it.
    public enum Kind: Sendable, Equatable {
        /// A path, folder or glob names no log file.
        case notFound
        /// A path names no file.
        case missing
        /// A path names a file SQLite cannot open (not a database, no permission); the message says which.
        case unreadable
        /// A path names a file that is not an event log (a SQLite file without a `receives` table: a projection
        /// written with `--into`, say), which a reader must not migrate into an empty log.
        case notALog
        /// The source is there but its chain cannot be trusted (a sealed segment it continues is missing or no
        /// longer matches its manifest): a failed check rather than a missing file.
        case brokenChain
        /// Listing or downloading an `s3://` source failed (an AWS error or the network).
        case aws
        /// The source is not written as a source can be (`s3://` without a bucket, say).
        case usage
    }
    public var source: String
    public var message: String
    public var kind: Kind
    public var description: String { "\(source): \(message)" }

    public init(source: String, message: String, kind: Kind = .notFound) {
        self.source = source
        self.message = message
        self.kind = kind
    }
}

/// Where read commands find their logs: the one place that turns `--db` values into log files.
public enum LogSources {
    /// File name endings taken from a folder (`--db DIR`).
    public static let logExtensions: Set<String> = ["db", "sqlite", "sqlite3", "ordlog"]

    /// Resolves source specs (repeated `--db`) into log files, in the order given, each path once.
    ///
    /// - a path to a file: that file (which need not be a log yet: opening it says so);
    /// - a folder: its files ending in `.db`, `.sqlite`, `.sqlite3` or `.ordlog`, sorted by name (not recursive;
    ///   SQLite's `-wal`/`-shm` side files are not logs);
    /// - a glob (`*`, `?`, `[`): the matching files, sorted by name;
    /// - `s3://BUCKET/PREFIX` (or `s3://BUCKET/PREFIX/<consumerId>` for one consumer of an archive): the sealed
    ///   segments archived there whose bytes match their manifests (``SegmentArchive/download(into:)``),
    ///   downloaded into `cache`, every consumer's chain oldest first. Endpoint, region and credentials come from
    ///   `environment` and the profile (``AWSConfiguration/resolve(environment:overrides:transport:instanceMetadataRegion:)``).
    ///
    /// A log that was sealed (`ordlog seal`) and whose segments folder (``Segments/defaultDirectory(forLog:)``) is
    /// there comes with its sealed segments (``Segments/localChain(forLog:directory:)``), oldest first, before it:
    /// reading the live file reads its consumer's whole chain. ``LogSet`` checks the links between them.
    /// - Parameters:
    ///   - cache: where `s3://` segments are kept (`<cache>/s3/<bucket>/<prefix>/…`); nil:
    ///     ``defaultCacheDirectory(environment:)``.
    ///   - note: told of each object of an `s3://` source that is not trusted (it is left out).
    ///   - brokenChain: when given, told of each chain that cannot be followed (a sealed segment missing or not
    ///     matching its manifest) instead of throwing; what can be read of it is still returned, so that a reader
    ///     can report every problem (``LogSet`` makes them failures of the set).
    /// - Throws: ``LogSourceError``: ``LogSourceError/Kind/notFound`` when a folder has no log file, a glob
    ///   matches nothing or nothing trusted is under an `s3://` prefix; ``LogSourceError/Kind/brokenChain`` when a
    ///   sealed segment a log continues is missing or does not match its manifest; ``LogSourceError/Kind/aws``
    ///   when S3 cannot be read; ``LogSourceError/Kind/usage`` for an `s3://` spec that is not one.
    public static func resolve(
        _ specs: [String], cache: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, fileManager: FileManager = .default,
        note: (String) -> Void = { _ in }, brokenChain: ((LogSourceError) -> Void)? = nil
    ) throws -> [URL] {
        let cache = cache ?? defaultCacheDirectory(environment: environment)
        var out: [URL] = []
        var seen = Set<String>()
        func addOne(_ url: URL) {
            let key = url.standardizedFileURL.path
            if seen.insert(key).inserted { out.append(url) }
        }
        func add(_ url: URL) throws {
            let path = url.path
            if isDirectory(Segments.defaultDirectory(forLog: path), fileManager) {
                do {
                    for segment in try Segments.localChain(forLog: path) { addOne(URL(fileURLWithPath: segment.path)) }
                } catch let e as SegmentError {
                    let error = LogSourceError(source: path, message: e.message, kind: .brokenChain)
                    guard let brokenChain else { throw error }
                    brokenChain(error)
                }
            }
            addOne(url)
        }
        for spec in specs {
            if spec.hasPrefix("s3://") {
                try s3Segments(spec, cache: cache, environment: environment, note: note, brokenChain: brokenChain)
                    .forEach(addOne)
                continue
            }
            if spec.contains(where: { "*?[".contains($0) }) {
                let matches = glob(spec).filter { !isDirectory($0, fileManager) }
                guard !matches.isEmpty else { throw LogSourceError(
                        source: spec,
                        message: "no file matches (check the pattern and its folder; quote it, --db 'logs/*.db', so "
                            + "ordlog expands it rather than the shell)") }
                try matches.forEach { try add(URL(fileURLWithPath: $0)) }
                continue
            }
            if isDirectory(spec, fileManager) {
                let names = try fileManager.contentsOfDirectory(atPath: spec)
                    .filter { logExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
                    .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                    .map { URL(fileURLWithPath: spec).appendingPathComponent($0) }
                    .filter { !isDirectory($0.path, fileManager) }
                guard !names.isEmpty else {
                    throw LogSourceError(
                        source: spec,
                        message: "the folder has no log file (*.\(logExtensions.sorted().joined(separator: ", *.")))")
                }
                try names.forEach(add)
                continue
            }
            try add(URL(fileURLWithPath: spec))
        }
        return out
    }

    /// The `s3://` case of ``resolve(_:cache:environment:fileManager:note:)``.
    static func s3Segments(
        _ spec: String, cache: String, environment: [String: String], note: (String) -> Void,
        brokenChain: ((LogSourceError) -> Void)?
    ) throws -> [URL] {
        guard var location = S3Location(parsing: spec) else {
            throw LogSourceError(source: spec, message: "not s3://BUCKET[/PREFIX]", kind: .usage)
        }
        var chains = try s3Chains(
            location, cache: cache, environment: environment, note: note, brokenChain: brokenChain)
        let parts = location.prefix.split(separator: "/")
        if chains.isEmpty, let last = parts.last, SegmentName.isValidConsumerId(String(last)) {
            location.prefix = parts.dropLast().joined(separator: "/")
            chains = try s3Chains(
                location, cache: cache, environment: environment, note: note, brokenChain: brokenChain
            ).filter { $0.key == String(last) }
        }
        guard !chains.isEmpty else {
            throw LogSourceError(source: spec, message: "no trusted sealed segments there")
        }
        return chains.keys.sorted().flatMap { chains[$0]!.map { URL(fileURLWithPath: $0.path) } }
    }

    static func s3Chains(
        _ location: S3Location, cache: String, environment: [String: String], note: (String) -> Void,
        brokenChain: ((LogSourceError) -> Void)?
    ) throws -> [String: [TrustedSegment]] {
        let source = location.description
        let config: AWSConfiguration
        do {
            config = try AWSConfiguration.resolve(environment: environment)
        } catch {
            throw LogSourceError(source: source, message: "\(error)", kind: .aws)
        }
        let archive = SegmentArchive(s3: S3Client(configuration: config), location: location)
        let downloaded: SegmentArchive.Downloaded
        do {
            downloaded = try Blocking.wait { try await archive.download(into: cache + "/s3") }
        } catch let e as AWSServiceError {
            throw LogSourceError(source: source, message: "\(e)", kind: .aws)
        } catch let e as AWSTransportError {
            // A command's --endpoint-url belongs to its own AWS calls; log sources are resolved before them.
            throw LogSourceError(
                source: source,
                message: "\(e). An s3:// log source takes its endpoint, region and credentials from the environment "
                    + "and profile (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_PROFILE), not from "
                    + "--endpoint-url",
                kind: .aws)
        }
        for u in downloaded.untrusted { note("not trusted: s3://\(location.bucket)/\(u.key): \(u.reason)") }
        var out: [String: [TrustedSegment]] = [:]
        for consumer in Set(downloaded.segments.map(\.manifest.consumerId)) {
            let (chain, missing) = Segments.chain(downloaded.segments, consumerId: consumer)
            if let missing {
                let error = LogSourceError(source: source, message: missing, kind: .brokenChain)
                guard let brokenChain else { throw error }
                brokenChain(error)
            }
            out[consumer] = chain
        }
        return out
    }

    /// Refuses a file a reader cannot take as an event log: a missing file (``LogSourceError/Kind/missing``) or a
    /// SQLite file without a `receives` table (``LogSourceError/Kind/notALog``). A file that cannot be probed is
    /// let through, for the open to say why.
    public static func checkIsLog(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LogSourceError(source: path, message: "no such file", kind: .missing)
        }
        if let probe = try? SQLiteConnection(path: path, readOnly: true),
            let n = try? probe.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'receives'"),
            n == 0
        {
            throw LogSourceError(source: path, message: "no receives table", kind: .notALog)
        }
    }

    /// Why SQLite could not open a log, in a few words for a user.
    public static func openProblem(_ error: SQLiteError) -> String {
        switch error.code {
        case SQLiteResultCode.notADatabase: "it is not a SQLite database"
        case SQLiteResultCode.readOnly: "the file or its directory is read-only"
        case SQLiteResultCode.cantOpen: "the file cannot be opened (permissions?)"
        default: error.message
        }
    }

    /// True when `path` is an existing folder.
    public static func isDirectory(_ path: String, _ fm: FileManager = .default) -> Bool {
        var isDir: ObjCBool = false
        return fm.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// True when `spec` names a glob pattern (`*`, `?` or `[`).
    public static func isGlob(_ spec: String) -> Bool { spec.contains(where: { "*?[".contains($0) }) }

    /// POSIX glob(3), sorted by name.
    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

extension LogSources {
    /// Where `s3://` segments are cached: `$ORDLOG_CACHE`, else `$XDG_CACHE_HOME/ordlog`, else `~/.cache/ordlog`.
    public static func defaultCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        if let c = environment["ORDLOG_CACHE"], !c.isEmpty { return c }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return x + "/ordlog" }
        return NSHomeDirectory() + "/.cache/ordlog"
    }
}
