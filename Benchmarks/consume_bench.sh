#!/usr/bin/env bash
# The consume benchmark, in one command: builds ordlog (release, .build-release), starts the loopback latency
# model of SQS + DynamoDB (Benchmarks/aws_model.py, a model: fixed delay per call, not AWS), then runs
# ordlog consume (--concurrency 1, 4, 16 when the build has it, and its default), a sequential boto3 consumer
# and boto3 in 8 threads, alternating, on the same messages; then a fault run (5% throttling, 2% HTTP 500).
#
#   Benchmarks/consume_bench.sh                       # 4,000 messages x 3 repeats -> Benchmarks/results/consume.{md,json}
#   Benchmarks/consume_bench.sh --messages 20000 --repeats 3 --out Benchmarks/results/consume-big
#   ORDLOG_BIN=/path/to/ordlog Benchmarks/consume_bench.sh --label "consumer branch abc1234"
#   LATENCY_MS=10 (default)
#
# Needs python3 with boto3 (pip install boto3). The model listens on 127.0.0.1 only, on a free port.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
work="${BENCH_WORK:-/tmp/ordlog-bench/consume}"
mkdir -p "$work"
python3 -c "import boto3" 2>/dev/null || { echo "boto3 is missing: pip install boto3" >&2; exit 1; }

if [ -n "${ORDLOG_BIN:-}" ]; then
    ordlog="$ORDLOG_BIN"
else
    echo "building ordlog (release, .build-release)" >&2
    (cd "$root" && swift build -c release --product ordlog --scratch-path .build-release 2>&1 | tail -1) >&2
    ordlog="$root/.build-release/release/ordlog"
fi
[ -x "$ordlog" ] || { echo "no ordlog binary at $ordlog" >&2; exit 1; }

portfile="$work/model.port"
rm -f "$portfile"
python3 "$here/aws_model.py" --port-file "$portfile" --latency-ms "${LATENCY_MS:-10}" 2>"$work/model.log" &
model=$!
trap 'kill $model 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
[ -s "$portfile" ] || { echo "the model did not start: $(cat "$work/model.log")" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$portfile")"
echo "latency model at $url" >&2
python3 "$here/consume_bench.py" --ordlog "$ordlog" --model-url "$url" --latency-ms "${LATENCY_MS:-10}" \
    --work-dir "$work" "$@"
