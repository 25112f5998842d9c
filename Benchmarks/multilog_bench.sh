#!/usr/bin/env bash
# Reading several logs as one (issue 11 A): the same traffic in one log, and split round-robin over three
# consumers' logs; each read command timed on both (median of 3 runs, wall clock), with the ratio three/one.
# Usage: Benchmarks/multilog_bench.sh [MESSAGES] (default 60000). Needs a release build:
#   swift build -c release --scratch-path .build-release --product ordlog
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-60000}
bin=.build-release/release/ordlog
work=$(mktemp -d /tmp/ordlog-multilog-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 Benchmarks/gen_traffic.py --messages "$n" --seed 1 --out "$work/traffic.jsonl"
for i in 0 1 2; do awk -v i=$i 'NR % 3 == i' "$work/traffic.jsonl" > "$work/part-$i.jsonl"; done
"$bin" ingest --db "$work/one.db" "$work/traffic.jsonl" > /dev/null
mkdir "$work/three"
for i in 0 1 2; do "$bin" ingest --db "$work/three/c$i.db" --consumer-id "c$i" "$work/part-$i.jsonl" > /dev/null; done
three=(--db "$work/three/c0.db" --db "$work/three/c1.db" --db "$work/three/c2.db")
order=$(python3 -c "import json,sys; l=open(sys.argv[1]).readline(); b=json.loads(json.loads(l)['Body'])['Message']; print(json.loads(b)['orderId'])" "$work/traffic.jsonl")

median() { # command...: prints the median wall time of 3 runs, in seconds
  local t=()
  for _ in 1 2 3; do
    local s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; local e=$(date +%s.%N)
    t+=("$(echo "$e - $s" | bc)")
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n 2p
}
printf '%-14s %10s %10s %8s\n' command "one log s" "3 logs s" ratio
for cmd in verify inspect-dlq history replay export; do
  extra=(); [ "$cmd" = history ] && extra=("$order"); [ "$cmd" = replay ] && extra=(--json)
  a=$(median "$bin" "$cmd" --db "$work/one.db" "${extra[@]}")
  b=$(median "$bin" "$cmd" "${three[@]}" "${extra[@]}")
  printf '%-14s %10.3f %10.3f %8.2f\n' "$cmd" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
d1=$("$bin" replay --db "$work/one.db" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['digest'])")
d3=$("$bin" replay "${three[@]}" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['digest'])")
echo "replay digest, one log:  $d1"
echo "replay digest, 3 logs:   $d3"
[ "$d1" = "$d3" ] && echo "digests equal" || { echo "DIGESTS DIFFER"; exit 1; }
