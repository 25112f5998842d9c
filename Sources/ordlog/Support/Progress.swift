import Foundation

/// A progress line on stderr, shown only once a run has taken more than a second, at most once a second,
/// and only when stderr is a terminal or ORDLOG_PROGRESS=1.
final class Progress {
    let label: String
    let start = Date()
    var last = Date()
    var shown = false
    let enabled: Bool

    init(label: String) {
        self.label = label
        enabled = isatty(2) == 1 || ProcessInfo.processInfo.environment["ORDLOG_PROGRESS"] == "1"
    }

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(start) > 1, now.timeIntervalSince(last) >= 1 else { return }
        last = now
        shown = true
        let elapsed = String(format: "%.0fs", now.timeIntervalSince(start))
        FileHandle.standardError.write(Data("\r\(label): \(text()) [\(elapsed)]\u{1B}[K".utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
