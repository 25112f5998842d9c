import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A profile's `credential_process`: runs the command and reads the documented JSON from its stdout:
/// `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}`.
///
/// The command line is split into words like a POSIX shell would split it (single and double quotes,
/// backslash escapes; no variables, globs or pipes) and run directly, with PATH lookup through
/// `/usr/bin/env`: no shell is involved. A command that needs a shell says so:
/// `credential_process = sh -c '…'`. It gets ``timeout`` seconds (default 60), then is killed. Errors name the
/// program and quote the first line of its stderr, never its stdout (which carries the secret).
public struct ProcessCredentialProvider: CredentialProvider {
    public let command: String
    public let origin: String
    public let timeout: TimeInterval
    public let environment: [String: String]

    public init(command: String, origin: String, environment: [String: String], timeout: TimeInterval = 60) {
        self.command = command
        self.origin = origin
        self.environment = environment
        self.timeout = timeout
    }

    public var description: String { "credential_process (\(origin))" }

    /// Shell-like word splitting: whitespace separates words; '…' is literal; "…" keeps `\"` and `\\`
    /// escapes; a backslash outside quotes escapes the next character. nil if a quote is not closed.
    public static func split(_ line: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escape = false
        for ch in line {
            if escape {
                if quote == "\"" && ch != "\"" && ch != "\\" && ch != "$" && ch != "`" { current.append("\\") }
                current.append(ch)
                escape = false
                inWord = true
                continue
            }
            switch (quote, ch) {
            case ("'", "'"), ("\"", "\""): quote = nil
            case ("'", _): current.append(ch)
            case (_, "\\"): escape = true
            case ("\"", _): current.append(ch)
            case (nil, "'"), (nil, "\""):
                quote = ch
                inWord = true
            case (nil, _) where ch == " " || ch == "\t" || ch == "\n":
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(ch)
                inWord = true
            }
        }
        if quote != nil || escape { return nil }
        if inWord { words.append(current) }
        return words
    }

    public func credentials() async throws -> AWSCredentials {
        guard let words = Self.split(command), let program = words.first else {
            throw CredentialSourceError(
                source: description, reason: "credential_process is empty or has an unclosed quote")
        }
        let label = "credential_process `\(program)` (\(origin))"
        let result: (status: Int32, stdout: Data, stderr: Data, timedOut: Bool)
        do {
            result = try await Self.run(words, environment: environment, timeout: timeout)
        } catch {
            throw CredentialSourceError(source: label, reason: "cannot start it: \(error.localizedDescription)")
        }
        if result.timedOut {
            throw CredentialSourceError(source: label, reason: "no answer within \(Int(timeout)) s; it was killed")
        }
        guard result.status == 0 else {
            let firstLine = String(decoding: result.stderr, as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map { String($0.prefix(200)) }
            throw CredentialSourceError(
                source: label,
                reason: "exited with status \(result.status)"
                    + (firstLine.map { "; its stderr begins: \($0)" } ?? " and wrote nothing to stderr"))
        }
        guard let o = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] else {
            throw CredentialSourceError(source: label, reason: "its output is not a JSON object")
        }
        guard let version = o["Version"] as? Int, version == 1 else {
            throw CredentialSourceError(source: label, reason: "its output's Version is not 1")
        }
        return try AWSCredentials(
            documentedJSON: o, sessionTokenKey: "SessionToken", source: label, subject: "its output")
    }

    /// Runs `words` (PATH lookup via /usr/bin/env), collecting stdout and stderr, killing it after `timeout`.
    static func run(_ words: [String], environment: [String: String], timeout: TimeInterval) async throws
        -> (status: Int32, stdout: Data, stderr: Data, timedOut: Bool)
    {
        let process = Process()
        if words[0].contains("/") {
            process.executableURL = URL(fileURLWithPath: words[0])
            process.arguments = Array(words.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = words
        }
        process.environment = environment
        let out = Pipe()
        let errPipe = Pipe()
        process.standardOutput = out
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let collected = ProcessOutput()
        let group = DispatchGroup()
        // Dedicated threads, not Dispatch's global pool: the readers block until the program closes its pipes, and
        // the timer must fire even when that pool is saturated by other blocked work (seen in the full test suite,
        // where a 1 s timeout waited for the program's 30 s sleep).
        for (pipe, isOut) in [(out, true), (errPipe, false)] {
            group.enter()
            Thread.detachNewThread {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, stdout: isOut)
                group.leave()
            }
        }
        let timedOut: Bool = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let finished = group.wait(timeout: .now() + timeout) == .success
                if !finished {
                    // Its whole process group when it has one (a script's children hold the pipes open too).
                    let pid = process.processIdentifier
                    kill(getpgid(pid) == pid ? -pid : pid, SIGKILL)
                    continuation.resume(returning: true)
                    return
                }
                process.waitUntilExit()
                continuation.resume(returning: false)
            }
        }
        if timedOut { return (-1, Data(), Data(), true) }
        let (stdout, stderr) = collected.get()
        return (process.terminationStatus, stdout, stderr, false)
    }
}

private final class ProcessOutput: Sendable {
    private let output = Locked((stdout: Data(), stderr: Data()))
    func set(_ data: Data, stdout isOut: Bool) {
        output.withLock {
            if isOut { $0.stdout = data } else { $0.stderr = data }
        }
    }
    func get() -> (Data, Data) { output.withLock { ($0.stdout, $0.stderr) } }
}
