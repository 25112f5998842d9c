import Foundation

nonisolated(unsafe) private var interruptCount: sig_atomic_t = 0
nonisolated(unsafe) private var waitingForInput: sig_atomic_t = 0

/// SIGINT/SIGTERM handling for synchronous commands: the first signal asks the command to stop at its next
/// safe point (between transactions); a second one exits at once with status 130.
enum Interrupt {
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            interruptCount += 1
            if waitingForInput != 0 {
                // Blocked waiting for input: everything read so far is committed, so stop now.
                let text: StaticString =
                    "\nordlog: interrupted while waiting for input; everything read so far is logged.\n"
                text.withUTF8Buffer { _ = write(2, $0.baseAddress, $0.count) }
                _exit(130)
            }
            if interruptCount > 1 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A parent may have started us with these signals blocked (the mask is inherited): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Marks the time spent blocked on input, during which a signal ends the process at once.
    static func waiting(_ blocked: Bool) { waitingForInput = blocked ? 1 : 0 }

    /// True once a signal has arrived.
    static var requested: Bool { interruptCount != 0 }
}
