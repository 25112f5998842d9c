import Foundation
import OrdlogCore

/// The one signal handling of every command. SIGINT, SIGTERM and SIGHUP arrive on dispatch sources (not in a C
/// signal handler), installed at start-up by ``installDefault()``: by default each removes the process's scratch
/// space (``ScratchSpace/shared``: copies of logs, merged scratch logs) and exits with 128 + the signal (130 SIGINT,
/// 143 SIGTERM, 129 SIGHUP), as the default action would, minus the files left behind.
///
/// A command that stops gracefully calls ``install(notice:)``: then the first SIGINT or SIGTERM requests a stop
/// through ``stop`` — a synchronous command checks ``requested`` at its next safe point (between transactions), an
/// async one (consume) waits on the ``StopSignal``. A second signal exits at once with status 130, and so does the
/// first while the command is blocked waiting for input (everything read so far is committed). SIGHUP still exits
/// at once (129). Every exit here removes the scratch space first (``exit(_:)``).
enum Interrupt {
    /// The stop request every command shares.
    static let stop = StopSignal()
    private struct State {
        var count = 0
        var waitingForInput = false
        var sources: [DispatchSourceSignal] = []
        var notice = ""
        /// Set by ``install(notice:)``: SIGINT and SIGTERM request a stop instead of exiting.
        var stopsGracefully = false
    }
    private static let state = Locked(State())
    private static let handled = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the default handling (exit with 128 + signal after removing the scratch space) once, and ignores
    /// SIGPIPE, so that a write to a closed pipe returns EPIPE (``writeStdout(_:)`` then removes the scratch space
    /// and dies of SIGPIPE). Called first thing in `main.swift`.
    static func installDefault() {
        signal(SIGPIPE, SIG_IGN)
        state.withLock { state in
            guard state.sources.isEmpty else { return }
            let queue = DispatchQueue(label: "ordlog.signals")
            for sig in handled {
                signal(sig, SIG_IGN)  // delivered to the source only
                let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                source.setEventHandler { received(sig) }
                source.resume()
                state.sources.append(source)
            }
        }
        // A parent may have started us with these signals blocked (the mask is inherited): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in handled + [SIGPIPE] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Turns SIGINT and SIGTERM into a stop request (see the type's description); `notice` is printed to stderr on
    /// the first signal.
    static func install(notice: String = "") {
        state.withLock { state in
            state.notice = notice
            state.stopsGracefully = true
        }
        installDefault()
    }

    /// Removes the scratch space (no new scratch file can be made after this) and exits with `status` at once,
    /// without `atexit` handlers or flushing buffers (another thread may be in the middle of anything).
    static func exit(_ status: Int32) -> Never {
        ScratchSpace.shared.close()
        _exit(status)
    }

    private static func received(_ sig: Int32) {
        let (graceful, n, waiting, text) = state.withLock { state -> (Bool, Int, Bool, String) in
            guard state.stopsGracefully, sig != SIGHUP else { return (false, 0, false, "") }
            state.count += 1
            return (true, state.count, state.waitingForInput, state.notice)
        }
        if !graceful { exit(128 + sig) }
        if waiting { exitWhileWaiting() }
        if n > 1 { exit(ExitStatus.interrupted.rawValue) }
        if !text.isEmpty { err("ordlog: \(text)") }
        stop.request()
    }

    private static func exitWhileWaiting() -> Never {
        if !Diagnostics.json { err("") }
        err("ordlog: interrupted while waiting for input; everything read so far is logged.")
        exit(ExitStatus.interrupted.rawValue)
    }

    /// Marks the time spent blocked on input, during which a signal ends the process at once. A signal that
    /// arrived just before the wait began (after the last commit, when it could only request a stop) ends it
    /// here: otherwise the read would block on an open pipe with the stop never seen.
    static func waiting(_ blocked: Bool) {
        let stopBeforeWait = state.withLock { state -> Bool in
            state.waitingForInput = blocked
            return blocked && state.count > 0
        }
        if stopBeforeWait { exitWhileWaiting() }
    }

    /// True once a signal has arrived.
    static var requested: Bool { stop.isRequested }
}
