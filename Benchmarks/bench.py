#!/usr/bin/env python3
"""Measures ordlog against what a user would write instead (the lean C program and the lean Python script of
Benchmarks/user/) and against its own design (the C ceiling and the Python peer), on the same data, in the same
run.

Called by Benchmarks/run.sh (which builds everything first); stdlib only. For each size: ingest with default
flags (ordlog's large transactions; the lean baselines commit per 1000, the ceiling and the peer per 10,000),
ingest at batch 10 and 1000 (ordlog against its design), replay and reproject (events/s = receives/s), peak RSS
of every run. Programs alternate (the order rotates each repeat), each cell is repeated and the median is
quoted. The ceiling's and the peer's outcome counts must agree with ordlog's, else the run is marked as a
mismatch (the lean baselines decide less, so only their exit status is checked).
"""
import argparse, datetime, json, os, platform, re, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROGS = ["ordlog", "C lean", "Python lean", "C", "Python"]
DESIGN = ["ordlog", "C", "Python"]  # the batch-size cells: ordlog against its own design
LEAN = ("C lean", "Python lean")


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120).stdout.strip()
    except Exception:
        return ""


def machine(swift_version):
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "swift": swift_version, "cc": sh("cc --version | head -1"), "python": platform.python_version(),
        "sqlite": sh("sqlite3 --version | cut -d' ' -f1") or sqlite3.sqlite_version,
        "commit": sh("git -C %s rev-parse --short HEAD" % ROOT),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def rm_db(path):
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


LAST_CPU = [None]  # user + system seconds of the last timed() run (record() keeps it with the wall time)


def timed(cmd, tag, workdir):
    """Runs cmd under /usr/bin/time -v; returns (seconds, max_rss_kib, stdout, rc); CPU seconds in LAST_CPU."""
    tfile = os.path.join(workdir, "time.txt")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", "-o", tfile] + cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    rss = 0
    try:
        text = open(tfile).read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        rss = int(m.group(1)) if m else 0
        u = re.search(r"User time \(seconds\): ([\d.]+)", text)
        k = re.search(r"System time \(seconds\): ([\d.]+)", text)
        LAST_CPU[0] = float(u.group(1)) + float(k.group(1)) if u and k else None
    except OSError:
        pass
    if p.returncode != 0:
        sys.stderr.write("  %s exited %d: %s\n" % (tag, p.returncode, (p.stderr or p.stdout)[-600:]))
    return dt, rss, p.stdout, p.returncode


def counts_of(stdout):
    """projected/duplicate/stale/rejected from a program's JSON summary (last JSON line)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        c = o.get("counts", o)
        return tuple(c.get(k) for k in ("projected", "duplicate", "stale", "rejected"))
    return None


def n_of_size(label):
    return {"20k": 20_000, "100k": 100_000, "1M": 1_000_000}[label]


def median(xs):
    return statistics.median(xs) if xs else None


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = a.work_dir
        os.makedirs(self.work, exist_ok=True)
        self.cells = {}  # (size, cell, prog) -> {"rates": [], "rss": [], "errors": []}
        self.expected = {}

    def record(self, size, cell, prog, n, dt, rss, rc, counts, note=None):
        c = self.cells.setdefault((size, cell, prog), {"rates": [], "rss": [], "secs": [], "cpu": [], "errors": []})
        key = (size, cell.split(" ")[0])
        if rc != 0:
            c["errors"].append(note or "exit %d" % rc)
            return
        if counts is not None:
            exp = self.expected.setdefault(key, counts)
            if counts != exp:
                c["errors"].append("counts %s != %s" % (counts, exp))
        c["rates"].append(n / dt)
        c["secs"].append(dt)
        c["rss"].append(rss)
        if LAST_CPU[0]:
            c["cpu"].append(LAST_CPU[0])
        sys.stderr.write("  %-8s %-22s %-6s %8.2fs %10.0f/s  rss %6.0f MiB\n" % (size, cell, prog, dt, n / dt, rss / 1024))

    def ingest_cmd(self, prog, db, batch, data):
        """batch None: the program's default flags (ordlog's own; the ceiling and peer at 10,000)."""
        if prog == "C lean":
            return [self.a.lean_c, "ingest", "--db", db, data]
        if prog == "Python lean":
            return [sys.executable, os.path.join(HERE, "user", "lean_ingest.py"), "ingest", "--db", db, data]
        if prog == "ordlog":
            return [self.a.ordlog, "ingest", "--db", db, "--json", data] + (
                ["--batch-size", str(batch)] if batch else [])
        batch = batch or 10_000
        if prog == "C":
            return [self.a.ceiling, "ingest", "--db", db, "--batch-size", str(batch), "--migrations",
                    os.path.join(ROOT, "migrations"), data]
        return [sys.executable, os.path.join(HERE, "peer", "ingest_peer.py"), "ingest", "--db", db, "--batch-size",
                str(batch), "--migrations", os.path.join(ROOT, "migrations"), data]

    def replay_cmd(self, prog, log, into):
        if prog == "C lean":
            return [self.a.lean_c, "replay", "--db", log]
        if prog == "Python lean":
            return [sys.executable, os.path.join(HERE, "user", "lean_ingest.py"), "replay", "--db", log]
        if prog == "ordlog":
            return [self.a.ordlog, "replay", "--db", log, "--json", "--batch-size", "1000"] if self.a.replay_ok else None
        if prog == "C":
            return [self.a.ceiling, "replay", "--db", log, "--into", into, "--batch-size", "1000", "--migrations",
                    os.path.join(ROOT, "migrations")]
        return [sys.executable, os.path.join(HERE, "peer", "ingest_peer.py"), "replay", "--db", log, "--into", into,
                "--batch-size", "1000", "--migrations", os.path.join(ROOT, "migrations")]

    def run_size(self, label, n, data, repeats):
        sys.stderr.write("== %s: %d messages, %d repeat(s)\n" % (label, n, repeats))
        log = os.path.join(self.work, "replay-source.db")
        for rep in range(repeats if not self.a.replay_only else 0):
            for batch in (None,) if self.a.ingest_default_only else (None, 10, 1000):
                progs = PROGS if batch is None else DESIGN
                order = progs[rep % len(progs):] + progs[:rep % len(progs)]
                for prog in order:
                    db = os.path.join(self.work, "ingest-%s.db" % prog.replace(" ", "-"))
                    rm_db(db)
                    dt, rss, out, rc = timed(self.ingest_cmd(prog, db, batch, data), prog, self.work)
                    cell = "ingest default" if batch is None else "ingest b%d" % batch
                    self.record(label, cell, prog, n, dt, rss, rc, None if prog in LEAN else counts_of(out))
                    if prog == "ordlog" and batch is None and rc == 0 and not os.path.exists(log):
                        os.rename(db, log)
                        for s in ("-wal", "-shm"):
                            if os.path.exists(db + s):
                                os.rename(db + s, log + s)
                    rm_db(db)
        if self.a.ingest_default_only:
            rm_db(log)
            return
        if not os.path.exists(log):  # --replay-only: ordlog writes the log, untimed
            # (a log written by the C ceiling has only migrations 0001-0002: every ordlog read would first copy and
            # migrate it, and the replay cells would time that copy)
            rm_db(log)
            sys.stderr.write("  writing the replay source log with ordlog ingest (not timed)\n")
            subprocess.run(self.ingest_cmd("ordlog", log, None, data), capture_output=True, check=True)
        # checkpoint the WAL so every replay reads the same file state
        subprocess.run(["sqlite3", log, "PRAGMA wal_checkpoint(TRUNCATE);"], capture_output=True)
        for rep in range(repeats):
            order = PROGS[rep % len(PROGS):] + PROGS[:rep % len(PROGS)]
            for prog in order:
                into = os.path.join(self.work, "scratch-%s.db" % prog.replace(" ", "-"))
                rm_db(into)
                cmd = self.replay_cmd(prog, log, into)
                if cmd is None:
                    self.record(label, "replay", prog, n, 1, 0, 1, None, "n/a (command missing)")
                else:
                    dt, rss, out, rc = timed(cmd, prog, self.work)
                    self.record(label, "replay", prog, n, dt, rss, rc, None if prog in LEAN else counts_of(out))
                rm_db(into)
            if self.a.reproject_ok:
                into = os.path.join(self.work, "reproject.db")
                rm_db(into)
                cmd = [self.a.ordlog, "reproject", "--db", log, "--json"]
                cmd += ["--into", into] if self.a.reproject_into else []
                dt, rss, out, rc = timed(cmd, "ordlog", self.work)
                self.record(label, "reproject", "ordlog", n, dt, rss, rc, None)
                rm_db(into)
            else:
                self.record(label, "reproject", "ordlog", n, 1, 0, 1, None, "n/a (command missing)")
        if not self.a.keep:
            rm_db(log)

    # ----- reporting -----
    def summary(self):
        rows = []
        sizes = []
        for (size, cell, prog) in self.cells:
            if size not in sizes:
                sizes.append(size)
        for size in sizes:
            for cell in ("ingest default", "ingest b10", "ingest b1000", "replay", "reproject"):
                row = {"size": size, "cell": cell}
                for prog in PROGS:
                    c = self.cells.get((size, cell, prog))
                    if not c:
                        continue
                    row[prog] = {"median_per_s": median(c["rates"]), "runs_per_s": [round(r) for r in c["rates"]],
                                 "median_s": median(c["secs"]), "median_cpu_s": median(c["cpu"]),
                                 "cpu_per_s": round(n_of_size(size) / median(c["cpu"])) if c["cpu"] else None,
                                 "max_rss_mib": round(max(c["rss"]) / 1024, 1) if c["rss"] else None,
                                 "errors": c["errors"]}
                if not any(prog in row for prog in PROGS):
                    continue  # e.g. ingest cells under --replay-only
                o = (row.get("ordlog") or {}).get("median_per_s")
                for prog in PROGS[1:]:
                    b = (row.get(prog) or {}).get("median_per_s")
                    row["ordlog/" + prog] = round(o / b, 2) if o and b else None
                    # the same ratio by CPU time (user + system), steadier when other work shares the cores
                    oc = (row.get("ordlog") or {}).get("median_cpu_s")
                    bc = (row.get(prog) or {}).get("median_cpu_s")
                    row["cpu ordlog/" + prog] = round(bc / oc, 2) if oc and bc else None
                if cell == "reproject":
                    rep = self.cells.get((size, "replay", "ordlog"))
                    r = median(rep["rates"]) if rep else None
                    row["reproject/replay"] = round(o / r, 2) if o and r else None
                    rc = median(rep["cpu"]) if rep else None
                    oc = (row.get("ordlog") or {}).get("median_cpu_s")
                    row["cpu reproject/replay"] = round(rc / oc, 2) if oc and rc else None
                rows.append(row)
        return rows

    def markdown(self, info, rows, mode):
        def fmt(row, prog):
            c = row.get(prog)
            if not c:
                return "—"
            if c["median_per_s"] is None:
                return c["errors"][0] if c["errors"] else "—"
            s = "{:,.0f}".format(c["median_per_s"])
            if c["errors"]:
                s += " (!%s)" % c["errors"][0]
            return s

        def ratio(x):
            return "—" if x is None else "%.2f×" % x
        out = ["# ordlog benchmark: %s" % mode, "",
               "Machine: %d cores, %s, %.0f GiB, Linux %s; %s; %s; Python %s; SQLite %s. Harness commit %s, %s; ordlog "
               "binary %s." % (
                   info["nproc"], info["cpu"], info["memory_gib"], info["kernel"], info["swift"], info["cc"],
                   info["python"], info["sqlite"], info["commit"], info["date"], info.get("ordlog", "?")),
               "The machine is shared and noisy: programs alternate, each cell is the median of the runs listed in %s.json." % (
                   "quick" if mode.startswith("quick") else "ingest-default" if "ingest-default cell" in mode else "latest"),
               "", "Throughput is messages/s for ingest and receives (events)/s for replay and reproject, wall clock "
               "of the whole process (start-up and input reading included). Ratios: ordlog's rate over the baseline's "
               "(higher is better for ordlog). C lean / Python lean: what a user would write instead "
               "(Benchmarks/user/: three json parses, one append of the raw message, one upsert, a commit per 1000; "
               "replay re-applies the orders in memory). C ceiling / Python peer: ordlog's own design "
               "(Benchmarks/ceiling, Benchmarks/peer). ingest default: every program with its default flags "
               "(ordlog's large transactions; the ceiling and the peer at 10,000 per transaction).", "",
               "| size | cell | ordlog | C lean | Python lean | C ceiling | Python peer | ordlog/C lean | "
               "ordlog/Python lean | ordlog/C ceiling | ordlog/Python peer | peak RSS ordlog / C lean / Python lean / "
               "C / Python (MiB) |",
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for row in rows:
            rss = " / ".join("%s" % ((row.get(p) or {}).get("max_rss_mib") or "—") for p in PROGS)
            extra = ""
            if row.get("reproject/replay") is not None:
                extra = " (reproject/replay %.2f×)" % row["reproject/replay"]
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                (row["size"], row["cell"] + extra) + tuple(fmt(row, p) for p in PROGS)
                + tuple(ratio(row["ordlog/" + p]) for p in PROGS[1:]) + (rss,)))
        out += ["", "The same ratios by CPU time (median user + system seconds of each program; on a shared machine the "
                "wall clock also counts the time other work held the cores):", "",
                "| size | cell | ordlog CPU s | ordlog/C lean | ordlog/Python lean | ordlog/C ceiling | ordlog/Python peer |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for row in rows:
            oc = (row.get("ordlog") or {}).get("median_cpu_s")
            extra = ""
            if row.get("cpu reproject/replay") is not None:
                extra = " (reproject/replay %.2f×)" % row["cpu reproject/replay"]
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                (row["size"], row["cell"] + extra, "—" if oc is None else "%.2f" % oc)
                + tuple(ratio(row.get("cpu ordlog/" + p)) for p in PROGS[1:])))
        cpu_rows = [r for r in rows if r["cell"] == "ingest default"]
        for r in cpu_rows:
            parts = []
            for p in PROGS:
                c = r.get(p) or {}
                if c.get("cpu_per_s"):
                    parts.append("%s %s/s (%.2f s)" % (p, "{:,}".format(c["cpu_per_s"]), c["median_cpu_s"]))
            o = (r.get("ordlog") or {}).get("cpu_per_s")
            ratios = ["ordlog/%s %.2f×" % (p, o / r[p]["cpu_per_s"]) for p in PROGS[1:]
                      if o and (r.get(p) or {}).get("cpu_per_s")]
            if parts:
                out += ["", "%s ingest default by CPU time (user + sys, medians; messages per CPU second): %s. Ratios: %s." % (
                    r["size"], "; ".join(parts), ", ".join(ratios))]
        out += ["", "Targets (issue 12): ingest default ≥ 1.5× the Python lean script and ≥ 0.7× the C lean program; "
                "replay ≥ 3× the Python lean replay and ≥ 100k receives/s; reproject within 1.5× of replay; 1M replay "
                "peak RSS < 300 MB.", ""]
        return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ordlog", required=True)
    p.add_argument("--ceiling", required=True)
    p.add_argument("--lean-c", required=True, help="the lean C user baseline (Benchmarks/user/lean_ingest.c)")
    p.add_argument("--swift-version", default="")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--full", action="store_true")
    p.add_argument("--repeats", type=int)
    p.add_argument("--keep", action="store_true", help="keep the replay source logs")
    p.add_argument("--replay-only", action="store_true",
                   help="skip the timed ingest cells (ordlog writes the log to replay, untimed); e.g. for 1M replay RSS")
    p.add_argument("--sizes", help="comma-separated sizes instead of the mode's: 20k,100k,1M")
    p.add_argument("--ingest-default-only", action="store_true",
                   help="only the ingest-default cell (every program with its default flags): no batch-size, replay "
                        "or reproject cells; e.g. for measuring a change to the write path at 1M")
    p.add_argument("--results", default=os.path.join(HERE, "results"))
    a = p.parse_args()

    def help_ok(cmd):
        # an unknown subcommand's --help prints the root help with exit 0: look for the subcommand's usage line
        r = subprocess.run([a.ordlog, cmd, "--help"], capture_output=True, text=True)
        return r.returncode == 0 and ("ordlog %s " % cmd) in r.stdout.lower(), r.stdout
    a.replay_ok, _ = help_ok("replay")
    a.reproject_ok, rhelp = help_ok("reproject")
    a.reproject_into = "--into" in rhelp
    if not a.replay_ok:
        sys.stderr.write("ordlog replay --help failed: replay cells are n/a (command missing)\n")

    if a.quick:
        plan = [("20k", 20_000, a.repeats or 1)]
        mode = "quick (20k messages, %d repeat)" % (a.repeats or 1)
    else:
        plan = [("100k", 100_000, a.repeats or 3)]
        if a.full:
            plan.append(("1M", 1_000_000, max(1, min(a.repeats or 1, 2))))
        mode = "full (100k ×%d, 1M ×%d)" % (plan[0][2], plan[-1][2]) if a.full else "100k messages ×%d" % plan[0][2]
    if a.sizes:
        n_of = {"20k": 20_000, "100k": 100_000, "1M": 1_000_000}
        plan = [(x, n_of[x], a.repeats or (3 if x != "1M" else 1)) for x in a.sizes.split(",")]
        mode = "sizes %s" % a.sizes
    if a.replay_only:
        mode += ", replay cells only"
    if a.ingest_default_only:
        mode += ", ingest-default cell only"
    b = Bench(a)
    for label, n, reps in plan:
        data = os.path.join(a.data_dir, "traffic-%s-seed1.jsonl" % label)
        if not os.path.exists(data):
            sys.stderr.write("generating %s\n" % data)
            subprocess.run([sys.executable, os.path.join(HERE, "gen_traffic.py"), "--messages", str(n), "--seed", "1",
                            "--out", data], check=True)
        b.run_size(label, n, data, reps)
    info = machine(a.swift_version)
    info["ordlog"] = os.path.relpath(a.ordlog, ROOT) if a.ordlog.startswith(ROOT) else a.ordlog
    rows = b.summary()
    md = b.markdown(info, rows, mode)
    os.makedirs(a.results, exist_ok=True)
    name = "quick" if a.quick else "latest"
    if a.ingest_default_only:
        name = "ingest-default"  # the full tables in latest/quick stay as they were
    with open(os.path.join(a.results, name + ".md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.results, name + ".json"), "w") as f:
        json.dump({"mode": mode, "machine": info, "cells": rows}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(md)
    sys.stderr.write("wrote %s/%s.md and .json\n" % (a.results, name))


if __name__ == "__main__":
    main()
