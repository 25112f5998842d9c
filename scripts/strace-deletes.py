#!/usr/bin/env python3
"""Shows, from the system calls, whether `ordlog consume` sends a DeleteMessageBatch only after an fsync covering
the log's records (issue #20).

Starts moto_server on a free 127.0.0.1 port, runs `ordlog setup`, publishes --messages orders, and runs
`ordlog consume --concurrency 1 --max-in-flight 10 --until-empty --durability MODE` under
`strace -f -y -ttt -e trace=pwrite64,write,fdatasync,fsync,sendto,sendmsg`. With one loop and one batch in
flight, each batch is: receive, append, record, (fsync), delete; so a DeleteMessageBatch is covered exactly when
the log's WAL was fsynced after its last write. The script counts the DeleteMessageBatch requests sent while the
WAL held writes not yet fsynced (or, with no WAL file, the database file).

    python3 scripts/strace-deletes.py --binary .build/release/ordlog --mode disk   # exit 0: every delete covered
    python3 scripts/strace-deletes.py --binary .build/release/ordlog --mode none   # reports the uncovered ones

Needs strace (apt-get install strace) and moto[server]; reads nothing outside the repository.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=".build/debug/ordlog")
    ap.add_argument("--mode", default="disk", choices=["disk", "none"])
    ap.add_argument("--messages", type=int, default=100)
    args = ap.parse_args()
    if not shutil.which("strace"):
        sys.exit("strace-deletes: strace is not installed (apt-get install strace)")
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="ordlog-strace-")
    port = free_port()
    moto = subprocess.Popen(["moto_server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="x",
               AWS_SECRET_ACCESS_KEY="x", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run([binary, "setup"], env=env, check=True, capture_output=True)
        orders = os.path.join(work, "orders.jsonl")
        with open(orders, "w") as f:
            for i in range(args.messages):
                f.write(json.dumps({"orderId": f"ord-{i}", "userId": "u-1", "itemName": "Kettle", "quantity": 1,
                                    "status": "PAID", "timestamp": "2026-01-01T10:00:00Z"}) + "\n")
        subprocess.run([binary, "publish", "--topic", "OrderTopic", orders], env=env, check=True,
                       capture_output=True)
        trace = os.path.join(work, "trace.txt")
        db = os.path.join(work, "orders.db")
        r = subprocess.run(
            ["strace", "-f", "-y", "-ttt", "-s", "400", "-o", trace,
             "-e", "trace=pwrite64,write,fdatasync,fsync,sendto,sendmsg",
             binary, "consume", "--db", db, "--queue", "OrderQueue", "--concurrency", "1", "--max-in-flight", "10",
             "--until-empty", "--wait-time", "1", "--durability", args.mode],
            env=env, capture_output=True, text=True)
        if r.returncode not in (0, 3):
            sys.exit(f"strace-deletes: consume failed ({r.returncode}): {r.stderr}")
        deletes = uncovered = syncs = 0
        dirty = False
        log_file = re.compile(re.escape(db) + r"(-wal)?>")
        for line in open(trace, encoding="utf-8", errors="replace"):
            call = re.search(r"\s(pwrite64|write|fdatasync|fsync|sendto|sendmsg)\((\d+)<([^>]*)>", line)
            if not call:
                continue
            name, target = call.group(1), call.group(3) + ">"
            if name in ("pwrite64", "write") and log_file.match(target):
                dirty = True
            elif name in ("fdatasync", "fsync") and log_file.match(target) and "unfinished" not in line:
                dirty = False
                syncs += 1
            elif name in ("sendto", "sendmsg", "write") and "DeleteMessageBatch" in line:
                deletes += 1
                if dirty:
                    uncovered += 1
        print(f"--durability {args.mode}: {deletes} DeleteMessageBatch requests, {uncovered} sent while the log "
              f"held writes not fsynced since; {syncs} fsyncs of the log")
        if deletes == 0:
            sys.exit("strace-deletes: no DeleteMessageBatch seen (the trace format changed?)")
        sys.exit(1 if args.mode == "disk" and uncovered else 0)
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
