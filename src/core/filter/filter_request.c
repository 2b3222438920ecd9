/* filter_request.c -- @request.* identifiers and the datetime macros of the
 * filter language (spec §3.4, §3.8); see filter_int.h. Everything here is a
 * value known at compile time, so it becomes a bound parameter: the request
 * never reaches the SQL text, and a guest's @request.auth.* is NULL. */
#include "core/filter/filter_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void text_param(struct core_fc *g, const char *s, struct str mods, struct core_fc_val *out)
{
    struct core_sql_param p = {.type = CORE_SQL_NULL};
    if (s)
        p = (struct core_sql_param){.type = CORE_SQL_TEXT, .text = str_from_cstr(s)};
    core_fc_param_val(g, p, out);
    if (str_eq(mods, STR_LIT("lower"))) {
        out->sql = core_fc_fmt(g, "LOWER(%.*s)", FC_S(out->sql));
        out->lowered = true;
    }
}

enum rc core_fc_resolve_request(struct core_fc *g, struct str ident, struct core_fc_val *out)
{
    struct core_fc_segs s;
    enum rc rc = core_fc_split(g, ident, &s);
    if (rc)
        return rc;
    const struct core_filter_request *r = g->req;
    if (s.count < 2 || s.mod[0].len)
        return core_fc_fail(g, "incomplete identifier \"%.*s\"", FC_S(ident));
    struct str what = s.seg[1];
    bool is_method = str_eq(what, STR_LIT("method"));
    if (is_method || str_eq(what, STR_LIT("context"))) {
        if (s.count != 2 || (s.mod[1].len && !str_eq(s.mod[1], STR_LIT("lower"))))
            return core_fc_fail(g, "invalid identifier \"%.*s\"", FC_S(ident));
        text_param(g, is_method ? r->method : r->context, s.mod[1], out);
        return RC_OK;
    }
    if (s.mod[1].len)
        return core_fc_fail(g, "modifier on a middle segment \"%.*s\"", FC_S(what));
    if (s.count < 3)
        return core_fc_fail(g, "incomplete identifier \"%.*s\"", FC_S(ident));
    if (str_eq(what, STR_LIT("auth")))
        return core_fc_resolve_from_record(g, r->auth ? r->auth_collection : NULL, r->auth,
                                           CORE_FC_REC_AUTH, "@request.auth", &s, 2, out);
    if (str_eq(what, STR_LIT("body")))
        return core_fc_resolve_from_record(g, g->o->collection, r->body, CORE_FC_REC_BODY,
                                           "@request.body", &s, 2, out);
    if (str_eq(what, STR_LIT("query")))
        return core_fc_resolve_from_record(g, NULL, r->query, CORE_FC_REC_OTHER, "@request.query",
                                           &s, 2, out);
    if (str_eq(what, STR_LIT("headers")))
        return core_fc_resolve_from_record(g, NULL, r->headers, CORE_FC_REC_OTHER,
                                           "@request.headers", &s, 2, out);
    /* @request.data.* is the pre-v0.23 name of .body: gone (spec §3.4). */
    return core_fc_fail(g, "unknown identifier \"%.*s\"", FC_S(ident));
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* A broken-down UTC time with milliseconds. */
struct utc {
    int year, month, day, hour, minute, second, ms, weekday;
};

static struct utc utc_at(int64_t ms)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    return (struct utc){
        tm.tm_year + 1900, tm.tm_mon + 1,           tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec,         (int)(ms - secs * 1000), tm.tm_wday};
}

static void date_param(struct core_fc *g, struct utc u, struct core_fc_val *out)
{
    char buf[40];
    int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%03dZ", u.year, u.month,
                     u.day, u.hour, u.minute, u.second, u.ms);
    core_fc_param_val(g, (struct core_sql_param){.type = CORE_SQL_TEXT, .text = {buf, (size_t)n}},
                      out);
}

static void int_param(struct core_fc *g, int v, struct core_fc_val *out)
{
    core_fc_param_val(g, (struct core_sql_param){.type = CORE_SQL_INT, .i = v}, out);
}

enum rc core_fc_resolve_macro(struct core_fc *g, struct str ident, struct core_fc_val *out)
{
    const int64_t day_ms = 86400000;
    struct utc now = utc_at(g->now_ms);
    struct utc start = now, end = now;
    start.hour = start.minute = start.second = start.ms = 0;
    end.hour = 23;
    end.minute = end.second = 59;
    end.ms = 999;
    if (str_eq(ident, STR_LIT("@now"))) {
        date_param(g, now, out);
    } else if (str_eq(ident, STR_LIT("@yesterday"))) {
        date_param(g, utc_at(g->now_ms - day_ms), out);
    } else if (str_eq(ident, STR_LIT("@tomorrow"))) {
        date_param(g, utc_at(g->now_ms + day_ms), out);
    } else if (str_eq(ident, STR_LIT("@todayStart"))) {
        date_param(g, start, out);
    } else if (str_eq(ident, STR_LIT("@todayEnd"))) {
        date_param(g, end, out);
    } else if (str_eq(ident, STR_LIT("@monthStart"))) {
        start.day = 1;
        date_param(g, start, out);
    } else if (str_eq(ident, STR_LIT("@monthEnd"))) {
        end.day = days_in_month(end.year, end.month);
        date_param(g, end, out);
    } else if (str_eq(ident, STR_LIT("@yearStart"))) {
        start.day = start.month = 1;
        date_param(g, start, out);
    } else if (str_eq(ident, STR_LIT("@yearEnd"))) {
        end.month = 12;
        end.day = 31;
        date_param(g, end, out);
    } else if (str_eq(ident, STR_LIT("@second"))) {
        int_param(g, now.second, out);
    } else if (str_eq(ident, STR_LIT("@minute"))) {
        int_param(g, now.minute, out);
    } else if (str_eq(ident, STR_LIT("@hour"))) {
        int_param(g, now.hour, out);
    } else if (str_eq(ident, STR_LIT("@day"))) {
        int_param(g, now.day, out);
    } else if (str_eq(ident, STR_LIT("@month"))) {
        int_param(g, now.month, out);
    } else if (str_eq(ident, STR_LIT("@weekday"))) {
        int_param(g, now.weekday, out);
    } else if (str_eq(ident, STR_LIT("@year"))) {
        int_param(g, now.year, out);
    } else {
        return RC_NOT_FOUND;
    }
    return RC_OK;
}

json_t *core_request_strings(json_t *o, bool header_keys)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        char key[256];
        size_t n = strlen(k);
        if (n >= sizeof(key))
            continue;
        for (size_t i = 0; i <= n; i++)
            key[i] = header_keys ? (k[i] == '-' ? '_' : ascii_lower(k[i])) : k[i];
        if (json_is_string(v)) {
            json_object_set(out, key, v);
        } else {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            json_object_set_new(out, key, json_string(text ? text : ""));
            xfree(text);
        }
    }
    return out;
}
