/* The minimal strict JSON parser shared by the design ceiling (ceiling/ingest_ceiling.c) and the lean user
 * baseline (user/lean_ingest.c): one copy, so both parse the same way. Include it after the `buf` arena type
 * and its b_* helpers are defined. */
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
