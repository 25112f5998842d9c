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

static void die(const char *what, sqlite3 *db) {
    fprintf(stderr, "lean_ingest: %s: %s\n", what, db ? sqlite3_errmsg(db) : strerror(errno));
    exit(70);
}
#define CHECK(rc, db, what) do { if ((rc) != SQLITE_OK && (rc) != SQLITE_DONE && (rc) != SQLITE_ROW) die(what, db); } while (0)

/* ---------- growable byte buffer ---------- */
typedef struct { unsigned char *p; size_t n, cap; } buf;
static void b_reserve(buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    size_t c = b->cap ? b->cap : 256;
    while (c < b->n + extra) c *= 2;
    b->p = realloc(b->p, c);
    if (!b->p) die("out of memory", NULL);
    b->cap = c;
}
static void b_add(buf *b, const void *s, size_t n) { b_reserve(b, n); memcpy(b->p + b->n, s, n); b->n += n; }
static void b_byte(buf *b, unsigned char c) { b_reserve(b, 1); b->p[b->n++] = c; }

/* ---------- minimal strict JSON parser ----------
 * parse_value validates one value. Strings are unescaped into an arena and returned as (ptr,len);
 * objects and arrays are returned as the raw span, and object members are listed by obj_members. */
enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct { int type; const char *s; size_t n; } jval;   /* J_STR: unescaped; J_NUM/J_OBJ/J_ARR: raw span */
typedef struct { const char *k; size_t kn; jval v; } jmember;
typedef struct { const unsigned char *p, *end; buf *arena; int err; } jp;

static void ws(jp *j) { while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++; }
static int utf8_ok(const unsigned char *s, const unsigned char *end, int *len) {
    unsigned c = s[0]; int n; unsigned min;
    if (c < 0x80) { *len = 1; return 1; }
    if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; c &= 0x07; }
    else return 0;
    if (s + n > end) return 0;
    for (int i = 1; i < n; i++) { if ((s[i] & 0xC0) != 0x80) return 0; c = (c << 6) | (s[i] & 0x3F); }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *len = n; return 1;
}
static void put_utf8(buf *b, unsigned c) {
    if (c < 0x80) b_byte(b, (unsigned char)c);
    else if (c < 0x800) { b_byte(b, 0xC0 | (c >> 6)); b_byte(b, 0x80 | (c & 0x3F)); }
    else if (c < 0x10000) { b_byte(b, 0xE0 | (c >> 12)); b_byte(b, 0x80 | ((c >> 6) & 0x3F)); b_byte(b, 0x80 | (c & 0x3F)); }
    else { b_byte(b, 0xF0 | (c >> 18)); b_byte(b, 0x80 | ((c >> 12) & 0x3F)); b_byte(b, 0x80 | ((c >> 6) & 0x3F)); b_byte(b, 0x80 | (c & 0x3F)); }
}
static int hex4(const unsigned char *p, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0'; else if ((c | 32) >= 'a' && (c | 32) <= 'f') d = (c | 32) - 'a' + 10; else return 0;
        *v = *v * 16 + d;
    }
    return 1;
}
/* Parses a string at j->p (on the opening quote); the unescaped text goes to the arena. */
static int parse_string(jp *j, jval *out) {
    j->p++;
    buf *a = j->arena;
    size_t start = a->n;
    for (;;) {
        const unsigned char *run = j->p;
        while (j->p < j->end && *j->p >= 0x20 && *j->p != '"' && *j->p != '\\' && *j->p < 0x80) j->p++;
        b_add(a, run, (size_t)(j->p - run));
        if (j->p >= j->end) return 0;
        unsigned char c = *j->p;
        if (c == '"') { j->p++; break; }
        if (c < 0x20) return 0;
        if (c >= 0x80) { int n; if (!utf8_ok(j->p, j->end, &n)) return 0; b_add(a, j->p, (size_t)n); j->p += n; continue; }
        /* backslash */
        if (j->p + 1 >= j->end) return 0;
        c = j->p[1]; j->p += 2;
        switch (c) {
        case '"': b_byte(a, '"'); break; case '\\': b_byte(a, '\\'); break; case '/': b_byte(a, '/'); break;
        case 'b': b_byte(a, 8); break; case 'f': b_byte(a, 12); break; case 'n': b_byte(a, 10); break;
        case 'r': b_byte(a, 13); break; case 't': b_byte(a, 9); break;
        case 'u': {
            unsigned v, lo;
            if (j->p + 4 > j->end || !hex4(j->p, &v)) return 0;
            j->p += 4;
            if (v >= 0xD800 && v <= 0xDBFF && j->p + 6 <= j->end && j->p[0] == '\\' && j->p[1] == 'u' && hex4(j->p + 2, &lo)
                && lo >= 0xDC00 && lo <= 0xDFFF) { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00); j->p += 6; }
            else if (v >= 0xD800 && v <= 0xDFFF) v = 0xFFFD;
            put_utf8(a, v);
            break;
        }
        default: return 0;
        }
    }
    b_byte(a, 0); /* NUL-terminate for convenience (not counted) */
    out->type = J_STR; out->n = a->n - 1 - start;
    out->s = (const char *)(uintptr_t)start; /* offset: arena may move; fixed up by callers */
    return 1;
}
static int parse_value(jp *j, jval *out, int depth);
static int parse_container(jp *j, int depth, char close) {
    if (depth > 128) return 0;
    j->p++; ws(j);
    if (j->p < j->end && *j->p == close) { j->p++; return 1; }
    for (;;) {
        jval v;
        ws(j);
        if (close == '}') {
            if (j->p >= j->end || *j->p != '"' || !parse_string(j, &v)) return 0;
            ws(j);
            if (j->p >= j->end || *j->p != ':') return 0;
            j->p++; ws(j);
        }
        if (!parse_value(j, &v, depth)) return 0;
        ws(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') { j->p++; continue; }
        if (*j->p == close) { j->p++; return 1; }
        return 0;
    }
}
static int parse_value(jp *j, jval *out, int depth) {
    if (j->p >= j->end) return 0;
    const unsigned char *start = j->p;
    switch (*j->p) {
    case '"': return parse_string(j, out);
    case '{': if (!parse_container(j, depth + 1, '}')) return 0; out->type = J_OBJ; break;
    case '[': if (!parse_container(j, depth + 1, ']')) return 0; out->type = J_ARR; break;
    case 't': if (j->end - j->p < 4 || memcmp(j->p, "true", 4)) return 0; j->p += 4; out->type = J_BOOL; break;
    case 'f': if (j->end - j->p < 5 || memcmp(j->p, "false", 5)) return 0; j->p += 5; out->type = J_BOOL; break;
    case 'n': if (j->end - j->p < 4 || memcmp(j->p, "null", 4)) return 0; j->p += 4; out->type = J_NULL; break;
    default: {
        if (*j->p == '-') j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9') return 0;
        if (*j->p == '0') { j->p++; if (j->p < j->end && *j->p >= '0' && *j->p <= '9') return 0; }
        else while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
        if (j->p < j->end && *j->p == '.') {
            j->p++; if (j->p >= j->end || *j->p < '0' || *j->p > '9') return 0;
            while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
        }
        if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
            j->p++; if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
            if (j->p >= j->end || *j->p < '0' || *j->p > '9') return 0;
            while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
        }
        out->type = J_NUM;
    }
    }
    out->s = (const char *)start; out->n = (size_t)(j->p - start);
    return 1;
}
/* Parses a whole document that must be one object; lists its members (strings unescaped). */
#define MAXM 64
typedef struct { jmember m[MAXM]; int n; buf arena; } jobj;
static int parse_object_doc(const void *text, size_t n, jobj *o) {
    jp j = { text, (const unsigned char *)text + n, &o->arena, 0 };
    o->n = 0; o->arena.n = 0;
    size_t koff[MAXM];
    ws(&j);
    if (j.p >= j.end || *j.p != '{') return 0;
    j.p++; ws(&j);
    if (j.p < j.end && *j.p == '}') { j.p++; }
    else for (;;) {
        jval k, v;
        ws(&j);
        if (j.p >= j.end || *j.p != '"' || !parse_string(&j, &k)) return 0;
        ws(&j);
        if (j.p >= j.end || *j.p != ':') return 0;
        j.p++; ws(&j);
        if (!parse_value(&j, &v, 1)) return 0;
        if (o->n < MAXM) { koff[o->n] = (size_t)(uintptr_t)k.s; o->m[o->n].kn = k.n; o->m[o->n].v = v; o->n++; }
        ws(&j);
        if (j.p >= j.end) return 0;
        if (*j.p == ',') { j.p++; continue; }
        if (*j.p == '}') { j.p++; break; }
        return 0;
    }
    ws(&j);
    if (j.p != j.end) return 0;
    for (int i = 0; i < o->n; i++) { /* arena offsets -> pointers, now that the arena no longer moves */
        o->m[i].k = (const char *)o->arena.p + koff[i];
        if (o->m[i].v.type == J_STR) o->m[i].v.s = (const char *)o->arena.p + (size_t)(uintptr_t)o->m[i].v.s;
    }
    return 1;
}
/* The last member named key, as JSON.parse does. */
static const jval *get(const jobj *o, const char *key) {
    size_t kn = strlen(key);
    for (int i = o->n - 1; i >= 0; i--)
        if (o->m[i].kn == kn && memcmp(o->m[i].k, key, kn) == 0) return &o->m[i].v;
    return NULL;
}
static const jval *get_str(const jobj *o, const char *key) { const jval *v = get(o, key); return v && v->type == J_STR ? v : NULL; }

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
