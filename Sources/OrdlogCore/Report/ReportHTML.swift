import Foundation

/// Renders ``ReportData`` as one self-contained HTML page: inline CSS and SVG, one small inline script
/// (filtering, expand/collapse; the page reads the same without it), nothing loaded from anywhere.
///
/// A pure function of its input: the same data gives the same bytes. The only line that depends on when
/// the report was made is the one with `id="made-at"`. Every value from the log goes through
/// ``HTML/escape(_:)``; the script embeds no data and only reads the DOM (`textContent`, never `innerHTML`).
public enum ReportHTML {
    /// The page's only script, exactly as between its tags. Its SHA-256 is the Content-Security-Policy's `script-src`.
    static let script = """
        document.documentElement.dataset.js = "on";
        for (const input of document.querySelectorAll("input[data-filter]")) {
          input.hidden = false;
          const items = document.querySelectorAll(input.dataset.filter);
          input.addEventListener("input", () => {
            const q = input.value.trim().toLowerCase();
            for (const item of items) item.hidden = q !== "" && !item.textContent.toLowerCase().includes(q);
          });
        }
        for (const button of document.querySelectorAll("button[data-details]")) {
          button.hidden = false;
          button.addEventListener("click", () => {
            for (const d of document.querySelectorAll("details")) d.open = button.dataset.details === "open";
          });
        }
        window.addEventListener("beforeprint", () => {
          for (const d of document.querySelectorAll("details")) d.open = true;
        });
        """

    /// The Content-Security-Policy of the page: nothing may load; only the page's own script may run.
    public static var contentSecurityPolicy: String {
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src \(HTML.cspHash(script)); "
            + "base-uri 'none'; form-action 'none'"
    }

    static let css = """
        :root { color-scheme: light; --ink: #1d2330; --muted: #5b6474; --line: #d9dee7; --band: #f4f6fa;
          --accent: #1f5fbf; --bad: #c62828; --good: #2e7d32; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--ink); background: #fff;
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
        header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
        header { padding-top: 20px; border-bottom: 1px solid var(--line); }
        h1 { font-size: 22px; margin: 0 0 10px; }
        h1 small { font-weight: normal; color: var(--muted); font-size: 14px; margin-left: 8px; }
        h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
        h3 { font-size: 15px; margin: 20px 0 6px; }
        h4 { font-size: 14px; margin: 0 0 6px; }
        code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
          font-size: 12.5px; }
        .meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0 0 10px; }
        .meta dt { color: var(--muted); }
        .meta dd { margin: 0; overflow-wrap: anywhere; }
        .ok { color: var(--good); font-weight: 600; }
        .broken { color: var(--bad); font-weight: 600; }
        .made { color: var(--muted); margin: 0 0 8px; font-size: 12.5px; }
        nav { margin: 8px 0 12px; display: flex; flex-wrap: wrap; gap: 6px 14px; }
        nav a, a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        .note { color: var(--muted); margin: 6px 0; }
        .warn { background: #fff4e5; border-left: 4px solid #ef6c00; padding: 6px 10px; margin: 8px 0; }
        .alarm { background: #fdecea; border-left: 4px solid var(--bad); padding: 6px 10px; margin: 8px 0; }
        table { border-collapse: collapse; margin: 6px 0 10px; }
        th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; font-size: 12.5px; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        .nowrap { white-space: nowrap; }
        tr.group td { border-bottom: none; padding-bottom: 0; }
        tr.redrive td { padding-top: 2px; }
        .wide { width: 100%; }
        .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
          vertical-align: -1px; }
        .summary { display: flex; flex-wrap: wrap; gap: 10px 40px; align-items: flex-start; }
        .totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 12px; }
        .totals div { background: var(--band); border-radius: 6px; padding: 6px 12px; min-width: 110px; }
        .totals b { display: block; font-size: 20px; }
        .totals span { color: var(--muted); font-size: 12.5px; }
        .scroll { overflow-x: auto; }
        article.message, article.order { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
          margin: 10px 0 14px; break-inside: avoid; }
        .tag { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 12px; color: #fff;
          background: var(--muted); margin-left: 6px; }
        .tag.dl { background: var(--bad); }
        details { margin: 6px 0; }
        summary { cursor: pointer; color: var(--accent); }
        pre { background: var(--band); padding: 8px 10px; border-radius: 4px; white-space: pre-wrap;
          overflow-wrap: anywhere; margin: 4px 0; max-height: 420px; overflow-y: auto; }
        .cmd { background: #eef3fb; padding: 2px 6px; border-radius: 3px; }
        input[type=search] { font: inherit; padding: 4px 8px; width: 320px; margin: 4px 0 6px; }
        button { font: inherit; margin: 0 6px 6px 0; }
        footer { color: var(--muted); border-top: 1px solid var(--line); margin-top: 30px; padding-bottom: 30px; }
        svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
        @media print {
          nav, input, button, .noprint { display: none !important; }
          .scroll { overflow: visible; }
          svg { max-width: 100%; height: auto; }
          pre { max-height: none; }
          h2 { break-after: avoid; }
        }
        """

    static let colors: [ReportCategory: String] = [
        .projected: "#2e7d32", .duplicate: "#78909c", .stale: "#f2b600", .rejected: "#ef6c00", .failed: "#8e24aa",
        .deadLettered: "#c62828",
    ]
    static let receiveColor = "#1f5fbf"
    static let publishColor = "#00838f"

    static func e(_ s: String) -> String { HTML.escape(s) }
    static func time(_ ms: Int64) -> String { RFC3339.format(milliseconds: ms) }
    static func timeOfDay(_ ms: Int64) -> String {
        let t = time(ms)
        return String(t.dropFirst(11).prefix(12))
    }
    static func clip(_ s: String, _ n: Int) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= n ? flat : String(flat.prefix(n - 1)) + "…"
    }
    /// `'…'` for a shell, when needed.
    static func shellQuote(_ s: String) -> String {
        let safe = s.unicodeScalars.allSatisfy {
            ($0.value < 128) && (CharacterSet.alphanumerics.contains($0) || "-_./:=@%+,".unicodeScalars.contains($0))
        }
        return safe && !s.isEmpty ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    static func plural(_ n: Int, _ one: String, _ many: String? = nil) -> String {
        "\(HTML.count(n)) \(n == 1 ? one : many ?? one + "s")"
    }

    /// The page.
    public static func render(_ d: ReportData) -> String {
        var h = ""
        h.reserveCapacity(256 * 1024)
        let headText = d.headArguments.joined(separator: " ")
        h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(e(contentSecurityPolicy))\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<meta name=\"generator\" content=\"ordlog report\">\n"
        h +=
            "<title>ordlog report — \(e(d.logs.joined(separator: ", "))) — head \(e(d.head.map { String($0.seq) } ?? "0"))</title>\n"
        h += "<style>\n\(css)\n</style>\n</head>\n<body>\n"
        header(&h, d, headText)
        h += "<main>\n"
        summary(&h, d)
        deadLetterGroups(&h, d)
        if d.options.showsDeadLetteredTimelines { deadLetterTimelines(&h, d) }
        if !d.options.orderIds.isEmpty { chosenOrders(&h, d) }
        ordersTable(&h, d)
        h += "</main>\n"
        footer(&h, d, headText)
        h += "<script>\(script)</script>\n</body>\n</html>\n"
        return h
    }

    static func header(_ h: inout String, _ d: ReportData, _ headText: String) {
        h += "<header>\n<h1>ordlog report<small>event log, dead letters and order timelines</small></h1>\n"
        h += "<dl class=\"meta\">\n"
        h += "<dt>Log</dt><dd class=\"mono\">\(d.logs.map(e).joined(separator: "<br>"))</dd>\n"
        h += "<dt>Head</dt><dd class=\"mono\" id=\"head\">\(e(headText))</dd>\n"
        if d.verify.ok {
            h +=
                "<dt>Integrity</dt><dd id=\"verify\"><span class=\"ok\">verified</span>: the hash chain of all "
                + "\(plural(Int(d.verify.verified), "record")) is intact (same check as <code>ordlog verify</code>)</dd>\n"
        } else if let p = d.verify.problem {
            h +=
                "<dt>Integrity</dt><dd id=\"verify\"><span class=\"broken\">BROKEN at seq \(p.seq): \(e(p.kind.rawValue))</span>"
                + " — \(e(p.message)); \(plural(Int(d.verify.verified), "record")) before it verified</dd>\n"
        }
        h += "<dt>Selection</dt><dd>\(e(selectionText(d)))</dd>\n"
        if let r = d.options.redactor {
            h +=
                "<dt>Redacted</dt><dd>\(e(r.fields.sorted().joined(separator: ", "))) pseudonymised as in "
                + "<code>ordlog export --redact</code> (FIELD-&lt;HMAC-SHA256 prefix&gt;); error messages about "
                + "these fields are withheld"
                + (d.unredactableBodies > 0
                    ? "; <strong>\(plural(d.unredactableBodies, "body", "bodies")) shown could not be redacted</strong> "
                        + "(not JSON or no such field): check before sharing" : "")
                + "</dd>\n"
        }
        h += "</dl>\n"
        h += "<p class=\"made\" id=\"made-at\">Made at \(e(time(d.madeAtMs)))</p>\n"
        h +=
            "<nav class=\"noprint\"><a href=\"#summary\">Summary</a><a href=\"#dlq\">Dead-letter groups (\(HTML.count(d.groups.count)))</a>"
        if d.options.showsDeadLetteredTimelines {
            h += "<a href=\"#dead-lettered\">Dead-lettered timelines (\(HTML.count(d.dlqTimelinesShown)))</a>"
        }
        if !d.options.orderIds.isEmpty {
            h += "<a href=\"#chosen\">Orders asked for (\(HTML.count(d.options.orderIds.count)))</a>"
        }
        h += "<a href=\"#orders\">Orders table (\(HTML.count(d.orders.count)))</a></nav>\n"
        if !d.verify.ok {
            h += "<p class=\"alarm\">The log's hash chain is broken: what this report shows may have been edited. "
            h += "Run <code>ordlog verify</code> for details.</p>\n"
        }
        h += "</header>\n"
    }

    /// An order id as the page may show it: its pseudonym under `--redact orderId`.
    static func shownOrderId(_ d: ReportData, _ id: String) -> String {
        ReportData.pseudonym("orderId", id, d.options.redactor)
    }

    static func selectionText(_ d: ReportData) -> String {
        var parts: [String] = []
        if d.options.sinceMs != nil || d.options.untilMs != nil {
            parts.append(
                "messages sent \(d.options.sinceMs.map { "from " + time($0) } ?? "")"
                    + "\(d.options.sinceMs != nil && d.options.untilMs != nil ? " " : "")"
                    + "\(d.options.untilMs.map { "until " + time($0) } ?? "")")
        } else {
            parts.append("the whole log")
        }
        if !d.options.orderIds.isEmpty {
            parts.append("orders \(d.options.orderIds.map { shownOrderId(d, $0) }.joined(separator: ", "))")
        }
        if d.options.showsDeadLetteredTimelines {
            parts.append("timelines of up to \(d.options.maxTimelines) dead-lettered messages")
        }
        parts.append("up to \(d.options.maxOrders) most recently written orders in the table")
        return parts.joined(separator: "; ")
    }

    // MARK: Summary

    static func summary(_ h: inout String, _ d: ReportData) {
        h += "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"totals\" id=\"totals\">"
        for (n, label) in [
            (d.receives, "receives"), (d.attempts, "attempts"), (d.messages, "SQS messages"),
            (d.deadLetteredMessages, "dead-lettered"), (d.inputErrors, "input errors"),
            (d.ordersInProjection, "orders in the projection"),
        ] {
            h += "<div><b>\(HTML.count(n))</b><span>\(e(label))</span></div>"
        }
        h += "</div>\n<div class=\"summary\">\n<table id=\"outcomes\"><thead><tr><th>attempts by outcome</th>"
        h += "<th class=\"n\">count</th><th class=\"n\">share</th></tr></thead><tbody>\n"
        let total = max(d.attempts, 1)
        for (i, c) in ReportCategory.allCases.enumerated() {
            let n = d.categoryCounts[i]
            let share = Double(n) * 100 / Double(total)
            h +=
                "<tr data-outcome=\"\(c.rawValue)\"><td><span class=\"swatch\" style=\"background:\(colors[c]!)\"></span>"
            h += "\(c.rawValue)</td><td class=\"n\">\(HTML.count(n))</td><td class=\"n\">\(percent(share))</td></tr>\n"
        }
        h += "<tr><th>all attempts</th><th class=\"n\">\(HTML.count(d.attempts))</th><th></th></tr>\n"
        h += "</tbody></table>\n"
        if let chart = d.chart { h += "<div class=\"scroll\">" + ReportSVG.chart(chart, colors: colors) + "</div>\n" }
        h += "</div>\n<p class=\"note\">Each attempt is placed at its receive's time (SQS SentTimestamp, else when "
        h += "ordlog received it), as <code>--since</code>/<code>--until</code> select. Rejected and failed count "
        h += "the attempts that were retried; dead-lettered the ones that exhausted maxReceiveCount "
        h += "(<code>ingest</code> counts those under rejected/failed too)."
        if d.inputErrors > 0 {
            h += " \(plural(d.inputErrors, "receive was", "receives were")) not SQS messages at all: "
            h += "<code>ordlog inspect-dlq</code> lists them."
        }
        h += "</p>\n</section>\n"
    }

    static func percent(_ p: Double) -> String {
        let tenths = Int((p * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    // MARK: Dead letters

    static func redrive(_ d: ReportData, _ fingerprint: String) -> String {
        "ordlog redrive --db \(shellQuote(d.logs.first ?? "ordlog.db")) --fingerprint \(shellQuote(fingerprint)) --dry-run"
    }

    static func deadLetterGroups(_ h: inout String, _ d: ReportData) {
        h += "<section id=\"dlq\">\n<h2>Dead-letter groups</h2>\n"
        guard !d.groups.isEmpty else {
            h += "<p class=\"note\">No message is dead-lettered"
            h += d.options.sinceMs != nil || d.options.untilMs != nil ? " in this window" : ""
            h += ".</p>\n</section>\n"
            return
        }
        h += "<p class=\"note\">\(plural(d.deadLetteredMessages, "dead-lettered message")) in "
        h += "\(plural(d.groups.count, "group")) by error fingerprint (error code:field). First and last seen: when "
        h += "ordlog received them. Fix the producer (or the rule), preview the redrive, then run it without "
        h += "<code>--dry-run</code>.</p>\n"
        h +=
            "<div class=\"scroll\"><table class=\"wide\" id=\"groups\"><thead><tr><th>fingerprint</th><th class=\"n\">messages</th>"
        h += "<th>first seen</th><th>last seen</th><th>example error</th></tr></thead><tbody>\n"
        for g in d.groups {
            let link = d.options.showsDeadLetteredTimelines && !g.examples.isEmpty
            h += "<tr class=\"group\" data-fingerprint=\"\(e(g.fingerprint))\"><td class=\"mono\">"
            h += link ? "<a href=\"#\(HTML.anchor("group", g.fingerprint))\">\(e(g.fingerprint))</a>" : e(g.fingerprint)
            h += "</td><td class=\"n\">\(HTML.count(g.count))</td>"
            h +=
                "<td class=\"mono nowrap\">\(e(time(g.firstSeen)))</td><td class=\"mono nowrap\">\(e(time(g.lastSeen)))</td>"
            h += "<td>\(e(clip(g.exampleError ?? "-", 160)))</td></tr>\n"
            h +=
                "<tr class=\"redrive\"><td colspan=\"5\">Redrive: <code class=\"cmd\">\(e(redrive(d, g.fingerprint)))</code></td></tr>\n"
        }
        h += "</tbody></table></div>\n</section>\n"
    }

    static func deadLetterTimelines(_ h: inout String, _ d: ReportData) {
        h += "<section id=\"dead-lettered\">\n<h2>Dead-lettered messages</h2>\n"
        let shown = d.dlqTimelinesShown
        if shown < d.deadLetteredMessages {
            h += "<p class=\"warn\" id=\"dlq-cap\">Showing timelines of \(HTML.count(shown)) of "
            h += "\(HTML.count(d.deadLetteredMessages)) dead-lettered messages (spread over the groups; "
            h += "<code>--max-timelines</code> raises the cap). For the others use <code>ordlog inspect-dlq</code> or "
            h += "<code>ordlog report --order-id ID</code>.</p>\n"
        }
        if shown > 0 {
            h +=
                "<p class=\"noprint\"><input type=\"search\" hidden placeholder=\"Filter messages (id, order, error…)\" "
            h += "data-filter=\"#dead-lettered article.message\" aria-label=\"Filter dead-lettered messages\">"
            h += "<button type=\"button\" hidden data-details=\"open\">Expand all</button>"
            h += "<button type=\"button\" hidden data-details=\"close\">Collapse all</button></p>\n"
        }
        var index = 0
        for g in d.groups where !g.examples.isEmpty {
            h += "<h3 id=\"\(HTML.anchor("group", g.fingerprint))\"><span class=\"mono\">\(e(g.fingerprint))</span> — "
            h +=
                "\(plural(g.count, "message"))\(g.examples.count < g.count ? ", \(HTML.count(g.examples.count)) shown" : "")</h3>\n"
            h += "<p class=\"note\">Redrive: <code class=\"cmd\">\(e(redrive(d, g.fingerprint)))</code></p>\n"
            for m in g.examples {
                index += 1
                message(&h, m, d, index: index, heading: true)
            }
        }
        if shown == 0 { h += "<p class=\"note\">None.</p>\n" }
        h += "</section>\n"
    }

    /// One message: heading, swimlane timeline, then its receives, attempts, envelope and raw body.
    static func message(_ h: inout String, _ m: ReportMessage, _ d: ReportData, index: Int, heading: Bool) {
        let dead = m.latest?.decision.deadLettered ?? false
        h +=
            "<article class=\"message\" id=\"\(HTML.anchor("msg", m.messageId))\" data-message-id=\"\(e(m.messageId))\">\n"
        h += "<h4>Message <span class=\"mono\">\(e(m.messageId))</span>"
        if let o = m.orderId { h += " · order <span class=\"mono\">\(e(o))</span>" }
        if dead { h += "<span class=\"tag dl\">dead-lettered</span>" }
        h += "</h4>\n"
        if let a = m.latest, let msg = a.decision.errorMessage {
            h += "<p><strong>\(e(a.decision.errorFingerprint ?? a.decision.outcome.rawValue))</strong>: \(e(msg))</p>\n"
        }
        h += "<div class=\"scroll\">" + ReportSVG.timeline([m], id: "m\(index)", colors: colors) + "</div>\n"
        details(&h, m, open: false)
        h += "</article>\n"
    }

    static func details(_ h: inout String, _ m: ReportMessage, open: Bool) {
        h += "<details\(open ? " open" : "")><summary>Receives, attempts, SNS envelope and raw body of "
        h += "<span class=\"mono\">\(e(clip(m.messageId, 60)))</span></summary>\n"
        h +=
            "<div class=\"scroll\"><table><thead><tr><th>seq</th><th>record</th><th>time</th><th>detail</th></tr></thead><tbody>\n"
        var rs = m.receives[...]
        var atts = m.attempts[...]
        while !rs.isEmpty || !atts.isEmpty {
            if let r = rs.first, atts.first.map({ r.seq < $0.seq }) ?? true {
                rs.removeFirst()
                var detail = "receive count \(r.receiveCount)"
                if let s = r.sentTimestamp { detail += ", sent \(time(s))" }
                if let rh = r.receiptHandle { detail += ", receipt handle \(clip(rh, 28))" }
                if r.md5Matches == false { detail += ", MD5OfBody does NOT match the body" }
                detail += ", from \(r.source)"
                h += "<tr><td class=\"n\">\(r.seq)</td><td>receive #\(r.receiveCount)</td>"
                h += "<td class=\"mono nowrap\">\(e(time(r.receivedAt)))</td><td>\(e(detail))</td></tr>\n"
            } else if let a = atts.first {
                atts.removeFirst()
                let dd = a.decision
                var detail = dd.errorMessage.map { (dd.errorFingerprint.map { $0 + ": " } ?? "") + $0 } ?? ""
                if let item = dd.item, dd.outcome == .projected { detail += "wrote \(item.json)" }
                if let note = dd.note { detail += (detail.isEmpty ? "" : "; ") + note }
                detail += (detail.isEmpty ? "" : "; ") + "\(a.trigger), \(a.processorVersion)"
                h += "<tr><td class=\"n\">\(a.seq)</td><td>attempt: \(e(dd.outcome.rawValue))"
                h += dd.deadLettered ? " <span class=\"tag dl\">DLQ</span>" : ""
                h += "</td><td class=\"mono nowrap\">\(e(time(a.attemptedAt)))</td><td>\(e(detail))</td></tr>\n"
            }
        }
        h += "</tbody></table></div>\n"
        if let env = m.anatomy.envelope {
            h += "<table><caption class=\"note\" style=\"text-align:left\">SNS envelope</caption><tbody>\n"
            for (k, v) in [
                ("TopicArn", env.topicArn), ("SNS MessageId", env.messageId), ("Timestamp", env.timestamp),
                ("Subject", env.subject), ("MessageAttributes", env.messageAttributes.map(JSONWriter.string)),
            ] {
                h += "<tr><th>\(e(k))</th><td class=\"mono\">\(e(v ?? "(none)"))</td></tr>\n"
            }
            h += "</tbody></table>\n"
        } else {
            h += "<p class=\"note\">No SNS envelope (raw message delivery, or the body is not an envelope).</p>\n"
        }
        if let p = m.anatomy.problem { h += "<p class=\"note\">Parsing stopped: \(e(p))</p>\n" }
        var what = "Raw body (latest receive, \(plural(m.bodyBytes, "byte"))"
        if !m.bodyIsUTF8 { what += "; not valid UTF-8: invalid bytes shown as \u{FFFD}" }
        switch m.redaction {
        case .none: break
        case .redacted: what += "; order fields redacted, re-serialised compactly"
        case .unredactable: what += "; NOT redacted: not JSON or no such field"
        }
        h += "<p class=\"note\">\(e(what))</p>\n<pre class=\"body\">\(e(m.body))</pre>\n</details>\n"
    }

    // MARK: Orders

    static func chosenOrders(_ h: inout String, _ d: ReportData) {
        h += "<section id=\"chosen\">\n<h2>Orders asked for</h2>\n"
        if !d.missingOrderIds.isEmpty {
            h += "<p class=\"warn\" id=\"missing\">The log has no message for "
            h +=
                d.missingOrderIds.map { "<span class=\"mono\">\(e(shownOrderId(d, $0)))</span>" }.joined(
                    separator: ", ") + ".</p>\n"
        }
        for (i, o) in d.chosenOrders.enumerated() {
            let shownId = shownOrderId(d, o.orderId)
            h += "<article class=\"order\" id=\"order-\(i + 1)\">\n"
            h += "<h3>Order <span class=\"mono\">\(e(shownId))</span> — \(plural(o.messageCount, "message"))"
            h += o.messages.count < o.messageCount ? " (first \(HTML.count(o.messages.count)) shown)" : ""
            h += "</h3>\n"
            if let c = o.current {
                h +=
                    "<p>Current item: <span class=\"mono\">\(e(c.item.json))</span> (written at log seq \(c.lastSeq))</p>\n"
            } else {
                h += "<p class=\"note\">Not in the projection: no message for it was projected.</p>\n"
            }
            h += "<div class=\"scroll\">" + ReportSVG.timeline(o.messages, id: "o\(i + 1)", colors: colors) + "</div>\n"
            for m in o.messages { details(&h, m, open: false) }
            h += "</article>\n"
        }
        h += "</section>\n"
    }

    static func ordersTable(_ h: inout String, _ d: ReportData) {
        h += "<section id=\"orders\">\n<h2>Orders</h2>\n"
        h +=
            "<p class=\"note\">The current item of each order in the projection (the local <code>Orders</code> table), "
        h += "most recently written first"
        if d.orders.count < d.ordersSelected {
            h += "; <strong id=\"orders-cap\">showing \(HTML.count(d.orders.count)) of \(HTML.count(d.ordersSelected))"
            h += "</strong> (<code>--max-orders</code>, <code>--order-id</code>, or <code>ordlog orders</code> for all)"
        }
        h += ".</p>\n"
        h +=
            "<p class=\"noprint\"><input type=\"search\" hidden placeholder=\"Filter orders\" data-filter=\"#orders tbody tr\" "
        h += "aria-label=\"Filter orders\"></p>\n"
        h +=
            "<div class=\"scroll\"><table class=\"wide\" id=\"orders-table\"><thead><tr><th>orderId</th><th>userId</th>"
        h +=
            "<th>itemName</th><th class=\"n\">quantity</th><th>status</th><th>timestamp</th><th class=\"n\">lastSeq</th>"
        h += "</tr></thead><tbody>\n"
        for o in d.orders {
            let i = o.item
            h += "<tr data-order-id=\"\(e(i.orderId))\"><td class=\"mono\">\(e(i.orderId))</td><td>\(e(i.userId))</td>"
            h += "<td>\(e(i.itemName))</td><td class=\"n\">\(i.quantity)</td><td>\(e(i.status))</td>"
            h += "<td class=\"mono\">\(e(i.timestamp))</td><td class=\"n\">\(o.lastSeq)</td></tr>\n"
        }
        h += "</tbody></table></div>\n"
        if d.orders.isEmpty { h += "<p class=\"note\">No orders.</p>\n" }
        h += "</section>\n"
    }

    static func footer(_ h: inout String, _ d: ReportData, _ headText: String) {
        let dbs = (d.sources.isEmpty ? [d.logs.first ?? "ordlog.db"] : d.sources).map { "--db " + shellQuote($0) }
        let heads = d.headArguments.map { "--head " + shellQuote($0) }
        h +=
            "<footer>\n<p>To check this report against the log: <code>ordlog verify "
            + "\(e((dbs + heads).joined(separator: " ")))</code>. "
        h += "Text views of the same data: <code>ordlog inspect-dlq \(e(dbs.joined(separator: " ")))</code>, "
        h += "<code>ordlog history \(e(dbs.joined(separator: " "))) ORDER_ID</code>, <code>ordlog orders \(e(dbs.joined(separator: " ")))</code>. "
        h += "Everything in this page is inline: it loads nothing and works offline.</p>\n</footer>\n"
    }
}
