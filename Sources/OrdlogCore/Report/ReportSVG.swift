/// The report's pictures, as SVG text: the attempts-over-time chart and the swimlane timelines. Every value
/// from the log goes through ``HTML/escape(_:)``, as in the rest of the page.
enum ReportSVG {
    static func e(_ s: String) -> String { HTML.escape(s) }

    /// Stacked bars: attempts per time bucket, by category.
    static func chart(_ c: ReportChart, colors: [ReportCategory: String]) -> String {
        let width = 760
        let height = 230
        let left = 52
        let right = 12
        let top = 14
        let bottom = 40
        let plotW = width - left - right
        let plotH = height - top - bottom
        let n = max(c.counts.count, 1)
        let maxStack = max(c.counts.map { $0.reduce(0, +) }.max() ?? 0, 1)
        let yMax = niceCeiling(maxStack)
        var s = "<svg id=\"chart\" width=\"\(width)\" height=\"\(height)\" "
        s += "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"Attempts over time by outcome\">\n"
        s += "<title>Attempts over time by outcome, \(e(bucketName(c.bucketMs))) buckets</title>\n"
        for tick in [0, yMax / 2, yMax] {
            let y = top + plotH - plotH * tick / yMax
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - right)\" y2=\"\(y)\" stroke=\"#d9dee7\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6474\">"
            s += "\(HTML.count(tick))</text>\n"
        }
        let slot = Double(plotW) / Double(n)
        let barW = max(slot * 0.82, 1)
        for (i, bucket) in c.counts.enumerated() {
            let x = Double(left) + slot * Double(i) + (slot - barW) / 2
            var y = Double(top + plotH)
            let start = c.originMs + Int64(i) * c.bucketMs
            let total = bucket.reduce(0, +)
            guard total > 0 else { continue }
            let parts = ReportCategory.allCases.enumerated().filter { bucket[$0.offset] > 0 }
                .map { "\(HTML.count(bucket[$0.offset])) \($0.element.rawValue)" }.joined(separator: ", ")
            s += "<g><title>\(e(RFC3339.format(milliseconds: start))) + \(e(bucketName(c.bucketMs))): "
            s += "\(e(parts))</title>"
            for (k, category) in ReportCategory.allCases.enumerated() where bucket[k] > 0 {
                let hgt = Double(plotH) * Double(bucket[k]) / Double(yMax)
                y -= hgt
                s += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barW))\" height=\"\(f(hgt))\" "
                s += "fill=\"\(colors[category]!)\"/>"
            }
            s += "</g>\n"
        }
        s +=
            "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(width - right)\" y2=\"\(top + plotH)\" stroke=\"#5b6474\"/>\n"
        // Labels at the first, middle and last bucket.
        var labelled = Set<Int>()
        for i in [0, (n - 1) / 2, n - 1] where !labelled.contains(i) && i < c.counts.count {
            labelled.insert(i)
            let x = Double(left) + slot * (Double(i) + 0.5)
            let t = RFC3339.format(milliseconds: c.originMs + Int64(i) * c.bucketMs)
            let anchor = i == 0 ? "start" : i == n - 1 ? "end" : "middle"
            let lx = i == 0 ? Double(left) : i == n - 1 ? Double(width - right) : x
            s +=
                "<text x=\"\(f(lx))\" y=\"\(top + plotH + 16)\" font-size=\"11\" text-anchor=\"\(anchor)\" fill=\"#5b6474\">"
            s +=
                "\(e(c.bucketMs < 86_400_000 ? String(t.dropFirst(11).prefix(c.bucketMs < 60_000 ? 8 : 5)) : String(t.prefix(10))))</text>"
            s +=
                "<line x1=\"\(f(x))\" y1=\"\(top + plotH)\" x2=\"\(f(x))\" y2=\"\(top + plotH + 4)\" stroke=\"#5b6474\"/>\n"
        }
        let first = RFC3339.format(milliseconds: c.originMs)
        let last = RFC3339.format(milliseconds: c.originMs + Int64(c.counts.count) * c.bucketMs)
        s += "<text x=\"\(left)\" y=\"\(height - 6)\" font-size=\"11\" fill=\"#5b6474\">"
        s += "\(e(first)) … \(e(last)) UTC, one bar per \(e(bucketName(c.bucketMs)))</text>\n"
        s += "</svg>"
        return s
    }

    static func f(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    static func niceCeiling(_ n: Int) -> Int {
        // The smallest of 2, 4, 6, 8, 10, 20, 40, … at or above n, so the middle tick is a whole number too.
        var step = 1
        while true {
            for m in [1, 2, 4, 5, 6, 8] where m * step >= n && (m * step) % 2 == 0 { return m * step }
            step *= 10
        }
    }

    static func bucketName(_ ms: Int64) -> String {
        let s = ms / 1000
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86400 { return "\(s / 3600) h" }
        return "\(s / 86400) d"
    }

    // MARK: Timelines

    struct Event {
        var lane: Int
        var title: String
        var lines: [String]
        var color: String
        var tooltip: String
        var message: Int
        var hollow = false
        /// The event this one follows from (drawn as an arrow): publish → first receive, receive → the next
        /// receive of the message (a redelivery), receive → its attempts, attempt → the item written.
        var parent: Int?
        /// The message's last event, when the message wrote no item: the Orders lane says so under it.
        var nothingWritten = false
    }

    static let lanes = ["SNS publish", "SQS receive", "ordlog attempt", "Orders item"]

    static func events(_ messages: [ReportMessage], colors: [ReportCategory: String]) -> [Event] {
        var out: [Event] = []
        for (k, m) in messages.enumerated() {
            var publish: Int?
            var lastReceive: Int?
            var receiveIndex: [Int64: Int] = [:]
            var hasItemEvent = false
            if m.anatomy.envelope != nil || m.receives.first?.sentTimestamp != nil { publish = out.count }
            if let env = m.anatomy.envelope {
                var tip = "SNS publish\nTopicArn: \(env.topicArn ?? "-")\nSNS MessageId: \(env.messageId ?? "-")"
                tip += "\nTimestamp: \(env.timestamp ?? "-")"
                if let subject = env.subject { tip += "\nSubject: \(subject)" }
                out.append(
                    Event(
                        lane: 0, title: "publish", lines: [short(env.messageId ?? "-"), clock(env.timestamp ?? "")],
                        color: ReportHTML.publishColor, tooltip: tip, message: k))
            } else if let sent = m.receives.first?.sentTimestamp {
                out.append(
                    Event(
                        lane: 0, title: "sent (raw)", lines: ["no SNS envelope", ReportHTML.timeOfDay(sent)],
                        color: ReportHTML.publishColor,
                        tooltip:
                            "Sent to SQS at \(RFC3339.format(milliseconds: sent)) (raw message delivery or no envelope)",
                        message: k, hollow: true))
            }
            var rs = m.receives[...]
            var atts = m.attempts[...]
            while !rs.isEmpty || !atts.isEmpty {
                if let r = rs.first, atts.first.map({ r.seq < $0.seq }) ?? true {
                    rs.removeFirst()
                    var tip = "SQS receive #\(r.receiveCount), log seq \(r.seq)\nMessageId: \(r.messageId ?? "-")"
                    tip += "\nReceived: \(RFC3339.format(milliseconds: r.receivedAt))"
                    if let sent = r.sentTimestamp { tip += "\nSent: \(RFC3339.format(milliseconds: sent))" }
                    tip += "\nSource: \(r.source)"
                    if r.md5Matches == false { tip += "\nMD5OfBody does not match the body" }
                    receiveIndex[r.seq] = out.count
                    out.append(
                        Event(
                            lane: 1, title: "receive #\(r.receiveCount)",
                            lines: ["seq \(r.seq)", ReportHTML.timeOfDay(r.receivedAt)], color: ReportHTML.receiveColor,
                            tooltip: tip, message: k, parent: lastReceive ?? publish))
                    lastReceive = out.count - 1
                } else if let a = atts.first {
                    atts.removeFirst()
                    let d = a.decision
                    let category = ReportCategory(outcome: d.outcome, deadLettered: d.deadLettered)
                    var tip =
                        "Attempt, log seq \(a.seq) (\(a.trigger) of receive seq \(a.receiveSeq)): \(d.outcome.rawValue)"
                    if d.deadLettered { tip += ", dead-lettered" }
                    if let fp = d.errorFingerprint { tip += "\n\(fp)" }
                    if let msg = d.errorMessage { tip += "\n\(msg)" }
                    if let note = d.note { tip += "\n\(note)" }
                    tip += "\nAt \(RFC3339.format(milliseconds: a.attemptedAt)), \(a.processorVersion)"
                    // The field at fault fits under the node; the whole fingerprint is in the heading and tooltip.
                    let firstLine = d.errorField.map { "seq \(a.seq) · \($0)" } ?? "seq \(a.seq)"
                    let attemptIndex = out.count
                    out.append(
                        Event(
                            lane: 2, title: d.deadLettered ? "\(d.outcome.rawValue) → DLQ" : d.outcome.rawValue,
                            lines: [
                                firstLine,
                                (a.trigger == .receive ? "" : a.trigger.rawValue + " ") + ReportHTML.timeOfDay(a.attemptedAt),
                            ],
                            color: colors[category]!, tooltip: tip, message: k,
                            parent: receiveIndex[a.receiveSeq] ?? lastReceive))
                    if let item = d.item, d.outcome == .projected {
                        hasItemEvent = true
                        out.append(
                            Event(
                                lane: 3, title: "written", lines: [item.status, "qty \(item.quantity)"],
                                color: colors[.projected]!, tooltip: "Item written to Orders:\n\(item.json)",
                                message: k, parent: attemptIndex))
                    } else if d.outcome == .duplicate || d.outcome == .stale {
                        hasItemEvent = true
                        out.append(
                            Event(
                                lane: 3, title: "not written", lines: [d.outcome.rawValue, d.item?.status ?? ""],
                                color: colors[category]!, tooltip: d.note ?? "nothing written", message: k,
                                hollow: true, parent: attemptIndex))
                    }
                }
            }
            if !hasItemEvent, !out.isEmpty, out[out.count - 1].message == k { out[out.count - 1].nothingWritten = true }
        }
        return out
    }

    static func short(_ id: String) -> String {
        id.count <= 14 ? id : String(id.prefix(8)) + "…" + String(id.suffix(4))
    }
    static func clock(_ rfc3339: String) -> String {
        rfc3339.count >= 23 ? String(rfc3339.dropFirst(11).prefix(12)) : rfc3339
    }

    /// Swimlanes (SNS publish → SQS receives → attempts → the item written), one column per event in log
    /// order, messages separated by dashed lines. `id` makes the arrow marker's id unique in the page.
    static func timeline(_ messages: [ReportMessage], id: String, colors: [ReportCategory: String]) -> String {
        let evs = events(messages, colors: colors)
        let gutter = 112
        let col = 130
        let laneH = 70
        let top = 26
        let width = gutter + col * max(evs.count, 1) + 8
        let height = top + laneH * lanes.count + 6
        var s = "<svg class=\"timeline\" width=\"\(width)\" height=\"\(height)\" "
        s += "viewBox=\"0 0 \(width) \(height)\" role=\"img\" "
        s += "aria-label=\"Timeline: \(evs.count) events in \(messages.count) message(s)\">\n"
        s += "<defs><marker id=\"arrow-\(id)\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
        s +=
            "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#8a93a3\"/></marker></defs>\n"
        for (i, lane) in lanes.enumerated() {
            let y = top + laneH * i
            s +=
                "<rect x=\"0\" y=\"\(y)\" width=\"\(width)\" height=\"\(laneH)\" fill=\"\(i % 2 == 0 ? "#f4f6fa" : "#ffffff")\"/>"
            s += "<text x=\"8\" y=\"\(y + laneH / 2 + 4)\" font-size=\"12\" font-weight=\"600\" fill=\"#5b6474\">"
            s += "\(e(lane))</text>\n"
        }
        func x(_ i: Int) -> Int { gutter + col * i + col / 2 }
        func y(_ lane: Int) -> Int { top + laneH * lane + 30 }
        // Message separators and labels.
        var previous = -1
        for (i, ev) in evs.enumerated() where ev.message != previous {
            previous = ev.message
            let sx = gutter + col * i
            if i > 0 {
                s +=
                    "<line x1=\"\(sx)\" y1=\"4\" x2=\"\(sx)\" y2=\"\(height)\" stroke=\"#9aa3b2\" stroke-dasharray=\"4 3\"/>"
            }
            let m = messages[ev.message]
            s += "<text x=\"\(sx + 6)\" y=\"17\" font-size=\"11.5\" fill=\"#1d2330\">"
            s += "<title>\(e("SQS MessageId \(m.messageId)"))</title>"
            s +=
                "message \(e(short(m.messageId)))\(m.latest?.decision.deadLettered == true ? " · dead-lettered" : "")</text>\n"
        }
        // Connectors: each event from the one it follows from.
        for (i, ev) in evs.enumerated() {
            guard let p = ev.parent else { continue }
            let (x1, y1, x2, y2) = (x(p), y(evs[p].lane), x(i), y(ev.lane))
            let dx = Double(x2 - x1)
            let dy = Double(y2 - y1)
            let len = (dx * dx + dy * dy).squareRoot()
            let ux = dx / len
            let uy = dy / len
            s += "<line x1=\"\(f(Double(x1) + ux * 10))\" y1=\"\(f(Double(y1) + uy * 10))\" "
            s += "x2=\"\(f(Double(x2) - ux * 11))\" y2=\"\(f(Double(y2) - uy * 11))\" stroke=\"#8a93a3\" "
            s += "stroke-width=\"1.4\" marker-end=\"url(#arrow-\(id))\"/>\n"
        }
        for (i, ev) in evs.enumerated() {
            let cx = x(i)
            let cy = y(ev.lane)
            s += "<g class=\"event\"><title>\(e(ev.tooltip))</title>"
            s += "<text x=\"\(cx)\" y=\"\(cy - 14)\" font-size=\"12\" font-weight=\"600\" text-anchor=\"middle\" "
            s += "fill=\"\(ev.color)\">\(e(clip(ev.title, 19)))</text>"
            if ev.hollow {
                s +=
                    "<circle cx=\"\(cx)\" cy=\"\(cy)\" r=\"7\" fill=\"#fff\" stroke=\"\(ev.color)\" stroke-width=\"2.5\"/>"
            } else {
                s += "<circle cx=\"\(cx)\" cy=\"\(cy)\" r=\"8\" fill=\"\(ev.color)\"/>"
            }
            for (k, line) in ev.lines.prefix(2).enumerated() where !line.isEmpty {
                s +=
                    "<text x=\"\(cx)\" y=\"\(cy + 22 + 13 * k)\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2330\">"
                s += "\(e(clip(line, 20)))</text>"
            }
            s += "</g>\n"
            if ev.nothingWritten {
                s += "<text x=\"\(cx)\" y=\"\(y(3) + 4)\" font-size=\"11\" text-anchor=\"middle\" fill=\"#8a93a3\" "
                s += "font-style=\"italic\">nothing written</text>\n"
            }
        }
        s += "</svg>"
        return s
    }

    static func clip(_ s: String, _ n: Int) -> String { ReportHTML.clip(s, n) }
}
