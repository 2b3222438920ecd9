/* filter_value.c -- helpers of the filter compiler shared by sqlgen.c,
 * filter_path.c and filter_request.c (see filter_int.h): SQL text built in the
 * arena, parameters, shared joins and error messages. */
#include "core/filter/filter_int.h"
#include "store/dialect.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct str core_fc_fmt(struct core_fc *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = arena_alloc(g->a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return (struct str){p, (size_t)n};
}

enum rc core_fc_fail(struct core_fc *g, const char *fmt, ...)
{
    if (!g->err_cap)
        return RC_INVALID;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g->err, g->err_cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < g->err_cap)
        snprintf(g->err + n, g->err_cap - (size_t)n, " at offset %zu", g->offset);
    return RC_INVALID;
}

size_t core_fc_param(struct core_fc *g, struct core_sql_param p)
{
    if (g->param_count == g->param_cap) {
        size_t cap = g->param_cap ? 2 * g->param_cap : 16;
        struct core_sql_param *bigger = arena_alloc(g->a, cap * sizeof(*bigger));
        if (g->param_count)
            memcpy(bigger, g->params, g->param_count * sizeof(*bigger));
        g->params = bigger;
        g->param_cap = cap;
    }
    if (p.type == CORE_SQL_TEXT)
        p.text = arena_strdup(g->a, p.text);
    g->params[g->param_count++] = p;
    return g->param_count;
}

void core_fc_param_val(struct core_fc *g, struct core_sql_param p, struct core_fc_val *out)
{
    memset(out, 0, sizeof(*out));
    out->pidx = core_fc_param(g, p);
    out->sql = core_fc_fmt(g, "?%zu", out->pidx);
    out->is_empty = p.type == CORE_SQL_NULL || (p.type == CORE_SQL_TEXT && p.text.len == 0);
    out->known_nonempty = !out->is_empty;
    out->is_const = true;
}

struct core_sql_param core_fc_json_param(struct core_fc *g, const json_t *v)
{
    struct core_sql_param p = {.type = CORE_SQL_NULL};
    if (!v)
        return p;
    switch (json_typeof(v)) {
    case JSON_STRING:
        p.type = CORE_SQL_TEXT;
        p.text = (struct str){json_string_value(v), json_string_length(v)};
        break;
    case JSON_INTEGER:
        p.type = CORE_SQL_INT;
        p.i = json_integer_value(v);
        break;
    case JSON_REAL:
        p.type = CORE_SQL_DOUBLE;
        p.d = json_real_value(v);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        p.type = CORE_SQL_INT;
        p.i = json_is_true(v);
        break;
    case JSON_OBJECT:
    case JSON_ARRAY: {
        /* Compact, as stored multi-valued fields are (spec §3.7). json_dumpb
         * writes into arena memory, so there is nothing to release afterwards. */
        size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
        size_t n = json_dumpb(v, NULL, 0, flags);
        char *buf = arena_alloc(g->a, n + 1);
        n = json_dumpb(v, buf, n, flags);
        buf[n] = '\0';
        p.type = CORE_SQL_TEXT;
        p.text = (struct str){buf, n};
        break;
    }
    default: break;
    }
    return p;
}

void core_fc_literal(const char *sql, struct core_fc_val *out)
{
    memset(out, 0, sizeof(*out));
    out->sql = str_from_cstr(sql);
    out->is_empty = strcmp(sql, "NULL") == 0;
    out->known_nonempty = !out->is_empty;
    out->is_const = true;
}

struct str core_fc_quote(struct core_fc *g, const char *name)
{
    size_t n = strlen(name), quotes = 0;
    for (size_t i = 0; i < n; i++)
        quotes += name[i] == '"';
    char *p = arena_alloc(g->a, n + quotes + 3);
    size_t k = 0;
    p[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        p[k++] = name[i];
        if (name[i] == '"')
            p[k++] = '"';
    }
    p[k++] = '"';
    p[k] = '\0';
    return (struct str){p, k};
}

struct str core_fc_alias(struct core_fc *g, const char *prefix)
{
    return core_fc_fmt(g, "%s%u", prefix, ++g->next_alias);
}

const struct core_fc_join *core_fc_find_join(const struct core_fc *g, struct str key)
{
    for (size_t i = 0; i < g->join_count; i++) {
        if (str_eq(g->joins[i].key, key))
            return &g->joins[i];
    }
    return NULL;
}

enum rc core_fc_add_join(struct core_fc *g, struct str key, struct str alias, struct str sql,
                         size_t tables)
{
    if (g->table_count + tables > CORE_FILTER_MAX_JOINS)
        return core_fc_fail(g, "filter needs more than %d joined tables", CORE_FILTER_MAX_JOINS);
    g->table_count += tables;
    if (g->join_count == g->join_cap) {
        size_t cap = g->join_cap ? 2 * g->join_cap : 8;
        struct core_fc_join *bigger = arena_alloc(g->a, cap * sizeof(*bigger));
        if (g->join_count)
            memcpy(bigger, g->joins, g->join_count * sizeof(*bigger));
        g->joins = bigger;
        g->join_cap = cap;
    }
    g->joins[g->join_count++] = (struct core_fc_join){arena_strdup(g->a, key), alias, sql};
    return RC_OK;
}

/* The text a dialect writer left in b (rc its result), in the arena; b is
 * emptied. The buffers have no maximum: only RC_NOMEM can fail them, and
 * that aborts as arena_alloc does. */
static struct str dialect_text(struct core_fc *g, struct buf *b, enum rc rc)
{
    if (rc)
        abort();
    struct str s = arena_strdup(g->a, buf_str(b));
    buf_cleanup(b);
    return s;
}

size_t core_fc_json_path(struct core_fc *g, const struct str *keys, size_t n)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    enum rc rc = store_dialect_json_path_as(&b, store_dialect_current(), keys, n);
    struct str path = dialect_text(g, &b, rc);
    return core_fc_param(g, (struct core_sql_param){.type = CORE_SQL_TEXT, .text = path});
}

struct str core_fc_json_value(struct core_fc *g, struct str json, size_t path)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    enum rc rc = store_dialect_json_value_as(&b, store_dialect_current(), json,
                                             core_fc_fmt(g, "?%zu", path));
    return dialect_text(g, &b, rc);
}

struct str core_fc_json_unwrap(struct core_fc *g, struct str value, enum store_json_as as)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    enum rc rc = store_dialect_json_unwrap_as(&b, store_dialect_current(), value, as);
    return dialect_text(g, &b, rc);
}

struct str core_fc_json_operand(struct core_fc *g, const struct core_fc_val *v)
{
    if (v->is_json)
        return v->sql;
    enum store_json_operand kind = STORE_JSON_OPERAND_ANY;
    if (v->pidx) {
        static const enum store_json_operand by_param[] = {
            [CORE_SQL_NULL] = STORE_JSON_OPERAND_NULL,
            [CORE_SQL_INT] = STORE_JSON_OPERAND_INT,
            [CORE_SQL_DOUBLE] = STORE_JSON_OPERAND_REAL,
            [CORE_SQL_TEXT] = STORE_JSON_OPERAND_TEXT,
        };
        kind = v->lowered ? STORE_JSON_OPERAND_TEXT : by_param[g->params[v->pidx - 1].type];
    } else if (v->is_const) {
        /* the literals: 1, 0 (true, false) and NULL */
        kind = v->is_empty ? STORE_JSON_OPERAND_NULL : STORE_JSON_OPERAND_INT;
    }
    struct buf b;
    buf_init(&b, SIZE_MAX);
    enum rc rc = store_dialect_json_operand_as(&b, store_dialect_current(), v->sql, kind);
    return dialect_text(g, &b, rc);
}

bool core_fc_is_pg(void)
{
    return store_dialect_current() == STORE_DIALECT_POSTGRES;
}

struct str core_fc_json_norm(struct core_fc *g, struct str v)
{
    if (core_fc_is_pg()) {
        /* The same cases on PostgreSQL, as json: tarmac_json_valid is made
         * with the database (store/pg.c); a valid non-array value goes in an
         * array as text, as SQLite's json_array does with column text. */
        struct str t = core_fc_fmt(g, "(%.*s)::text", FC_S(v));
        return core_fc_fmt(g,
                           "(CASE WHEN tarmac_json_valid(%.*s) THEN (CASE WHEN "
                           "json_typeof((%.*s)::json) = 'array' THEN (%.*s)::json ELSE "
                           "json_build_array(%.*s) END) WHEN %.*s IS NULL OR %.*s = '' THEN "
                           "'[]'::json ELSE json_build_array(%.*s) END)",
                           FC_S(t), FC_S(t), FC_S(t), FC_S(t), FC_S(t), FC_S(t), FC_S(t));
    }
    /* CASE, not AND: json_type() raises an error on text that is not JSON, and
     * only CASE guarantees it is not evaluated then. */
    return core_fc_fmt(g,
                       "(CASE WHEN json_valid(%.*s) THEN (CASE WHEN json_type(%.*s) = 'array' "
                       "THEN %.*s ELSE json_array(%.*s) END) WHEN %.*s IS NULL OR %.*s = '' "
                       "THEN '[]' ELSE json_array(%.*s) END)",
                       FC_S(v), FC_S(v), FC_S(v), FC_S(v), FC_S(v), FC_S(v), FC_S(v));
}

struct str core_fc_json_each(struct core_fc *g, struct str arr, struct str alias)
{
    const struct store_dialect_json_each *w = store_dialect_json_each(store_dialect_current());
    return core_fc_fmt(g, "%s%.*s%s%.*s%s", w->open, FC_S(arr), w->close, FC_S(alias), w->columns);
}