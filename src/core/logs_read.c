/* logs_read.c -- GET /api/logs's reads (see logs.h): one instance's log,
 * or with --redis every instance's (core_logs_set_gather), merged here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "core/logs.h"
#include "core/logs_int.h"
#include "store/logs.h"

/* --redis: the other instances' logs (core_logs_set_gather). */
static core_logs_gather_fn *g_gather;
static void *g_gather_ctx;

void core_logs_set_gather(core_logs_gather_fn *fn, void *ctx)
{
    g_gather = fn;
    g_gather_ctx = ctx;
}

/* Asks the other instances (a new reference: a JSON array of their
 * answers, maybe empty); takes request. */
static json_t *gather(json_t *request)
{
    json_t *got = g_gather(g_gather_ctx, request);
    return json_is_array(got) ? got : (json_decref(got), json_array());
}

enum rc core_logs_list(struct str filter, struct str sort, int64_t page, int64_t per_page,
                       bool skip_total, struct buf *out, struct core_problem *p)
{
    int64_t offset = (page - 1) * per_page;
    bool is_gathered = g_gather != NULL;
    if (is_gathered && offset + per_page > CORE_LOGS_GATHER_MAX) {
        core_problem_message(p, "Invalid page: with several instances (--redis) the request log "
                                "is paged through its newest " CORE_LOGS_GATHER_MAX_TEXT
                                " matching entries; narrow the filter.");
        return RC_INVALID;
    }
    struct buf items, order;
    buf_init(&items, 64u << 20);
    buf_init(&order, 4096);
    int64_t total = -1;
    /* Gathered: every instance's first offset + per_page, merged here. */
    enum rc rc =
        core_logs_run_list(filter, sort, is_gathered ? offset + per_page : per_page,
                           is_gathered ? 0 : offset, skip_total, &items, &total, &order, p);
    if (!rc && is_gathered) {
        json_t *answers = gather(json_pack("{s:s, s:s%, s:s%, s:I, s:b}", "op", "list", "filter",
                                           filter.ptr ? filter.ptr : "", filter.len, "sort",
                                           sort.ptr ? sort.ptr : "", sort.len, "limit",
                                           (json_int_t)(offset + per_page), "total", !skip_total));
        struct buf all;
        buf_init(&all, 256u << 20);
        (void)buf_append_cstr(&all, "[");
        (void)buf_append(&all, items.data ? items.data : "", items.len);
        bool is_first = items.len == 0;
        size_t i;
        json_t *a;
        json_array_foreach(answers, i, a)
        {
            const char *text = json_string_value(json_object_get(a, "items"));
            if (text && text[0]) {
                if (!is_first)
                    (void)buf_append_cstr(&all, ",");
                (void)buf_append_cstr(&all, text);
                is_first = false;
            }
            if (total >= 0)
                total += json_integer_value(json_object_get(a, "total"));
        }
        json_decref(answers);
        rc = buf_append_cstr(&all, "]");
        buf_reset(&items);
        int64_t rows = 0;
        char err[160] = "the instances' pages do not fit in memory";
        if (!rc)
            rc = store_logs_merge(buf_str(&all), order.len > 1 ? order.data : NULL, per_page,
                                  offset, &items, &rows, err, sizeof(err));
        if (rc)
            log_warn("msg=\"the instances' request logs were not merged\" err=\"%s\"", err);
        buf_cleanup(&all);
    }
    if (!rc) {
        int64_t pages = total < 0 ? -1 : (total + per_page - 1) / per_page;
        char tail[200];
        snprintf(tail, sizeof(tail),
                 "],\"page\":%lld,\"perPage\":%lld,\"totalItems\":%lld,\"totalPages\":%lld}",
                 (long long)page, (long long)per_page, (long long)total, (long long)pages);
        (void)buf_append_cstr(out, "{\"items\":[");
        (void)buf_append(out, items.data ? items.data : "", items.len);
        rc = buf_append_cstr(out, tail);
    }
    buf_cleanup(&items);
    buf_cleanup(&order);
    return rc;
}

enum rc core_logs_view(struct str id, struct buf *out)
{
    enum rc rc = core_logs_store() ? store_logs_view(core_logs_store(), id, out) : RC_NOT_FOUND;
    if (rc != RC_NOT_FOUND || !g_gather)
        return rc;
    json_t *answers =
        gather(json_pack("{s:s, s:s%}", "op", "view", "id", id.ptr ? id.ptr : "", id.len));
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        const char *item = json_string_value(json_object_get(a, "item"));
        if (item && rc == RC_NOT_FOUND)
            rc = buf_append_cstr(out, item);
    }
    json_decref(answers);
    return rc;
}

/* Adds the [{"total","date"}] of stats into sums (date -> total). */
static void add_stats(json_t *sums, json_t *stats)
{
    size_t i;
    json_t *e;
    json_array_foreach(stats, i, e)
    {
        const char *date = json_string_value(json_object_get(e, "date"));
        if (!date)
            continue;
        json_int_t n = json_integer_value(json_object_get(e, "total"));
        json_object_set_new(sums, date,
                            json_integer(json_integer_value(json_object_get(sums, date)) + n));
    }
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum rc core_logs_stats(struct str filter, struct buf *out, struct core_problem *p)
{
    if (!g_gather)
        return core_logs_local_stats(filter, out, p);
    struct buf mine;
    buf_init(&mine, 16u << 20);
    enum rc rc = core_logs_local_stats(filter, &mine, p);
    if (rc) {
        buf_cleanup(&mine);
        return rc;
    }
    json_t *sums = json_object();
    json_t *own = json_loadb(mine.data ? mine.data : "[]", mine.len, 0, NULL);
    add_stats(sums, own);
    json_decref(own);
    buf_cleanup(&mine);
    json_t *answers = gather(json_pack("{s:s, s:s%}", "op", "stats", "filter",
                                       filter.ptr ? filter.ptr : "", filter.len));
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a) add_stats(sums, json_object_get(a, "stats"));
    json_decref(answers);
    /* Oldest first, as one instance answers. */
    size_t n = json_object_size(sums), k = 0;
    const char **dates = xcalloc(n ? n : 1, sizeof(*dates));
    const char *key;
    json_t *v;
    json_object_foreach(sums, key, v) dates[k++] = key;
    qsort(dates, n, sizeof(*dates), by_text);
    json_t *list = json_array();
    for (k = 0; k < n; k++)
        json_array_append_new(list, json_pack("{s:I, s:s}", "total",
                                              json_integer_value(json_object_get(sums, dates[k])),
                                              "date", dates[k]));
    xfree(dates);
    char *text = json_dumps(list, JSON_COMPACT);
    rc = text ? buf_append_cstr(out, text) : RC_NOMEM;
    xfree(text);
    json_decref(list);
    json_decref(sums);
    return rc;
}

json_t *core_logs_answer(json_t *request)
{
    const char *op = json_string_value(json_object_get(request, "op"));
    const char *filter = json_string_value(json_object_get(request, "filter"));
    struct str f = str_from_cstr(filter ? filter : "");
    struct core_problem p;
    core_problem_init(&p);
    struct buf out;
    buf_init(&out, 256u << 20);
    json_t *answer = json_object();
    if (op && strcmp(op, "list") == 0) {
        const char *sort = json_string_value(json_object_get(request, "sort"));
        json_int_t limit = json_integer_value(json_object_get(request, "limit"));
        bool want_total = json_is_true(json_object_get(request, "total"));
        struct buf order;
        buf_init(&order, 4096);
        int64_t total = -1;
        if (limit > 0 && limit <= CORE_LOGS_GATHER_MAX &&
            core_logs_run_list(f, str_from_cstr(sort ? sort : ""), limit, 0, !want_total, &out,
                               &total, &order, &p) == RC_OK) {
            (void)buf_append(&out, "", 1);
            json_object_set_new(answer, "items", json_string(out.data));
            json_object_set_new(answer, "total", json_integer(total < 0 ? 0 : total));
        }
        buf_cleanup(&order);
    } else if (op && strcmp(op, "view") == 0) {
        const char *id = json_string_value(json_object_get(request, "id"));
        if (id && core_logs_store() &&
            store_logs_view(core_logs_store(), str_from_cstr(id), &out) == RC_OK &&
            buf_append(&out, "", 1) == RC_OK)
            json_object_set_new(answer, "item", json_string(out.data));
    } else if (op && strcmp(op, "stats") == 0) {
        if (core_logs_local_stats(f, &out, &p) == RC_OK)
            json_object_set_new(answer, "stats",
                                json_loadb(out.data ? out.data : "[]", out.len, 0, NULL));
    }
    buf_cleanup(&out);
    core_problem_cleanup(&p);
    return answer;
}
