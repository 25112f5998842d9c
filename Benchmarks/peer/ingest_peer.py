#!/usr/bin/env python3
"""The Python peer for the ordlog benchmark: what a user would write instead of ordlog, stdlib only
(json, sqlite3, hashlib).

Same schema (migrations/*.sql), same pragmas (WAL, synchronous=NORMAL), one BEGIN IMMEDIATE per batch,
and the same job per message: append the receive (receive key, md5 check, chained SHA-256 hash with
ordlog's canonical encoding), parse the SNS envelope and the order, validate, check idempotency and
ordering against the projection, upsert the order, record applied ids, append the attempt (chained).

    ingest_peer.py ingest --db LOG --batch-size N [--migrations DIR] FILE.jsonl
    ingest_peer.py replay --db LOG --into SCRATCH.db [--batch-size 1000] [--migrations DIR]
    ingest_peer.py verify --db LOG        # recompute the hash chain (checks any ordlog-format log, formats 1 and 2)
"""
import argparse, hashlib, json, os, re, sqlite3, struct, sys, time

PROCESSOR_VERSION = "ordlog-processor/1"
MAX_RECEIVE_COUNT = 3
MAX_QUANTITY = 9_007_199_254_740_991
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$")
INT_LITERAL = re.compile(r"^-?(?:0|[1-9]\d*)$")


def enc(*fields):
    """ordlog's canonical encoding: None -> 0; int -> 1 + 8 bytes BE; str/bytes -> 2 + 8-byte BE length + bytes."""
    out = bytearray()
    for f in fields:
        if f is None:
            out.append(0)
        elif isinstance(f, bool) or isinstance(f, int):
            out.append(1)
            out += struct.pack(">q", int(f))
        else:
            b = f.encode() if isinstance(f, str) else f
            out.append(2)
            out += struct.pack(">q", len(b))
            out += b
    return bytes(out)


def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def rfc3339_ns(s):
    m = RFC3339.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    dim = [31, 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= mo <= 12) or d < 1 or d > dim[mo - 1] or h > 23 or mi > 59 or se > 60:
        return None
    frac = m.group(7) or ""
    nanos = int((frac[:9]).ljust(9, "0")) if frac else 0
    off = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return None
        off = (1 if m.group(9) == "+" else -1) * (oh * 3600 + om * 60)
    return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off) * 1_000_000_000 + nanos


def open_db(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA cache_size=-65536")
    return db


def migrate(db, migrations, ids):
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL "
               "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))")
    for mid in ids:
        if db.execute("SELECT 1 FROM schema_migrations WHERE id = ?", (mid,)).fetchone():
            continue
        with open(os.path.join(migrations, mid + ".sql"), encoding="utf-8") as f:
            sql = f.read()
        db.execute("BEGIN IMMEDIATE")
        for statement in split_sql(sql):
            db.execute(statement)
        db.execute("INSERT INTO schema_migrations(id) VALUES (?)", (mid,))
        db.execute("COMMIT")


def split_sql(sql):
    """Statements of a migration file (executescript would commit the open transaction)."""
    out, cur = [], ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        cur += line
        if sqlite3.complete_statement(cur):
            out.append(cur.strip())
            cur = ""
    return [s for s in out if s]


class Rejected(Exception):
    def __init__(self, code, field, message, order_id=None):
        super().__init__(message)
        self.code, self.field, self.message, self.order_id = code, field, message, order_id


def last_member(pairs):
    return dict(pairs)  # later duplicates win, as JSON.parse


def decide(db, body, message_id, seq):
    """Returns (outcome, order_id, sns_id, item_tuple, ts_ns, note, error)."""
    sns_id = None
    try:
        env = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        return ("rejected", None, None, None, None, None, ("body.not_json", None, "body is not JSON: %s" % e))
    if not isinstance(env, dict):
        return ("rejected", None, None, None, None, None, ("body.not_object", None, "body is not an object"))
    order = env
    arn = env.get("TopicArn")
    if env.get("Type") == "Notification" and isinstance(arn, str) and arn.startswith("arn:"):
        sns_id = env.get("MessageId") if isinstance(env.get("MessageId"), str) else None
        msg = env.get("Message")
        if not isinstance(msg, str):
            return ("rejected", None, sns_id, None, None, None,
                    ("envelope.message_not_string", "Message", "SNS envelope field Message is not a string"))
        try:
            order = json.loads(msg)
        except ValueError as e:
            return ("rejected", None, sns_id, None, None, None, ("order.not_json", "Message", "not JSON: %s" % e))
        if not isinstance(order, dict):
            return ("rejected", None, sns_id, None, None, None, ("order.not_object", "Message", "not an object"))
    oid = order.get("orderId")
    oid_ok = oid if isinstance(oid, str) and oid else None

    def bad(field, missing=False):
        return ("rejected", oid_ok, sns_id, None, None, None,
                ("order.field_missing" if missing else "order.field_invalid", field,
                 "order field %s is %s" % (field, "missing" if missing else "invalid")))
    if "orderId" not in order:
        return bad("orderId", True)
    if not oid_ok:
        return bad("orderId")
    for f in ("userId", "itemName"):
        if f not in order:
            return bad(f, True)
        if not isinstance(order[f], str):
            return bad(f)
    if "quantity" not in order:
        return bad("quantity", True)
    q = order["quantity"]
    if isinstance(q, bool) or not isinstance(q, int) or not (1 <= q <= MAX_QUANTITY):
        return bad("quantity")
    for f in ("status", "timestamp"):
        if f not in order:
            return bad(f, True)
        if not isinstance(order[f], str):
            return bad(f)
    ts_ns = rfc3339_ns(order["timestamp"])
    if ts_ns is None:
        return bad("timestamp")
    item = (oid, order["userId"], order["itemName"], q, order["status"], order["timestamp"])
    if message_id is not None:
        row = db.execute("SELECT seq FROM applied_messages WHERE kind = ? AND id = ?", ("sqs", message_id)).fetchone()
        if row:
            return ("duplicate", oid, sns_id, item, ts_ns,
                    "SQS MessageId %s already applied at log seq %d" % (message_id, row[0]), None)
    if sns_id is not None:
        row = db.execute("SELECT seq FROM applied_messages WHERE kind = ? AND id = ?", ("sns", sns_id)).fetchone()
        if row:
            return ("duplicate", oid, sns_id, item, ts_ns,
                    "SNS MessageId %s already applied at log seq %d" % (sns_id, row[0]), None)
    row = db.execute("SELECT timestamp_ns, last_seq FROM orders WHERE order_id = ?", (oid,)).fetchone()
    if row and (row[0], row[1]) > (ts_ns, seq):
        return ("stale", oid, sns_id, item, ts_ns, "projection holds a newer version (log seq %d)" % row[1], None)
    return ("projected", oid, sns_id, item, ts_ns, None, None)


UPSERT = ("INSERT INTO orders (order_id, user_id, item_name, quantity, status, timestamp, timestamp_ns, last_seq, "
          "message_id) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(order_id) DO UPDATE SET user_id=excluded.user_id, "
          "item_name=excluded.item_name, quantity=excluded.quantity, status=excluded.status, "
          "timestamp=excluded.timestamp, timestamp_ns=excluded.timestamp_ns, last_seq=excluded.last_seq, "
          "message_id=excluded.message_id")
APPLIED = "INSERT OR IGNORE INTO applied_messages (kind, id, seq) VALUES (?,?,?)"


def apply(db, d, message_id, seq):
    outcome, oid, sns_id, item, ts_ns = d[0], d[1], d[2], d[3], d[4]
    if outcome not in ("projected", "duplicate", "stale"):
        return
    if outcome == "projected":
        db.execute(UPSERT, item + (ts_ns, seq, message_id))
    if message_id is not None:
        db.execute(APPLIED, ("sqs", message_id, seq))
    if sns_id is not None:
        db.execute(APPLIED, ("sns", sns_id, seq))


def item_json(item):
    return json.dumps({"orderId": item[0], "userId": item[1], "itemName": item[2], "quantity": item[3],
                       "status": item[4], "timestamp": item[5]}, ensure_ascii=False, separators=(",", ":"))


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def load_head(db):
    best = (0, bytes(32))
    for t in ("receives", "attempts"):
        row = db.execute("SELECT seq, hash FROM %s ORDER BY seq DESC LIMIT 1" % t).fetchone()
        if row and row[0] > best[0]:
            best = (row[0], bytes(row[1]))
    return best[0] + 1, best[1]


def ingest(args):
    db = open_db(args.db)
    migrate(db, args.migrations, ["0001_event_log", "0002_projection"])
    counts = {"projected": 0, "duplicate": 0, "stale": 0, "rejected": 0}
    received = 0
    with open(args.file, "rb") as f:
        lines = enumerate(f, 1)
        done = False
        while not done:
            batch = []
            for lineno, line in lines:
                line = line.rstrip(b"\r\n")
                if not line:
                    continue
                batch.append((lineno, line))
                if len(batch) == args.batch_size:
                    break
            else:
                done = True
            if not batch:
                break
            db.execute("BEGIN IMMEDIATE")
            next_seq, head = load_head(db)
            now = time.time_ns() // 1_000_000
            todo = []
            for lineno, line in batch:
                received += 1
                m = json.loads(line)
                mid, rh, md5, body = m["MessageId"], m.get("ReceiptHandle"), m.get("MD5OfBody"), m["Body"]
                attrs = m.get("Attributes") or {}
                rc_text = attrs.get("ApproximateReceiveCount")
                body_b = body.encode("utf-8")
                key = hashlib.sha256(enc("receive-key", mid, rh, rc_text, body_b)).hexdigest()
                if db.execute("SELECT seq FROM receives WHERE receive_key = ?", (key,)).fetchone():
                    continue
                try:
                    rcount = int(rc_text)
                except (TypeError, ValueError):
                    rcount = 0
                if rcount <= 0:
                    rcount = db.execute("SELECT count(*) FROM receives WHERE message_id = ?", (mid,)).fetchone()[0] + 1
                try:
                    sent = int(attrs.get("SentTimestamp"))
                except (TypeError, ValueError):
                    sent = None
                matches = None if md5 is None else int(hashlib.md5(body_b).hexdigest() == md5.lower())
                attrs_json = compact(attrs)
                source = "%s:%d" % (args.file, lineno)
                seq = next_seq
                h = hashlib.sha256(head + enc("receive", seq, key, mid, rh, md5, matches, body_b, attrs_json, None,
                                              None, rcount, sent, source, None, now)).digest()
                db.execute("INSERT INTO receives (seq, receive_key, message_id, receipt_handle, md5_of_body, "
                           "md5_matches, body, attributes, message_attributes, md5_of_message_attributes, "
                           "receive_count, sent_timestamp, source, input_error, received_at, prev_hash, hash) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           (seq, key, mid, rh, md5, matches, body_b, attrs_json, None, None, rcount, sent, source,
                            None, now, head, h))
                next_seq, head = seq + 1, h
                todo.append((seq, mid, rcount, body_b))
            for rseq, mid, rcount, body_b in todo:
                d = decide(db, body_b, mid, rseq)
                db.execute("SAVEPOINT project")
                apply(db, d, mid, rseq)
                db.execute("RELEASE project")
                outcome, oid, sns_id, item, _, note, error = d
                code, field, emsg = error if error else (None, None, None)
                kind = "permanent" if outcome == "rejected" else None
                dead = int(outcome == "rejected" and rcount >= MAX_RECEIVE_COUNT)
                ij = item_json(item) if item else None
                seq = next_seq
                h = hashlib.sha256(head + enc("attempt", seq, rseq, mid, outcome, kind, code, field, emsg, dead,
                                              PROCESSOR_VERSION, oid, sns_id, ij, note, "receive", now)).digest()
                db.execute("INSERT INTO attempts (seq, receive_seq, message_id, outcome, error_kind, error_code, "
                           "error_field, error_message, dead_lettered, processor_version, order_id, sns_message_id, "
                           "item, note, trigger, attempted_at, prev_hash, hash) VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           (seq, rseq, mid, outcome, kind, code, field, emsg, dead, PROCESSOR_VERSION, oid, sns_id,
                            ij, note, "receive", now, head, h))
                next_seq, head = seq + 1, h
                counts[outcome] += 1
            db.execute("COMMIT")
    print(json.dumps(dict(received=received, **counts)))


def replay(args):
    log = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True)
    db = open_db(args.into)
    migrate(db, args.migrations, ["0002_projection"])
    counts = {"projected": 0, "duplicate": 0, "stale": 0, "rejected": 0}
    n = 0
    db.execute("BEGIN IMMEDIATE")
    for seq, mid, body, input_error in log.execute("SELECT seq, message_id, body, input_error FROM receives ORDER BY seq"):
        if input_error is not None:
            d = ("rejected", None, None, None, None, None, ("input.not_sqs_message", None, input_error))
        else:
            d = decide(db, body, mid, seq)
        apply(db, d, mid, seq)
        counts[d[0]] += 1
        n += 1
        if n % args.batch_size == 0:
            db.execute("COMMIT")
            db.execute("BEGIN IMMEDIATE")
    db.execute("COMMIT")
    print(json.dumps(dict(replayed=n, **counts)))


def verify(args):
    db = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True)
    rs = db.execute("SELECT seq, receive_key, message_id, receipt_handle, md5_of_body, md5_matches, body, attributes, "
                    "message_attributes, md5_of_message_attributes, receive_count, sent_timestamp, source, input_error, "
                    "received_at, prev_hash, hash, %s FROM receives ORDER BY seq" % (
                        "format" if any(c[1] == "format" for c in db.execute("PRAGMA table_info(receives)")) else "NULL"))
    at = db.execute("SELECT seq, receive_seq, message_id, outcome, error_kind, error_code, error_field, error_message, "
                    "dead_lettered, processor_version, order_id, sns_message_id, item, note, trigger, attempted_at, "
                    "prev_hash, hash FROM attempts ORDER BY seq")
    records = {}
    for r in rs:
        if r[17] == 2:  # record format 2 (migration 0004): the body's SHA-256 stands in for the body
            body = r[6] if isinstance(r[6], bytes) else r[6].encode()
            fields = ("receive/2",) + tuple(r[:6]) + (hashlib.sha256(body).digest(),) + tuple(r[7:15])
        else:
            fields = ("receive",) + tuple(r[:15])
        records[r[0]] = fields, bytes(r[15]), bytes(r[16])
    for a in at:
        records[a[0]] = ("attempt",) + tuple(a[:16]), bytes(a[16]), bytes(a[17])
    head = bytes(32)
    for i, seq in enumerate(sorted(records), 1):
        fields, prev, h = records[seq]
        if seq != i or prev != head or hashlib.sha256(head + enc(*fields)).digest() != h:
            print("chain broken at seq %d" % seq)
            sys.exit(1)
        head = h
    print("chain ok: %d records" % len(records))


def main():
    p = argparse.ArgumentParser(description="The Python peer of the ordlog benchmark.")
    p.add_argument("mode", choices=["ingest", "replay", "verify"])
    p.add_argument("--db", required=True)
    p.add_argument("--into")
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--migrations", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "migrations"))
    p.add_argument("file", nargs="?")
    a = p.parse_intermixed_args()
    if a.mode == "ingest":
        if not a.file:
            p.error("ingest needs FILE")
        ingest(a)
    elif a.mode == "replay":
        if not a.into:
            p.error("replay needs --into")
        replay(a)
    else:
        verify(a)


if __name__ == "__main__":
    main()
