#!/usr/bin/env python3
"""Chaos test of `ordlog consume` (issue #20): SIGKILL consumers mid-run and prove that no message is lost.

Each run, on a moto_server this script starts on a free 127.0.0.1 port (reset between runs, always stopped):

  1. `ordlog setup` (Orders, OrderTopic, OrderQueue -> OrderDLQ at maxReceiveCount 3) and an S3 bucket;
  2. `ordlog publish --json` of --messages orders (default 500): --orders orderIds, each with several versions whose
     timestamps increase (published shuffled, so stale events happen), and exactly one poison message (a line
     that is not JSON);
  3. `ordlog consume --visibility-timeout 5 --wait-time 1 --concurrency N`, SIGKILLed uniformly 0.5-6 s after it
     started, --kills times:
       --mode s3:   --durability s3 --archive-to s3://BUCKET/logs; after each kill the consumer's whole directory
                    is deleted (a replaced Fargate task) and the next one starts with a new --consumer-id task-K
                    on a new empty directory;
       --mode disk: --durability disk; the same consumer is restarted on the same --db (same --consumer-id);
       --mode none: --durability none, with the s3 mode's replaced tasks (directory deleted, new id) and
                    --archive-to/--archive-every 15m so that the last, clean consumer still archives: the control,
                    where messages are expected to go missing;
  4. `consume --until-empty` (the last task), repeated until OrderQueue's ApproximateNumberOfMessages and
     ApproximateNumberOfMessagesNotVisible are both 0 (waiting out the killed consumers' visibility timeouts);
  5. checks, through the ordlog binary (`--db s3://BUCKET/logs` in the s3 and none modes, the local log in the
     disk mode):
       - `ordlog verify` exits 0;
       - `ordlog export` gives every logged receive (SQS MessageId and body, whose SNS envelope names the SNS
         MessageId that `publish --json` returned); `ordlog history --json ORDER` for every published orderId and
         `ordlog inspect-dlq --json` give every attempt;
       - every published message is in OrderDLQ (received with boto3) or has a receive and a final attempt
         (projected, duplicate, stale, or dead-lettered) in the log: otherwise it is MISSING;
       - every item in DynamoDB Orders (boto3 scan) is the newest version (max timestamp) among the messages of its
         order that were processed, and there are as many items as such orders;
       - `ordlog inspect-dlq` lists the poison message as dead-lettered (unless none of its 3 receives was logged,
         which is reported);
     and it counts the messages that reached the DLQ without ever entering any log (received by a consumer that
     was killed before its append: `--max-unlogged` bounds them per kill).

Exit status: 0 when no run missed a message, had a stale or missing order in Orders, or failed verify (or another
check); 1 otherwise; 2 on a setup error (moto, ordlog binary). A failed run's directory is kept (consumer stderr,
publish output, the S3 objects, the DLQ bodies, the Orders scan, run.json) and named in the output.

Usage:
  python3 scripts/chaos-consume.py --mode s3 --runs 10
  python3 scripts/chaos-consume.py --mode disk --runs 10 --kills 3 --seed 7
  python3 scripts/chaos-consume.py --mode none --runs 1 --keep
Needs: moto[server] and boto3 (scripts/install-deps.sh), a built ordlog (swift build -c release).
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FINAL_OUTCOMES = {"projected", "duplicate", "stale"}
BUCKET = "ordlog-chaos"
PREFIX = "logs"


def log(msg):
    print(f"[{datetime.datetime.now(datetime.timezone.utc).strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto_server on a free loopback port; reset() between runs; stop() always."""

    def __init__(self, workdir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logfile = open(os.path.join(workdir, "moto.log"), "wb")
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.logfile, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited {self.proc.returncode}; see {self.logfile.name}")
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).read()
                return
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not answer within 30 s")

    def reset(self):
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()


def aws_env(moto, cache):
    env = dict(os.environ)
    env.update({
        "AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "ORDLOG_CACHE": cache,
    })
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "ORDLOG_DB", "LOG_FORMAT", "ORDLOG_METRICS_ADDRESS"):
        env.pop(k, None)
    return env


def clients(moto):
    import boto3
    kw = dict(endpoint_url=moto.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return boto3.client("sqs", **kw), boto3.client("s3", **kw), boto3.client("dynamodb", **kw)


def make_orders(rng, messages, orders):
    """messages-1 valid orders over `orders` orderIds (each >= 1 version, timestamps increasing per version),
    shuffled, plus one poison line (not JSON) at a random position. Returns (lines, meta) with meta[i] =
    {"orderId", "timestamp", "status"} or {"poison": True}."""
    valid = messages - 1
    counts = [1] * orders
    for _ in range(valid - orders):
        counts[rng.randrange(orders)] += 1
    statuses = ["PENDING", "PAID", "PACKED", "SHIPPED", "DELIVERED"]
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    entries = []
    for o, n in enumerate(counts):
        oid = f"chaos-{o:04d}"
        for v in range(n):
            ts = (base + datetime.timedelta(minutes=o, seconds=v)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            status = statuses[min(v, len(statuses) - 1)] if v < len(statuses) else f"UPDATE-{v}"
            entries.append({"orderId": oid, "userId": f"user-{o % 37}", "itemName": f"Item {o} – 東京",
                            "quantity": 1 + v, "status": status, "timestamp": ts})
    rng.shuffle(entries)
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entries]
    meta = [dict(orderId=e["orderId"], timestamp=e["timestamp"], status=e["status"]) for e in entries]
    pos = rng.randrange(len(lines) + 1)
    lines.insert(pos, "chaos-poison;orderId=chaos-poison;this line is not JSON")
    meta.insert(pos, {"poison": True})
    return lines, meta


def run(cmd, env, out=None, timeout=600, check=True):
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    if out:
        with open(out, "ab") as f:
            f.write(b"$ " + " ".join(cmd).encode() + b"\n" + p.stdout[-20000:] + b"\n--- stderr\n" + p.stderr[-20000:]
                    + f"\n--- exit {p.returncode}\n".encode())
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def queue_counts(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                               "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def drain_dlq(sqs, url):
    """Every message in OrderDLQ (each kept invisible for 600 s so it is read once): {SNS MessageId: record}."""
    seen = {}
    empties = 0
    while empties < 3:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600,
                                AttributeNames=["All"])
        msgs = r.get("Messages", [])
        if not msgs:
            empties += 1
            continue
        empties = 0
        for m in msgs:
            try:
                sns_id = json.loads(m["Body"])["MessageId"]
            except Exception:
                sns_id = "sqs:" + m["MessageId"]
            seen[sns_id] = {"sqsMessageId": m["MessageId"], "body": m["Body"],
                            "receiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount"),
                            "receiptHandle": m["ReceiptHandle"]}
    # Visible again, for `ordlog inspect-dlq --queue OrderDLQ`.
    handles = [v["receiptHandle"] for v in seen.values()]
    for i in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "ReceiptHandle": h, "VisibilityTimeout": 0} for j, h in enumerate(handles[i:i + 10])])
    return seen


def dump_s3(s3, dest):
    os.makedirs(dest, exist_ok=True)
    listing = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in page.get("Contents", []):
            listing.append({"key": o["Key"], "size": o["Size"], "etag": o["ETag"]})
            path = os.path.join(dest, o["Key"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(BUCKET, o["Key"], path)
    return listing


def s3_listing(s3):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        out += [{"key": o["Key"], "size": o["Size"]} for o in page.get("Contents", [])]
    return out


def one_run(args, k, moto, rundir, rng):
    t0 = time.time()
    sqs, s3, ddb = clients(moto)
    moto.reset()
    moto_log_start = os.path.getsize(moto.logfile.name)
    cache = os.path.join(rundir, "cache")
    env = aws_env(moto, cache)
    B = args.ordlog
    cmdlog = os.path.join(rundir, "commands.log")
    replaced = args.mode in ("s3", "none")

    run([B, "setup"], env, cmdlog)
    s3.create_bucket(Bucket=BUCKET)
    qurl = sqs.get_queue_url(QueueName="OrderQueue")["QueueUrl"]
    dlqurl = sqs.get_queue_url(QueueName="OrderDLQ")["QueueUrl"]

    lines, meta = make_orders(rng, args.messages, args.orders)
    ordersfile = os.path.join(rundir, "orders.jsonl")
    with open(ordersfile, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = run([B, "publish", "--topic", "OrderTopic", "--json", ordersfile], env, cmdlog)
    ids = json.loads(p.stdout)["messageIds"]
    if len(ids) != len(lines):
        raise RuntimeError(f"publish returned {len(ids)} MessageIds for {len(lines)} lines")
    published = {sid: m for sid, m in zip(ids, meta)}
    poison_id = next(sid for sid, m in published.items() if m.get("poison"))
    t_pub = time.time()

    def consumer_cmd(task, dbdir, until_empty):
        cmd = [B, "consume", "--queue", "OrderQueue", "--consumer-id", f"task-{task}",
               "--db", os.path.join(dbdir, "orders.db"), "--visibility-timeout", str(args.visibility_timeout),
               "--wait-time", "1", "--concurrency", str(args.concurrency), "--json"]
        if args.max_unlogged is not None:
            cmd += ["--max-unlogged", str(args.max_unlogged)]
        if args.mode == "s3":
            cmd += ["--durability", "s3", "--archive-to", f"s3://{BUCKET}/{PREFIX}"]
        elif args.mode == "none":
            cmd += ["--durability", "none", "--archive-to", f"s3://{BUCKET}/{PREFIX}", "--archive-every", "15m"]
        else:
            cmd += ["--durability", "disk"]
        if until_empty:
            cmd.append("--until-empty")
        return cmd

    task = 1
    dbdir = os.path.join(rundir, f"task-{task}")
    os.makedirs(dbdir)
    kills = []
    for i in range(args.kills):
        delay = rng.uniform(args.kill_min, args.kill_max)
        errpath = os.path.join(rundir, f"task-{task}.{i}.stderr")
        with open(errpath, "wb") as err, open(errpath.replace(".stderr", ".stdout"), "wb") as out:
            proc = subprocess.Popen(consumer_cmd(task, dbdir, False), env=env, stdout=out, stderr=err)
            try:
                proc.wait(delay)
                rc = proc.returncode  # exited by itself before the kill
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = "SIGKILL"
        kills.append({"task": task, "afterSeconds": round(delay, 2), "rc": rc, "dir": dbdir})
        if rc != "SIGKILL":
            log(f"run {k}: consumer task-{task} exited {rc} before its kill at {delay:.2f} s (see {errpath})")
        if replaced:
            shutil.rmtree(dbdir)   # the replaced task's disk is gone
            task += 1
            dbdir = os.path.join(rundir, f"task-{task}")
            os.makedirs(dbdir)

    # The last consumer: --until-empty, rerun until nothing is visible or in flight.
    finals = []
    t_final_iso = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    deadline = time.time() + args.drain_timeout
    while True:
        vis, inflight = queue_counts(sqs, qurl)
        if vis == 0 and inflight == 0:
            break
        if time.time() > deadline:
            raise RuntimeError(f"queue not drained after {args.drain_timeout} s: {vis} visible, {inflight} in flight")
        if vis == 0:
            time.sleep(1)
            continue
        errpath = os.path.join(rundir, f"task-{task}.final{len(finals)}.stderr")
        p = subprocess.run(consumer_cmd(task, dbdir, True), env=env, capture_output=True, timeout=600)
        with open(errpath, "wb") as f:
            f.write(p.stderr)
        summary = None
        try:
            summary = json.loads(p.stdout)
        except Exception:
            pass
        finals.append({"rc": p.returncode, "summary": summary})
        if p.returncode not in (0, 3):
            raise RuntimeError(f"final consumer exited {p.returncode}: see {errpath}")
    t_drain = time.time()

    # ---- checks, through ordlog ------------------------------------------------------------------------------
    src = f"s3://{BUCKET}/{PREFIX}" if replaced else os.path.join(dbdir, "orders.db")
    problems = []
    v = run([B, "verify", "--db", src, "--json"], env, cmdlog, check=False)
    verify_ok = v.returncode == 0
    if not verify_ok:
        problems.append(f"verify exited {v.returncode}: {v.stderr.decode(errors='replace')[-500:]}")

    e = run([B, "export", "--db", src], env, None, check=False)
    if e.returncode != 0:
        problems.append(f"export exited {e.returncode}: {e.stderr.decode(errors='replace')[-500:]}")
    sqs_to_sns = {}
    received = set()          # SNS MessageIds with at least one receive in the log
    counts_logged = {}        # SNS MessageId -> the ApproximateReceiveCounts of its logged receives
    receives = 0
    for line in e.stdout.decode().splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        receives += 1
        try:
            sid = json.loads(m["Body"])["MessageId"]
        except Exception:
            sid = "sqs:" + m["MessageId"]
        sqs_to_sns[m["MessageId"]] = sid
        received.add(sid)
        try:
            counts_logged.setdefault(sid, set()).add(int(m["Attributes"]["ApproximateReceiveCount"]))
        except Exception:
            pass

    final = {}                # SNS MessageId -> list of final attempts' outcomes
    final_by = {}             # SNS MessageId -> when its final attempts were recorded
    attempts_seen = 0

    def attempt_record(a):
        nonlocal attempts_seen
        attempts_seen += 1
        sid = a.get("snsMessageId") or sqs_to_sns.get(a.get("messageId"))
        if sid is None:
            return
        if a.get("outcome") in FINAL_OUTCOMES or a.get("deadLettered") or a.get("messageDeadLettered"):
            final.setdefault(sid, []).append(a["outcome"] + (" (dead-lettered)" if a.get("deadLettered") else ""))
            final_by.setdefault(sid, []).append(a.get("attemptedAt") or "")

    order_ids = sorted({m["orderId"] for m in published.values() if not m.get("poison")})

    def history(oid):
        h = run([B, "history", "--db", src, "--json", oid], env, None, check=False)
        if h.returncode == 2:
            return oid, []
        if h.returncode != 0:
            return oid, h.stderr.decode(errors="replace")[-300:]
        return oid, json.loads(h.stdout)

    with concurrent.futures.ThreadPoolExecutor(args.check_threads) as pool:
        for oid, recs in pool.map(history, order_ids):
            if isinstance(recs, str):
                problems.append(f"history {oid}: {recs}")
                continue
            for r in recs:
                if r.get("type") == "attempt":
                    attempt_record(r)

    d = run([B, "inspect-dlq", "--db", src, "--json"], env, cmdlog, check=False)
    dlq_log = {}
    if d.returncode == 0:
        for g in json.loads(d.stdout).get("groups", []):
            for m in g.get("messages", []):
                sid = sqs_to_sns.get(m["messageId"])
                dlq_log[sid] = m
                if m.get("deadLettered") and sid is not None:
                    final.setdefault(sid, []).append("dead-lettered (inspect-dlq)")
    else:
        problems.append(f"inspect-dlq exited {d.returncode}: {d.stderr.decode(errors='replace')[-300:]}")

    in_dlq = drain_dlq(sqs, dlqurl)
    unknown_dlq = sorted(set(in_dlq) - set(published))
    if unknown_dlq:
        problems.append(f"{len(unknown_dlq)} messages in OrderDLQ that were not published: {unknown_dlq[:3]}")

    found_final = {sid for sid in published if sid in received and sid in final}
    missing = sorted(sid for sid in published if sid not in in_dlq and sid not in found_final)
    received_no_final = sorted(sid for sid in published if sid in received and sid not in final and sid not in in_dlq)
    dlq_never_logged = sorted(sid for sid in in_dlq if sid in published and sid not in received)
    # Messages finished only by killed consumers (every final attempt recorded before the last consumer started):
    # in the s3 mode their records survive only in S3 (the killed tasks' directories were deleted), in the disk
    # mode only in the log the kills left: these are the ones the durability gate is tested on.
    final_killed_only = sorted(sid for sid, at in final_by.items() if all(x and x < t_final_iso for x in at))
    # Receives SQS made that no log holds, seen as gaps below a message's highest logged receive count (a lower
    # bound: a stranded receive after the last logged one, or of a message never logged, leaves no gap).
    stranded_gaps = sum(max(c) - len(c) for c in counts_logged.values())
    dlq_good = sorted(sid for sid in in_dlq if sid in published and not published[sid].get("poison"))
    for sid in missing:
        m = published[sid]
        problems.append(f"MISSING {sid} ({'poison' if m.get('poison') else m['orderId'] + ' ' + m['timestamp']}): "
                        f"not in OrderDLQ; {'received, no final attempt' if sid in received else 'never logged'}")

    poison_ok = poison_id in in_dlq
    poison_in_inspect = bool(poison_id in dlq_log and dlq_log[poison_id].get("deadLettered"))
    poison_counts = sorted(counts_logged.get(poison_id, set()))
    # The real DLQ joined to the log: shows the poison message with its logged history even when the receive
    # that dead-lettered it was not logged (a kill between that receive and its append).
    dq = run([B, "inspect-dlq", "--queue", "OrderDLQ", "--db", src, "--json"], env, cmdlog, check=False)
    poison_joined = False
    # Exit 1 is inspect-dlq's way to say some DLQ messages are in no log (they died unseen): then its count must be
    # the one this script finds (published, in the DLQ, never received in any log).
    dq_report = json.loads(dq.stdout) if dq.returncode in (0, 1) and dq.stdout.strip() else None
    if dq_report is not None and (dq.returncode == 0) == (dq_report.get("inNoLog", 0) == 0):
        if dq_report.get("inNoLog", 0) != len(dlq_never_logged):
            problems.append(f"inspect-dlq --queue says {dq_report.get('inNoLog')} DLQ messages are in no log; "
                            f"this script finds {len(dlq_never_logged)}")
        for m in dq_report.get("messages", []):
            if m.get("messageId") == in_dlq.get(poison_id, {}).get("sqsMessageId") and m.get("history"):
                poison_joined = True
    else:
        problems.append(f"inspect-dlq --queue OrderDLQ exited {dq.returncode}: {dq.stderr.decode(errors='replace')[-300:]}")
    if not poison_ok:
        problems.append(f"poison {poison_id} is not in OrderDLQ")
    if not poison_in_inspect:
        if poison_id in received and 3 in poison_counts:
            problems.append(f"poison {poison_id}: its 3rd receive is logged but inspect-dlq does not list it as "
                            f"dead-lettered")
        elif poison_id in received and not poison_joined:
            problems.append(f"poison {poison_id} is logged (receive counts {poison_counts}) but "
                            f"`inspect-dlq --queue OrderDLQ` does not join it to its history")
        elif poison_id in received:
            log(f"run {k}: poison logged with receive counts {poison_counts} only (the dead-lettering receive was "
                f"stranded): inspect-dlq --queue OrderDLQ joins it; the log's own rule cannot call it dead-lettered")
        else:
            log(f"run {k}: the poison message was never logged (all its receives stranded): inspect-dlq cannot show it")

    # Orders: the newest version among the messages the log records as projected (a stale or duplicate decision
    # says a newer or the same version was written; a message whose projected attempt never became durable, its
    # consumer killed, is not in the log, and its version in DynamoDB is explained by the DLQ below).
    applied = {}
    for sid, m in published.items():
        if m.get("poison"):
            continue
        if sid in final and any(o.split(" ")[0] == "projected" for o in final[sid]):
            cur = applied.get(m["orderId"])
            if cur is None or m["timestamp"] > cur["timestamp"]:
                applied[m["orderId"]] = m
    newest_published = {}
    for m in published.values():
        if not m.get("poison") and (m["orderId"] not in newest_published
                                    or m["timestamp"] > newest_published[m["orderId"]]["timestamp"]):
            newest_published[m["orderId"]] = m
    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName="Orders"):
        for it in page["Items"]:
            items[it["orderId"]["S"]] = {"timestamp": it["timestamp"]["S"], "status": it["status"]["S"]}
    # A version newer than the log's newest processed one is explained only by a message of that version in the
    # DLQ without a final attempt: a consumer wrote DynamoDB (the PutItem precedes the attempt record) and its
    # records never became durable (killed; in the s3 and none modes its disk deleted), then SQS dead-lettered it.
    dlq_versions = {(published[sid]["orderId"], published[sid]["timestamp"]) for sid in in_dlq
                    if sid in published and not published[sid].get("poison") and sid not in final}
    stale = sorted(o for o, it in items.items() if o in applied and it["timestamp"] < applied[o]["timestamp"])
    ahead = sorted(o for o, it in items.items() if o not in applied or it["timestamp"] > applied[o]["timestamp"])
    unexplained = [o for o in ahead if (o, items[o]["timestamp"]) not in dlq_versions]
    absent = sorted(o for o in applied if o not in items)
    for o in stale:
        problems.append(f"STALE order {o}: Orders has {items[o]['timestamp']}, the log's newest projected is "
                        f"{applied[o]['timestamp']}")
    for o in unexplained:
        problems.append(f"order {o}: Orders has {items[o]} but no logged final attempt or DLQ message of that version")
    for o in absent:
        problems.append(f"order {o} missing from Orders: the log's newest projected is {applied[o]['timestamp']}")
    orders_ok = not stale and not unexplained and not absent
    behind_newest = sum(1 for o, m in newest_published.items()
                        if o in items and items[o]["timestamp"] != m["timestamp"])

    lo = run([B, "orders", "--db", src, "--json"], env, None, check=False)
    log_orders_ok = None
    log_orders_bad = None
    if lo.returncode == 0:
        # The log's own projection must be the newest processed version of each order (what the log holds).
        log_orders = {r["orderId"]: r["timestamp"] for r in json.loads(lo.stdout)}
        want = {o: m["timestamp"] for o, m in applied.items()}
        bad = sorted(o for o in set(log_orders) | set(want) if log_orders.get(o) != want.get(o))
        log_orders_bad = len(bad)
        log_orders_ok = not bad
        for o in bad[:10]:
            problems.append(f"`ordlog orders` is not the newest projected version: {o} has "
                            f"{log_orders.get(o)}, the log's newest projected attempt is {want.get(o)}")
    else:
        problems.append(f"ordlog orders exited {lo.returncode}: {lo.stderr.decode(errors='replace')[-300:]}")

    # moto's ReceiveMessage is not thread-safe: concurrent receives fail with HTTP 500 (`list.remove(x): x not in
    # list` when two receives move one message to the DLQ; `Set changed size during iteration`) after having
    # counted some messages as received. Each such 500 strands messages just as a kill does (ordlog retries the
    # call): counted here so that stranding by moto and by the kills can be told apart.
    moto.logfile.flush()
    with open(moto.logfile.name, "rb") as f:
        f.seek(moto_log_start)
        mlog = f.read().decode(errors="replace")
    moto_500 = mlog.count('" 500 ')
    moto_dlq_race = mlog.count("list.remove(x): x not in list")
    t_end = time.time()
    result = {
        "run": k, "mode": args.mode, "published": len(published), "inDlq": len(in_dlq),
        "inDlqGood": len(dlq_good), "foundFinal": len(found_final), "receivedNoFinal": len(received_no_final),
        "missing": len(missing), "dlqNeverLogged": len(dlq_never_logged),
        "finalOnlyInKilledTasks": len(final_killed_only),
        "strandedReceivesSeen": stranded_gaps, "moto500": moto_500, "motoDlqRace": moto_dlq_race,
        "receives": receives,
        "attempts": attempts_seen, "orders": len(items), "ordersExpected": len(applied),
        "ordersBehindNewestPublished": behind_newest, "ordersAheadOfLog": len(ahead), "ordersOk": orders_ok,
        "logOrdersOk": log_orders_ok, "logOrdersWrong": log_orders_bad, "poisonReceiveCountsLogged": poison_counts,
        "poisonJoinedByInspectDlqQueue": poison_joined,
        "verifyOk": verify_ok, "poisonInDlq": poison_ok, "poisonInInspectDlq": bool(poison_in_inspect),
        "kills": kills, "finalConsumers": finals, "tasks": task,
        "s3Objects": len(s3_listing(s3)) if replaced else None,
        "seconds": {"publish": round(t_pub - t0, 1), "consume": round(t_drain - t_pub, 1),
                    "check": round(t_end - t_drain, 1), "total": round(t_end - t0, 1)},
        "problems": problems, "missingIds": missing, "dlqNeverLoggedIds": dlq_never_logged,
        "poison": poison_id,
    }
    if problems:
        # Keep the evidence while moto still holds it.
        result["s3Dump"] = dump_s3(s3, os.path.join(rundir, "s3")) if replaced else None
        with open(os.path.join(rundir, "dlq.json"), "w") as f:
            json.dump(in_dlq, f, indent=1)
        with open(os.path.join(rundir, "orders-table.json"), "w") as f:
            json.dump(items, f, indent=1)
        with open(os.path.join(rundir, "published.json"), "w") as f:
            json.dump(published, f, indent=1)
        with open(os.path.join(rundir, "export.jsonl"), "wb") as f:
            f.write(e.stdout)
    with open(os.path.join(rundir, "run.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--mode", choices=["s3", "disk", "none"], default="s3")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs per run before the last consumer (default 3)")
    ap.add_argument("--messages", type=int, default=500, help="messages published per run, one poison (default 500)")
    ap.add_argument("--orders", type=int, default=150, help="distinct orderIds (default 150)")
    ap.add_argument("--concurrency", type=int, default=4, help="consume --concurrency (default 4)")
    ap.add_argument("--visibility-timeout", type=int, default=5)
    ap.add_argument("--max-unlogged", type=int, default=None, help="consume --max-unlogged (default: ordlog's)")
    ap.add_argument("--kill-min", type=float, default=0.5)
    ap.add_argument("--kill-max", type=float, default=6.0)
    ap.add_argument("--drain-timeout", type=float, default=300)
    ap.add_argument("--check-threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time); printed")
    ap.add_argument("--ordlog", default=os.path.join(REPO, ".build", "release", "ordlog"))
    ap.add_argument("--keep", action="store_true", help="keep every run's directory, not only failed ones")
    ap.add_argument("--json", metavar="FILE", help="also write every run's result to FILE")
    args = ap.parse_args()

    if not os.access(args.ordlog, os.X_OK):
        print(f"no ordlog binary at {args.ordlog}: swift build -c release, or --ordlog PATH", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    root = tempfile.mkdtemp(prefix=f"ordlog-chaos-{args.mode}-")
    log(f"mode {args.mode}, {args.runs} runs, {args.kills} kills each, seed {seed}, work dir {root}")
    try:
        moto = Moto(root)
    except Exception as e:
        print(f"moto_server: {e}", file=sys.stderr)
        return 2
    results = []
    failed = []
    try:
        for k in range(1, args.runs + 1):
            rundir = os.path.join(root, f"run-{k:02d}")
            os.makedirs(rundir)
            try:
                r = one_run(args, k, moto, rundir, rng)
            except Exception as e:
                r = {"run": k, "mode": args.mode, "problems": [f"run aborted: {e}"], "error": str(e)}
            results.append(r)
            if r["problems"]:
                failed.append((k, rundir))
                log(f"run {k}: FAILED, evidence kept in {rundir}")
                for p in r["problems"][:20]:
                    log(f"  {p}")
            else:
                log(f"run {k}: ok ({r['seconds']['total']} s)")
                if not args.keep:
                    shutil.rmtree(rundir, ignore_errors=True)
    finally:
        moto.stop()

    hdr = ["run", "published", "inDLQ", "DLQ good", "logged+final", "by killed tasks", "missing",
           "DLQ never logged", "stranded receives seen", "orders", "Orders ahead of log",
           "Orders ok", "`ordlog orders` wrong", "verify ok", "poison", "moto 500s", "s3 objs", "secs"]
    rows = []
    for r in results:
        if "published" not in r:
            rows.append([str(r["run"]), "aborted: " + r.get("error", "")[:80]] + [""] * (len(hdr) - 2))
            continue
        rows.append([str(r["run"]), str(r["published"]), str(r["inDlq"]), str(r["inDlqGood"]), str(r["foundFinal"]),
                     str(r["finalOnlyInKilledTasks"]), str(r["missing"]), str(r["dlqNeverLogged"]), str(r["strandedReceivesSeen"]), f"{r['orders']}/{r['ordersExpected']}",
                     str(r["ordersAheadOfLog"]), "yes" if r["ordersOk"] else "NO", str(r["logOrdersWrong"]),
                     "yes" if r["verifyOk"] else "NO",
                     "DLQ+inspect-dlq" if r["poisonInDlq"] and r["poisonInInspectDlq"] else
                     ("DLQ+joined" if r["poisonInDlq"] and r["poisonJoinedByInspectDlqQueue"] else
                      ("DLQ" if r["poisonInDlq"] else "NO")), str(r["moto500"]),
                     "" if r["s3Objects"] is None else str(r["s3Objects"]), str(r["seconds"]["total"])])
    print(f"ordlog chaos-consume: mode {args.mode}, {args.kills} SIGKILLs per run, seed {seed}, "
          f"{args.messages} messages ({args.orders} orderIds, 1 poison), concurrency {args.concurrency}, "
          f"visibility timeout {args.visibility_timeout} s")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    ok = [r for r in results if "published" in r]
    if ok:
        print(f"totals: published {sum(r['published'] for r in ok)}, missing {sum(r['missing'] for r in ok)}, "
              f"DLQ never logged {sum(r['dlqNeverLogged'] for r in ok)} "
              f"(good messages in DLQ {sum(r['inDlqGood'] for r in ok)}), "
              f"stranded receives seen {sum(r.get('strandedReceivesSeen', 0) for r in ok)}, "
              f"finished only by killed tasks {sum(r['finalOnlyInKilledTasks'] for r in ok)}, "
              f"moto HTTP 500s {sum(r['moto500'] for r in ok)}, "
              f"kills {sum(sum(1 for x in r['kills'] if x['rc'] == 'SIGKILL') for r in ok)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": seed, "args": vars(args), "results": results}, f, indent=1)
    if failed:
        print(f"FAILED runs: {', '.join(str(k) for k, _ in failed)}; evidence in "
              f"{', '.join(d for _, d in failed)}")
        return 1
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
