/* record_event.c -- a record from its values, for realtime events (see record.h).
 *
 * The rule and filter compilers address the record's table as "r". Here "r"
 * is a one-row derived table made of the event's values, so the same
 * compiled SQL checks a record that is being deleted (or has changed since)
 * exactly as the REST API would check the stored row: relation paths and
 * back-relations still join the other tables from it. */
#include "core/record/record.h"

#include <string.h>

#include "base/jsonw.h"
#include "core/record/record_expand.h"
#include "core/record/record_out.h"
#include "store/dialect.h"

/* SELECT "r"."f1", ... FROM (SELECT ?1 AS "f1", ?2 AS "f2", ...) "r" */
static enum rc values_head(const struct core_collection *c, struct buf *sql)
{
    enum rc rc = buf_append_cstr(sql, "SELECT ");
    if (!rc)
        rc = core_record_columns(c, "r", sql);
    if (!rc)
        rc = buf_append_cstr(sql, " FROM (SELECT ");
    for (size_t i = 0; i < c->field_count && !rc; i++) {
        if (i)
            rc = buf_append_cstr(sql, ", ");
        if (!rc)
            rc = store_dialect_param(sql, (unsigned)i + 1);
        if (!rc)
            rc = buf_append_cstr(sql, " AS ");
        if (!rc)
            rc = store_dialect_ident(sql, str_from_cstr(c->fields[i].name));
    }
    if (!rc)
        rc = buf_append_cstr(sql, ") \"r\"");
    return rc;
}

static enum rc append_condition(struct buf *sql, const struct core_sql_fragment *f, bool *first)
{
    if (!f->sql.len)
        return RC_OK;
    enum rc rc = buf_append_cstr(sql, *first ? " WHERE (" : " AND (");
    *first = false;
    if (!rc)
        rc = buf_append_str(sql, f->sql);
    if (!rc)
        rc = buf_append_cstr(sql, ")");
    return rc;
}

enum rc core_record_render_values(struct core_request *r, const struct core_collection *c,
                                  json_t *values, const char *rule, struct str filter,
                                  const struct core_output_opts *o, struct buf *out)
{
    size_t base = c->field_count;
    struct core_sql_fragment rule_frag = {0}, filter_frag = {0};
    if (rule && rule[0] &&
        core_compile_filter(r, c, str_from_cstr(rule), true, base, &rule_frag, NULL))
        return RC_NOT_FOUND;
    if (filter.len &&
        core_compile_filter(r, c, filter, false, base + rule_frag.param_count, &filter_frag, NULL))
        return RC_NOT_FOUND;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    bool first = true;
    enum rc rc = values_head(c, &sql);
    if (!rc)
        rc = append_condition(&sql, &rule_frag, &first);
    if (!rc)
        rc = append_condition(&sql, &filter_frag, &first);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = store_prepare_raw(r->cw->db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    core_record_bind_values(st, c, values);
    core_bind_params(st, &rule_frag, base);
    core_bind_params(st, &filter_frag, base + rule_frag.param_count);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        store_done_raw(st);
        return step == SQLITE_DONE ? RC_NOT_FOUND : store_sqlite_rc(step);
    }
    struct core_expand *ex = o->expand.len ? core_expand_parse(r, c, o->expand) : NULL;
    struct buf rec;
    buf_init(&rec, 1u << 26);
    struct jsonw w;
    jsonw_init(&w, &rec);
    core_record_write_open(&w, c, st, 0, r->auth);
    if (ex)
        core_expand_write(r, c, ex, st, 0, &w);
    jsonw_object_end(&w);
    store_done_raw(st);
    rc = jsonw_finish(&w);
    if (!rc && o->fields.len)
        rc = core_fields_apply(&rec, o->fields, false);
    if (!rc && core_cost_check(r->cost))
        rc = RC_OVER_BUDGET; /* the check or the expansion was cut short */
    if (!rc)
        rc = buf_append(out, rec.data, rec.len);
    buf_cleanup(&rec);
    return rc;
}
