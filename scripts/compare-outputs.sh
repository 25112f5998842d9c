#!/usr/bin/env bash
# compare-outputs.sh — before/after proof that a refactor changes no output (issue 19).
#
#   scripts/compare-outputs.sh capture BINARY OUTDIR      run every case with BINARY, store the results in OUTDIR
#   scripts/compare-outputs.sh diff BASE_BINARY NEW_BINARY  capture both, print `diff -ru`; exit 0 identical, 1 not
#
# What it covers: every command a user runs on the shipped samples (samples/order-traffic.jsonl,
# samples/bad-input.jsonl, samples/orders.jsonl, samples/logs/*), in text and --json forms: ingest (first, rerun,
# --exit-code, bad input, stdin, refused inputs), orders, history, inspect-dlq, replay (--verdict, rules,
# --show-decisions, --traffic with --record-expect/--expect, --into, filters, the processor-v1 logs), reproject
# (in place, --into, --as-of-seq, --as-of), verify (plain, --head, several logs, an edited log), head, export
# (--redact with a fixed key, --dead-lettered, --output), report (with SOURCE_DATE_EPOCH), redrive (dry run and
# real, local), seal and the read commands on a sealed log, a log split over consumers c1/c2/c3, every
# subcommand's --help, usage errors, and the AWS commands in the forms that fail before any network call.
# For each case OUTDIR holds NAME.stdout, NAME.stderr, NAME.exit, and NAME.file.* for files a command writes
# (report pages, export/expectation files, --into projections as the rows of their orders table,
# the segments folder listing).
#
# Determinism: every run happens in the fixed directory $ORDLOG_COMPARE_WORK (default /tmp/ordlog-compare/work,
# recreated each capture; a lock keeps two captures from sharing it) with a copy of samples/ and relative paths,
# under `env -i` with TZ=UTC, LC_ALL=C, SOURCE_DATE_EPOCH fixed, HOME inside the work dir, no AWS credentials and
# AWS_EC2_METADATA_DISABLED=true, stdin from /dev/null, and --consumer-id on every ingest and seal. What is still
# volatile is the wall clock ordlog records (received_at, attempted_at, recorded_at, sealed_at) and everything
# derived from it. The normalisation pass (the perl program in normalise(), a sed-like s///g over every stored
# file, after all cases ran) rewrites only:
#   - the work dir path                                       -> <TMP>
#   - RFC 3339 times (and bare dates) on the day(s) the capture ran -> <TIME> (<DATE>); sample data is dated
#     2026-01-0x and is kept
#   - bare times of day (report timelines) equal to a wall-clock time a log of this capture recorded -> <TIME>
#   - epoch ms / s values inside the capture's time window    -> <MS> / <S>
#   - record hashes of the logs this capture wrote (they hash received_at), read from each log file's
#     receives/attempts/identities/segment_start tables -> <HASH:CONSUMER#SEQ> (<HASH:CONSUMER#start@SEQ> for a
#     segment start), so which record a head, a link or a mismatch names is still compared; their shortened
#     forms (10 to 63 leading digits, e.g. "9:ce4bd84dcffea0ece…") likewise
#   - sha256 of files in the work dir (sealed segment checksums in manifests) -> <SHA256:relative/path>
#   - in cases on an edited log or a dry-run redrive only, any other 64-hex value -> <HASH> (the recomputed hash
#     of the edited record, the would-be hash of an attempt not appended: both hash a wall-clock time)
# Hashes that do not depend on time stay as printed: receive keys, fingerprints, redaction pseudonyms (fixed
# key), projection digests, the processor-v1 logs' chains, the report's CSP hash.
# Logs are copied with their -wal file (cpdb): a copy without it misses the newest records, at random.
set -u -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK_BASE=${ORDLOG_COMPARE_WORK:-/tmp/ordlog-compare/work}
SDE=1767225600            # SOURCE_DATE_EPOCH: 2026-01-01T00:00:00Z
REDACT_KEY=compare-outputs-fixed-key
POISON=6f1c2a9e-0010-4c1e-9d8a-000000000010

usage() {
    sed -n '2,5p' "$0" >&2
    exit 64
}

abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

# ---------------------------------------------------------------------------------------------------------- run
# run NAME [VAR=VALUE ...] -- ARGS...   run BINARY ARGS in $W, clean environment, stdin /dev/null
run() {
    local name=$1; shift
    local extra=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do extra+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    local rc=0
    env -i PATH=/usr/bin:/bin HOME="$W/home" TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=$SDE \
        AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE="$W/home/.aws/config" \
        AWS_SHARED_CREDENTIALS_FILE="$W/home/.aws/credentials" "${extra[@]}" \
        timeout 120 "$BIN" "$@" <"${STDIN:-/dev/null}" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" || rc=$?
    echo "$rc" >"$OUT/$name.exit"
    CASES=$((CASES + 1))
}
# both NAME ARGS...   the case in text form (NAME) and --json form (NAME.json)
both() { local name=$1; shift; run "$name" -- "$@"; run "$name.json" -- "$@" --json; }
# keep NAME FILE   store a file a command wrote as NAME.file.BASENAME (an SQLite file: its orders table, dumped)
keep() {
    local name=$1 f=$2 dest
    dest="$OUT/$name.file.$(basename "$f")"
    if [ ! -e "$W/$f" ]; then echo "(absent)" >"$dest"; return; fi
    if [ -d "$W/$f" ]; then (cd "$W/$f" && find . | LC_ALL=C sort) >"$dest"; return; fi
    if head -c 15 "$W/$f" | grep -q '^SQLite format 3'; then
        sqlite3 "$W/$f" "SELECT * FROM orders ORDER BY 1" >"$dest.orders" 2>&1 || true
    else
        cp "$W/$f" "$dest"
    fi
}
sq() { sqlite3 "$W/$1" "$2" >/dev/null; }
# cpdb SRC DST   copy a log with its write-ahead log (a log's newest records may still be only in SRC-wal)
cpdb() { rm -f "$2" "$2-wal" "$2-shm"; cp "$1" "$2"; if [ -e "$1-wal" ]; then cp "$1-wal" "$2-wal"; fi; }

# ------------------------------------------------------------------------------------------------------ capture
capture() {
    BIN=$(abspath "$1"); OUT=$(abspath "$2")
    [ -x "$BIN" ] || { echo "compare-outputs: $BIN is not an executable" >&2; exit 64; }
    command -v sqlite3 >/dev/null || { echo "compare-outputs: needs sqlite3" >&2; exit 64; }
    mkdir -p "$(dirname "$WORK_BASE")"
    exec 9>"$WORK_BASE.lock"
    flock 9
    W=$WORK_BASE
    if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -e "$OUT/CASES" ]; then
        echo "compare-outputs: $OUT is not empty and not an earlier capture: not replacing it" >&2; exit 64
    fi
    rm -rf "$W" "$OUT"; mkdir -p "$W/home" "$OUT"
    cp -R "$REPO/samples" "$W/samples"
    cd "$W"
    CASES=0
    local t0_ms t1_ms
    t0_ms=$(date +%s%3N)

    # -- help and usage
    run help.top -- --help
    run version -- --version
    run help.help -- help
    local sub
    for sub in ingest orders history replay reproject inspect-dlq redrive verify head export report setup publish \
               consume whoami seal archive; do
        run "help.$sub" -- "$sub" --help
    done
    run help.via-help-replay -- help replay
    run usage.bad-flag -- orders --no-such-flag
    run usage.bad-flag-ingest -- ingest --bogus samples/order-traffic.jsonl
    run usage.unknown-subcommand -- frobnicate
    run usage.bad-value -- replay --db main.db --min-quantity abc
    run usage.missing-argument -- history --db main.db
    run usage.redrive-no-selection -- redrive --db main.db
    run usage.bad-log-format -- orders --db main.db --log-format xml
    run usage.bad-head -- verify --db main.db --head nonsense

    # -- ingest
    both orders.before-ingest orders --db main.db        # refuses a missing log before anything exists
    run ingest.first -- ingest --db main.db --consumer-id c1 samples/order-traffic.jsonl
    run ingest.rerun -- ingest --db main.db --consumer-id c1 samples/order-traffic.jsonl
    run ingest.first.json -- ingest --db mainj.db --consumer-id c1 --json samples/order-traffic.jsonl
    run ingest.rerun.json -- ingest --db mainj.db --consumer-id c1 --json samples/order-traffic.jsonl
    run ingest.exit-code -- ingest --db ec.db --consumer-id c1 --exit-code samples/order-traffic.jsonl
    run ingest.exit-code.json -- ingest --db ecj.db --consumer-id c1 --exit-code --json samples/order-traffic.jsonl
    run ingest.exit-code.rerun -- ingest --db ec.db --consumer-id c1 --exit-code samples/order-traffic.jsonl
    run ingest.bad-input -- ingest --db bad.db --consumer-id c1 samples/bad-input.jsonl
    run ingest.bad-input.json -- ingest --db badj.db --consumer-id c1 --json samples/bad-input.jsonl
    run ingest.bad-input.exit-code -- ingest --db bad2.db --consumer-id c1 --exit-code samples/bad-input.jsonl
    run ingest.bad-input.exit-code.json -- ingest --db bad3.db --consumer-id c1 --exit-code --json samples/bad-input.jsonl
    run ingest.two-files -- ingest --db two.db --consumer-id c1 samples/order-traffic.jsonl samples/bad-input.jsonl
    run ingest.orders-file -- ingest --db of.db --consumer-id c1 samples/orders.jsonl
    run ingest.orders-file.json -- ingest --db of.db --consumer-id c1 --json samples/orders.jsonl
    run ingest.missing-file -- ingest --db mf.db --consumer-id c1 samples/no-such-file.jsonl
    run ingest.missing-file.json -- ingest --db mf.db --consumer-id c1 --json samples/no-such-file.jsonl
    run ingest.log-given -- ingest --db lg.db --consumer-id c1 main.db
    run ingest.quantities -- ingest --db q.db --consumer-id c1 samples/logs/quantities.jsonl
    run ingest.integer-literals-only -- ingest --db q2.db --consumer-id c1 --integer-literals-only --json samples/logs/quantities.jsonl
    run ingest.max-receive-count -- ingest --db mrc.db --consumer-id c1 --max-receive-count 2 samples/order-traffic.jsonl
    STDIN=samples/order-traffic.jsonl run ingest.stdin -- ingest --db in.db --consumer-id c1 -
    run ingest.other-consumer -- ingest --db main.db --consumer-id c9 samples/order-traffic.jsonl
    run ingest.log-json -- ingest --db lj.db --consumer-id c1 --log-format json --log-level info samples/order-traffic.jsonl

    # -- orders
    both orders.all orders --db main.db
    both orders.one orders --db main.db ord-2002
    both orders.missing orders --db main.db ord-9999
    both orders.no-log orders --db no-such.db
    both orders.not-a-log orders --db samples/orders.jsonl
    run orders.env-db ORDLOG_DB=main.db -- orders
    both orders.bad-input orders --db bad.db

    # -- history
    both history.found history --db main.db ord-2004
    both history.lifecycle history --db main.db ord-2001
    both history.unicode history --db main.db ord-2002
    both history.missing history --db main.db ord-9999
    both history.bodies history --db main.db ord-2004 --bodies
    both history.bodies-2001 history --db main.db ord-2001 --bodies

    # -- inspect-dlq
    both dlq.summary inspect-dlq --db main.db
    both dlq.message inspect-dlq --db main.db "$POISON"
    both dlq.missing inspect-dlq --db main.db no-such-message
    both dlq.all-failures inspect-dlq --db main.db --all-failures
    both dlq.bad-input inspect-dlq --db bad.db --all-failures
    both dlq.max-receive-count inspect-dlq --db main.db --max-receive-count 5

    # -- replay
    both replay.default replay --db main.db
    both replay.verdict replay --db main.db --verdict
    both replay.verdict-min-quantity replay --db main.db --verdict --min-quantity 2
    both replay.verdict-numeric-strings replay --db main.db --verdict --accept-numeric-strings
    both replay.show-decisions replay --db main.db --show-decisions
    both replay.order-id replay --db main.db --order-id ord-2001 --show-decisions
    both replay.dead-lettered replay --db main.db --dead-lettered --verdict
    both replay.seq-range replay --db main.db --from-seq 5 --to-seq 12 --show-decisions
    both replay.since replay --db main.db --since 2026-01-01T10:20:00Z --verdict
    run replay.record-expect -- replay --traffic samples/order-traffic.jsonl --record-expect expect.json
    keep replay.record-expect expect.json
    run replay.record-expect.json -- replay --traffic samples/order-traffic.jsonl --record-expect expectj.json --json
    keep replay.record-expect.json expectj.json
    both replay.expect replay --traffic samples/order-traffic.jsonl --expect expect.json
    both replay.expect-differs replay --traffic samples/order-traffic.jsonl --expect expect.json --min-quantity 2
    both replay.traffic-bad-input replay --traffic samples/bad-input.jsonl --show-decisions
    both replay.traffic-quantities replay --traffic samples/logs/quantities.jsonl --show-decisions --integer-literals-only
    run replay.into -- replay --db main.db --into replay-into.db
    keep replay.into replay-into.db
    run replay.into.json -- replay --db main.db --into replay-intoj.db --json
    keep replay.into.json replay-intoj.db
    both replay.into-exists replay --db main.db --into replay-into.db
    sqlite3 v1-orders.db ".read samples/logs/order-traffic.processor-v1.sql"
    sqlite3 v1-quantities.db ".read samples/logs/quantities.processor-v1.sql"
    both replay.v1.verdict replay --db v1-orders.db --verdict
    both replay.v1-quantities.verdict replay --db v1-quantities.db --verdict
    both verify.v1 verify --db v1-orders.db
    both head.v1 head --db v1-quantities.db
    both orders.v1 orders --db v1-orders.db
    both history.v1 history --db v1-orders.db ord-2004

    # -- reproject
    run rp.ingest -- ingest --db rp.db --consumer-id c1 samples/order-traffic.jsonl
    run rpj.ingest -- ingest --db rpj.db --consumer-id c1 samples/order-traffic.jsonl
    run reproject.in-place -- reproject --db rp.db
    run reproject.in-place.json -- reproject --db rpj.db --json
    both reproject.orders-after orders --db rp.db
    run reproject.into -- reproject --db main.db --into rp-into.db
    keep reproject.into rp-into.db
    run reproject.into.json -- reproject --db main.db --into rp-intoj.db --json
    keep reproject.into.json rp-intoj.db
    run reproject.as-of-seq -- reproject --db main.db --as-of-seq 10 --into rp-asof.db
    keep reproject.as-of-seq rp-asof.db
    run reproject.as-of-seq.json -- reproject --db main.db --as-of-seq 10 --into rp-asofj.db --json
    keep reproject.as-of-seq.json rp-asofj.db
    run reproject.as-of -- reproject --db main.db --as-of 2026-01-01T10:20:00Z --into rp-asof2.db
    keep reproject.as-of rp-asof2.db
    both reproject.as-of-seq-no-into reproject --db main.db --as-of-seq 10
    both reproject.into-exists reproject --db main.db --into rp-into.db

    # -- verify and head
    both verify.plain verify --db main.db
    both head.plain head --db main.db
    local head_main
    head_main=$(sed -n 1p "$OUT/head.plain.stdout")
    both verify.head verify --db main.db --head "$head_main"
    both verify.head-consumer verify --db main.db --head "c9=$head_main"
    both verify.head-unknown verify --db main.db \
        --head 999:0000000000000000000000000000000000000000000000000000000000000000
    both verify.several verify --db main.db --db bad.db --db q.db
    cpdb main.db edited.db
    sq edited.db "DROP TRIGGER receives_no_update; UPDATE receives SET source = 'edited' WHERE seq = 3"
    both verify.edited verify --db edited.db
    both verify.edited-several verify --db main.db --db edited.db
    both orders.edited orders --db edited.db
    both history.edited history --db edited.db ord-2004
    cpdb main.db truncated.db
    sq truncated.db "DROP TRIGGER attempts_no_delete; DROP TRIGGER receives_no_delete;
        DELETE FROM attempts WHERE seq > 25; DELETE FROM receives WHERE seq > 25"
    both verify.truncated verify --db truncated.db
    both verify.truncated-head verify --db truncated.db --head "$head_main"
    both verify.not-a-log verify --db samples/bad-input.jsonl

    # -- export
    both export.plain export --db main.db
    both export.redact export --db main.db --redact userId --redact-key "$REDACT_KEY"
    run export.redact-env ORDLOG_REDACT_KEY=$REDACT_KEY -- export --db main.db --redact userId,itemName
    run export.redact-env.json ORDLOG_REDACT_KEY=$REDACT_KEY -- export --db main.db --redact userId,itemName --json
    both export.dead-lettered export --db main.db --dead-lettered
    both export.order-id export --db main.db --order-id ord-2001
    run export.output -- export --db main.db --output export.jsonl
    keep export.output export.jsonl
    both export.bad-input export --db bad.db
    run export.roundtrip -- ingest --db rt.db --consumer-id c1 export.jsonl
    both export.roundtrip-verdict replay --db rt.db --verdict

    # -- report
    run report.default -- report --db main.db --out report.html
    keep report.default report.html
    run report.default.json -- report --db main.db --out reportj.html --json
    keep report.default.json reportj.html
    run report.order-ids -- report --db main.db --out report-orders.html --order-id ord-2004 --order-id ord-2001
    keep report.order-ids report-orders.html
    run report.missing-order.json -- report --db main.db --out report-missing.html --order-id ord-9999 --json
    keep report.missing-order.json report-missing.html
    run report.redact.json -- report --db main.db --out report-redact.html --redact userId,itemName \
        --redact-key "$REDACT_KEY" --json
    keep report.redact.json report-redact.html
    run report.edited.json -- report --db edited.db --out report-edited.html --json
    keep report.edited.json report-edited.html
    run report.unwritable.json -- report --db main.db --out no-such-dir/report.html --json

    # -- redrive
    both redrive.dry-run redrive --db main.db --all --dry-run
    both redrive.dry-run-message redrive --db main.db --message-id "$POISON" --dry-run
    both redrive.dry-run-missing redrive --db main.db --message-id no-such-message --dry-run
    run rd.ingest -- ingest --db rd.db --consumer-id c1 samples/order-traffic.jsonl
    run rdj.ingest -- ingest --db rdj.db --consumer-id c1 samples/order-traffic.jsonl
    run redrive.all -- redrive --db rd.db --all
    run redrive.all.json -- redrive --db rdj.db --all --json
    both redrive.after-history history --db rd.db ord-2004
    both redrive.after-dlq inspect-dlq --db rd.db
    run redrive.fixed-rule -- redrive --db rd.db --all --accept-numeric-strings
    both redrive.after-fixed orders --db rd.db

    # -- seal, then read the sealed log
    run sl.ingest -- ingest --db sl.db --consumer-id c1 samples/order-traffic.jsonl
    run seal.first -- seal --db sl.db --consumer-id c1
    keep seal.first sl.db.segments
    run seal.nothing-new.json -- seal --db sl.db --json
    run sl.ingest-again -- ingest --db sl.db --consumer-id c1 samples/order-traffic.jsonl samples/bad-input.jsonl
    run seal.second.json -- seal --db sl.db --json
    keep seal.second.json sl.db.segments
    run sl.ingest-third -- ingest --db sl.db --consumer-id c1 samples/logs/quantities.jsonl
    both sealed.verify verify --db sl.db
    both sealed.head head --db sl.db
    local head_sl
    head_sl=$(sed -n 1p "$OUT/sealed.head.stdout")
    both sealed.verify-head verify --db sl.db --head "$head_sl"
    both sealed.orders orders --db sl.db
    both sealed.history history --db sl.db ord-2004
    both sealed.dlq inspect-dlq --db sl.db
    both sealed.dlq-message inspect-dlq --db sl.db "$POISON"
    both sealed.replay-verdict replay --db sl.db --verdict
    both sealed.export export --db sl.db
    run sealed.report.json -- report --db sl.db --out report-sealed.html --json
    keep sealed.report.json report-sealed.html
    both sealed.redrive-dry-run redrive --db sl.db --all --dry-run
    cp -R sl.db.segments sl-broken.segments
    cpdb sl.db sl-broken.db
    rm -rf sl-broken.db.segments; mv sl-broken.segments sl-broken.db.segments
    local seg
    seg=$(cd sl-broken.db.segments && find . -name '*.ordlog' | LC_ALL=C sort | head -1)
    rm -f "sl-broken.db.segments/$seg"
    both sealed.missing-segment.verify verify --db sl-broken.db
    both sealed.missing-segment.orders orders --db sl-broken.db
    run seal.no-log -- seal --db no-such.db

    # -- several consumers: the sample split over c1, c2, c3
    mkdir -p split multi
    sed -n 1,4p samples/order-traffic.jsonl >split/part1.jsonl
    sed -n 5,10p samples/order-traffic.jsonl >split/part2.jsonl
    sed -n 11,13p samples/order-traffic.jsonl >split/part3.jsonl
    run multi.ingest-c1 -- ingest --db multi/c1.db --consumer-id c1 split/part1.jsonl
    run multi.ingest-c2 -- ingest --db multi/c2.db --consumer-id c2 split/part2.jsonl
    run multi.ingest-c3.json -- ingest --db multi/c3.db --consumer-id c3 --json split/part3.jsonl
    both multi.verify verify --db multi
    both multi.verify-list verify --db multi/c1.db --db multi/c2.db --db multi/c3.db
    both multi.verify-glob verify --db 'multi/*.db'
    both multi.head head --db multi
    local heads=()
    while IFS= read -r line; do [ -n "$line" ] && heads+=(--head "$line"); done < <(grep -E '^c[0-9]+=' "$OUT/multi.head.stdout")
    both multi.verify-heads verify --db multi "${heads[@]}"
    both multi.dlq inspect-dlq --db multi
    both multi.dlq-message inspect-dlq --db multi "$POISON"
    both multi.dlq-all-failures inspect-dlq --db multi --all-failures
    both multi.history history --db multi ord-2004
    both multi.history-2001 history --db multi ord-2001 --bodies
    both multi.history-missing history --db multi ord-9999
    both multi.replay replay --db multi
    both multi.replay-verdict replay --db multi --verdict
    both multi.replay-decisions replay --db multi --show-decisions
    both multi.orders orders --db multi
    both multi.export export --db multi
    run multi.report.json -- report --db multi --out report-multi.html --json
    keep multi.report.json report-multi.html
    run multi.reproject-into.json -- reproject --db multi --into multi-into.db --json
    keep multi.reproject-into.json multi-into.db
    both multi.redrive-dry-run redrive --db multi --all --dry-run
    mkdir -p multi-edited
    for seg in c1 c2 c3; do cpdb "multi/$seg.db" "multi-edited/$seg.db"; done
    sq multi-edited/c2.db "DROP TRIGGER receives_no_update; UPDATE receives SET body = CAST('edited' AS BLOB) WHERE seq = 3"
    both multi.edited.verify verify --db multi-edited
    both multi.edited.dlq inspect-dlq --db multi-edited

    # -- AWS commands, in the forms that fail before any network call
    run aws.setup-print-iam-policy -- setup --print-iam-policy
    run aws.setup-print-iam-policy.json -- setup --print-iam-policy --json
    both aws.setup-no-region setup
    both aws.setup-no-credentials setup --region us-east-1
    both aws.whoami-no-region whoami
    both aws.whoami-no-credentials whoami --region us-east-1
    both aws.publish-no-topic publish samples/orders.jsonl
    both aws.publish-missing-file publish --region us-east-1 --topic OrderTopic samples/no-such-file.jsonl
    both aws.consume-no-credentials consume --region us-east-1 --queue OrderQueue --db consume.db
    both aws.archive-bad-url archive --db main.db --to s3://b/p
    both aws.archive-nothing-sealed archive --db main.db --to s3://bucket/prefix --region us-east-1
    both aws.dlq-queue-no-credentials inspect-dlq --db main.db --queue-url https://sqs.us-east-1.amazonaws.com/1/OrderDLQ --region us-east-1
    both aws.replay-dynamodb-no-table replay --db main.db --target dynamodb

    t1_ms=$(date +%s%3N)
    normalise "$t0_ms" "$t1_ms"
    echo "$CASES" >"$OUT/CASES"
    cd "$REPO"
    rm -rf "$W"
    flock -u 9
}

# ---------------------------------------------------------------------------------------------------- normalise
normalise() {
    local t0_ms=$1 t1_ms=$2 map="$W.hashes"
    : >"$map"
    # Record hashes of every log this capture wrote, labelled by consumer and seq.
    local f
    while IFS= read -r -d '' f; do
        head -c 15 "$f" 2>/dev/null | grep -q '^SQLite format 3' || continue
        sqlite3 -separator ' ' "$f" "
            WITH c(id) AS (SELECT coalesce(
                (SELECT consumer_id FROM segment_start),
                (SELECT consumer_id FROM identities ORDER BY seq LIMIT 1), 'log'))
            SELECT lower(hex(hash)), (SELECT id FROM c) || '#' || seq FROM receives
            UNION ALL SELECT lower(hex(hash)), (SELECT id FROM c) || '#' || seq FROM attempts
            UNION ALL SELECT lower(hex(hash)), (SELECT id FROM c) || '#' || seq FROM identities
            UNION ALL SELECT lower(hex(hash)), (SELECT id FROM c) || '#start@' || first_seq FROM segment_start
            UNION ALL SELECT 'T', received_at FROM receives UNION ALL SELECT 'T', attempted_at FROM attempts
            UNION ALL SELECT 'T', recorded_at FROM identities UNION ALL SELECT 'T', sealed_at FROM segment_start
        " 2>/dev/null >>"$map" || true
    done < <(find "$W" -type f ! -name '*.jsonl' ! -name '*-wal' ! -name '*-shm' -print0)
    # Checksums of files (sealed segments, as their manifests state them).
    (cd "$W" && find . -type f ! -path './home/*' -print0 | xargs -0 sha256sum) |
        awk '{ p=$2; sub(/^\.\//, "", p); print $1, "SHA256:" p }' >>"$map"

    W="$W" T0="$t0_ms" T1="$t1_ms" MAP="$map" perl -e '
        use strict; use warnings;
        my ($w, $t0, $t1) = ($ENV{W}, $ENV{T0}, $ENV{T1});
        my (%label, %clock);
        open(my $m, "<", $ENV{MAP}) or die;
        while (<$m>) {
            chomp; my ($h, $l) = split / /, $_, 2;
            if ($h eq "T") {            # a wall-clock time a log recorded, as a bare time of day
                my @g = gmtime(int($l / 1000));
                $clock{sprintf("%02d:%02d:%02d.%03d", $g[2], $g[1], $g[0], $l % 1000)} = 1 if $l >= $t0 - 1000;
                next;
            }
            next unless defined $l and $h =~ /^[0-9a-f]{64}$/;
            my $tag = $l =~ /^SHA256:/ ? "<$l>" : "<HASH:$l>";
            $label{$h} //= $tag;
        }
        my %prefix;                     # shortened record hashes ("9:ce4bd84dcffea0ece…"), 10 to 63 digits
        for my $h (keys %label) {
            next if $label{$h} =~ /^<SHA256:/;
            $prefix{substr($h, 0, $_)} //= $label{$h} for 10 .. 63;
        }
        # the days the capture ran (usually one)
        my @days;
        for my $ms ($t0, $t1) {
            my @g = gmtime(int($ms / 1000));
            my $d = sprintf("%04d-%02d-%02d", $g[5] + 1900, $g[4] + 1, $g[3]);
            push @days, $d unless grep { $_ eq $d } @days;
        }
        my $dayre = join("|", map { quotemeta } @days);
        my ($s0, $s1) = (int($t0 / 1000) - 1, int($t1 / 1000) + 1);
        for my $file (@ARGV) {
            open(my $in, "<:raw", $file) or die "$file: $!";
            local $/; my $text = <$in>; close $in;
            # cases whose output holds a hash no log stores, computed over a wall-clock time: the recomputed
            # hash of an edited record, the would-be hash of a dry-run redrive attempt
            my $unstored = $file =~ m{/[^/]*(?:edited|dry-run)[^/]*$};
            $text =~ s/\Q$w\E/<TMP>/g;
            $text =~ s/\b(?:$dayre)[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?/<TIME>/g;
            $text =~ s/\b(?:$dayre)\b/<DATE>/g;
            # a bare time of day (report timelines: "23:54:51.081") that a log of this capture recorded
            $text =~ s/(?<![\dT:])(\d\d:\d\d:\d\d\.\d\d\d)(?![\d:])/$clock{$1} ? "<TIME>" : $1/ge;
            $text =~ s/(?<![0-9A-Za-z])(\d{13})(?![0-9A-Za-z])/($1 >= $t0 - 1000 && $1 <= $t1 + 1000) ? "<MS>" : $1/ge;
            $text =~ s/(?<![0-9A-Za-z.])(\d{10})(?![0-9A-Za-z])/($1 >= $s0 && $1 <= $s1) ? "<S>" : $1/ge;
            $text =~ s/(?<![0-9a-fA-F])([0-9a-f]{64})(?![0-9a-fA-F])/$label{$1} \/\/ ($unstored ? "<HASH>" : $1)/ge;
            $text =~ s/(?<![0-9a-fA-F])([0-9a-f]{10,63})(?![0-9a-fA-F])/$prefix{$1} \/\/ $1/ge;
            open(my $out, ">:raw", $file) or die "$file: $!"; print $out $text; close $out;
        }
    ' "$OUT"/*
    rm -f "$map"
}

# --------------------------------------------------------------------------------------------------------- diff
diff_binaries() {
    local base new rc=0
    base=$(abspath "$1"); new=$(abspath "$2")
    DIFF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ordlog-compare.XXXXXX")
    trap 'rm -rf "$DIFF_TMP"' EXIT
    local tmp=$DIFF_TMP
    ( capture "$base" "$tmp/base" ) || { echo "compare-outputs: capture with $base failed" >&2; exit 2; }
    ( capture "$new" "$tmp/new" ) || { echo "compare-outputs: capture with $new failed" >&2; exit 2; }
    (cd "$tmp" && diff -ru base new) || rc=1
    local cases
    cases=$(cat "$tmp/base/CASES")
    if [ $rc -eq 0 ]; then
        echo "compare-outputs: $cases cases, no differences"
        return 0
    fi
    echo
    echo "compare-outputs: differing cases:"
    (cd "$tmp" && diff -rq base new) | sed -E 's#^Files base/([^ ]*) and new/.*#\1#; s#^Only in (base|new): (.*)#\2 (only in \1)#' |
        sed -E 's/\.(stdout|stderr|exit|file\..*)( \(only in .*\))?$/ \1\2/' |
        awk '{ c=$1; $1=""; parts[c] = parts[c] (parts[c] ? "," : "") substr($0, 2); if (!(c in seen)) { seen[c]=1; order[++n]=c } }
             END { for (i=1; i<=n; i++) print "  " order[i] ": differs in " parts[order[i]] }'
    echo "compare-outputs: $(cd "$tmp" && diff -rq base new | sed -E 's#^Files base/([^ ]*) and.*#\1#; s#^Only in [a-z]+: ##; s/\.(stdout|stderr|exit|file\..*)$//' | sort -u | wc -l) of $cases cases differ"
    return 1
}

case "${1:-}" in
    capture) [ $# -eq 3 ] || usage; capture "$2" "$3" ;;
    diff) [ $# -eq 3 ] || usage; diff_binaries "$2" "$3"; exit $? ;;
    *) usage ;;
esac
