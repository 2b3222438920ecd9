/* logs.c -- see logs.h.
 *
 * The filter of GET /api/logs is tarmac's filter language (core_filter_parse)
 * over PocketBase's log fields (apis/logs.go: id, created, level, message,
 * data, data.<path>), compiled here to SQLite SQL rather than by sqlgen.h:
 * the log table is not a collection and is always SQLite, while sqlgen
 * speaks the main engine's dialect. Every value is a parameter; a field is
 * one of the names above, and a data path's segments are checked to be
 * \w+ before they are written into a JSON path. Anything else (functions,
 * macros, @request, @collection) is refused with a 400 naming it. */
#include "core/logs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/log.h"
#include "core/filter/filter_parse.h"
#include "core/logs_int.h"
#include "store/logs.h"

static struct store_logs *g_logs; /* set before the workers start, cleared after */
static _Atomic int g_max_days;
static _Atomic int g_min_level;
static _Atomic bool g_log_ip;
static _Atomic bool g_log_auth_id;

void core_logs_config_defaults(struct core_logs_config *c)
{
    *c = (struct core_logs_config){.max_days = 5, .min_level = 0, .log_ip = true};
}

enum rc core_logs_open(const char *dir, const struct core_logs_config *cfg, int64_t day_ms)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/auxiliary.db", dir);
    core_logs_configure(cfg);
    return store_logs_open(path, cfg->max_days, day_ms, &g_logs);
}

void core_logs_close(void)
{
    store_logs_close(g_logs);
    g_logs = NULL;
}

void core_logs_configure(const struct core_logs_config *cfg)
{
    int old = atomic_exchange(&g_max_days, cfg->max_days);
    atomic_store(&g_min_level, cfg->min_level);
    atomic_store(&g_log_ip, cfg->log_ip);
    atomic_store(&g_log_auth_id, cfg->log_auth_id);
    if (g_logs && cfg->max_days != old)
        store_logs_set_max_days(g_logs, cfg->max_days);
}

void core_logs_settings(struct core_logs_config *out)
{
    *out = (struct core_logs_config){
        .max_days = atomic_load(&g_max_days),
        .min_level = atomic_load(&g_min_level),
        .log_ip = atomic_load(&g_log_ip),
        .log_auth_id = atomic_load(&g_log_auth_id),
    };
}

uint64_t core_logs_dropped(void)
{
    return g_logs ? store_logs_dropped(g_logs) : 0;
}

void core_logs_sync(void)
{
    if (g_logs)
        store_logs_sync(g_logs);
}

bool core_logs_is_on(void)
{
    return g_logs && atomic_load_explicit(&g_max_days, memory_order_relaxed) > 0;
}

/* -------------------------------------------------------------------------
 * Recording
 * ------------------------------------------------------------------------- */

static void copy_cstr(char *dst, size_t cap, struct str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

/* Appends s to the slot's text area, cut at max bytes (and at what is left);
 * returns the bytes written. A cut text ends in "...", as PocketBase's cutStr. */
static uint16_t put_text(struct store_log_entry *e, size_t *used, struct str s, size_t max)
{
    size_t room = STORE_LOGS_TEXT_MAX - *used;
    if (max > room)
        max = room;
    size_t n = s.len;
    bool is_cut = n > max;
    if (is_cut)
        n = max >= 3 ? max - 3 : 0;
    if (n)
        memcpy(e->text + *used, s.ptr, n);
    if (is_cut && max >= 3) {
        memcpy(e->text + *used + n, "...", 3);
        n += 3;
    }
    *used += n;
    return (uint16_t)n;
}

struct fill_ctx {
    const struct core_log_request *r;
    int level;
    bool log_ip, log_auth_id;
};

static void fill_entry(struct store_log_entry *e, void *arg)
{
    const struct fill_ctx *f = arg;
    const struct core_log_request *r = f->r;
    e->created_ms = r->created_ms;
    e->exec_ms = r->exec_ms;
    e->level = f->level;
    e->status = r->status;
    copy_cstr(e->method, sizeof(e->method), r->method);
    copy_cstr(e->auth, sizeof(e->auth), r->auth);
    e->has_ip = f->log_ip;
    if (f->log_ip) {
        copy_cstr(e->remote_ip, sizeof(e->remote_ip), r->remote_ip);
        copy_cstr(e->user_ip, sizeof(e->user_ip), r->user_ip);
    }
    e->has_auth_id = f->log_auth_id && r->auth.len;
    if (e->has_auth_id)
        copy_cstr(e->auth_id, sizeof(e->auth_id), r->auth_id);
    size_t used = 0;
    e->url_len = put_text(e, &used, r->url, 1024);
    e->referer_len = put_text(e, &used, r->referer, 256);
    e->user_agent_len = put_text(e, &used, r->user_agent, 160);
    e->error_len = put_text(e, &used, r->error, 256);
    /* JSON text is never cut: it fits whole (core_logs_details bounds it) or
     * is left out. */
    if (r->details.len && r->details.len <= STORE_LOGS_DETAILS_MAX &&
        r->details.len <= STORE_LOGS_TEXT_MAX - used) {
        memcpy(e->text + used, r->details.ptr, r->details.len);
        e->details_len = (uint16_t)r->details.len;
        used += r->details.len;
    } else {
        e->details_len = 0;
    }
}

_Static_assert(CORE_LOGS_DETAILS_MAX == STORE_LOGS_DETAILS_MAX, "the entry's room for details");

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t core_logs_details(json_t *data, char *out, size_t cap)
{
    size_t n = json_is_object(data) ? json_object_size(data) : 0;
    if (!n || cap < 2)
        return 0;
    const char **keys = xmalloc(n * sizeof(*keys));
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(data, key, v)
    {
        if (k < n)
            keys[k++] = key;
    }
    qsort(keys, k, sizeof(*keys), cmp_key);
    /* The keys in order while the whole still fits: a shorter object, never
     * a cut text. */
    const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
    json_t *kept = json_object();
    for (size_t i = 0; i < k; i++) {
        if (json_object_set(kept, keys[i], json_object_get(data, keys[i])) != 0)
            break;
        size_t need = json_dumpb(kept, NULL, 0, flags);
        if (!need || need > cap) {
            json_object_del(kept, keys[i]);
            break;
        }
    }
    size_t len = json_object_size(kept) ? json_dumpb(kept, out, cap, flags) : 0;
    json_decref(kept);
    xfree(keys);
    return len <= cap ? len : 0;
}

void core_logs_record(const struct core_log_request *r)
{
    if (!core_logs_is_on())
        return;
    struct fill_ctx f = {
        .r = r,
        .level = r->status >= 400 ? 8 : 0,
        .log_ip = atomic_load_explicit(&g_log_ip, memory_order_relaxed),
        .log_auth_id = atomic_load_explicit(&g_log_auth_id, memory_order_relaxed),
    };
    if (f.level < atomic_load_explicit(&g_min_level, memory_order_relaxed))
        return;
    (void)store_logs_push(g_logs, fill_entry, &f);
}

/* -------------------------------------------------------------------------
 * Filter and sort over the log's fields
 * ------------------------------------------------------------------------- */

#define MAX_PARAMS 256

struct compiler {
    struct arena *a;
    struct buf *sql;
    struct store_logs_param params[MAX_PARAMS];
    size_t param_count;
    char *err;
    size_t err_cap;
};

static bool str_is(struct str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* A field's SQL: a column, or json_extract over a checked data path. false
 * (err names it) for anything else. */
static bool put_field(struct compiler *g, struct str name, bool allow_rowid)
{
    static const char *const columns[] = {"id", "created", "level", "message", "data"};
    for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
        if (str_is(name, columns[i])) {
            (void)buf_append_cstr(g->sql, columns[i]);
            return true;
        }
    }
    if (allow_rowid && str_is(name, "@rowid")) {
        (void)buf_append_cstr(g->sql, "rowid");
        return true;
    }
    if (allow_rowid && str_is(name, "@random")) {
        (void)buf_append_cstr(g->sql, "random()");
        return true;
    }
    if (name.len > 5 && memcmp(name.ptr, "data.", 5) == 0) {
        struct str path = {name.ptr + 5, name.len - 5};
        bool is_ok = path.ptr[path.len - 1] != '.';
        for (size_t i = 0; i < path.len && is_ok; i++) {
            char c = path.ptr[i];
            bool is_word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_';
            is_ok = is_word || (c == '.' && i > 0 && path.ptr[i - 1] != '.');
        }
        if (is_ok) {
            (void)buf_append_cstr(g->sql, "json_extract(data, '$.\"");
            for (size_t i = 0; i < path.len; i++) {
                if (path.ptr[i] == '.')
                    (void)buf_append_cstr(g->sql, "\".\"");
                else
                    (void)buf_append(g->sql, &path.ptr[i], 1);
            }
            (void)buf_append_cstr(g->sql, "\"')");
            return true;
        }
    }
    snprintf(g->err, g->err_cap, "unknown field \"%.*s\"", (int)(name.len > 64 ? 64 : name.len),
             name.ptr);
    return false;
}

static bool put_param(struct compiler *g, struct store_logs_param p)
{
    if (g->param_count == MAX_PARAMS) {
        snprintf(g->err, g->err_cap, "the filter has too many values");
        return false;
    }
    g->params[g->param_count++] = p;
    char n[16];
    snprintf(n, sizeof(n), "?%zu", g->param_count);
    (void)buf_append_cstr(g->sql, n);
    return true;
}

/* is_like_value: a text on the right of ~ / !~ gets %...% when it has no %
 * of its own (PocketBase's rule). */
static bool put_operand(struct compiler *g, const struct core_foperand *o, bool is_like_value)
{
    switch (o->kind) {
    case CORE_FOPD_TEXT: {
        struct str t = o->text;
        if (is_like_value && !memchr(t.ptr ? t.ptr : "", '%', t.len)) {
            char *p = arena_alloc(g->a, t.len + 3);
            p[0] = '%';
            if (t.len)
                memcpy(p + 1, t.ptr, t.len);
            p[t.len + 1] = '%';
            p[t.len + 2] = '\0';
            t = (struct str){p, t.len + 2};
        }
        return put_param(g, (struct store_logs_param){.type = STORE_LOGS_TEXT, .text = t});
    }
    case CORE_FOPD_NUMBER: {
        char tmp[64];
        size_t n = o->text.len < sizeof(tmp) - 1 ? o->text.len : sizeof(tmp) - 1;
        memcpy(tmp, o->text.ptr, n);
        tmp[n] = '\0';
        return put_param(
            g, (struct store_logs_param){.type = STORE_LOGS_DOUBLE, .d = strtod(tmp, NULL)});
    }
    case CORE_FOPD_IDENT:
        if (str_is(o->text, "null")) {
            (void)buf_append_cstr(g->sql, "NULL");
            return true;
        }
        if (str_is(o->text, "true") || str_is(o->text, "false")) {
            (void)buf_append_cstr(g->sql, str_is(o->text, "true") ? "1" : "0");
            return true;
        }
        return put_field(g, o->text, false);
    case CORE_FOPD_FUNC: break;
    }
    snprintf(g->err, g->err_cap, "unsupported function \"%.*s\" in a logs filter",
             (int)(o->text.len > 64 ? 64 : o->text.len), o->text.ptr);
    return false;
}

static bool put_node(struct compiler *g, const struct core_fnode *n)
{
    if (n->kind != CORE_FNODE_CMP) {
        (void)buf_append_cstr(g->sql, "(");
        for (size_t i = 0; i < n->count; i++) {
            if (i)
                (void)buf_append_cstr(g->sql, n->kind == CORE_FNODE_AND ? " AND " : " OR ");
            if (!put_node(g, n->items[i]))
                return false;
        }
        (void)buf_append_cstr(g->sql, ")");
        return true;
    }
    enum core_fop op = core_fop_base(n->op);
    bool is_like = op == CORE_FOP_LIKE || op == CORE_FOP_NLIKE;
    static const char *const signs[] = {
        [CORE_FOP_EQ] = " IS ",          [CORE_FOP_NEQ] = " IS NOT ", [CORE_FOP_LIKE] = " LIKE ",
        [CORE_FOP_NLIKE] = " NOT LIKE ", [CORE_FOP_LT] = " < ",       [CORE_FOP_LTE] = " <= ",
        [CORE_FOP_GT] = " > ",           [CORE_FOP_GTE] = " >= ",
    };
    (void)buf_append_cstr(g->sql, "(");
    if (!put_operand(g, &n->left, false))
        return false;
    (void)buf_append_cstr(g->sql, signs[op]);
    if (!put_operand(g, &n->right, is_like))
        return false;
    if (is_like)
        (void)buf_append_cstr(g->sql, " ESCAPE '\\'");
    (void)buf_append_cstr(g->sql, ")");
    return true;
}

/* Compiles filter into g->sql (a NUL-terminated expression, or nothing for
 * an empty filter). false with g->err set. */
static bool compile_filter(struct compiler *g, struct str filter)
{
    if (!filter.len)
        return true;
    struct core_fnode *root;
    if (core_filter_parse(filter, g->a, &root, g->err, g->err_cap) != RC_OK)
        return false;
    return put_node(g, root);
}

static bool compile_sort(struct compiler *g, struct str sort)
{
    size_t i = 0, terms = 0;
    bool last_desc = false;
    while (i <= sort.len) {
        size_t j = i;
        while (j < sort.len && sort.ptr[j] != ',')
            j++;
        struct str t = {sort.ptr + i, j - i};
        while (t.len && (t.ptr[0] == ' '))
            t.ptr++, t.len--;
        while (t.len && t.ptr[t.len - 1] == ' ')
            t.len--;
        bool is_desc = t.len && t.ptr[0] == '-';
        if (t.len && (t.ptr[0] == '-' || t.ptr[0] == '+'))
            t.ptr++, t.len--;
        if (!t.len || ++terms > 8) {
            snprintf(g->err, g->err_cap, terms > 8 ? "too many sort terms" : "empty sort term");
            return false;
        }
        if (terms > 1)
            (void)buf_append_cstr(g->sql, ", ");
        if (!put_field(g, t, true))
            return false;
        (void)buf_append_cstr(g->sql, is_desc ? " DESC" : " ASC");
        last_desc = is_desc;
        i = j + 1;
    }
    /* Ties (entries of one millisecond) in the id's order, the last term's
     * way: pages neither repeat nor skip an entry, and a sort reversed lists
     * the entries exactly reversed. */
    (void)buf_append_cstr(g->sql, last_desc ? ", id DESC" : ", id ASC");
    return true;
}

static void compiler_init(struct compiler *g, struct arena *a, struct buf *sql, char *err,
                          size_t cap)
{
    memset(g, 0, sizeof(*g));
    g->a = a;
    g->sql = sql;
    g->err = err;
    g->err_cap = cap;
    err[0] = '\0';
}

/* -------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

static enum rc refuse(struct core_problem *p, const char *what, const char *why)
{
    char m[400];
    snprintf(m, sizeof(m), "%s: %s", what, why);
    core_problem_message(p, m);
    return RC_INVALID;
}

enum rc core_logs_run_list(struct str filter, struct str sort, int64_t limit, int64_t offset,
                           bool skip_total, struct buf *items, int64_t *total, struct buf *order,
                           struct core_problem *p)
{
    if (!g_logs)
        return RC_UNAVAILABLE;
    struct arena a;
    arena_init(&a, 4096);
    struct buf where;
    buf_init(&where, 1u << 20);
    char err[160];
    enum rc rc = RC_OK;
    struct compiler *g = xmalloc(sizeof(*g));
    compiler_init(g, &a, &where, err, sizeof(err));
    if (!compile_filter(g, filter)) {
        rc = refuse(p, "Invalid filter", err);
    } else {
        struct compiler *gs = xmalloc(sizeof(*gs));
        compiler_init(gs, &a, order, err, sizeof(err));
        if (sort.len && !compile_sort(gs, sort))
            rc = refuse(p, "Invalid sort", err);
        xfree(gs);
    }
    *total = -1;
    if (!rc) {
        (void)buf_append(&where, "", 1);
        (void)buf_append(order, "", 1);
        struct store_logs_query q = {
            .where = where.len > 1 ? where.data : NULL,
            .params = g->params,
            .param_count = g->param_count,
            .order_by = order->len > 1 ? order->data : NULL,
            .limit = limit,
            .offset = offset,
            .want_total = !skip_total,
        };
        int64_t rows = 0;
        char serr[160];
        rc = store_logs_list(g_logs, &q, items, skip_total ? NULL : total, &rows, serr,
                             sizeof(serr));
        if (rc == RC_INVALID)
            refuse(p, "Invalid filter", serr);
    }
    xfree(g);
    buf_cleanup(&where);
    arena_cleanup(&a);
    return rc;
}

enum rc core_logs_local_stats(struct str filter, struct buf *out, struct core_problem *p)
{
    if (!g_logs)
        return RC_UNAVAILABLE;
    struct arena a;
    arena_init(&a, 4096);
    struct buf where;
    buf_init(&where, 1u << 20);
    char err[160];
    enum rc rc = RC_OK;
    struct compiler *g = xmalloc(sizeof(*g));
    compiler_init(g, &a, &where, err, sizeof(err));
    if (!compile_filter(g, filter)) {
        rc = refuse(p, "Invalid filter format", err);
    } else {
        (void)buf_append(&where, "", 1);
        struct store_logs_query q = {
            .where = where.len > 1 ? where.data : NULL,
            .params = g->params,
            .param_count = g->param_count,
        };
        char serr[160];
        rc = store_logs_stats(g_logs, &q, out, serr, sizeof(serr));
        if (rc == RC_INVALID)
            refuse(p, "Failed to generate logs stats", serr);
    }
    xfree(g);
    buf_cleanup(&where);
    arena_cleanup(&a);
    return rc;
}

struct store_logs *core_logs_store(void)
{
    return g_logs;
}
