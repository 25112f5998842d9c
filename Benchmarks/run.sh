#!/usr/bin/env bash
# The ordlog benchmark, in one command. Builds ordlog (release), the C ceiling and the lean C baseline,
# generates the traffic if missing, then measures ordlog against the lean C program and lean Python script a
# user would write instead (Benchmarks/user/) and against its own design (the C ceiling, the Python peer), on
# the same data in the same run.
#
#   Benchmarks/run.sh            # 100k messages, 3 repeats  -> Benchmarks/results/latest.{md,json}
#   Benchmarks/run.sh --quick    # 20k messages, 1 repeat    -> Benchmarks/results/quick.{md,json}
#   Benchmarks/run.sh --full     # 100k x3, then 1M x1 (1M traffic is ~1.7 GB, each 1M log ~2.8 GB)
#   Benchmarks/run.sh --repeats 5
#
# Environment: BENCH_DATA (traffic files, default /tmp/ordlog-bench/data), BENCH_WORK (databases, default
# /tmp/ordlog-bench/work), ORDLOG_BIN (measure this ordlog binary instead of building one).
# Needs: swift, cc, libsqlite3-dev, libssl-dev (SHA-256/MD5 for the ceiling come from OpenSSL's libcrypto),
# python3, sqlite3, /usr/bin/time (Debian package `time`). Missing Debian packages are installed with apt-get
# when running as root.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
data="${BENCH_DATA:-/tmp/ordlog-bench/data}"
work="${BENCH_WORK:-/tmp/ordlog-bench/work}"
mkdir -p "$data" "$work"

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v sqlite3 >/dev/null || need+=(sqlite3)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
[ -f /usr/include/openssl/evp.h ] || need+=(libssl-dev)
command -v cc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing ${need[*]}" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "missing Debian packages: ${need[*]} (apt-get install them)" >&2; exit 1
    fi
fi

if [ -n "${ORDLOG_BIN:-}" ]; then
    ordlog="$ORDLOG_BIN"
else
    echo "building ordlog (release, .build-release)" >&2
    (cd "$root" && swift build -c release --product ordlog --scratch-path .build-release 2>&1 | tail -1) >&2
    ordlog="$root/.build-release/release/ordlog"
fi
[ -x "$ordlog" ] || { echo "no ordlog binary at $ordlog" >&2; exit 1; }

echo "building the C ceiling (cc -O2, -lsqlite3 -lcrypto) and the lean C user baseline (cc -O2, -lsqlite3)" >&2
cc -O2 -Wall -o "$here/ceiling/ingest_ceiling" "$here/ceiling/ingest_ceiling.c" -lsqlite3 -lcrypto
cc -O2 -Wall -o "$here/user/lean_ingest" "$here/user/lean_ingest.c" -lsqlite3

exec python3 "$here/bench.py" --ordlog "$ordlog" --ceiling "$here/ceiling/ingest_ceiling" --lean-c "$here/user/lean_ingest" \
    --swift-version "$(swift --version 2>/dev/null | head -1 || true)" \
    --data-dir "$data" --work-dir "$work" "$@"
