import ArgumentParser
import Foundation
import OrdlogCore

struct Orders: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Show the local projection: the Orders table as the log has built it.",
        discussion: """
            Several logs (repeated --db, a folder, a glob): each is verified, then the projection is rebuilt from \
            their merge (documented order: `ordlog verify --help`) and shown; lastSeq then counts in the merged \
            log.

            Examples:
              ordlog orders
              ordlog orders --db consumer-a.db --db consumer-b.db --db consumer-c.db
              ordlog orders ord-1001
              ordlog orders --json | jq '.[] | select(.status == "SHIPPED")'

            JSON: an array of {"orderId","userId","itemName","quantity","status","timestamp","lastSeq","messageId"}; \
            with ORDER_ID, that one object. Exit codes: 0 found, 2 ORDER_ID not in the projection, 70 log error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Show only this order (compared byte for byte).")
    var orderId: String?

    func run() throws {
        try runReportingErrors {
            let projection: LocalProjection
            let path = global.dbPath
            var verified: VerifiedLog?  // the logs read, kept open (with a merge's scratch folder) while read
            if global.db.count <= 1, let file = LocalProjection.openProjectionFile(path) {
                // A projection file written by `reproject --into` / `replay --into`: read it as it is.
                projection = file
            } else {
                // The logs, verified: one log's own projection, or the one their merged log builds (each log's
                // own follows only its own).
                let logs: VerifiedLog
                do {
                    logs = try global.openVerifiedLog(scratchPrefix: "ordlog-orders", project: true)
                } catch let e as LogSourceError where e.kind == .notALog {
                    throw CLIError(
                        code: .storage,
                        message: "\(e.source) is neither an ordlog event log nor a projection (it has no receives or "
                            + "orders table). Give --db the log (`ordlog ingest` or `consume` write one) or a file "
                            + "written by `reproject --into` / `replay --into`.")
                }
                verified = logs
                projection = LocalProjection(db: logs.log.db)
            }
            if let orderId {
                guard let o = try projection.order(orderId) else {
                    if global.json { try printJSON(OrderOutput?.none) }  // still JSON on stdout for a script; exit 2 says "not found"
                    err(
                        "ordlog: order \(orderId) is not in the projection. `ordlog history --db \(shellQuoted(path)) \(shellQuoted(orderId))` shows "
                            + "whether the log has seen it (a message rejected before its orderId was read is found "
                            + "by its MessageId: `ordlog inspect-dlq --db \(shellQuoted(path)) MESSAGE_ID`)."
                    )
                    throw ExitCode(ExitStatus.notFound.rawValue)
                }
                let output = OrderOutput(o)
                if global.json { try printJSON(output) } else { say(OrderOutput.table([output])) }
                return
            }
            defer { withExtendedLifetime(verified) {} }
            let all = try projection.orders().map(OrderOutput.init)
            if global.json {
                try printJSON(all)
            } else {
                say(OrderOutput.table(all))
                say(plural(all.count, "order"))
            }
        }
    }
}
