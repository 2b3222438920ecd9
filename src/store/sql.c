/* sql.c -- see sql.h. */
#include "store/sql.h"

#include <string.h>

void store_sql_begin_as(struct store_sql *q, struct buf *out, enum store_dialect dialect)
{
    q->out = out;
    q->dialect = dialect;
    q->params = 0;
    q->rc = RC_OK;
}

void store_sql_begin(struct store_sql *q, struct buf *out)
{
    store_sql_begin_as(q, out, store_dialect_current());
}

void store_sql_fail(struct store_sql *q, enum rc rc)
{
    if (!q->rc)
        q->rc = rc;
}

void store_sql_addn(struct store_sql *q, struct str text)
{
    if (!q->rc)
        q->rc = buf_append(q->out, text.ptr, text.len);
}

void store_sql_add(struct store_sql *q, const char *text)
{
    store_sql_addn(q, (struct str){text, strlen(text)});
}

void store_sql_ident(struct store_sql *q, struct str name)
{
    if (!q->rc)
        q->rc = store_dialect_ident_as(q->out, q->dialect, name);
}

void store_sql_json_text(struct store_sql *q, struct str name)
{
    if (!q->rc)
        q->rc = store_dialect_json_text_as(q->out, q->dialect, name);
}

void store_sql_ident2(struct store_sql *q, struct str table, struct str column)
{
    store_sql_ident(q, table);
    store_sql_add(q, ".");
    store_sql_ident(q, column);
}

void store_sql_param_at(struct store_sql *q, unsigned n)
{
    if (!q->rc)
        q->rc = store_dialect_param_as(q->out, q->dialect, n);
}

unsigned store_sql_param(struct store_sql *q)
{
    unsigned n = ++q->params;
    store_sql_param_at(q, n);
    return n;
}

unsigned store_sql_param_typed(struct store_sql *q, enum store_column_kind kind)
{
    unsigned n = ++q->params;
    if (!q->rc)
        q->rc = store_dialect_typed_param_as(q->out, q->dialect, n, kind);
    return n;
}

void store_sql_int(struct store_sql *q, int64_t v)
{
    if (q->rc)
        return;
    if (v < 0 && (q->rc = buf_append(q->out, "-", 1)) != RC_OK)
        return;
    q->rc = buf_append_u64(q->out, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
}

void store_sql_json_each_open(struct store_sql *q)
{
    store_sql_add(q, store_dialect_json_each(q->dialect)->open);
}

void store_sql_json_each_close(struct store_sql *q, const char *alias)
{
    const struct store_dialect_json_each *w = store_dialect_json_each(q->dialect);
    store_sql_add(q, w->close);
    store_sql_ident(q, str_from_cstr(alias));
    store_sql_add(q, w->columns);
}

void store_sql_ms_date(struct store_sql *q, struct str column)
{
    if (!q->rc)
        q->rc = store_dialect_ms_date_as(q->out, q->dialect, column);
}

void store_sql_column(struct store_sql *q, struct str name, enum store_column_kind kind)
{
    if (!q->rc)
        q->rc = store_dialect_column_as(q->out, q->dialect, name, kind);
}

enum rc store_sql_end(const struct store_sql *q)
{
    return q->rc;
}
