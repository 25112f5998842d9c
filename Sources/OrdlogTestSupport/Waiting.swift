import Foundation
import Testing

/// Waits until `condition` holds, checking it every `every` seconds: the one way a test waits for something another task or
/// process does (a file appears, a line on stderr, a count in the log), instead of sleeping for a guessed time.
///
/// - Parameters:
///   - seconds: how long to wait at most.
///   - every: seconds between checks (longer for a check that costs, such as an HTTP request).
///   - what: the condition in words, for the failure message (made only then, so it can show the state then).
/// - Returns: whether it held in time. When it did not, an issue is recorded at the caller ("… not met within N s"),
///   so the test fails even if it goes on; `try #require(await waitUntil(…))` stops it there.
@discardableResult
public func waitUntil(
    _ seconds: Double = 30, _ what: @autoclosure () -> String = "condition",
    every: Double = 0.01, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try await condition() { return true }
        if Date() >= deadline { break }
        try await Task.sleep(nanoseconds: UInt64(every * 1e9))
    }
    Issue.record("\(what()): not met within \(seconds) s", sourceLocation: sourceLocation)
    return false
}

/// ``waitUntil(_:_:every:sourceLocation:_:)`` on the calling thread, blocking it between checks: for synchronous tests,
/// and where a task pool starved by the rest of the suite must not delay the reaction (a kill at the right moment).
@discardableResult
public func waitUntilBlocking(
    _ seconds: Double = 30, _ what: @autoclosure () -> String = "condition",
    every: Double = 0.01, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return true }
        if Date() >= deadline { break }
        usleep(useconds_t(every * 1e6))
    }
    Issue.record("\(what()): not met within \(seconds) s", sourceLocation: sourceLocation)
    return false
}
