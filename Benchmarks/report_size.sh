#!/usr/bin/env bash
# How big and how slow `ordlog report` gets on a large log (issue 13: "under a few MB for 1M messages").
#   Benchmarks/report_size.sh [MESSAGES]     (default 100000)
# Generates MESSAGES of realistic traffic (gen_traffic.py, seed 1) plus 0.5% poison messages in four error
# fingerprints, each received three times (so dead-lettered), ingests it with a release build
# (.build-release, or ORDLOG_BIN), then times `ordlog report` with the default selection and prints the file size.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
work="${BENCH_WORK:-/tmp/ordlog-report-bench}"
mkdir -p "$work"
export PATH="/opt/swift/usr/bin:$PATH"
bin="${ORDLOG_BIN:-}"
if [ -z "$bin" ]; then
  swift build -c release --product ordlog --build-path .build-release > "$work/build.log" 2>&1 \
    || { tail -n 20 "$work/build.log"; exit 1; }
  bin=.build-release/release/ordlog
fi
traffic="$work/traffic-$n.jsonl"
[ -s "$traffic" ] || python3 Benchmarks/gen_traffic.py --messages "$n" --seed 1 --out "$traffic"
poison="$work/poison-$n.jsonl"
python3 - "$n" "$poison" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
bad = [  # (fingerprint, body)
    ("quantity", lambda i: json.dumps({"orderId": "ord-p%07d" % i, "userId": "user-1", "itemName": "Grinder",
                                        "quantity": "two", "status": "PENDING", "timestamp": "2026-01-01T10:00:00Z"})),
    ("userId", lambda i: json.dumps({"orderId": "ord-p%07d" % i, "itemName": "Grinder", "quantity": 1,
                                      "status": "PENDING", "timestamp": "2026-01-01T10:00:00Z"})),
    ("timestamp", lambda i: json.dumps({"orderId": "ord-p%07d" % i, "userId": "u", "itemName": "Grinder",
                                         "quantity": 1, "status": "PENDING", "timestamp": "yesterday"})),
    ("not json", lambda i: "<order id=%d>" % i),
]
with open(out, "w") as f:
    for i in range(n // 200):
        body = bad[i % 4][1](i)
        sent = 1767261600000 + i * 5000
        for count in (1, 2, 3):
            f.write(json.dumps({"MessageId": "poison-%07d" % i, "Body": body, "Attributes": {
                "ApproximateReceiveCount": str(count), "SentTimestamp": str(sent)}}) + "\n")
PY
db="$work/log-$n.db"
if [ ! -s "$db" ]; then
  rm -f "$db" "$db-wal" "$db-shm"
  /usr/bin/time -f "ingest: %e s, peak RSS %M KiB" "$bin" ingest --db "$db" --batch-size 1000 "$traffic" "$poison" > /dev/null || true
fi
ls -l "$db" | awk '{printf "log: %.0f MiB\n", $5 / 1048576}'
/usr/bin/time -f "report: %e s, peak RSS %M KiB" "$bin" report --db "$db" --out "$work/report-$n.html" --json
gzip -c "$work/report-$n.html" | wc -c | awk '{printf "gzip: %d bytes\n", $1}'
