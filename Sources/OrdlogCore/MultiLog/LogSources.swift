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
    public var description: String { "\(source): \(message)" }
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
    /// - `s3://BUCKET/PREFIX`: not supported by this build (sealed segments in S3 are read by a later one).
    /// - Throws: ``LogSourceError`` when a folder has no log file, a glob matches nothing, a path does not exist,
    ///   or a scheme is unsupported.
    public static func resolve(_ specs: [String], fileManager: FileManager = .default) throws -> [URL] {
        var out: [URL] = []
        var seen = Set<String>()
        func add(_ url: URL) {
            let key = url.standardizedFileURL.path
            if seen.insert(key).inserted { out.append(url) }
        }
        for spec in specs {
            if spec.hasPrefix("s3://") {
                // Sealed segments in S3 (issue 11 part B): download into a local cache folder, then add its files.
                throw LogSourceError(source: spec, message: "reading logs from S3 is not supported by this build")
            }
            if spec.contains(where: { "*?[".contains($0) }) {
                let matches = glob(spec).filter { !isDirectory($0, fileManager) }
                guard !matches.isEmpty else { throw LogSourceError(source: spec, message: "no file matches") }
                matches.forEach { add(URL(fileURLWithPath: $0)) }
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
                names.forEach(add)
                continue
            }
            add(URL(fileURLWithPath: spec))
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
