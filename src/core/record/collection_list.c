/* collection_list.c -- see collection_list.h. */
#include "core/record/collection_list.h"

#include "core/schema/collection_json.h"
#include "store/sql.h"
#include "store/store.h"

/* _collections as the filter compiler sees it: the columns a collections
 * list may filter and sort on. */
static struct core_field meta_fields[] = {
    {.name = "id", .type = CORE_FIELD_TEXT},      {.name = "name", .type = CORE_FIELD_TEXT},
    {.name = "type", .type = CORE_FIELD_TEXT},    {.name = "system", .type = CORE_FIELD_BOOL},
    {.name = "created", .type = CORE_FIELD_DATE}, {.name = "updated", .type = CORE_FIELD_DATE},
};
static struct core_collection meta_collection = {
    .id = "_collections",
    .name = "_collections",
    .fields = meta_fields,
    .field_count = sizeof(meta_fields) / sizeof(meta_fields[0]),
};

static void append_where(struct store_sql *q, const struct core_sql_fragment *where)
{
    if (!where->sql.len)
        return;
    store_sql_add(q, " WHERE ");
    store_sql_addn(q, where->sql);
}

enum rc core_collection_list(struct core_request *r, struct str filter, struct str sort,
                             int64_t page, int64_t per_page, struct jsonw *w, int64_t *total,
                             struct core_problem *p)
{
    struct core_sql_fragment where = {0}, order_params = {0};
    struct str order_by = {"", 0};
    if (filter.len && core_compile_filter(r, &meta_collection, filter, false, 0, &where, p))
        return RC_INVALID;
    if (sort.len) {
        struct core_filter_options fo = {.schema = r->schema,
                                         .collection = &meta_collection,
                                         .alias = "r",
                                         .request = &r->filter_request,
                                         .allow_hidden = true,
                                         .param_base = where.param_count};
        char err[256];
        if (core_sort_compile(&fo, sort, r->arena, &order_by, &order_params, err, sizeof(err))) {
            core_problem_message(p, err);
            return RC_INVALID;
        }
    }
    /* LIMIT and OFFSET follow the filter's and the sort's parameters. */
    unsigned base = (unsigned)(where.param_count + order_params.param_count);
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT \"r\".\"id\" FROM _collections \"r\"");
    append_where(&q, &where);
    store_sql_add(&q, " ORDER BY ");
    if (order_by.len) {
        store_sql_addn(&q, order_by);
        store_sql_add(&q, ", ");
    }
    store_sql_add(&q, "\"r\".\"rowid\" LIMIT ");
    store_sql_param_at(&q, base + 1);
    store_sql_add(&q, " OFFSET ");
    store_sql_param_at(&q, base + 2);
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return RC_INTERNAL;
    rc = core_sql_fragment_bind(st, &where, 0);
    if (!rc)
        rc = core_sql_fragment_bind(st, &order_params, where.param_count);
    if (!rc)
        rc = store_bind_int64(st, (int)base + 1, per_page);
    if (!rc)
        rc = store_bind_int64(st, (int)base + 2, (page - 1) * per_page);
    jsonw_array_begin(w);
    while (!rc && store_step(st) == RC_OK) {
        const struct core_collection *col =
            core_schema_find_exact(r->schema, store_column_text(st, 0));
        if (col)
            core_collection_write_json(w, col, false);
    }
    store_done(st);
    jsonw_array_end(w);
    /* The total, without paging. */
    *total = 0;
    buf_init(&sql, 1 << 20);
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT COUNT(*) FROM _collections \"r\"");
    append_where(&q, &where);
    if (!store_sql_end(&q) && store_prepare(r->cw->db, buf_str(&sql), &st) == RC_OK) {
        if (!core_sql_fragment_bind(st, &where, 0) && store_step(st) == RC_OK)
            *total = store_column_int64(st, 0);
        store_done(st);
    }
    buf_cleanup(&sql);
    return RC_OK;
}
