#!/usr/bin/env python3
"""The script a user would write instead of ordlog (stdlib only): the lean Python baseline.

Per message: json.loads three times (the SQS message, the SNS envelope in its Body, the order in the
envelope's Message), one append of the raw message to a table, one upsert of the order (a newer timestamp
wins). ordlog's pragmas (WAL, synchronous=NORMAL, 64 MiB page cache) and one commit per --batch-size
messages (default 1000). No hash chain, no attempts, no receive key, no validation beyond what the upsert
needs: this is the floor a user compares ordlog with, not ordlog's design (that is Benchmarks/ceiling).

    lean_ingest.py ingest --db DB [--batch-size 1000] FILE.jsonl
    lean_ingest.py replay --db ORDLOG_LOG     # reads ordlog's receives, re-applies the orders in memory
Prints one JSON line: {"messages": n, "orders": k, "rejected": r}.
"""
import argparse, json, sqlite3, sys

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, message_id TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, user_id TEXT, item_name TEXT, quantity INTEGER,
    status TEXT, updated_at TEXT);
"""
UPSERT = ("INSERT INTO orders(order_id, user_id, item_name, quantity, status, updated_at) VALUES (?,?,?,?,?,?) "
          "ON CONFLICT(order_id) DO UPDATE SET user_id=excluded.user_id, item_name=excluded.item_name, "
          "quantity=excluded.quantity, status=excluded.status, updated_at=excluded.updated_at "
          "WHERE excluded.updated_at > orders.updated_at")


def order_of(body):
    """The order inside an SNS envelope body, or None."""
    try:
        o = json.loads(json.loads(body)["Message"])
        return (o["orderId"], o["userId"], o["itemName"], int(o["quantity"]), o["status"], o["timestamp"])
    except (ValueError, KeyError, TypeError):
        return None


def ingest(a):
    db = sqlite3.connect(a.db, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")
    db.executescript(SCHEMA)
    n = rejected = 0
    db.execute("BEGIN")
    with open(a.file, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            m = json.loads(line)
            body = m["Body"]
            db.execute("INSERT INTO messages(message_id, body) VALUES (?, ?)", (m.get("MessageId"), body))
            o = order_of(body)
            if o is None:
                rejected += 1
            else:
                db.execute(UPSERT, o)
            n += 1
            if n % a.batch_size == 0:
                db.execute("COMMIT")
                db.execute("BEGIN")
    db.execute("COMMIT")
    orders = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    print(json.dumps({"messages": n, "orders": orders, "rejected": rejected}))


def replay(a):
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
    orders, n, rejected = {}, 0, 0
    for (body,) in db.execute("SELECT body FROM receives ORDER BY seq"):
        n += 1
        o = order_of(body)
        if o is None:
            rejected += 1
            continue
        cur = orders.get(o[0])
        if cur is None or o[5] > cur[5]:
            orders[o[0]] = o
    print(json.dumps({"messages": n, "orders": len(orders), "rejected": rejected}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["ingest", "replay"])
    p.add_argument("--db", required=True)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("file", nargs="?")
    a = p.parse_intermixed_args()
    (ingest if a.cmd == "ingest" else replay)(a)


if __name__ == "__main__":
    main()
