import ArgumentParser
import Foundation
import OrdlogCore

// The output of `replay`: its table (the command's render half; the JSON is ``ReplayOutput``).
extension Replay {
    func printTable(_ report: ReplayReport, format: TrafficFormat?) {
        let r = report.result
        let c = r.counts
        let what = traffic.map { "captured traffic \($0) (\(format?.rawValue ?? "?"))" } ?? "the log \(global.dbPath)"
        out("Replayed \(c.replayed) receives from \(what) with \(r.processorVersion)")
        var t = Table("replayed", "projected", "duplicate", "stale", "rejected", "failed", "dead-lettered")
        t.add(
            String(c.replayed), String(c.projected), String(c.duplicate), String(c.stale), String(c.rejected),
            String(c.failed), String(c.deadLettered))
        out(t.render())
        out("Projection: \(plural(r.orders, "order")), digest \(r.digest)")
        if showDecisions {
            out("")
            var d = Table("seq", "message", "rc", "decision")
            for x in report.decisions {
                d.add(String(x.seq), x.messageId ?? "-", String(x.receiveCount), brief(x.decision))
            }
            out(d.render())
        }
        if verdict {
            out("")
            if r.differences.isEmpty {
                out("Verdict: all \(r.compared) decisions equal the recorded ones.")
            } else {
                out("Verdict: \(r.differences.count) of \(r.compared) decisions differ from the recorded ones:")
                var d = Table("seq", "message", "rc", "recorded", "new")
                for x in r.differences {
                    d.add(
                        String(x.seq), x.messageId ?? "-", String(x.receiveCount), brief(x.recorded), brief(x.replayed))
                }
                out(d.render())
            }
        }
        if let expectDiffs = report.expectationDifferences {
            out("")
            if expectDiffs.isEmpty {
                out("Expectations \(expect ?? ""): all decisions as expected.")
            } else {
                out("Expectations \(expect ?? ""): \(expectDiffs.count) differences:")
                var d = Table("kind", "message", "expected", "actual")
                for x in expectDiffs {
                    d.add(x.kind.rawValue, x.key, summary(x.expected), summary(x.actual))
                }
                out(d.render())
                out("If the change is intended, record new expectations with --record-expect and commit them.")
            }
        }
        if let recordExpect { out("Wrote \(c.replayed) expectations to \(recordExpect)") }
    }

    func summary(_ o: JSONObject?) -> String {
        guard let o else { return "-" }
        var s = o["outcome"]?.stringValue ?? "?"
        if let code = o["errorCode"]?.stringValue {
            s += " \(code)" + (o["errorField"]?.stringValue.map { ":\($0)" } ?? "")
        }
        if let item = o["item"], item != .null { s += " \(JSONWriter.string(item))" }
        return s
    }
}
