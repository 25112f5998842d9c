import Foundation

/// A fresh temporary directory that removes itself: when the value is released, or, for
/// ``TemporaryDirectory/forTestProcess(_:)``, when the test process exits.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    private let removeOnDeinit: Bool

    /// Creates `<tmp>/<prefix>-<pid>-<uuid>`; it is removed when this value is released.
    public convenience init(_ prefix: String = "ordlog-test") throws {
        try self.init(prefix, removeOnDeinit: true)
    }

    private init(_ prefix: String, removeOnDeinit: Bool) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(prefix)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        self.removeOnDeinit = removeOnDeinit
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { if removeOnDeinit { try? FileManager.default.removeItem(at: url) } }

    public var path: String { url.path }
    /// `url/<name>` as a path.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// A directory that lives as long as the test process (for helpers that hand out plain paths, whose users
    /// cannot keep a value alive): removed at exit, with every other one made this way.
    public static func forTestProcess(_ prefix: String = "ordlog-test") -> URL {
        let dir = try! TemporaryDirectory(prefix, removeOnDeinit: false)
        ProcessTemporaries.shared.add(dir.url)
        return dir.url
    }
}

/// Runs `body` with a fresh temporary directory and removes it afterwards, whatever `body` does.
public func withTemporaryDirectory<T>(_ prefix: String = "ordlog-test", _ body: (URL) throws -> T) throws -> T {
    let dir = try TemporaryDirectory(prefix)
    return try withExtendedLifetime(dir) { try body(dir.url) }
}

/// Directories removed when the process exits (`atexit`).
private final class ProcessTemporaries: @unchecked Sendable {
    static let shared: ProcessTemporaries = {
        let t = ProcessTemporaries()
        atexit { ProcessTemporaries.shared.removeAll() }
        return t
    }()
    private let lock = NSLock()
    private var urls: [URL] = []

    func add(_ url: URL) {
        lock.lock()
        urls.append(url)
        lock.unlock()
    }

    func removeAll() {
        lock.lock()
        let all = urls
        urls = []
        lock.unlock()
        for url in all { try? FileManager.default.removeItem(at: url) }
    }
}
