/*
 * lean_ingest.c — the lean C user baseline for the ordlog benchmark. Public domain (CC0).
 *
 * What a user would write in C instead of ordlog, doing the same as Benchmarks/user/lean_ingest.py: per
 * message the same three-layer parse (the SQS message, the SNS envelope in its Body, the order in the
 * envelope's Message), one append of the raw message (INSERT INTO messages), one upsert of the order (a
 * newer timestamp wins); ordlog's pragmas (WAL, synchronous=NORMAL, 64 MiB page cache) and one commit per
 * --batch-size messages (default 1000). No hash chain, attempts, receive key or validation: the floor a user
 * compares ordlog with (ordlog's own design in C is Benchmarks/ceiling). The strict JSON parser is the
 * ceiling's, copied.
 *
 *   lean_ingest ingest --db DB [--batch-size 1000] FILE.jsonl
 *   lean_ingest replay --db ORDLOG_LOG      reads ordlog's receives, re-applies the orders in memory
 * Prints one JSON line: {"messages": n, "orders": k, "rejected": r}.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRAM_NAME "lean_ingest"
#include "../common/buf.h"

#include "../common/mini_json.h"

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, message_id TEXT, body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, user_id TEXT, item_name TEXT, quantity INTEGER,"
    " status TEXT, updated_at TEXT);";
static const char *UPSERT =
    "INSERT INTO orders(order_id, user_id, item_name, quantity, status, updated_at) VALUES (?,?,?,?,?,?) "
    "ON CONFLICT(order_id) DO UPDATE SET user_id=excluded.user_id, item_name=excluded.item_name, "
    "quantity=excluded.quantity, status=excluded.status, updated_at=excluded.updated_at "
    "WHERE excluded.updated_at > orders.updated_at";

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) { fprintf(stderr, "lean_ingest: %s\n", err); exit(70); }
}
static sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL), db, sql);
    return s;
}

/* The order of an SNS envelope body: fills env and order; 0 when it is not one. */
typedef struct { const jval *id, *user, *item, *qty, *status, *ts; } order;
static int order_of(const char *body, size_t n, jobj *env, jobj *ord, order *o) {
    if (!parse_object_doc(body, n, env)) return 0;
    const jval *msg = get_str(env, "Message");
    if (!msg || !parse_object_doc(msg->s, msg->n, ord)) return 0;
    o->id = get_str(ord, "orderId"); o->user = get_str(ord, "userId"); o->item = get_str(ord, "itemName");
    o->qty = get(ord, "quantity"); o->status = get_str(ord, "status"); o->ts = get_str(ord, "timestamp");
    return o->id && o->user && o->item && o->qty && o->qty->type == J_NUM && o->status && o->ts;
}

/* replay: the orders in memory, an open-addressing table keyed by order id (latest timestamp wins). */
typedef struct { char *id; char *ts; char *rest; } slot;
static slot *tab; static size_t tcap, tn;
static uint64_t fnv(const char *s, size_t n) { uint64_t h = 1469598103934665603ull; while (n--) h = (h ^ (unsigned char)*s++) * 1099511628211ull; return h; }
static char *dup(const char *s, size_t n) { char *d = malloc(n + 1); memcpy(d, s, n); d[n] = 0; return d; }
static void put(const order *o) {
    if (tn * 2 >= tcap) {
        size_t oc = tcap; slot *ot = tab;
        tcap = tcap ? tcap * 2 : 1024; tab = calloc(tcap, sizeof(slot)); tn = 0;
        for (size_t i = 0; i < oc; i++) if (ot[i].id) {
            size_t k = fnv(ot[i].id, strlen(ot[i].id)) & (tcap - 1);
            while (tab[k].id) k = (k + 1) & (tcap - 1);
            tab[k] = ot[i]; tn++;
        }
        free(ot);
    }
    size_t k = fnv(o->id->s, o->id->n) & (tcap - 1);
    while (tab[k].id && !(strlen(tab[k].id) == o->id->n && memcmp(tab[k].id, o->id->s, o->id->n) == 0)) k = (k + 1) & (tcap - 1);
    if (!tab[k].id) { tab[k].id = dup(o->id->s, o->id->n); tn++; }
    else if (strlen(tab[k].ts) == o->ts->n ? memcmp(o->ts->s, tab[k].ts, o->ts->n) <= 0 : 0) return;
    free(tab[k].ts); free(tab[k].rest);
    tab[k].ts = dup(o->ts->s, o->ts->n);
    buf r = {0};  /* the rest of the order, as a user's struct would hold it */
    b_add(&r, o->user->s, o->user->n); b_byte(&r, 0); b_add(&r, o->item->s, o->item->n); b_byte(&r, 0);
    b_add(&r, o->status->s, o->status->n); b_byte(&r, 0); b_add(&r, o->qty->s, o->qty->n); b_byte(&r, 0);
    tab[k].rest = (char *)r.p;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "", *dbpath = NULL, *file = NULL;
    long batch = 1000;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc) dbpath = argv[++i];
        else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc) batch = atol(argv[++i]);
        else file = argv[i];
    }
    if (!dbpath || batch < 1 || (strcmp(cmd, "ingest") && strcmp(cmd, "replay")) || (!strcmp(cmd, "ingest") && !file)) {
        fprintf(stderr, "usage: lean_ingest ingest --db DB [--batch-size N] FILE.jsonl | replay --db LOG\n");
        return 2;
    }
    static jobj m, env, ord;
    order o;
    long n = 0, rejected = 0;
    sqlite3 *db;
    if (!strcmp(cmd, "replay")) {
        CHECK(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), db, "open");
        sqlite3_stmt *s = prep(db, "SELECT body FROM receives ORDER BY seq");
        while (sqlite3_step(s) == SQLITE_ROW) {
            n++;
            const char *body = (const char *)sqlite3_column_blob(s, 0);
            size_t bn = (size_t)sqlite3_column_bytes(s, 0);
            if (order_of(body, bn, &env, &ord, &o)) put(&o); else rejected++;
        }
        printf("{\"messages\": %ld, \"orders\": %zu, \"rejected\": %ld}\n", n, tn, rejected);
        return 0;
    }
    CHECK(sqlite3_open(dbpath, &db), db, "open");
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;");
    exec(db, SCHEMA);
    sqlite3_stmt *ins = prep(db, "INSERT INTO messages(message_id, body) VALUES (?, ?)"), *up = prep(db, UPSERT);
    FILE *f = fopen(file, "rb");
    if (!f) die(file, NULL);
    char *line = NULL; size_t cap = 0; ssize_t len;
    exec(db, "BEGIN");
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (len == 0) continue;
        if (!parse_object_doc(line, (size_t)len, &m)) { rejected++; continue; }
        const jval *id = get_str(&m, "MessageId"), *body = get_str(&m, "Body");
        if (!body) { rejected++; continue; }
        if (id) sqlite3_bind_text(ins, 1, id->s, (int)id->n, SQLITE_STATIC); else sqlite3_bind_null(ins, 1);
        sqlite3_bind_text(ins, 2, body->s, (int)body->n, SQLITE_STATIC);
        CHECK(sqlite3_step(ins), db, "insert"); sqlite3_reset(ins);
        if (order_of(body->s, body->n, &env, &ord, &o)) {
            sqlite3_bind_text(up, 1, o.id->s, (int)o.id->n, SQLITE_STATIC);
            sqlite3_bind_text(up, 2, o.user->s, (int)o.user->n, SQLITE_STATIC);
            sqlite3_bind_text(up, 3, o.item->s, (int)o.item->n, SQLITE_STATIC);
            sqlite3_bind_int64(up, 4, strtoll(o.qty->s, NULL, 10));
            sqlite3_bind_text(up, 5, o.status->s, (int)o.status->n, SQLITE_STATIC);
            sqlite3_bind_text(up, 6, o.ts->s, (int)o.ts->n, SQLITE_STATIC);
            CHECK(sqlite3_step(up), db, "upsert"); sqlite3_reset(up);
        } else rejected++;
        if (++n % batch == 0) { exec(db, "COMMIT"); exec(db, "BEGIN"); }
    }
    exec(db, "COMMIT");
    sqlite3_stmt *c = prep(db, "SELECT count(*) FROM orders");
    sqlite3_step(c);
    printf("{\"messages\": %ld, \"orders\": %lld, \"rejected\": %ld}\n", n, (long long)sqlite3_column_int64(c, 0), rejected);
    return 0;
}
