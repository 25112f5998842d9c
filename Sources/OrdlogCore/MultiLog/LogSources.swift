import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A log source that cannot be resolved: names the source and why.
public struct LogSourceError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var message: String
    /// The source is there but its chain cannot be trusted (a sealed segment it continues is missing or no
    /// longer matches its manifest): a failed check rather than a missing file.
    public var brokenChain = false
    public var description: String { "\(source): \(message)" }

    public init(source: String, message: String, brokenChain: Bool = false) {
        self.source = source
        self.message = message
        self.brokenChain = brokenChain
    }
}

/// Where read commands find their logs: the one place that turns `--db` values into log files.
public enum LogSources {
    /// File name endings taken from a folder (`--db DIR`).
    public static let logExtensions: Set<String> = ["db", "sqlite", "sqlite3", "ordlog"]

    /// Resolves source specs (repeated `--db`) into log files, in the order given, each file once.
    ///
    /// - a path to a file: that file (which need not be a log yet: opening it says so);
    /// - a folder: its files ending in `.db`, `.sqlite`, `.sqlite3` or `.ordlog`, sorted by name (not recursive;
    ///   SQLite's `-wal`/`-shm` side files are not logs);
    /// - a glob (`*`, `?`, `[`): the matching files, sorted by name;
    /// - `s3://BUCKET/PREFIX`: the trusted sealed segments `s3` downloads into a local cache (``SegmentArchive``;
    ///   without `s3`, unsupported).
    ///
    /// A log that was sealed (`ordlog seal`) and whose segments folder (``Segments/defaultDirectory(forLog:)``) is
    /// there comes with its sealed segments (``Segments/localChain(forLog:directory:)``), oldest first, before it:
    /// reading the live file reads its consumer's whole chain. ``LogSet`` checks the links between them.
    /// - Throws: ``LogSourceError`` when a folder has no log file, a glob matches nothing, a path does not exist,
    ///   a scheme is unsupported, or (``LogSourceError/brokenChain``) a sealed segment a log continues is missing
    ///   or does not match its manifest; whatever `s3` throws.
    public static func resolve(
        _ specs: [String], fileManager: FileManager = .default, s3: ((String) throws -> [URL])? = nil
    ) throws -> [URL] {
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
                    throw LogSourceError(source: path, message: e.message, brokenChain: true)
                }
            }
            addOne(url)
        }
        for spec in specs {
            if spec.hasPrefix("s3://") {
                guard let s3 else {
                    throw LogSourceError(source: spec, message: "reading logs from S3 is not supported here")
                }
                try s3(spec).forEach(addOne)
                continue
            }
            if spec.contains(where: { "*?[".contains($0) }) {
                let matches = glob(spec).filter { !isDirectory($0, fileManager) }
                guard !matches.isEmpty else { throw LogSourceError(source: spec, message: "no file matches") }
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

    /// True when `path` is an existing folder.
    public static func isDirectory(_ path: String, _ fm: FileManager = .default) -> Bool {
        var isDir: ObjCBool = false
        return fm.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

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
