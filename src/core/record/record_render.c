/* record_render.c -- a record from its values, for realtime events (see record.h).
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
#include "core/schema/field_type.h"
#include "store/sql.h"
#include "store/store.h"

/* SELECT "r"."f1", ... FROM (SELECT ?1 AS "f1", ?2 AS "f2", ...) "r" */
static void values_head(struct store_sql *q, const struct core_collection *c)
{
    store_sql_add(q, "SELECT ");
    core_record_columns(q, c, "r");
    store_sql_add(q, " FROM (SELECT ");
    for (size_t i = 0; i < c->field_count; i++) {
        if (i)
            store_sql_add(q, ", ");
        /* field i binds i + 1 (core_record_bind_values), typed as its column:
         * PostgreSQL takes a bare parameter here for text, and a rule's
         * `active = true` (0/1) would then compare text with an integer. */
        store_sql_param_typed(q, core_field_column(&c->fields[i]));
        store_sql_add(q, " AS ");
        store_sql_ident(q, str_from_cstr(c->fields[i].name));
    }
    store_sql_add(q, ") \"r\"");
}

static void append_condition(struct store_sql *q, const struct core_sql_fragment *f, bool *first)
{
    if (!f->sql.len)
        return;
    store_sql_add(q, *first ? " WHERE (" : " AND (");
    *first = false;
    store_sql_addn(q, f->sql);
    store_sql_add(q, ")");
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
    struct store_sql q;
    store_sql_begin(&q, &sql);
    bool first = true;
    values_head(&q, c);
    append_condition(&q, &rule_frag, &first);
    append_condition(&q, &filter_frag, &first);
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = core_record_bind_values(st, c, values);
    if (!rc)
        rc = core_sql_fragment_bind(st, &rule_frag, base);
    if (!rc)
        rc = core_sql_fragment_bind(st, &filter_frag, base + rule_frag.param_count);
    if (!rc)
        rc = store_step(st);
    if (rc) {
        store_done(st);
        return rc; /* RC_NOT_FOUND: it does not pass */
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
    store_done(st);
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
