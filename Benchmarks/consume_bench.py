#!/usr/bin/env python3
"""The consume benchmark: ordlog consume against boto3 consumers, on the loopback latency model (aws_model.py).

Called by Benchmarks/consume_bench.sh (which builds ordlog and starts the model). For each repeat, the programs
run in turn (alternating: ordlog at each concurrency, then boto3 sequential, then boto3 x8, then the next
repeat), each on the same freshly loaded messages (gen_traffic.py: SNS envelopes, ~5 events per order, 1%
duplicate deliveries). A run ends when the program exits; every program stops at its first empty receive.

Durability (issue #20): `--modes none disk s3` adds one row per mode, ordlog at its default concurrency with
`--durability MODE` (s3: `--archive-to s3://bench-bucket/run-N`, a fresh prefix per run, in the model's S3). A
build whose `consume --help` does not mention --durability runs only today's behaviour, labelled `none (no flag)`.
For s3 the model counts the S3 objects written in the run and those still there at its end. The s3 row is paced
by its increments (a delete waits for the next upload, at most --increment-every, 1 s, later), so like the
sequential programs it consumes the first --sequential-messages messages, and its fault run the first
--s3-fault-messages.

Per run: messages/s = messages / the model's drain time (first ReceiveMessage that returned messages -> the
delete or DLQ move of the last message; it excludes process start and the final empty long poll), AWS calls
per message (all AWS calls the model answered, faults included, over the messages), CPU seconds of the consumer
process per 1,000 messages (user + sys from getrusage of the child; the model's own CPU is not counted), and the
model's checks (lost, wrong_items, non_idempotent). S3 calls are counted apart (AWS calls/message stays SQS +
DynamoDB, comparable with the boto3 baselines, which write no archive). Cells are medians over the repeats.
"""
import argparse, datetime, json, os, platform, re, resource, statistics, subprocess, sys, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUCKET = "bench-bucket"  # consume_bench.sh starts the model with --bucket bench-bucket
ARCHIVE_PLACEHOLDER = "s3://%s/{run}" % BUCKET
RUN_COUNTER = [0]


def control(base, path, body=None):
    req = urllib.request.Request(base + path, data=body, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"{}")


def mode_name(mode, has_durability):
    return "ordlog default, %s" % (mode if has_durability else "none (no flag)")


def programs(a, has_concurrency, has_durability):
    ordlog = [a.ordlog, "consume", "--queue", "OrderQueue", "--table", "Orders", "--until-empty", "--wait-time",
              "1", "--json"]
    out = []
    for c in a.concurrency:
        if has_concurrency:
            out.append(("ordlog c=%d" % c, ordlog + ["--concurrency", str(c)]))
        else:
            out.append(("ordlog c=%d" % c, None))
    for mode in a.modes:
        if has_durability:
            extra = ["--durability", mode] + (["--archive-to", ARCHIVE_PLACEHOLDER] if mode == "s3" else [])
            out.append((mode_name(mode, True), ordlog + extra))
        elif mode == "none":
            out.append((mode_name(mode, False), ordlog))
        else:
            out.append(("ordlog default, %s" % mode, None))
    boto = [sys.executable, os.path.join(HERE, "consumers", "boto3_consumer.py"), "--wait-time", "1"]
    out.append(("boto3 sequential", boto + ["--threads", "1"]))
    out.append(("boto3 x8 threads", boto + ["--threads", "8"]))
    return out


def run_one(a, base, traffic, name, cmd, env, work):
    control(base, "/_model/reset", b"{}")
    loaded = control(base, "/_model/load", traffic)["loaded"]
    db = os.path.join(work, "consume.db")
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(db + suffix)
        except FileNotFoundError:
            pass
    subprocess.run(["rm", "-rf", db + ".segments"], check=False)
    archive = None
    if ARCHIVE_PLACEHOLDER in cmd:
        RUN_COUNTER[0] += 1
        archive = "s3://%s/run-%d" % (BUCKET, RUN_COUNTER[0])
        cmd = [archive if x == ARCHIVE_PLACEHOLDER else x for x in cmd]
    if cmd[0] == a.ordlog:
        cmd = cmd + ["--db", db]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=a.timeout)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    s = control(base, "/_model/stats")
    drain = s["drain_seconds"] or wall
    s3 = s.get("s3") or {}
    r = {"program": name, "messages": loaded, "exit": p.returncode, "wall_s": round(wall, 3),
         "drain_s": round(drain, 3), "msgs_per_s": round(loaded / drain, 1),
         "calls_per_msg": round(s["total_calls"] / loaded, 3), "cpu_s": round(cpu, 3),
         "cpu_s_per_1k": round(cpu / loaded * 1000, 3), "calls": s["calls"], "faults": s["faults"],
         "lost": s["lost"], "wrong_items": s["wrong_items"], "non_idempotent": s["non_idempotent"],
         "reapplied": s["reapplied"], "deleted": s["deleted"], "dlq": s["dlq"],
         "stale_delete_handles": s["stale_delete_handles"], "puts_condition_failed": s["puts_condition_failed"],
         "model_cpu_ms_per_call": s["model_cpu_ms_per_call"],
         "left_visible": s["visible"], "left_in_flight": s["inflight"],
         "hidden_by_lost_receive": s["hidden_by_lost_receive"], "archive_to": archive,
         "s3_calls": s3.get("calls", {}), "s3_faults": s3.get("faults", {}),
         "s3_calls_per_msg": round(s3.get("total_calls", 0) / loaded, 4),
         "s3_objects_written": s3.get("objects_written", 0), "s3_bytes_written": s3.get("bytes_written", 0),
         "s3_objects_deleted": s3.get("objects_deleted", 0), "s3_objects_left": s3.get("objects_left", 0),
         "s3_objects_left_bytes": s3.get("objects_left_bytes", 0), "s3_manifests_left": s3.get("manifests_left", 0),
         "s3_precondition_failed": s3.get("precondition_failed", 0),
         "s3_open_multipart_uploads": s3.get("open_multipart_uploads", 0), "summary": last_json(p.stdout)}
    if p.returncode not in (0, 3):
        r["stderr"] = (p.stderr or "")[-800:]
    s3_note = ""
    if s3.get("total_calls"):
        s3_note = "  S3 %d calls, %d objects written, %d left" % (s3["total_calls"], r["s3_objects_written"],
                                                                 r["s3_objects_left"])
    sys.stderr.write("  %-30s %7.1f msg/s  %5.2f calls/msg  %6.3f CPU s/1k  lost %d wrong %d non-idem %d "
                     "reapplied %d dlq %d exit %d (model %.2f ms CPU/call)%s\n"
                     % (name, r["msgs_per_s"], r["calls_per_msg"], r["cpu_s_per_1k"], r["lost"], r["wrong_items"],
                        r["non_idempotent"], r["reapplied"], r["dlq"], p.returncode, r["model_cpu_ms_per_call"],
                        s3_note))
    if "stderr" in r:
        sys.stderr.write("    stderr: %s\n" % r["stderr"][-300:])
    return r


def fsync_probe(directory, n=40):
    """Median milliseconds of a 4 KiB append + fsync in `directory` (where the logs are): what --durability disk
    waits for, at most once per group of batches."""
    path = os.path.join(directory, "fsync-probe.tmp")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(n):
            os.write(fd, b"\0" * 4096)
            t = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.remove(path)
    return round(statistics.median(times), 3)


def fs_type(directory):
    """The file system type of `directory` as mounted (ext4, xfs, tmpfs: fsync is free on tmpfs)."""
    r = subprocess.run(["df", "--output=fstype", directory], capture_output=True, text=True)
    lines = r.stdout.split()
    return lines[-1] if r.returncode == 0 and len(lines) > 1 else "?"


def help_default(help_text, option):
    """The "(default: X)" ArgumentParser prints in `option`'s own entry of the OPTIONS list, or None."""
    m = re.search(r"^ {2}%s[ <].*?(?=^ {2}-|\Z)" % re.escape(option), help_text, re.M | re.S)
    # "(default: disk)", or wrapped inside "(values: disk, s3, none; default: disk)"
    d = re.search(r"[(;]\s*default:\s+([^);]+)\)", m.group(0)) if m else None
    return " ".join(d.group(1).split()) if d else None


def last_json(text):
    for line in reversed((text or "").strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def med(xs):
    return statistics.median(xs) if xs else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ordlog", required=True)
    p.add_argument("--model-url", required=True)
    p.add_argument("--messages", type=int, default=4000)
    p.add_argument("--sequential-messages", type=int, default=1000,
                   help="sequential programs (boto3 sequential, ordlog c=1, and ordlog without --concurrency) "
                        "consume this prefix of the same messages, so a run fits the time; rates stay comparable")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--concurrency", type=int, nargs="*", default=[1, 4, 16])
    p.add_argument("--modes", nargs="*", default=["none", "disk", "s3"], choices=["none", "disk", "s3"],
                   help="durability modes: one row each, ordlog at its default concurrency with --durability MODE")
    p.add_argument("--latency-ms", type=float, default=10)
    p.add_argument("--s3-latency-ms", type=float, default=25)
    p.add_argument("--s3-mb-per-s", type=float, default=85)
    p.add_argument("--fault-messages", type=int, default=2000)
    p.add_argument("--s3-fault-messages", type=int, default=2000,
                   help="the fault run of --durability s3 uses this prefix of the fault traffic")
    p.add_argument("--skip-fault", action="store_true")
    p.add_argument("--only", nargs="*", help="program names to run (default all)")
    p.add_argument("--out", default=os.path.join(HERE, "results", "consume"))
    p.add_argument("--label", default="")
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--work-dir", default="/tmp/ordlog-bench/consume")
    a = p.parse_args()
    os.makedirs(a.work_dir, exist_ok=True)
    base = a.model_url
    traffic_path = os.path.join(a.work_dir, "traffic-%d.jsonl" % a.messages)
    if True:  # regenerated each run (0.5 s): nothing is read from an earlier run
        subprocess.run([sys.executable, os.path.join(HERE, "gen_traffic.py"), "--messages", str(a.messages),
                        "--seed", "3", "--out", traffic_path], check=True)
    traffic = open(traffic_path, "rb").read()
    prefix = b"".join(traffic.splitlines(keepends=True)[:a.sequential_messages])
    env = dict(os.environ, AWS_ENDPOINT_URL=base, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret", AWS_PROFILE="",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    env.pop("AWS_PROFILE")
    help_text = subprocess.run([a.ordlog, "consume", "--help"], capture_output=True, text=True).stdout
    has_concurrency = "--concurrency" in help_text
    has_durability = "--durability" in help_text
    durability_default = help_default(help_text, "--durability") if has_durability else "none (no flag)"
    control(base, "/_model/config", json.dumps({"latency_ms": a.latency_ms, "s3_latency_ms": a.s3_latency_ms,
                                                "s3_mb_per_s": a.s3_mb_per_s, "throttle_rate": 0,
                                                "error_rate": 0}).encode())
    fsync_ms = fsync_probe(a.work_dir)
    sys.stderr.write("logs in %s (%s): 4 KiB append + fsync, median %.3f ms\n" % (a.work_dir, fs_type(a.work_dir),
                                                                                   fsync_ms))
    t_start = time.time()
    progs = [x for x in programs(a, has_concurrency, has_durability) if not a.only or x[0] in a.only]
    runs = []
    for rep in range(a.repeats):
        sys.stderr.write("repeat %d/%d (%d messages, %.0f ms latency)\n" % (rep + 1, a.repeats, a.messages,
                                                                            a.latency_ms))
        for name, cmd in progs:
            if cmd is None:
                continue
            sequential = name in ("ordlog c=1", "boto3 sequential") or (name.startswith("ordlog default")
                                                                        and not has_concurrency)
            r = run_one(a, base, prefix if sequential else traffic, name, cmd, env, a.work_dir)
            r["repeat"] = rep + 1
            runs.append(r)
    fault_runs = []
    if not a.skip_fault:
        fpath = os.path.join(a.work_dir, "traffic-%d-fault.jsonl" % a.fault_messages)
        if True:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_traffic.py"), "--messages",
                            str(a.fault_messages), "--seed", "4", "--out", fpath], check=True)
        ftraffic = open(fpath, "rb").read()
        control(base, "/_model/config", json.dumps({"throttle_rate": 0.05, "error_rate": 0.02}).encode())
        sys.stderr.write("fault run: 5%% throttling, 2%% HTTP 500 (%d messages)\n" % a.fault_messages)
        for name, cmd in progs:
            if cmd is None or not (name.startswith("ordlog default") or name == "boto3 x8 threads"):
                continue
            ft = ftraffic
            if name == mode_name("s3", True):  # --s3-fault-messages: fewer messages, same checks
                ft = b"".join(ftraffic.splitlines(keepends=True)[:a.s3_fault_messages])
            fault_runs.append(run_one(a, base, ft, name, cmd, env, a.work_dir))
        control(base, "/_model/config", json.dumps({"throttle_rate": 0, "error_rate": 0}).encode())

    cells = []
    for name, cmd in progs:
        rs = [r for r in runs if r["program"] == name]
        if cmd is None or not rs:
            cells.append({"program": name, "available": False})
            continue
        cells.append({"program": name, "available": True, "runs": len(rs),
                      "msgs_per_s": med([r["msgs_per_s"] for r in rs]),
                      "calls_per_msg": med([r["calls_per_msg"] for r in rs]),
                      "cpu_s_per_1k": med([r["cpu_s_per_1k"] for r in rs]),
                      "lost": max(r["lost"] for r in rs), "wrong_items": max(r["wrong_items"] for r in rs),
                      "non_idempotent": max(r["non_idempotent"] for r in rs),
                      "model_cpu_ms_per_call": med([r["model_cpu_ms_per_call"] for r in rs]),
                      "s3_calls_per_msg": med([r["s3_calls_per_msg"] for r in rs]),
                      "s3_put_object": med([r["s3_calls"].get("PutObject", 0) for r in rs]),
                      "s3_delete_calls": med([r["s3_calls"].get("DeleteObject", 0)
                                              + r["s3_calls"].get("DeleteObjects", 0) for r in rs]),
                      "s3_list_calls": med([r["s3_calls"].get("ListObjectsV2", 0) for r in rs]),
                      "s3_objects_written": med([r["s3_objects_written"] for r in rs]),
                      "s3_bytes_written": med([r["s3_bytes_written"] for r in rs]),
                      "s3_objects_deleted": med([r["s3_objects_deleted"] for r in rs]),
                      "s3_objects_left": med([r["s3_objects_left"] for r in rs]),
                      "s3_objects_left_bytes": med([r["s3_objects_left_bytes"] for r in rs]),
                      "exits": sorted(set(r["exit"] for r in rs))})
    by = {c["program"]: c for c in cells}
    b8 = by.get("boto3 x8 threads", {}).get("msgs_per_s")
    b1 = by.get("boto3 sequential", {}).get("msgs_per_s")
    c8 = by.get("boto3 x8 threads", {}).get("cpu_s_per_1k")
    c1 = by.get("boto3 sequential", {}).get("cpu_s_per_1k")
    for c in cells:
        if c.get("available"):
            c["vs_boto3_x8"] = round(c["msgs_per_s"] / b8, 2) if b8 else None
            c["vs_boto3_seq"] = round(c["msgs_per_s"] / b1, 2) if b1 else None
            c["cpu_vs_boto3_x8"] = round(c["cpu_s_per_1k"] / c8, 3) if c8 else None
            c["cpu_vs_boto3_seq"] = round(c["cpu_s_per_1k"] / c1, 3) if c1 else None
    fsync_ms_after = fsync_probe(a.work_dir)  # the disk may have been busier or idler during the runs
    sys.stderr.write("fsync after the runs: median %.3f ms; runs took %.0f s\n" % (fsync_ms_after,
                                                                                  time.time() - t_start))
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    version = subprocess.run([a.ordlog, "--version"], capture_output=True, text=True).stdout.strip()
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "label": a.label, "ordlog": a.ordlog, "ordlog_version": version, "commit": commit,
            "has_concurrency": has_concurrency, "has_durability": has_durability,
            "durability_default": durability_default, "modes": a.modes,
            "work_dir_fs": fs_type(a.work_dir), "fsync_ms_median": fsync_ms, "fsync_ms_median_after": fsync_ms_after,
            "seconds": round(time.time() - t_start),
            "s3_latency_ms": a.s3_latency_ms, "s3_mb_per_s": a.s3_mb_per_s,
            "messages": a.messages, "repeats": a.repeats,
            "sequential_messages": a.sequential_messages,
            "latency_ms": a.latency_ms, "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version()}
    result = {"meta": meta, "cells": cells, "runs": runs, "fault_runs": fault_runs, "out": os.path.basename(a.out)}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(a.out + ".md", "w") as f:
        f.write(render(result))
    sys.stdout.write(render(result))


def render(res):
    m = res["meta"]
    lines = ["# consume benchmark%s" % (" — " + m["label"] if m["label"] else ""), "",
             "%s; ordlog `%s` (%s), repo commit %s; %d messages per run (the sequential programs: the first %d of "
             "them), %d repeats, medians; the loopback latency MODEL (Benchmarks/aws_model.py) answering every SQS "
             "and DynamoDB call after %.0f ms and every S3 call after %.0f ms + its bytes at %.0f MB/s (a model, "
             "not AWS). %d cores, %s, shared with other developers: noisy." % (
                 m["date"], m["ordlog"], m["ordlog_version"], m["commit"], m["messages"],
                 m.get("sequential_messages", m["messages"]), m["repeats"], m["latency_ms"],
                 m.get("s3_latency_ms", 0), m.get("s3_mb_per_s", 0), m["nproc"], m["cpu"]),
             ""]
    if "has_durability" in m:
        if m["has_durability"]:
            dd = "`%s`" % m["durability_default"] if m.get("durability_default") else "not shown by --help"
        else:
            dd = "today's, `none`: this build has no --durability, so of the modes only today's behaviour ran, " \
                 "labelled `none (no flag)`"
        lines += ["Durability: the `ordlog c=N` rows run with the build's default durability (%s); the `ordlog "
                  "default, MODE` rows at the default concurrency with `--durability MODE`. Logs on %s, where a 4 KiB "
                  "append + fsync took %.3f ms before the runs and %.3f ms after them (medians of 40)." % (
                      dd, m.get("work_dir_fs", "?"), m.get("fsync_ms_median", 0),
                      m.get("fsync_ms_median_after", m.get("fsync_ms_median", 0))), ""]
    lines += ["| program | messages/s | AWS calls/message | CPU s per 1,000 messages | vs boto3 x8 "
              "| vs boto3 sequential | CPU/message vs boto3 x8 | CPU/message vs boto3 sequential "
              "| lost / wrong / non-idempotent |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in res["cells"]:
        if not c.get("available"):
            why = "this build has no --durability" if c["program"].startswith("ordlog default") \
                else "this build has no --concurrency"
            lines.append("| %s | n/a (%s) | | | | | | | |" % (c["program"], why))
            continue
        x = lambda v: "%.2f×" % v if v else ""
        lines.append("| %s | %s | %.2f | %.3f | %s | %s | %s | %s | %d / %d / %d |" % (
            c["program"], "{:,.0f}".format(c["msgs_per_s"]), c["calls_per_msg"], c["cpu_s_per_1k"],
            x(c.get("vs_boto3_x8")), x(c.get("vs_boto3_seq")), x(c.get("cpu_vs_boto3_x8")),
            x(c.get("cpu_vs_boto3_seq")), c["lost"], c["wrong_items"], c["non_idempotent"]))
    s3cells = [c for c in res["cells"] if c.get("available") and c.get("s3_calls_per_msg")]
    if s3cells:
        lines += ["", "S3 (in the model; medians per run; `objects left` = written in the run and still there at "
                  "its end):", "",
                  "| program | S3 calls/message | PutObject | DeleteObject(s) calls | ListObjectsV2 | objects written "
                  "| MB written | objects deleted | objects left | MB left |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in s3cells:
            lines.append("| %s | %.3f | %d | %d | %d | %d | %.2f | %d | %d | %.2f |" % (
                c["program"], c["s3_calls_per_msg"], c["s3_put_object"], c["s3_delete_calls"], c["s3_list_calls"],
                c["s3_objects_written"], c["s3_bytes_written"] / 1e6, c["s3_objects_deleted"],
                c["s3_objects_left"], c["s3_objects_left_bytes"] / 1e6))
    bad = [c for c in res["cells"] if c.get("available") and any(e not in (0, 3) for e in c.get("exits", []))]
    if bad:
        lines += ["", "Exit codes other than 0/3: " + "; ".join("%s %s" % (c["program"], c["exits"]) for c in bad)
                  + " (stderr in the JSON runs)."]
    if res["fault_runs"]:
        lines += ["", "Fault run (5% throttling, 2% HTTP 500 — half of the 500s after the call was applied; S3 "
                  "calls too: 503 SlowDown, 500 InternalError):", "",
                  "| program | messages | messages/s | AWS calls/message | faults injected | deleted | DLQ "
                  "| hidden by a lost receive | lost | wrong items | non-idempotent | idempotent re-applies | exit |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in res["fault_runs"]:
            lines.append("| %s | %d | %s | %.2f | %d | %d | %d | %d | %d | %d | %d | %d | %d |" % (
                r["program"], r["messages"], "{:,.0f}".format(r["msgs_per_s"]), r["calls_per_msg"],
                sum(r["faults"].values()) + sum(r.get("s3_faults", {}).values()), r["deleted"], r["dlq"],
                r.get("hidden_by_lost_receive", 0), r["lost"], r["wrong_items"], r["non_idempotent"],
                r["reapplied"], r["exit"]))
        lines += ["", "Hidden by a lost receive: handed out by a ReceiveMessage whose response the model dropped (a "
                  "500 after applying); as on SQS they come back after the visibility timeout (30 s), after these "
                  "runs (each stops at its first empty receive) had ended. Lost: neither deleted, nor in the DLQ, "
                  "nor hidden so."]
    mc = [c["model_cpu_ms_per_call"] for c in res["cells"] if c.get("model_cpu_ms_per_call")]
    if mc:
        lines += ["", "The model itself used %.2f–%.2f ms of CPU per AWS call (median per program), i.e. one core "
                  "serves about %s calls/s." % (min(mc), max(mc), "{:,.0f}".format(1000 / max(mc)))]
    lines += ["", "Per run: Benchmarks/results/%s.json." % os.path.basename(res.get("out", "consume")), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
