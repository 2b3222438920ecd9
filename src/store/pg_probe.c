/* pg_probe.c -- store_probe and store_target_shown for PostgreSQL URLs
 * (engine.h), over libpq.
 *
 * store_open says only that a connection failed (the reason goes to the
 * log); a person who typed a URL wants to know which of three things is
 * wrong. libpq tells them apart without reading its messages:
 * PQconninfoParse refuses a malformed URL, and after a failed login
 * PQpingParams says whether anything answered (PQPING_NO_RESPONSE), whether
 * the parameters made no attempt at all (PQPING_NO_ATTEMPT: a bad value), or
 * whether a server answered (it then refused the login). libpq's own message
 * goes with it, on one line, with the URL's password masked wherever it
 * appears: a malformed percent-escape in a password is quoted whole by
 * libpq's URL parser. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "store/engine.h"

/* The default wait for a server that does not answer (a firewall that drops
 * packets): libpq's own default is no limit. */
#define PROBE_CONNECT_TIMEOUT "10"

/* Where a password sits in a URL: [start, end) offsets, up to two (the user
 * part's and a password= parameter's). */
struct spans {
    size_t start[2], end[2];
    int n;
};

static void find_passwords(const char *url, struct spans *s)
{
    s->n = 0;
    const char *scheme = strstr(url, "://");
    if (!scheme)
        return;
    /* libpq takes the user part up to the first '@' before the path. */
    const char *auth = scheme + 3;
    size_t auth_len = strcspn(auth, "/?");
    const char *at = memchr(auth, '@', auth_len);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon && at > colon + 1) {
        s->start[s->n] = (size_t)(colon + 1 - url);
        s->end[s->n] = (size_t)(at - url);
        s->n++;
    }
    const char *q = strchr(auth + auth_len, '?');
    for (const char *p = q; p && s->n < 2; p = strchr(p + 1, '&')) {
        const char *key = p + 1;
        if (strncmp(key, "password=", 9) != 0)
            continue;
        const char *v = key + 9;
        size_t len = strcspn(v, "&");
        if (len) {
            s->start[s->n] = (size_t)(v - url);
            s->end[s->n] = (size_t)(v - url) + len;
            s->n++;
        }
    }
}

void store_pg_shown(const char *url, char *out, size_t cap)
{
    if (!cap)
        return;
    struct spans s;
    find_passwords(url, &s);
    size_t o = 0;
    for (size_t i = 0; url[i] && o + 1 < cap;) {
        int k = 0;
        while (k < s.n && s.start[k] != i)
            k++;
        if (k < s.n) {
            for (const char *m = "***"; *m && o + 1 < cap; m++)
                out[o++] = *m;
            i = s.end[k];
            continue;
        }
        out[o++] = url[i++];
    }
    out[o] = '\0';
}

/* Writes "***" over every occurrence of needle (len bytes) in text, cutting
 * the end of text where it would grow past cap. */
static void mask(char *text, size_t cap, const char *needle, size_t len)
{
    if (!len)
        return;
    char *p = text;
    while ((p = strstr(p, needle)) != NULL) {
        size_t head = (size_t)(p - text), tail = strlen(p + len);
        if (head + 4 > cap) {
            *p = '\0';
            return;
        }
        if (head + 3 + tail + 1 > cap)
            tail = cap - head - 4;
        memmove(p + 3, p + len, tail);
        p[3 + tail] = '\0';
        memcpy(p, "***", 3);
        p += 3;
    }
}

/* Masks in text each password of url: as written, and percent-decoded as
 * libpq may quote it. */
static void mask_passwords(const char *url, char *text, size_t cap)
{
    struct spans s;
    find_passwords(url, &s);
    for (int k = 0; k < s.n; k++) {
        char raw[512], decoded[512];
        size_t len = s.end[k] - s.start[k];
        if (len >= sizeof(raw))
            len = sizeof(raw) - 1;
        memcpy(raw, url + s.start[k], len);
        raw[len] = '\0';
        size_t d = 0;
        for (size_t i = 0; i < len; i++) {
            int hi = raw[i] == '%' && i + 2 < len ? str_hex_value(raw[i + 1]) : -1;
            int lo = hi >= 0 ? str_hex_value(raw[i + 2]) : -1;
            if (lo >= 0) {
                decoded[d++] = (char)(hi * 16 + lo);
                i += 2;
            } else {
                decoded[d++] = raw[i];
            }
        }
        decoded[d] = '\0';
        mask(text, cap, raw, len);
        mask(text, cap, decoded, strlen(decoded));
    }
}

/* libpq's message on one line: runs of whitespace become one space. */
static void one_line(const char *msg, char *out, size_t cap)
{
    size_t o = 0;
    bool space = false;
    for (const char *p = msg; *p && o + 1 < cap; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap)
            out[o++] = ' ';
        space = false;
        out[o++] = *p;
    }
    out[o] = '\0';
}

enum store_reach store_pg_probe(const char *url, char *why, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        one_line(err ? err : "out of memory", why, cap);
        mask_passwords(url, why, cap);
        PQfreemem(err);
        return STORE_REACH_BAD_TARGET;
    }
    PQconninfoFree(opts);
    /* Later parameters win: the URL's own connect_timeout over ours. */
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {PROBE_CONNECT_TIMEOUT, url, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (pg && PQstatus(pg) == CONNECTION_OK) {
        PQfinish(pg);
        return STORE_REACH_OK;
    }
    one_line(pg ? PQerrorMessage(pg) : "out of memory", why, cap);
    mask_passwords(url, why, cap);
    PQfinish(pg);
    switch (PQpingParams(keys, values, 1)) {
    case PQPING_NO_ATTEMPT: return STORE_REACH_BAD_TARGET;
    case PQPING_NO_RESPONSE: return STORE_REACH_UNREACHABLE;
    default: return STORE_REACH_REFUSED; /* a server answered: OK, or REJECT (starting, full) */
    }
}

/* One statement's single text value on c, copied into out; false when it
 * failed. */
static bool one_value(PGconn *c, const char *sql, char *out, size_t cap)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok)
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return ok;
}

static bool command(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

enum rc store_pg_check_sessions(const char *url, bool *is_shared, char *why, size_t cap)
{
    *is_shared = false;
    /* Three connections: a's server session is freed by its COMMIT while
     * b holds another in a transaction; c then asks for one. Through a
     * pooler in transaction mode c is given a's (the only idle one); on a
     * server, or a pooler in session mode, every connection has its own. */
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {PROBE_CONNECT_TIMEOUT, url, NULL};
    PGconn *a = PQconnectdbParams(keys, values, 1);
    /* A server that does not answer is waited for once, not three times. */
    PGconn *b = PQstatus(a) == CONNECTION_OK ? PQconnectdbParams(keys, values, 1) : NULL;
    PGconn *c = PQstatus(b) == CONNECTION_OK ? PQconnectdbParams(keys, values, 1) : NULL;
    enum rc rc = RC_UNAVAILABLE;
    char pa[32] = "", pb[32] = "", pc[32] = "";
    if (PQstatus(a) == CONNECTION_OK && PQstatus(b) == CONNECTION_OK &&
        PQstatus(c) == CONNECTION_OK) {
        /* A transaction of two statements is refused only by a pooler in
         * statement mode (PgBouncer's pool_mode = statement): tarmac's
         * transactions cannot run there at all. */
        bool is_tx = command(a, "BEGIN") && one_value(a, "SELECT pg_backend_pid()", pa, sizeof(pa));
        if (!is_tx) {
            snprintf(why, cap,
                     "a transaction of two statements was refused: a pooler in statement mode "
                     "(PgBouncer's pool_mode = statement) is between tarmac and PostgreSQL");
            rc = RC_INVALID;
        } else if (command(b, "BEGIN") && one_value(b, "SELECT pg_backend_pid()", pb, sizeof(pb)) &&
                   command(a, "COMMIT") && command(c, "BEGIN") &&
                   one_value(c, "SELECT pg_backend_pid()", pc, sizeof(pc))) {
            rc = RC_OK;
            *is_shared = strcmp(pa, pc) == 0;
            if (*is_shared)
                snprintf(why, cap,
                         "two connections ran on one server session (server process %s): a "
                         "pooler in transaction mode (PgBouncer's pool_mode = transaction) is "
                         "between tarmac and PostgreSQL",
                         pa);
        }
    }
    (void)command(b, "COMMIT");
    (void)command(c, "COMMIT");
    PQfinish(a);
    PQfinish(b);
    PQfinish(c);
    return rc; /* RC_UNAVAILABLE, a connection that failed: store_open says why */
}
