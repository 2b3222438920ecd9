/* cron.c -- see cron.h. */
#include "base/cron.h"

#include <string.h>
#include <time.h>

/* Parses one number at *p (advancing it); false when none. */
static bool number(const char **p, const char *end, int *out)
{
    int v = 0;
    const char *s = *p;
    while (*p < end && **p >= '0' && **p <= '9' && v < 1000)
        v = v * 10 + (*(*p)++ - '0');
    *out = v;
    return *p > s;
}

/* One field [s, end) with values lo..hi into *bits. */
static bool field(const char *s, const char *end, int lo, int hi, uint64_t *bits, bool *is_any)
{
    *bits = 0;
    *is_any = false;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;
        int a = lo, b = hi, step = 1;
        const char *p = s;
        if (p < item_end && *p == '*') {
            p++;
            if (item_end - s == 1 && !comma && s == end - 1)
                *is_any = true;
        } else {
            if (!number(&p, item_end, &a))
                return false;
            b = a;
            if (p < item_end && *p == '-') {
                p++;
                if (!number(&p, item_end, &b))
                    return false;
            }
        }
        if (p < item_end && *p == '/') {
            p++;
            if (!number(&p, item_end, &step) || step < 1)
                return false;
            if (a == b && s[0] != '*')
                b = hi; /* "5/15": from 5 to the end */
        }
        if (p != item_end || a < lo || b > hi || a > b)
            return false;
        for (int v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << v;
        s = comma ? comma + 1 : end;
        if (comma && s == end)
            return false; /* a trailing comma */
    }
    return *bits != 0;
}

static const struct {
    const char *name;
    const char *expr;
} macros[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
              {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
              {"@hourly", "0 * * * *"}};

bool cron_parse(struct str expr, struct cron *out)
{
    while (expr.len && (expr.ptr[0] == ' ' || expr.ptr[0] == '\t'))
        expr = (struct str){expr.ptr + 1, expr.len - 1};
    while (expr.len && (expr.ptr[expr.len - 1] == ' ' || expr.ptr[expr.len - 1] == '\t'))
        expr.len--;
    for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
        if (strlen(macros[i].name) == expr.len && memcmp(macros[i].name, expr.ptr, expr.len) == 0)
            return cron_parse(str_from_cstr(macros[i].expr), out);
    }
    const char *f[5], *e[5];
    size_t n = 0;
    const char *p = expr.ptr, *end = expr.ptr + expr.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        if (n == 5)
            return false;
        f[n] = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        e[n++] = p;
    }
    if (n != 5)
        return false;
    static const int lo[5] = {0, 0, 1, 1, 0}, hi[5] = {59, 23, 31, 12, 7};
    uint64_t bits[5];
    bool any[5];
    for (size_t i = 0; i < 5; i++) {
        if (!field(f[i], e[i], lo[i], hi[i], &bits[i], &any[i]))
            return false;
    }
    memset(out, 0, sizeof(*out));
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->days = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday */
    out->is_days_any = any[2];
    out->is_weekdays_any = any[4];
    return true;
}

static bool day_matches(const struct cron *c, const struct tm *tm)
{
    bool dom = (c->days >> tm->tm_mday) & 1;
    bool dow = (c->weekdays >> tm->tm_wday) & 1;
    if (c->is_days_any)
        return dow;
    if (c->is_weekdays_any)
        return dom;
    return dom || dow;
}

int64_t cron_next(const struct cron *c, int64_t after_ms)
{
    time_t t = (time_t)(after_ms / 1000);
    t = t - t % 60 + 60; /* the next whole minute */
    time_t limit = t + (time_t)5 * 366 * 24 * 3600;
    while (t < limit) {
        struct tm tm;
        gmtime_r(&t, &tm);
        if (!((c->months >> (tm.tm_mon + 1)) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
            t = timegm(&tm);
            continue;
        }
        if (!day_matches(c, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
            t = timegm(&tm);
            continue;
        }
        if (!((c->hours >> tm.tm_hour) & 1)) {
            tm.tm_hour++;
            tm.tm_min = tm.tm_sec = 0;
            t = timegm(&tm);
            continue;
        }
        if (!((c->minutes >> tm.tm_min) & 1)) {
            t += 60;
            continue;
        }
        return (int64_t)t * 1000;
    }
    return -1;
}
