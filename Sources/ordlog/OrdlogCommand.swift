import ArgumentParser
import Logging
import OrdlogCore

/// The `ordlog` command: an event-sourced processor for an SNS → SQS → DynamoDB order pipeline.
struct Ordlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ordlog",
        abstract: "Event-sourced order processor: every SQS message is logged before it is projected.",
        discussion: """
            ordlog appends every SQS message to a local SQLite event log (default ./ordlog.db), then decides \
            what it means for the Orders table and projects it. From the log you can answer \
            "what happened to order X, and why?".

            Exit codes:
              0   success
              1   a check found differences or damage (replay --verdict/--expect, verify)
              2   what was asked for is not there (orders ID, history ID, inspect-dlq ID, redrive --message-id)
              3   some messages were dead-lettered in this run (consume, redrive; ingest only with --exit-code)
              4   bad input: a file could not be read or is not recorded SQS traffic; with ingest --exit-code also
                  entries that are not SQS messages (those are still logged and rejected); takes precedence over 3
              5   an AWS call failed (credentials, permissions, endpoint, throttling after retries)
              64  usage error (bad flags or arguments)
              70  the event log or projection could not be read or written
              130 interrupted (reproject keeps its checkpoint: run it again to continue)
            """,
        version: "0.1.0",
        subcommands: [
            Ingest.self, Orders.self, History.self, Replay.self, Reproject.self, InspectDLQ.self, Redrive.self,
            Verify.self, Head.self, Export.self, Report.self, Setup.self, Publish.self, Consume.self,
            Whoami.self, Seal.self, Archive.self,
        ]
    )
}
