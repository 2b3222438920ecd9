/* redis_url.c -- store_redis_parse_url and store_redis_target_format (see
 * redis.h): the --redis flag's text, pure over the string. */
#include "store/redis.h"

#include <stdio.h>
#include <string.h>

/* Copies s[0..n) into out (cap bytes) percent-decoded; false when it does not
 * fit, holds a malformed escape or decodes to a NUL. */
static bool decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return false;
            int hi = str_hex_value(s[i + 1]);
            int lo = str_hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (len + 1 >= cap)
            return false;
        out[len++] = ch;
    }
    out[len] = '\0';
    return true;
}

static bool parse_db(const char *s, size_t n, unsigned *db)
{
    uint64_t v;
    if (n == 0 || !str_to_u64((struct str){s, n}, &v) || v > 1000000)
        return false;
    *db = (unsigned)v;
    return true;
}

/* [[user]:password@] at the start of the authority [s, end): fills t and
 * moves *s past it. */
static bool parse_userinfo(const char **s, const char *end, struct store_redis_target *t)
{
    const char *at = NULL;
    for (const char *p = *s; p < end; p++) {
        if (*p == '@')
            at = p; /* the last one: a password may hold an unescaped '@' */
    }
    if (!at)
        return true;
    const char *colon = memchr(*s, ':', (size_t)(at - *s));
    const char *user_end = colon ? colon : at;
    if (!decode(*s, (size_t)(user_end - *s), t->username, sizeof(t->username)))
        return false;
    if (colon && !decode(colon + 1, (size_t)(at - colon - 1), t->password, sizeof(t->password)))
        return false;
    if (!colon || (t->username[0] && !t->password[0]))
        return false; /* AUTH needs a password; a user alone is a mistake */
    *s = at + 1;
    return true;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return RC_INVALID;                                                                         \
    } while (0)

static enum rc parse_tcp(const char *s, struct store_redis_target *t, char *err, size_t errlen)
{
    const char *end = s + strcspn(s, "/?#");
    if (!parse_userinfo(&s, end, t))
        FAIL("--redis: the password (\":password@\" or \"user:password@\") is empty, too long or "
             "has a malformed %%-escape");
    const char *host = s, *host_end, *port = NULL;
    if (*s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close)
            FAIL("--redis: an IPv6 host needs its closing ']'");
        host = s + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':')
                FAIL("--redis: unexpected text after the IPv6 host");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        host_end = colon ? colon : end;
        port = colon ? colon + 1 : NULL;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0)
        FAIL("--redis needs a host: redis://host:6379/0");
    if (hl >= sizeof(t->host))
        FAIL("--redis: the host is too long");
    memcpy(t->host, host, hl);
    t->host[hl] = '\0';
    if (strpbrk(t->host, " @[]"))
        FAIL("--redis: the host \"%s\" is not a host name or address", t->host);
    t->port = 6379;
    if (port) {
        uint64_t p;
        if (!str_to_u64((struct str){port, (size_t)(end - port)}, &p) || p == 0 || p > 65535)
            FAIL("--redis: the port must be a number from 1 to 65535");
        t->port = (int)p;
    }
    if (*end == '/' && end[1] != '\0' && !parse_db(end + 1, strlen(end + 1), &t->db))
        FAIL("--redis: the database after the host must be a number (redis://host:6379/0)");
    if (*end == '?' || *end == '#')
        FAIL("--redis: parameters are not supported after the host (use /db for the database)");
    return RC_OK;
}

static enum rc parse_unix(const char *s, struct store_redis_target *t, char *err, size_t errlen)
{
    const char *path = strchr(s, '/');
    if (!path)
        FAIL("--redis: a socket needs its absolute path: unix:///run/redis/redis.sock");
    const char *auth_end = path;
    if (!parse_userinfo(&s, auth_end, t))
        FAIL("--redis: the password (\":password@\" or \"user:password@\") is empty, too long or "
             "has a malformed %%-escape");
    if (s != auth_end)
        FAIL("--redis: a socket URL names no host: unix:///path");
    size_t pl = strcspn(path, "?");
    if (pl >= sizeof(t->path))
        FAIL("--redis: the socket path is too long");
    memcpy(t->path, path, pl);
    t->path[pl] = '\0';
    const char *q = path + pl;
    if (*q == '?') {
        if (strncmp(q, "?db=", 4) != 0 || !parse_db(q + 4, strlen(q + 4), &t->db))
            FAIL("--redis: the only parameter of a socket URL is ?db=N");
    }
    return RC_OK;
}

enum rc store_redis_parse_url(const char *url, struct store_redis_target *t, char *err,
                              size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (strncmp(url, "redis://", 8) == 0)
        return parse_tcp(url + 8, t, err, errlen);
    if (strncmp(url, "unix://", 7) == 0)
        return parse_unix(url + 7, t, err, errlen);
    if (strncmp(url, "rediss://", 9) == 0)
        FAIL("--redis: TLS (rediss://) is not supported: reach Redis on a private network or a "
             "Unix socket");
    FAIL("--redis must be redis://[:password@]host:port/db or unix:///path/to/redis.sock");
}

void store_redis_target_format(const struct store_redis_target *t, char *out, size_t cap)
{
    if (t->path[0]) {
        snprintf(out, cap, "unix://%s%s?db=%u", t->password[0] ? "***@" : "", t->path, t->db);
        return;
    }
    bool is_v6 = strchr(t->host, ':') != NULL;
    snprintf(out, cap, "redis://%s%s%s%s:%d/%u", t->password[0] ? "***@" : "", is_v6 ? "[" : "",
             t->host, is_v6 ? "]" : "", t->port, t->db);
}
