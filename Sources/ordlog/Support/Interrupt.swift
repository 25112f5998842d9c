import Foundation

nonisolated(unsafe) private var interruptCount: sig_atomic_t = 0

/// SIGINT/SIGTERM handling for synchronous commands: the first signal asks the command to stop at its next
/// safe point (between transactions); a second one exits at once with status 130.
enum Interrupt {
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            interruptCount += 1
            if interruptCount > 1 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// True once a signal has arrived.
    static var requested: Bool { interruptCount != 0 }
}
