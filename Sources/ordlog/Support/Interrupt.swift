import Foundation
import OrdlogCore

/// The one shutdown mechanism of every command: SIGINT and SIGTERM arrive on a dispatch source (not in a C signal
/// handler), and the first one requests a stop through ``stop`` — a synchronous command checks ``requested`` at its
/// next safe point (between transactions), an async one (consume) waits on the ``StopSignal``. A second signal
/// exits at once with status 130, and so does the first while the command is blocked waiting for input (everything
/// read so far is committed).
enum Interrupt {
    /// The stop request every command shares.
    static let stop = StopSignal()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var count = 0
    nonisolated(unsafe) private static var waitingForInput = false
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private static var notice = ""

    /// Installs the handlers once; `notice` is printed to stderr on the first signal.
    static func install(notice: String = "") {
        lock.withLock {
            Interrupt.notice = notice
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)  // delivered to the source only
                let source = DispatchSource.makeSignalSource(signal: sig, queue: DispatchQueue(label: "ordlog.signals"))
                source.setEventHandler { received() }
                source.resume()
                sources.append(source)
            }
        }
        // A parent may have started us with these signals blocked (the mask is inherited): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    private static func received() {
        let (n, waiting, text) = lock.withLock { () -> (Int, Bool, String) in
            count += 1
            return (count, waitingForInput, notice)
        }
        if waiting { exitWhileWaiting() }
        if n > 1 { _exit(130) }
        if !text.isEmpty { err("ordlog: \(text)") }
        stop.request()
    }

    private static func exitWhileWaiting() -> Never {
        if !Diagnostics.json { FileHandle.standardError.write(Data("\n".utf8)) }
        err("ordlog: interrupted while waiting for input; everything read so far is logged.")
        _exit(130)
    }

    /// Marks the time spent blocked on input, during which a signal ends the process at once. A signal that
    /// arrived just before the wait began (after the last commit, when it could only request a stop) ends it
    /// here: otherwise the read would block on an open pipe with the stop never seen.
    static func waiting(_ blocked: Bool) {
        let stopBeforeWait = lock.withLock { () -> Bool in
            waitingForInput = blocked
            return blocked && count > 0
        }
        if stopBeforeWait { exitWhileWaiting() }
    }

    /// True once a signal has arrived.
    static var requested: Bool { stop.isRequested }
}
