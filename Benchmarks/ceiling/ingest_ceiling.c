/*
 * ingest_ceiling.c — the C ceiling for the ordlog benchmark. Public domain (CC0).
 *
 * A minimal program doing the same work as `ordlog ingest` on JSON Lines SQS traffic, with the same
 * schema (migrations/0001_event_log.sql + 0002_projection.sql, loaded at run time), the same pragmas
 * (journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON, cache_size=-65536) and one BEGIN IMMEDIATE transaction per batch:
 *
 *   per batch: append every message (receive_key = sha256 of the canonical encoding, lookup by
 *   receive_key, md5(body) check, compact Attributes JSON, chained SHA-256 hash, INSERT INTO receives),
 *   then process each in log order: parse the Body (SNS envelope) and its Message (the order) as JSON,
 *   validate, look up applied_messages (sqs, sns) and the orders row, upsert orders, insert
 *   applied_messages, INSERT INTO attempts with its chained hash.
 *
 * Hashes use the same canonical encoding as ordlog's RecordHash (tag byte, 8-byte big-endian length),
 * so the chain is verifiable the same way. SHA-256 and MD5 come from OpenSSL's libcrypto (libssl-dev).
 * JSON is parsed by the small strict parser below (RFC 8259 grammar, UTF-8 checked in strings).
 *
 *   ingest_ceiling ingest  --db LOG --batch-size N --migrations DIR FILE.jsonl
 *   ingest_ceiling replay  --db LOG --into SCRATCH.db --batch-size 1000 --migrations DIR
 *
 * replay reads every receive of LOG in seq order, decides it again against a scratch projection and
 * upserts it there (one transaction per batch); nothing is appended to the log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROCESSOR_VERSION "ordlog-processor/1"
#define MAX_RECEIVE_COUNT 3

#define PROGRAM_NAME "ingest_ceiling"
#include "../common/buf.h"

/* ---------- canonical encoding (ordlog RecordHash.Encoder) ---------- */
static void enc_null(buf *e) { b_byte(e, 0); }
static void enc_int(buf *e, int64_t v) {
    unsigned char t[9]; t[0] = 1;
    for (int i = 0; i < 8; i++) t[1 + i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
    b_add(e, t, 9);
}
static void enc_bytes(buf *e, const void *p, size_t n) {
    unsigned char t[9]; t[0] = 2;
    for (int i = 0; i < 8; i++) t[1 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    b_add(e, t, 9); b_add(e, p, n);
}
static void enc_str(buf *e, const char *s) { if (s) enc_bytes(e, s, strlen(s)); else enc_null(e); }

static EVP_MD_CTX *mdctx;
static void sha256_2(const void *a, size_t an, const void *b, size_t bn, unsigned char out[32]) {
    unsigned int len;
    EVP_DigestInit_ex(mdctx, EVP_sha256(), NULL);
    if (an) EVP_DigestUpdate(mdctx, a, an);
    EVP_DigestUpdate(mdctx, b, bn);
    EVP_DigestFinal_ex(mdctx, out, &len);
}
static void hexify(const unsigned char *in, size_t n, char *out) {
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { out[2 * i] = d[in[i] >> 4]; out[2 * i + 1] = d[in[i] & 15]; }
    out[2 * n] = 0;
}

#include "../common/mini_json.h"

static void json_string(buf *b, const char *s, size_t n) {
    static const char hx[] = "0123456789abcdef";
    b_byte(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') b_add(b, "\\\"", 2); else if (c == '\\') b_add(b, "\\\\", 2);
        else if (c == '\n') b_add(b, "\\n", 2); else if (c == '\r') b_add(b, "\\r", 2); else if (c == '\t') b_add(b, "\\t", 2);
        else if (c < 0x20) { char u[6] = { '\\', 'u', '0', '0', hx[c >> 4], hx[c & 15] }; b_add(b, u, 6); }
        else b_byte(b, c);
    }
    b_byte(b, '"');
}

/* ---------- RFC 3339 -> ns (same rules as ordlog's RFC3339) ---------- */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}
static int rfc3339_ns(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
#define DIG(k, v) do { v = 0; if (i + k > n) return 0; for (int q = 0; q < k; q++) { if (s[i] < '0' || s[i] > '9') return 0; v = v * 10 + (s[i++] - '0'); } } while (0)
#define EXP(c) do { if (i >= n || s[i] != c) return 0; i++; } while (0)
    int64_t Y, M, D, h, mi, se, nanos = 0, off = 0;
    DIG(4, Y); EXP('-'); DIG(2, M); EXP('-'); DIG(2, D);
    if (i >= n || (s[i] != 'T' && s[i] != 't')) return 0;
    i++;
    DIG(2, h); EXP(':'); DIG(2, mi); EXP(':'); DIG(2, se);
    static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (M < 1 || M > 12 || D < 1) return 0;
    int64_t md = dim[M - 1] + (M == 2 && ((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0));
    if (D > md || h > 23 || mi > 59 || se > 60) return 0;
    if (i < n && s[i] == '.') {
        i++; int c = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') { if (c < 9) nanos = nanos * 10 + (s[i] - '0'); c++; i++; }
        if (!c) return 0;
        for (int q = c < 9 ? c : 9; q < 9; q++) nanos *= 10;
    }
    if (i >= n) return 0;
    if (s[i] == 'Z' || s[i] == 'z') i++;
    else if (s[i] == '+' || s[i] == '-') {
        int64_t sign = s[i] == '+' ? 1 : -1, oh, om; i++;
        DIG(2, oh); EXP(':'); DIG(2, om);
        if (oh > 23 || om > 59) return 0;
        off = sign * (oh * 3600 + om * 60);
    } else return 0;
    if (i != n) return 0;
    *out = (days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + se - off) * 1000000000LL + nanos;
    return 1;
#undef DIG
#undef EXP
}

/* ---------- database ---------- */
typedef struct {
    sqlite3 *db;
    sqlite3_stmt *rk_lookup, *ins_receive, *ins_attempt, *applied, *cur, *upsert, *ins_applied, *begin, *commit, *savepoint, *release;
    int64_t next_seq;
    unsigned char head[32];
} ctx;

static sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) die(sql, db);
    return s;
}
static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path, NULL);
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) die(path, NULL);
    s[n] = 0; fclose(f);
    return s;
}
static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) { fprintf(stderr, "ingest_ceiling: %s\n", err); exit(70); }
}
static void migrate(sqlite3 *db, const char *dir, int log_too) {
    exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT "
             "(strftime('%Y-%m-%dT%H:%M:%fZ','now')))");
    const char *ids[] = { "0001_event_log", "0002_projection" };
    for (int i = log_too ? 0 : 1; i < 2; i++) {
        char q[256], path[4096];
        snprintf(q, sizeof q, "SELECT 1 FROM schema_migrations WHERE id='%s'", ids[i]);
        sqlite3_stmt *s = prep(db, q);
        int done = sqlite3_step(s) == SQLITE_ROW;
        sqlite3_finalize(s);
        if (done) continue;
        snprintf(path, sizeof path, "%s/%s.sql", dir, ids[i]);
        char *sql = read_file(path);
        exec(db, "BEGIN IMMEDIATE");
        exec(db, sql);
        snprintf(q, sizeof q, "INSERT INTO schema_migrations(id) VALUES ('%s')", ids[i]);
        exec(db, q);
        exec(db, "COMMIT");
        free(sql);
    }
}
static sqlite3 *open_db(const char *path) {
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) die(path, db);
    sqlite3_busy_timeout(db, 5000);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;");
    return db;
}
static void prepare_projection(ctx *c) {
    c->applied = prep(c->db, "SELECT seq FROM applied_messages WHERE kind = ? AND id = ?");
    c->cur = prep(c->db, "SELECT timestamp_ns, last_seq FROM orders WHERE order_id = ?");
    c->upsert = prep(c->db,
        "INSERT INTO orders (order_id, user_id, item_name, quantity, status, timestamp, timestamp_ns, last_seq, message_id) "
        "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(order_id) DO UPDATE SET user_id=excluded.user_id, item_name=excluded.item_name, "
        "quantity=excluded.quantity, status=excluded.status, timestamp=excluded.timestamp, timestamp_ns=excluded.timestamp_ns, "
        "last_seq=excluded.last_seq, message_id=excluded.message_id");
    c->ins_applied = prep(c->db, "INSERT OR IGNORE INTO applied_messages (kind, id, seq) VALUES (?,?,?)");
    c->begin = prep(c->db, "BEGIN IMMEDIATE");
    c->commit = prep(c->db, "COMMIT");
    c->savepoint = prep(c->db, "SAVEPOINT project");
    c->release = prep(c->db, "RELEASE project");
}
static void step_done(sqlite3_stmt *s, sqlite3 *db, const char *what) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) die(what, db);
    sqlite3_reset(s);
}
static void load_head(ctx *c) {
    int64_t best = 0;
    memset(c->head, 0, 32);
    const char *q[] = { "SELECT seq, hash FROM receives ORDER BY seq DESC LIMIT 1", "SELECT seq, hash FROM attempts ORDER BY seq DESC LIMIT 1" };
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *s = prep(c->db, q[i]);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > best) {
            best = sqlite3_column_int64(s, 0);
            memcpy(c->head, sqlite3_column_blob(s, 1), 32);
        }
        sqlite3_finalize(s);
    }
    c->next_seq = best + 1;
}
static int64_t now_ms(void) {
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------- the processor ---------- */
enum { O_PROJECTED, O_DUPLICATE, O_STALE, O_REJECTED };
static const char *OUTCOME[] = { "projected", "duplicate", "stale", "rejected" };
typedef struct {
    int outcome;
    const char *error_code, *error_field;
    buf error_message, note, item;  /* item: compact JSON (NUL-terminated); n == 0 when none */
    char order_id[256], sns_id[256];
    int has_order, has_sns;
    /* the order, for the upsert */
    const jval *user, *name, *status, *ts;
    int64_t quantity, ts_ns;
    jobj env, order;
} decision;

static int64_t lookup_applied(ctx *c, const char *kind, const char *id, size_t n) {
    sqlite3_bind_text(c->applied, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->applied, 2, id, (int)n, SQLITE_STATIC);
    int64_t seq = sqlite3_step(c->applied) == SQLITE_ROW ? sqlite3_column_int64(c->applied, 0) : -1;
    sqlite3_reset(c->applied);
    return seq;
}
static void reject(decision *d, const char *code, const char *field, const char *msg) {
    d->outcome = O_REJECTED; d->error_code = code; d->error_field = field;
    d->error_message.n = 0; b_str(&d->error_message, msg); b_byte(&d->error_message, 0);
}
static void copy_id(char *dst, const jval *v) { size_t n = v->n < 255 ? v->n : 255; memcpy(dst, v->s, n); dst[n] = 0; }

/* Decides one receive (body, SQS message id, seq) against the projection in c. */
static void decide(ctx *c, decision *d, const char *body, size_t body_n, const char *mid, int64_t seq) {
    d->error_code = d->error_field = NULL; d->note.n = 0; d->item.n = 0; d->has_order = d->has_sns = 0;
    if (!parse_object_doc(body, body_n, &d->env)) { reject(d, "body.not_json", NULL, "body is not a JSON object"); return; }
    const jobj *order = &d->env;
    const jval *type = get_str(&d->env, "Type"), *arn = get_str(&d->env, "TopicArn");
    if (type && type->n == 12 && !memcmp(type->s, "Notification", 12) && arn && arn->n >= 4 && !memcmp(arn->s, "arn:", 4)) {
        const jval *sns = get_str(&d->env, "MessageId");
        if (sns) { copy_id(d->sns_id, sns); d->has_sns = 1; }
        const jval *msg = get_str(&d->env, "Message");
        if (!msg) { reject(d, "envelope.message_not_string", "Message", "SNS envelope field Message is not a string"); return; }
        if (!parse_object_doc(msg->s, msg->n, &d->order)) { reject(d, "order.not_json", "Message", "SNS Message is not a JSON object"); return; }
        order = &d->order;
    }
    const jval *oid = get_str(order, "orderId");
    if (oid && oid->n) { copy_id(d->order_id, oid); d->has_order = 1; }
    if (!get(order, "orderId")) { reject(d, "order.field_missing", "orderId", "order field orderId is missing"); return; }
    if (!oid || !oid->n) { reject(d, "order.field_invalid", "orderId", "order field orderId is invalid"); return; }
    if (!(d->user = get_str(order, "userId"))) { reject(d, "order.field_invalid", "userId", "order field userId is invalid"); return; }
    if (!(d->name = get_str(order, "itemName"))) { reject(d, "order.field_invalid", "itemName", "order field itemName is invalid"); return; }
    const jval *q = get(order, "quantity");
    if (!q) { reject(d, "order.field_missing", "quantity", "order field quantity is missing"); return; }
    {
        int ok = q->type == J_NUM && q->n < 20;
        int64_t v = 0; size_t i = 0; int neg = 0;
        if (ok && q->s[0] == '-') { neg = 1; i = 1; }
        for (; ok && i < q->n; i++) { if (q->s[i] < '0' || q->s[i] > '9') ok = 0; else v = v * 10 + (q->s[i] - '0'); }
        if (neg) v = -v;
        if (!ok || v < 1 || v > 9007199254740991LL) { reject(d, "order.field_invalid", "quantity", "order field quantity is invalid"); return; }
        d->quantity = v;
    }
    if (!(d->status = get_str(order, "status"))) { reject(d, "order.field_invalid", "status", "order field status is invalid"); return; }
    if (!(d->ts = get_str(order, "timestamp"))) { reject(d, "order.field_invalid", "timestamp", "order field timestamp is invalid"); return; }
    if (!rfc3339_ns(d->ts->s, d->ts->n, &d->ts_ns)) { reject(d, "order.field_invalid", "timestamp", "order field timestamp is invalid"); return; }
    /* the item, compact JSON in ordlog's fixed key order */
    char qbuf[32];
    b_str(&d->item, "{\"orderId\":"); json_string(&d->item, oid->s, oid->n);
    b_str(&d->item, ",\"userId\":"); json_string(&d->item, d->user->s, d->user->n);
    b_str(&d->item, ",\"itemName\":"); json_string(&d->item, d->name->s, d->name->n);
    snprintf(qbuf, sizeof qbuf, ",\"quantity\":%" PRId64, d->quantity); b_str(&d->item, qbuf);
    b_str(&d->item, ",\"status\":"); json_string(&d->item, d->status->s, d->status->n);
    b_str(&d->item, ",\"timestamp\":"); json_string(&d->item, d->ts->s, d->ts->n);
    b_str(&d->item, "}"); b_byte(&d->item, 0); d->item.n--;
    int64_t at;
    char note[512];
    if (mid && (at = lookup_applied(c, "sqs", mid, strlen(mid))) >= 0) {
        d->outcome = O_DUPLICATE;
        snprintf(note, sizeof note, "SQS MessageId %s already applied at log seq %" PRId64, mid, at);
        b_str(&d->note, note); b_byte(&d->note, 0);
        return;
    }
    if (d->has_sns && (at = lookup_applied(c, "sns", d->sns_id, strlen(d->sns_id))) >= 0) {
        d->outcome = O_DUPLICATE;
        snprintf(note, sizeof note, "SNS MessageId %s already applied at log seq %" PRId64, d->sns_id, at);
        b_str(&d->note, note); b_byte(&d->note, 0);
        return;
    }
    sqlite3_bind_text(c->cur, 1, oid->s, (int)oid->n, SQLITE_STATIC);
    if (sqlite3_step(c->cur) == SQLITE_ROW) {
        int64_t cts = sqlite3_column_int64(c->cur, 0), cseq = sqlite3_column_int64(c->cur, 1);
        if (cts > d->ts_ns || (cts == d->ts_ns && cseq > seq)) {
            d->outcome = O_STALE;
            snprintf(note, sizeof note, "projection holds a newer version (log seq %" PRId64 ")", cseq);
            b_str(&d->note, note); b_byte(&d->note, 0);
        } else d->outcome = O_PROJECTED;
    } else d->outcome = O_PROJECTED;
    sqlite3_reset(c->cur);
}

/* Writes a final decision to the projection. */
static void apply(ctx *c, decision *d, const char *mid, int64_t seq) {
    if (d->outcome == O_REJECTED) return;
    if (d->outcome == O_PROJECTED) {
        sqlite3_stmt *s = c->upsert;
        sqlite3_bind_text(s, 1, d->order_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, d->user->s, (int)d->user->n, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, d->name->s, (int)d->name->n, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, d->quantity);
        sqlite3_bind_text(s, 5, d->status->s, (int)d->status->n, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, d->ts->s, (int)d->ts->n, SQLITE_STATIC);
        sqlite3_bind_int64(s, 7, d->ts_ns);
        sqlite3_bind_int64(s, 8, seq);
        if (mid) sqlite3_bind_text(s, 9, mid, -1, SQLITE_STATIC); else sqlite3_bind_null(s, 9);
        step_done(s, c->db, "upsert orders");
    }
    if (mid) {
        sqlite3_bind_text(c->ins_applied, 1, "sqs", 3, SQLITE_STATIC);
        sqlite3_bind_text(c->ins_applied, 2, mid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(c->ins_applied, 3, seq);
        step_done(c->ins_applied, c->db, "insert applied_messages");
    }
    if (d->has_sns) {
        sqlite3_bind_text(c->ins_applied, 1, "sns", 3, SQLITE_STATIC);
        sqlite3_bind_text(c->ins_applied, 2, d->sns_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(c->ins_applied, 3, seq);
        step_done(c->ins_applied, c->db, "insert applied_messages");
    }
}

/* ---------- ingest ---------- */
typedef struct {
    int64_t seq, receive_count;
    char mid[256];
    int has_mid;
    buf body;
} pending;

static void bind_opt(sqlite3_stmt *s, int i, const jval *v) {
    if (v) sqlite3_bind_text(s, i, v->s, (int)v->n, SQLITE_STATIC); else sqlite3_bind_null(s, i);
}
static void enc_opt(buf *e, const jval *v) { if (v) enc_bytes(e, v->s, v->n); else enc_null(e); }
static int64_t parse_i64(const jval *v, int *ok) {
    *ok = 0;
    if (!v || !v->n || v->n > 18) return 0;
    int64_t r = 0;
    for (size_t i = 0; i < v->n; i++) { if (v->s[i] < '0' || v->s[i] > '9') return 0; r = r * 10 + (v->s[i] - '0'); }
    *ok = 1; return r;
}

/* Appends one JSON Lines entry; returns 1 and fills p when it was newly appended. */
static int append(ctx *c, const char *line, size_t n, const char *source, int64_t received_at, pending *p, jobj *m,
                  jobj *attrs, buf *enc, buf *tmp) {
    if (!parse_object_doc(line, n, m)) { fprintf(stderr, "ingest_ceiling: %s: not an SQS message object\n", source); exit(4); }
    const jval *mid = get_str(m, "MessageId"), *rh = get_str(m, "ReceiptHandle"), *md5 = get_str(m, "MD5OfBody");
    const jval *body = get_str(m, "Body"), *av = get(m, "Attributes");
    if (!mid || !body) { fprintf(stderr, "ingest_ceiling: %s: no MessageId/Body\n", source); exit(4); }
    /* Attributes: compact JSON as received */
    tmp->n = 0;
    const jval *rc_v = NULL, *sent_v = NULL;
    if (av && av->type == J_OBJ) {
        if (!parse_object_doc(av->s, av->n, attrs)) exit(4);
        b_byte(tmp, '{');
        for (int i = 0; i < attrs->n; i++) {
            if (i) b_byte(tmp, ',');
            json_string(tmp, attrs->m[i].k, attrs->m[i].kn);
            b_byte(tmp, ':');
            if (attrs->m[i].v.type == J_STR) json_string(tmp, attrs->m[i].v.s, attrs->m[i].v.n);
            else b_add(tmp, attrs->m[i].v.s, attrs->m[i].v.n);
        }
        b_byte(tmp, '}');
        rc_v = get_str(attrs, "ApproximateReceiveCount");
        sent_v = get_str(attrs, "SentTimestamp");
    } else b_str(tmp, "{}");
    /* receive key */
    enc->n = 0;
    enc_str(enc, "receive-key"); enc_opt(enc, mid); enc_opt(enc, rh); enc_opt(enc, rc_v); enc_bytes(enc, body->s, body->n);
    unsigned char h[32]; char key[65];
    sha256_2(NULL, 0, enc->p, enc->n, h);
    hexify(h, 32, key);
    sqlite3_bind_text(c->rk_lookup, 1, key, 64, SQLITE_STATIC);
    int found = sqlite3_step(c->rk_lookup) == SQLITE_ROW;
    sqlite3_reset(c->rk_lookup);
    if (found) return 0;
    int ok;
    int64_t rcount = parse_i64(rc_v, &ok);
    if (!ok || rcount <= 0) {  /* ordlog counts logged receives of the message */
        sqlite3_stmt *s = prep(c->db, "SELECT count(*) FROM receives WHERE message_id = ?");
        sqlite3_bind_text(s, 1, mid->s, (int)mid->n, SQLITE_STATIC);
        sqlite3_step(s); rcount = sqlite3_column_int64(s, 0) + 1; sqlite3_finalize(s);
    }
    int64_t sent = parse_i64(sent_v, &ok);
    int has_sent = ok;
    int md5_matches = -1;
    if (md5) {
        unsigned char d[16]; char hx[33]; unsigned int len;
        EVP_Digest(body->s, body->n, d, &len, EVP_md5(), NULL);
        hexify(d, 16, hx);
        md5_matches = md5->n == 32 && strncasecmp(hx, md5->s, 32) == 0;
    }
    int64_t seq = c->next_seq;
    enc->n = 0;
    enc_str(enc, "receive"); enc_int(enc, seq); enc_bytes(enc, key, 64); enc_opt(enc, mid); enc_opt(enc, rh); enc_opt(enc, md5);
    if (md5_matches >= 0) enc_int(enc, md5_matches); else enc_null(enc);
    enc_bytes(enc, body->s, body->n); enc_bytes(enc, tmp->p, tmp->n); enc_null(enc); enc_null(enc);
    enc_int(enc, rcount); if (has_sent) enc_int(enc, sent); else enc_null(enc);
    enc_str(enc, source); enc_null(enc); enc_int(enc, received_at);
    unsigned char hash[32];
    sha256_2(c->head, 32, enc->p, enc->n, hash);
    sqlite3_stmt *s = c->ins_receive;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, key, 64, SQLITE_STATIC);
    bind_opt(s, 3, mid); bind_opt(s, 4, rh); bind_opt(s, 5, md5);
    if (md5_matches >= 0) sqlite3_bind_int64(s, 6, md5_matches); else sqlite3_bind_null(s, 6);
    sqlite3_bind_blob(s, 7, body->s, (int)body->n, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, (const char *)tmp->p, (int)tmp->n, SQLITE_STATIC);
    sqlite3_bind_null(s, 9); sqlite3_bind_null(s, 10);
    sqlite3_bind_int64(s, 11, rcount);
    if (has_sent) sqlite3_bind_int64(s, 12, sent); else sqlite3_bind_null(s, 12);
    sqlite3_bind_text(s, 13, source, -1, SQLITE_STATIC);
    sqlite3_bind_null(s, 14);
    sqlite3_bind_int64(s, 15, received_at);
    sqlite3_bind_blob(s, 16, c->head, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 17, hash, 32, SQLITE_STATIC);
    step_done(s, c->db, "insert receives");
    c->next_seq++;
    memcpy(c->head, hash, 32);
    p->seq = seq; p->receive_count = rcount;
    copy_id(p->mid, mid); p->has_mid = 1;
    p->body.n = 0; b_add(&p->body, body->s, body->n);
    return 1;
}

static void append_attempt(ctx *c, pending *p, decision *d, int64_t attempted_at, buf *enc, int *counts) {
    int dead = d->outcome == O_REJECTED && p->has_mid && p->receive_count >= MAX_RECEIVE_COUNT;
    int has_item = d->item.n > 0;
    const char *kind = d->outcome == O_REJECTED ? "permanent" : NULL;
    const char *emsg = d->outcome == O_REJECTED ? (const char *)d->error_message.p : NULL;
    const char *note = d->note.n ? (const char *)d->note.p : NULL;
    int64_t seq = c->next_seq;
    enc->n = 0;
    enc_str(enc, "attempt"); enc_int(enc, seq); enc_int(enc, p->seq); enc_str(enc, p->has_mid ? p->mid : NULL);
    enc_str(enc, OUTCOME[d->outcome]); enc_str(enc, kind); enc_str(enc, d->error_code); enc_str(enc, d->error_field);
    enc_str(enc, emsg); enc_int(enc, dead); enc_str(enc, PROCESSOR_VERSION);
    enc_str(enc, d->has_order ? d->order_id : NULL); enc_str(enc, d->has_sns ? d->sns_id : NULL);
    if (has_item) enc_bytes(enc, d->item.p, d->item.n); else enc_null(enc);
    enc_str(enc, note); enc_str(enc, "receive"); enc_int(enc, attempted_at);
    unsigned char hash[32];
    sha256_2(c->head, 32, enc->p, enc->n, hash);
    sqlite3_stmt *s = c->ins_attempt;
#define TXT(i, v) do { if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC); else sqlite3_bind_null(s, i); } while (0)
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_int64(s, 2, p->seq);
    TXT(3, p->has_mid ? p->mid : NULL);
    TXT(4, OUTCOME[d->outcome]); TXT(5, kind); TXT(6, d->error_code); TXT(7, d->error_field); TXT(8, emsg);
    sqlite3_bind_int64(s, 9, dead);
    TXT(10, PROCESSOR_VERSION);
    TXT(11, d->has_order ? d->order_id : NULL); TXT(12, d->has_sns ? d->sns_id : NULL);
    if (has_item) sqlite3_bind_text(s, 13, (const char *)d->item.p, (int)d->item.n, SQLITE_STATIC); else sqlite3_bind_null(s, 13);
    TXT(14, note); TXT(15, "receive");
    sqlite3_bind_int64(s, 16, attempted_at);
    sqlite3_bind_blob(s, 17, c->head, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 18, hash, 32, SQLITE_STATIC);
#undef TXT
    step_done(s, c->db, "insert attempts");
    c->next_seq++;
    memcpy(c->head, hash, 32);
    counts[d->outcome]++;
}

static int ingest(const char *dbpath, const char *migrations, int batch, const char *file) {
    ctx c = { 0 };
    c.db = open_db(dbpath);
    migrate(c.db, migrations, 1);
    c.rk_lookup = prep(c.db, "SELECT seq FROM receives WHERE receive_key = ?");
    c.ins_receive = prep(c.db,
        "INSERT INTO receives (seq, receive_key, message_id, receipt_handle, md5_of_body, md5_matches, body, attributes, "
        "message_attributes, md5_of_message_attributes, receive_count, sent_timestamp, source, input_error, received_at, "
        "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    c.ins_attempt = prep(c.db,
        "INSERT INTO attempts (seq, receive_seq, message_id, outcome, error_kind, error_code, error_field, error_message, "
        "dead_lettered, processor_version, order_id, sns_message_id, item, note, trigger, attempted_at, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    prepare_projection(&c);
    FILE *f = fopen(file, "rb");
    if (!f) die(file, NULL);
    pending *pend = calloc((size_t)batch, sizeof *pend);
    decision *d = calloc(1, sizeof *d);
    jobj *m = calloc(1, sizeof *m), *attrs = calloc(1, sizeof *attrs);
    buf enc = { 0 }, tmp = { 0 };
    char *line = NULL; size_t cap = 0; ssize_t len;
    long lineno = 0, received = 0;
    int counts[4] = { 0 };
    char source[4200];
    int eof = 0;
    while (!eof) {
        int np = 0, inbatch = 0;
        step_done(c.begin, c.db, "BEGIN");
        load_head(&c);
        int64_t now = now_ms();
        while (inbatch < batch) {
            if ((len = getline(&line, &cap, f)) < 0) { eof = 1; break; }
            lineno++;
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
            if (!len) continue;
            snprintf(source, sizeof source, "%s:%ld", file, lineno);
            inbatch++; received++;
            if (append(&c, line, (size_t)len, source, now, &pend[np], m, attrs, &enc, &tmp)) np++;
        }
        for (int i = 0; i < np; i++) {
            pending *p = &pend[i];
            decide(&c, d, (const char *)p->body.p, p->body.n, p->has_mid ? p->mid : NULL, p->seq);
            /* as ordlog: the projection write runs in a savepoint, so a failed write cannot lose the attempt */
            step_done(c.savepoint, c.db, "SAVEPOINT");
            apply(&c, d, p->has_mid ? p->mid : NULL, p->seq);
            step_done(c.release, c.db, "RELEASE");
            append_attempt(&c, p, d, now, &enc, counts);
        }
        step_done(c.commit, c.db, "COMMIT");
    }
    printf("{\"received\":%ld,\"projected\":%d,\"duplicate\":%d,\"stale\":%d,\"rejected\":%d}\n", received,
           counts[O_PROJECTED], counts[O_DUPLICATE], counts[O_STALE], counts[O_REJECTED]);
    fclose(f);
    return 0;
}

/* ---------- replay ---------- */
static int replay(const char *logpath, const char *into, const char *migrations, int batch) {
    sqlite3 *log;
    if (sqlite3_open_v2(logpath, &log, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) die(logpath, log);
    ctx c = { 0 };
    c.db = open_db(into);
    migrate(c.db, migrations, 0);
    prepare_projection(&c);
    sqlite3_stmt *rs = prep(log, "SELECT seq, message_id, body, input_error FROM receives ORDER BY seq");
    decision *d = calloc(1, sizeof *d);
    int counts[4] = { 0 };
    long n = 0;
    char mid[256];
    int rc;
    step_done(c.begin, c.db, "BEGIN");
    while ((rc = sqlite3_step(rs)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(rs, 0);
        const unsigned char *m = sqlite3_column_text(rs, 1);
        int has_mid = m != NULL;
        if (has_mid) { snprintf(mid, sizeof mid, "%s", m); }
        const char *body = sqlite3_column_blob(rs, 2);
        size_t bn = (size_t)sqlite3_column_bytes(rs, 2);
        if (sqlite3_column_type(rs, 3) != SQLITE_NULL) reject(d, "input.not_sqs_message", NULL, "input error");
        else decide(&c, d, body ? body : "", bn, has_mid ? mid : NULL, seq);
        apply(&c, d, has_mid ? mid : NULL, seq);
        counts[d->outcome]++;
        if (++n % batch == 0) { step_done(c.commit, c.db, "COMMIT"); step_done(c.begin, c.db, "BEGIN"); }
    }
    CHECK(rc, log, "reading receives");
    step_done(c.commit, c.db, "COMMIT");
    printf("{\"replayed\":%ld,\"projected\":%d,\"duplicate\":%d,\"stale\":%d,\"rejected\":%d}\n", n,
           counts[O_PROJECTED], counts[O_DUPLICATE], counts[O_STALE], counts[O_REJECTED]);
    return 0;
}

int main(int argc, char **argv) {
    const char *db = NULL, *into = NULL, *migrations = "migrations", *file = NULL;
    int batch = 10;
    if (argc < 2) goto usage;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc) db = argv[++i];
        else if (!strcmp(argv[i], "--into") && i + 1 < argc) into = argv[++i];
        else if (!strcmp(argv[i], "--migrations") && i + 1 < argc) migrations = argv[++i];
        else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc) batch = atoi(argv[++i]);
        else file = argv[i];
    }
    if (batch < 1 || !db) goto usage;
    mdctx = EVP_MD_CTX_new();
    if (!strcmp(argv[1], "ingest") && file) return ingest(db, migrations, batch, file);
    if (!strcmp(argv[1], "replay") && into) return replay(db, into, migrations, batch);
usage:
    fprintf(stderr, "usage: ingest_ceiling ingest --db LOG --batch-size N [--migrations DIR] FILE.jsonl\n"
                    "       ingest_ceiling replay --db LOG --into SCRATCH.db [--batch-size N] [--migrations DIR]\n");
    return 64;
}
