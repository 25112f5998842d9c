import ArgumentParser

/// `--exit-code`: put what was decided about the messages into the exit status, as `git diff --exit-code` does.
///
/// Without it a command that did its job exits 0, whatever it decided (dead-lettered and rejected messages are
/// outcomes, reported in the summary, not failures of the run). Scripts that want to stop on them ask for it.
struct ExitCodeOptions: ParsableArguments {
    @Flag(
        name: .customLong("exit-code"),
        help: ArgumentHelp(
            "Exit 3 when messages were dead-lettered in this run and 4 when input entries were not SQS messages "
                + "(4 takes precedence). Without it the run exits 0 when it did its job."))
    var exitCode = false

    /// Throws the status `--exit-code` asks for (4 before 3); does nothing without the flag.
    func check(deadLettered: Int, inputErrors: Int) throws {
        guard exitCode else { return }
        if inputErrors > 0 { throw CLIError(code: .badInput, message: "") }
        if deadLettered > 0 { throw CLIError(code: .deadLettered, message: "") }
    }
}
