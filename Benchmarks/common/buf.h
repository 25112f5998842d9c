/* What the benchmark C programs share besides the JSON parser (mini_json.h): the fatal-error exit and a growable
 * byte buffer. Define PROGRAM_NAME (the name errors start with) before including it, after <sqlite3.h>, <errno.h>,
 * <stdio.h>, <stdlib.h> and <string.h>. */
static void die(const char *what, sqlite3 *db) {
    fprintf(stderr, PROGRAM_NAME ": %s: %s\n", what, db ? sqlite3_errmsg(db) : strerror(errno));
    exit(70);
}
#define CHECK(rc, db, what) do { if ((rc) != SQLITE_OK && (rc) != SQLITE_DONE && (rc) != SQLITE_ROW) die(what, db); } while (0)

/* ---------- growable byte buffer ---------- */
typedef struct { unsigned char *p; size_t n, cap; } buf;
static inline void b_reserve(buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    size_t c = b->cap ? b->cap : 256;
    while (c < b->n + extra) c *= 2;
    b->p = realloc(b->p, c);
    if (!b->p) die("out of memory", NULL);
    b->cap = c;
}
static inline void b_add(buf *b, const void *s, size_t n) { b_reserve(b, n); memcpy(b->p + b->n, s, n); b->n += n; }
static inline void b_byte(buf *b, unsigned char c) { b_reserve(b, 1); b->p[b->n++] = c; }
static inline void b_str(buf *b, const char *s) { b_add(b, s, strlen(s)); }
