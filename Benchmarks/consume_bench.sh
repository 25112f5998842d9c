#!/usr/bin/env bash
# The consume benchmark, in one command: builds ordlog (release, .build-release), starts the loopback latency
# model of SQS + DynamoDB + S3 (Benchmarks/aws_model.py, a model: fixed delay per call, not AWS), then runs
# ordlog consume (--concurrency 1, 4, 16 when the build has it; then at its default concurrency once per
# durability mode in MODES), a sequential boto3 consumer and boto3 in 8 threads, alternating, on the same
# messages; then a fault run (5% throttling, 2% HTTP 500) of each durability row and boto3 x8.
#
#   Benchmarks/consume_bench.sh                       # 4,000 messages x 3 repeats -> Benchmarks/results/consume.{md,json}
#   Benchmarks/consume_bench.sh --messages 20000 --repeats 3 --out Benchmarks/results/consume-big
#   ORDLOG_BIN=/path/to/ordlog Benchmarks/consume_bench.sh --label "consumer branch abc1234"
#   MODES="none disk" Benchmarks/consume_bench.sh     # durability modes (default: none disk s3)
#   LATENCY_MS=10 (default; SQS and DynamoDB)   S3_LATENCY_MS=25, S3_MB_PER_S=85 (defaults; S3)
#
# MODES: each mode runs `ordlog consume --durability MODE` (s3 also `--archive-to s3://bench-bucket/run-N`, a new
# prefix per run, in the model's S3). A build whose `consume --help` does not mention --durability (before issue
# #20) runs only today's behaviour, labelled `none (no flag)`, so the script works before and after.
#
# Needs python3 with boto3 (pip install boto3). The model listens on 127.0.0.1 only, on a free port. Reads
# nothing outside the repository; writes under BENCH_WORK (default /tmp/ordlog-bench/consume).
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
python3 "$here/aws_model.py" --port-file "$portfile" --latency-ms "${LATENCY_MS:-10}" \
    --s3-latency-ms "${S3_LATENCY_MS:-25}" --s3-mb-per-s "${S3_MB_PER_S:-85}" --bucket bench-bucket \
    2>"$work/model.log" &
model=$!
trap 'kill $model 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
[ -s "$portfile" ] || { echo "the model did not start: $(cat "$work/model.log")" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$portfile")"
echo "latency model at $url" >&2
# shellcheck disable=SC2086  # MODES is a list of words
python3 "$here/consume_bench.py" --ordlog "$ordlog" --model-url "$url" --latency-ms "${LATENCY_MS:-10}" \
    --s3-latency-ms "${S3_LATENCY_MS:-25}" --s3-mb-per-s "${S3_MB_PER_S:-85}" --modes ${MODES:-none disk s3} \
    --work-dir "$work" "$@"
