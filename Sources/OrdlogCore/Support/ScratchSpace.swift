import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one place a process keeps its private temporary files (a migrated or recovered copy of a log, copies of
/// sealed segments, a merged scratch log): one directory, `ordlog-scratch-PID-UUID` under
/// `FileManager.default.temporaryDirectory` (`$TMPDIR`, else `/tmp`), created on first use with mode 0700 and
/// removed with everything in it by ``removeAll()``.
///
/// ```swift
/// let copy = try ScratchSpace.shared.path("migrated.db")        // creates the directory on first use
/// let dir = try ScratchSpace.shared.makeDirectory(prefix: "segments")
/// ```
///
/// ``shared`` removes its directory when the process exits normally (`atexit`). A process ended by a signal
/// skips `atexit`, so every way out of the `ordlog` executable that does not return through `exit` (its signal
/// handling, a broken stdout pipe) calls ``removeAll()`` first; it is safe to call from any thread, any number of
/// times, but (like all of Foundation) not from a C signal handler: use a dispatch signal source.
///
/// Thread-safe. Nothing is created until a path is asked for, so a process that needs no scratch file leaves no
/// trace, even with `$TMPDIR` unusable.
public final class ScratchSpace: Sendable {
    /// The process's scratch space, removed at normal exit.
    public static let shared = ScratchSpace(removeAtExit: true)

    private let parent: URL?
    private let removeAtExit: Bool
    private struct State {
        var created: String?
        var registeredAtExit = false
        var closed = false
    }
    private let state = Locked(State())

    /// A scratch space under `parent` (default: `FileManager.default.temporaryDirectory`, read when the directory
    /// is first created). Other than ``shared``, one is removed when released, not at exit.
    public convenience init(parent: URL? = nil) {
        self.init(parent: parent, removeAtExit: false)
    }

    private init(parent: URL? = nil, removeAtExit: Bool) {
        self.parent = parent
        self.removeAtExit = removeAtExit
    }

    deinit { if !removeAtExit { removeAll() } }

    /// The directory, created (mode 0700) if it does not exist yet.
    /// - Throws: ``ScratchSpaceClosed`` after ``close()``; the `FileManager` error when it cannot be created
    ///   (`$TMPDIR` missing, not a directory, read-only).
    public func directory() throws -> String {
        try state.withLock { state in
            if let created = state.created { return created }
            if state.closed { throw ScratchSpaceClosed() }
            let base = parent ?? FileManager.default.temporaryDirectory
            let dir = base.appendingPathComponent("ordlog-scratch-\(getpid())-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            state.created = dir
            if removeAtExit && !state.registeredAtExit {
                state.registeredAtExit = true
                atexit { ScratchSpace.shared.removeAll() }
            }
            return dir
        }
    }

    /// The path of `name` in the scratch space (the file itself is not created); `name` is one path component.
    /// - Throws: as ``directory()``.
    public func path(_ name: String) throws -> String {
        precondition(!name.isEmpty && !name.contains("/") && name != "." && name != "..", "one file name")
        return try directory() + "/" + name
    }

    /// Creates a new, empty sub-directory `PREFIX-UUID` and returns its path.
    /// - Throws: as ``directory()``, or the `FileManager` error creating the sub-directory.
    public func makeDirectory(prefix: String) throws -> String {
        let dir = try path("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        return dir
    }

    /// Removes the directory and everything in it; the next ``path(_:)`` or ``makeDirectory(prefix:)`` creates a
    /// new one. Does nothing when none was created. Errors are ignored (what cannot be removed stays).
    public func removeAll() {
        remove(closing: false)
    }

    /// ``removeAll()``, and no new directory afterwards (asking for a path throws ``ScratchSpaceClosed``): for a
    /// process about to `_exit`, so that another thread cannot create a new directory between the removal and the
    /// exit.
    public func close() {
        remove(closing: true)
    }

    private func remove(closing: Bool) {
        let dir = state.withLock { state -> String? in
            if closing { state.closed = true }
            defer { state.created = nil }
            return state.created
        }
        guard let dir else { return }
        // A file being created meanwhile by another thread can make one pass fail with ENOTEMPTY.
        for _ in 0..<3 {
            try? FileManager.default.removeItem(atPath: dir)
            if !FileManager.default.fileExists(atPath: dir) { return }
        }
    }
}

/// Thrown when a scratch path is asked for after ``ScratchSpace/close()`` (the process is exiting).
public struct ScratchSpaceClosed: Error, Sendable, CustomStringConvertible {
    public var description: String { "the process is exiting: no new temporary files" }
}
