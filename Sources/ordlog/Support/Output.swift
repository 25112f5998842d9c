import Foundation
import OrdlogCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `bytes` to standard output (file descriptor 1), all of them, with POSIX `write`.
///
/// Results go through here rather than `FileHandle.standardOutput.write(_:)`, which traps on any error. When the
/// reader has gone (`ordlog history … | head -1`: EPIPE, SIGPIPE being ignored since start-up,
/// ``Interrupt/installDefault()``), the scratch space is removed and the process dies of SIGPIPE, as a program that
/// had not ignored it would: the shell sees a signal, not an error. Any other failure (a full disk, an I/O error)
/// removes the scratch space and exits 74 (`EX_IOERR`) after a line on stderr. Interrupted and would-block writes
/// are retried. Not buffered: each call is at least one `write`.
func writeStdout(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        guard var next = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let n = write(STDOUT_FILENO, next, left)
            if n >= 0 {
                next += n
                left -= n
                continue
            }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:  // a non-blocking stdout inherited from the parent: wait until writable
                var fd = pollfd(fd: STDOUT_FILENO, events: Int16(POLLOUT), revents: 0)
                _ = poll(&fd, 1, -1)
            case EPIPE: diedOfBrokenPipe()
            default:
                let reason = String(cString: strerror(code))
                err("ordlog: cannot write the output: \(reason)", level: .error)
                Interrupt.exit(ExitStatus.outputFailed.rawValue)
            }
        }
    }
}

/// ``writeStdout(_:)`` of the UTF-8 bytes of `text`.
func writeStdout(_ text: String) {
    writeStdout(Array(text.utf8))
}

/// Removes the scratch space, then ends the process by SIGPIPE, its default action restored and unblocked.
private func diedOfBrokenPipe() -> Never {
    ScratchSpace.shared.close()
    signal(SIGPIPE, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGPIPE)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    raise(SIGPIPE)
    _exit(128 + SIGPIPE)  // not reached
}
