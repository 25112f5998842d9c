import ArgumentParser
import Foundation
import OrdlogCore

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run logged (or captured) messages through the processor again, into a scratch projection in memory.",
        discussion: """
            Each matching receive is decided again, in log order, by the current processor (with any rule \
            flags), into a projection held in memory (no file is written), never the live one; --into PATH \
            writes it to a new SQLite projection file instead (in transactions of --batch-size decisions). Nothing is appended to the log. Redrive attempts are not replayed: each \
            receive is decided once. The decisions and the projection digest do not depend on TZ, LANG or \
            LC_ALL.

            --verdict compares every new decision with the recorded one (the receive's first attempt with \
            trigger receive) on outcome, error kind/code/field, dead-lettering, orderId, SNS MessageId and \
            item (not on message wording) and lists every difference.

            --traffic FILE replays a captured file (any ingest format) through a temporary log instead: the \
            real log is not opened. --record-expect OUT writes the decisions as an expectations file (JSON \
            Lines, no wall-clock times: recording twice gives the same bytes); --expect FILE compares with \
            one. See docs/replay-recipe.md for the CI recipe.

            \(severalLogsHelp)

            Examples:
              ordlog replay
              ordlog replay --db consumer-a.db --db consumer-b.db --db consumer-c.db   # one digest for the three
              ordlog replay --verdict --min-quantity 2   # on samples/order-traffic.jsonl: exit 1, 7 differences
              ordlog replay --order-id ord-2004 --show-decisions
              ordlog replay --since 2026-01-01T00:00:00Z --until 2026-01-02T00:00:00Z --json
              ordlog replay --traffic captured.jsonl --record-expect expect.jsonl
              ordlog replay --traffic captured.jsonl --expect expect.jsonl
              ordlog replay --accept-numeric-strings --target dynamodb --table OrdersShadow

            --target dynamodb --table SHADOW writes the replayed projection into a DynamoDB shadow table \
            (created if missing) with the same conditional PutItem as consume, so a new processor version's \
            result can be compared with the live Orders table.

            JSON: {"source":"log"|"traffic","file":S|null,"processorVersion":S,"counts":{"replayed","projected",\
            "duplicate","stale","rejected","failed","deadLettered"},"orders":N,"digest":S,\
            "decisions":[expectation line…]|null (with --show-decisions),\
            "verdict":{"compared":N,"differences":[{"seq","messageId","receiveCount","recorded":DECISION|null,\
            "replayed":DECISION}]}|null,"expect":{"file":S,"differences":[{"kind":"changed"|"missing"|\
            "unexpected","key":S,"expected":LINE|null,"actual":LINE|null}]}|null,"dynamodb":{"table","created",\
            "written","stale"}|null} where DECISION has the \
            decision members of the attempt record shape.

            Exit codes: 0 no differences, 1 --verdict or --expect found differences, 4 the traffic or \
            expectations file cannot be read, 5 an AWS call failed, 64 usage, 70 log or --into projection error.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Filters") var filters: FilterOptions
    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions
    @OptionGroup(title: "Target") var targetOptions: TargetOptions

    @Flag(help: "Compare each decision with the recorded one; exit 1 on any difference.")
    var verdict = false
    @Option(help: ArgumentHelp("Replay this captured traffic file instead of the log.", valueName: "file"))
    var traffic: String?
    @Option(
        name: .customLong("record-expect"),
        help: ArgumentHelp("Write the decisions as an expectations file.", valueName: "out"))
    var recordExpect: String?
    @Option(
        help: ArgumentHelp(
            "Compare the decisions with this expectations file; exit 1 on any difference.", valueName: "file"))
    var expect: String?
    @Option(
        help: ArgumentHelp(
            "Write the projection to this new SQLite file instead of keeping it in memory.", valueName: "path"))
    var into: String?
    @Flag(name: .customLong("show-decisions"), help: "List every decision.")
    var showDecisions = false
    @Option(name: .customLong("batch-size"), help: "Decisions per transaction of the --into projection file.")
    var batchSize = 10_000
    @Flag(
        help: ArgumentHelp(
            "Decide on one thread (no reader thread interpreting ahead): the same results, for benchmarks.",
            visibility: .hidden))
    var sequential = false

    func validate() throws {
        if traffic != nil, verdict {
            throw ValidationError(
                "--verdict compares with decisions recorded in the log; captured traffic has none. Use --record-expect/--expect with --traffic."
            )
        }
        if traffic != nil, filters.usesRecordedAttempts {
            throw ValidationError(
                "--order-id and --dead-lettered use recorded attempts, which --traffic files do not have")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let recordExpect, let expect, recordExpect == expect {
            throw ValidationError(
                "--record-expect and --expect name the same file: recording would overwrite the expectations being checked"
            )
        }
    }

    func run() async throws {
        try await runReportingErrorsAsync {
            var temp: TempDir?  // for --traffic's log, or the merge of several logs: one log is read in place
            let log: EventLog
            var format: TrafficFormat?
            if let traffic {
                let dir = try TempDir("ordlog-replay")
                temp = dir
                do {
                    (log, format, _) = try Replayer.trafficLog(file: traffic, path: dir.path("traffic.db"))
                } catch let error as TrafficFileError {
                    throw CLIError(code: .badInput, message: "\(error)")
                }
            } else {
                let logs = try global.openVerifiedLog(scratchPrefix: "ordlog-replay")
                temp = logs.scratch
                log = logs.log
            }
            let options = ReplayOptions(
                filter: filters.filter, verdict: verdict, batchSize: batchSize, concurrent: !sequential, intoPath: into,
                recordExpectationsPath: recordExpect, expectationsPath: expect, keepDecisions: showDecisions)
            let progress = Progress(label: "replay")
            let report: ReplayReport
            do {
                report = try Replayer(log: log, processor: OrderProcessor(rules: ruleOptions.rules)).replay(options) {
                    seq, n in progress.update("\(n) decisions, at seq \(seq)")
                }
            } catch let error as ReplaySetupError {
                throw CLIError(code: error.kind == .projectionUnusable ? .storage : .badInput, message: "\(error)")
            }
            progress.finish()
            let synced = try await targetOptions.syncIfDynamoDB(report.projection)
            if global.json {
                try printJSON(
                    ReplayOutput(
                        report, traffic: traffic, format: format, showDecisions: showDecisions, verdict: verdict,
                        expect: expect, synced: synced))
            } else {
                printTable(report, format: format)
                if let synced {
                    say(
                        "DynamoDB shadow table \(synced.tableName)\(synced.created ? " (created)" : ""): "
                            + "\(synced.written) orders written, \(synced.stale) left (the table held a newer version)")
                }
            }
            withExtendedLifetime(temp) {}
            if verdict, !report.result.differences.isEmpty { throw CLIError(code: .checkFailed, message: "") }
            if let diffs = report.expectationDifferences, !diffs.isEmpty {
                throw CLIError(code: .checkFailed, message: "")
            }
        }
    }
}
