import ArgumentParser
import Foundation
import OrdlogCore

// A synchronous entry point. Synchronous commands run on the main thread; async ones (the AWS commands) run
// in a detached task while the main thread waits. This avoids dispatchMain(), whose signal thread valgrind
// 3.19 cannot run, so `valgrind --tool=callgrind ordlog …` works for profiling (see Benchmarks/PROFILE.md).

/// Carries a parsed async command into the detached task that runs it.
final class AsyncRun: @unchecked Sendable {
    var command: any AsyncParsableCommand
    init(_ command: any AsyncParsableCommand) { self.command = command }
}

// SIGINT, SIGTERM and SIGHUP remove the scratch space before the process exits (128 + signal); commands that stop
// gracefully upgrade this with Interrupt.install. SIGPIPE is ignored: writeStdout handles EPIPE.
Interrupt.installDefault()

do {
    var command = try Ordlog.parseAsRoot()
    if let asyncCommand = command as? any AsyncParsableCommand {
        let run = AsyncRun(asyncCommand)
        do { try Blocking.wait { try await run.command.run() } } catch { Ordlog.exit(withError: error) }
    } else {
        try command.run()
    }
} catch {
    Ordlog.exit(withError: error)
}
