/* collection_list.c -- see collection_list.h. */
#include "core/record/collection_list.h"

#include "core/schema/collection_json.h"
#include "store/dialect.h"

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

static enum rc append_where(struct buf *sql, const struct core_sql_fragment *where)
{
    if (!where->sql.len)
        return RC_OK;
    enum rc rc = buf_append_cstr(sql, " WHERE ");
    return rc ? rc : buf_append_str(sql, where->sql);
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
    unsigned base = (unsigned)(where.param_count + order_params.param_count);
    struct buf sql;
    buf_init(&sql, 1 << 20);
    enum rc rc = buf_append_cstr(&sql, "SELECT \"r\".\"id\" FROM _collections \"r\"");
    if (!rc)
        rc = append_where(&sql, &where);
    if (!rc)
        rc = buf_append_cstr(&sql, " ORDER BY ");
    if (!rc && order_by.len) {
        rc = buf_append_str(&sql, order_by);
        if (!rc)
            rc = buf_append_cstr(&sql, ", ");
    }
    if (!rc)
        rc = buf_append_cstr(&sql, "\"r\".\"rowid\" LIMIT ");
    if (!rc)
        rc = store_dialect_param(&sql, base + 1);
    if (!rc)
        rc = buf_append_cstr(&sql, " OFFSET ");
    if (!rc)
        rc = store_dialect_param(&sql, base + 2);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = store_prepare_raw(r->cw->db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (rc)
        return RC_INTERNAL;
    core_bind_params(st, &where, 0);
    core_bind_params(st, &order_params, where.param_count);
    sqlite3_bind_int64(st, (int)base + 1, per_page);
    sqlite3_bind_int64(st, (int)base + 2, (page - 1) * per_page);
    jsonw_array_begin(w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const struct core_collection *col =
            core_schema_find_exact(r->schema, str_from_cstr(id ? id : ""));
        if (col)
            core_collection_write_json(w, col, false);
    }
    store_done_raw(st);
    jsonw_array_end(w);
    /* The total, without paging. */
    *total = 0;
    buf_init(&sql, 1 << 20);
    rc = buf_append_cstr(&sql, "SELECT COUNT(*) FROM _collections \"r\"");
    if (!rc)
        rc = append_where(&sql, &where);
    if (!rc && store_prepare_raw(r->cw->db, buf_str(&sql), &st) == RC_OK) {
        core_bind_params(st, &where, 0);
        if (sqlite3_step(st) == SQLITE_ROW)
            *total = sqlite3_column_int64(st, 0);
        store_done_raw(st);
    }
    buf_cleanup(&sql);
    return RC_OK;
}
