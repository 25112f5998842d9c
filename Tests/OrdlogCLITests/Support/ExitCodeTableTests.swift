import Foundation
import OrdlogAWS
@testable import OrdlogCore
import OrdlogTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The one error → exit status table (``CommandFailure/init(_:)``) against the README's "Exit codes" table: every
/// documented code is a named ``OrdlogExitStatus``, every named status is documented, and each status a command reaches by
/// an error is reached by a real error of the library.
/// Swift Testing has an `ExitStatus` of its own.
typealias OrdlogExitStatus = OrdlogCore.ExitStatus

@Suite struct ExitCodeTableTests {
    /// The codes in README.md's "### Exit codes" table (a row `| 129, 130, 143 | …` documents three).
    static func documentedCodes() throws -> [Int32] {
        let readme = try String(contentsOf: CLI.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "### Exit codes").dropFirst().first)
        var codes: [Int32] = []
        for line in section.split(separator: "\n").prefix(while: { !$0.hasPrefix("#") }) where line.hasPrefix("| ") {
            let cell = line.dropFirst(2).prefix { $0 != "|" }
            let numbers = cell.split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
            codes += numbers
        }
        return codes
    }

    /// A real error of the library for each status it reaches, and (marked `command`) the statuses a command
    /// states itself with a ``CommandFailure`` (nothing found, dead-lettered, bad input, interrupted), which the
    /// table passes through unchanged.
    static let examples: [(any Error, OrdlogExitStatus)] = [
        (LogSetBroken(files: [(path: "a.db", problem: "edited at seq 3")]), .checkFailed),
        (LogSourceError(source: "s", message: "segment 1-9 does not match its manifest", kind: .brokenChain), .checkFailed),
        (CommandFailure(code: .notFound, message: ""), .notFound),
        (CommandFailure(code: .deadLettered, message: ""), .deadLettered),
        (CommandFailure(code: .badInput, message: "x.json: no such file"), .badInput),
        (
            AWSServiceError(
                service: "SQS", operation: "ReceiveMessage", code: "AccessDenied", message: "", httpStatus: 403),
            .aws
        ),
        (LogSourceError(source: "s3://b/p", message: "ListObjectsV2 failed", kind: .aws), .aws),
        (LogSourceError(source: "s3://", message: "no bucket", kind: .usage), .usage),
        (LogSourceError(source: "x.db", message: "no such file", kind: .missing), .storage),
        (SQLiteError(code: SQLiteResultCode.readOnly, extendedCode: 8, message: "readonly", sql: nil), .storage),
        (WriterLockError(logPath: "x.db", pid: 42, failure: nil), .storage),
        (EventLogCopyError(path: "x.db", reason: "was left mid-write", failure: "disk full"), .storage),
        (CommandFailure(code: .interrupted, message: "interrupted"), .interrupted),
    ]

    @Test("every exit code the README documents is a named status, and every named status is documented")
    func readmeMatchesTheTable() throws {
        let documented = try Self.documentedCodes()
        #expect(documented.count >= 10, "README exit-code table not found: \(documented)")
        for code in documented { #expect(OrdlogExitStatus(rawValue: code) != nil, "README documents \(code), no OrdlogExitStatus") }
        for status in OrdlogExitStatus.allCases {
            #expect(documented.contains(status.rawValue), "\(status) (\(status.rawValue)) is not in the README")
        }
    }

    @Test("each documented status a command reaches by an error is reached by a real error through the one table")
    func everyErrorStatusIsReached() throws {
        for code in try Self.documentedCodes() {
            let status = try #require(OrdlogExitStatus(rawValue: code))
            if status.isReachedByError {
                #expect(Self.examples.contains { $0.1 == status }, "no example error for \(status)")
            } else {
                // Reached without an error: success, a failed stdout, a signal.
                #expect([.success, .outputFailed, .hangup, .terminated].contains(status), "\(status)")
            }
        }
        for (error, status) in Self.examples {
            let failure = try #require(CommandFailure(error), "\(error) is not in the table")
            #expect(failure.code == status, "\(error) → \(failure.code), documented \(status)")
        }
        #expect(OrdlogExitStatus.hangup.rawValue == 129 && OrdlogExitStatus.terminated.rawValue == 143)
        #expect(OrdlogExitStatus.interrupted.rawValue == 130 && OrdlogExitStatus.outputFailed.rawValue == 74)
        #expect(OrdlogExitStatus(signal: SIGHUP) == .hangup)
        #expect(OrdlogExitStatus(signal: SIGINT) == .interrupted)
        #expect(OrdlogExitStatus(signal: SIGTERM) == .terminated)
        #expect(CommandFailure(CocoaError(.fileNoSuchFile)) == nil, "an unknown error passes on")
    }

    @Test("SQLite results are said by name: read-only, full, busy, damaged")
    func storageMessagesByResultCode() {
        func message(_ code: Int32) -> String {
            CommandFailure.storageMessage(SQLiteError(code: code, extendedCode: code, message: "m", sql: nil))
        }
        #expect(message(SQLiteResultCode.readOnly).contains("read-only (SQLite error 8)"))
        #expect(message(SQLiteResultCode.full).contains("disk is full (SQLite error 13)"))
        #expect(message(SQLiteResultCode.busy).contains("locked by another process (SQLite error 5)"))
        #expect(message(SQLiteResultCode.notADatabase).contains("damaged or not an ordlog database (SQLite error 26)"))
    }

    @Test("AWS error codes compare by name")
    func awsCodesByName() {
        let e = AWSServiceError(
            service: "SQS", operation: "GetQueueUrl", code: "QueueDoesNotExist", message: "", httpStatus: 400)
        #expect(e == .queueDoesNotExist)
        #expect(e.is(.queueDoesNotExist, .nonExistentQueue))
        #expect(!(e == .accessDenied))
        if case .queueDoesNotExist = e {} else { Issue.record("pattern match on the code") }
        #expect(
            AWSServiceError(service: "STS", operation: "X", code: "ExpiredToken", message: "", httpStatus: 403)
                .isAuthError)
    }

    @Test("the binary ends with the table's statuses: 2 not found, 64 usage, 70 no log")
    func binaryStatuses() throws {
        let dir = CLI.tempDir()
        let missing = dir.appendingPathComponent("missing.db").path
        #expect(try CLI.run(["history", "--db", missing, "o"]).status == OrdlogExitStatus.storage.rawValue)
        #expect(try CLI.run(["verify", "--no-such-flag"]).status == OrdlogExitStatus.usage.rawValue)
        let db = dir.appendingPathComponent("s.db").path
        #expect(try CLI.run(["ingest", "--db", db, CLI.sample("order-traffic.jsonl")]).status == 0)
        #expect(try CLI.run(["history", "--db", db, "no-such-order"]).status == OrdlogExitStatus.notFound.rawValue)
    }
}
