import Foundation

/// Why a file a command was told to write (`--out`, `--output`, `--record-expect`) cannot be created, and what to
/// do: the one wording for all of them.
public enum CannotWrite {
    /// `cannot write PATH: …` naming the cause found (a folder that does not exist, is not a folder, or is not
    /// writable; else permissions) and the fix.
    public static func message(_ path: String) -> String {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        let fm = FileManager.default
        let why: String
        if !fm.fileExists(atPath: dir, isDirectory: &isDir) {
            why = "the folder \(dir) does not exist (create it, or choose another path)"
        } else if !isDir.boolValue {
            why = "\(dir) is not a folder (choose another path)"
        } else if !fm.isWritableFile(atPath: dir) {
            why = "the folder \(dir) is not writable (choose another path, or check its permissions)"
        } else {
            why = "the file cannot be created there (check its permissions, or choose another path)"
        }
        return "cannot write \(path): \(why)"
    }
}
