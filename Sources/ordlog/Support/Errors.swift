import ArgumentParser
import OrdlogCore

/// An error that ends the command with a documented exit code: the library's ``CommandFailure``, whose
/// ``CommandFailure/init(_:)`` is the one error → exit status table.
typealias CLIError = CommandFailure

/// Runs `body`, ending the command as the one table (``CommandFailure/init(_:)``) says for any error it throws: its
/// message on stderr, then its exit status. Errors the table does not know (ArgumentParser's) pass on.
func runReportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch { throw reported(error) }
}

/// ``runReportingErrors(_:)`` for an async body (the AWS commands): the same table.
func runReportingErrorsAsync(_ body: () async throws -> Void) async throws {
    do { try await body() } catch { throw reported(error) }
}

/// Says `error` on stderr as the table words it and returns the `ExitCode` to end with; an error the table does not
/// know is returned as it is.
private func reported(_ error: any Error) -> any Error {
    guard let failure = CommandFailure(error) else { return error }
    if !failure.message.isEmpty { err("ordlog: \(failure.message)", level: .error) }
    return ExitCode(failure.code.rawValue)
}
