import ArgumentParser
import Foundation
import OrdlogCore

// The output of `replay`: its table (the command's render half; the JSON is ``ReplayOutput``).
extension Replay {
    func printTable(_ report: ReplayReport, format: TrafficFormat?) {
        let r = report.result
        let c = r.counts
        let what = traffic.map { "captured traffic \($0) (\(format?.rawValue ?? "?"))" } ?? "the log \(global.dbPath)"
        say("Replayed \(c.replayed) receives from \(what) with \(r.processorVersion)")
        var t = Table("replayed", "projected", "duplicate", "stale", "rejected", "failed", "dead-lettered")
        t.add(
            String(c.replayed), String(c.projected), String(c.duplicate), String(c.stale), String(c.rejected),
            String(c.failed), String(c.deadLettered))
        say(t)
        say("Projection: \(plural(r.orders, "order")), digest \(r.digest)")
        if showDecisions {
            say("")
            var d = Table("seq", "message", "rc", "decision")
            for x in report.decisions {
                d.add(String(x.seq), x.messageId ?? "-", String(x.receiveCount), brief(x.decision))
            }
            say(d)
        }
        if verdict {
            say("")
            if r.differences.isEmpty {
                say("Verdict: all \(r.compared) decisions equal the recorded ones.")
            } else {
                say("Verdict: \(r.differences.count) of \(r.compared) decisions differ from the recorded ones:")
                var d = Table("seq", "message", "rc", "recorded", "new")
                for x in r.differences {
                    d.add(
                        String(x.seq), x.messageId ?? "-", String(x.receiveCount), brief(x.recorded), brief(x.replayed))
                }
                say(d)
            }
        }
        if let expectDiffs = report.expectationDifferences {
            say("")
            if expectDiffs.isEmpty {
                say("Expectations \(expect ?? ""): all decisions as expected.")
            } else {
                say("Expectations \(expect ?? ""): \(expectDiffs.count) differences:")
                var d = Table("kind", "message", "expected", "actual")
                for x in expectDiffs {
                    d.add(x.kind.rawValue, x.key, summary(x.expected), summary(x.actual))
                }
                say(d)
                say("If the change is intended, record new expectations with --record-expect and commit them.")
            }
        }
        if let recordExpect { say("Wrote \(c.replayed) expectations to \(recordExpect)") }
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
