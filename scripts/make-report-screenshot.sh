#!/usr/bin/env bash
# Regenerates the README's picture of `ordlog report`: builds ordlog, ingests samples/order-traffic.jsonl into a
# fresh log, writes the report (SOURCE_DATE_EPOCH fixes its "made at" line) and screenshots it in headless
# Chromium with networking disabled.
#   scripts/make-report-screenshot.sh              -> docs/report.png (committed)
#   scripts/make-report-screenshot.sh /tmp/x.png   -> anywhere else (CI)
# Needs chromium (scripts/install-deps.sh installs it). For CJK and emoji item names to show as glyphs rather
# than boxes, install fonts-wqy-zenhei and fonts-noto-color-emoji (the screenshot in docs/ was made with them).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
out="$(realpath -m "${1:-docs/report.png}")"
command -v chromium >/dev/null 2>&1 || { echo "make-report-screenshot: needs chromium (scripts/install-deps.sh)" >&2; exit 1; }
swift build --product ordlog > /tmp/ordlog-report-screenshot-build.log 2>&1 \
  || { tail -n 20 /tmp/ordlog-report-screenshot-build.log; exit 1; }
bin="$(swift build --show-bin-path)/ordlog"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"  # so the page names the log "ordlog.db", not a temporary path
status=0
"$bin" ingest --db ordlog.db "$root/samples/order-traffic.jsonl" > /dev/null || status=$?
[ "$status" -eq 0 ] || { echo "make-report-screenshot: ingest exited $status" >&2; exit 1; }
SOURCE_DATE_EPOCH=1767261600 "$bin" report --db ordlog.db --out report.html
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --force-device-scale-factor=1 \
  --user-data-dir="$work/profile" --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
  --window-size=1280,1880 --screenshot="$out" "file://$work/report.html" > /dev/null 2>&1
[ -s "$out" ] || { echo "make-report-screenshot: chromium wrote no screenshot" >&2; exit 1; }
echo "make-report-screenshot: $out ($(stat -c %s "$out") bytes)"
