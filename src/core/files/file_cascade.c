/* file_cascade.c -- see file_cascade.h. */
#include "core/files/file_cascade.h"

#include <string.h>

#include "base/buf.h"
#include "core/files/files.h"
#include "store/sql.h"

#define MAX_DEPTH 16

static bool reaches(const struct core_schema *s, const struct core_collection *c, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    for (size_t i = 0; i < s->count; i++) {
        const struct core_collection *x = s->items[i];
        if (x->type == CORE_COLLECTION_VIEW)
            continue;
        for (size_t k = 0; k < x->field_count; k++) {
            const struct core_field *f = &x->fields[k];
            if (f->type != CORE_FIELD_RELATION || !f->cascade_delete || !f->collection_id ||
                strcmp(f->collection_id, c->id) != 0)
                continue;
            if (core_files_has_field(x) || reaches(s, x, depth + 1))
                return true;
        }
    }
    return false;
}

bool core_file_cascade_reaches_files(const struct core_schema *s, const struct core_collection *c)
{
    return reaches(s, c, 0);
}

static bool listed(json_t *out, const char *col_id, struct str id)
{
    size_t i;
    json_t *pair;
    json_array_foreach(out, i, pair)
    {
        json_t *rid = json_array_get(pair, 1);
        if (strcmp(json_string_value(json_array_get(pair, 0)), col_id) == 0 &&
            str_eq((struct str){json_string_value(rid), json_string_length(rid)}, id))
            return true;
    }
    return false;
}

static void collect(struct store_conn *db, const struct core_schema *s,
                    const struct core_collection *c, const char *id, int depth, json_t *out)
{
    if (depth > MAX_DEPTH)
        return;
    for (size_t i = 0; i < s->count; i++) {
        const struct core_collection *x = s->items[i];
        if (x->type == CORE_COLLECTION_VIEW)
            continue;
        for (size_t k = 0; k < x->field_count; k++) {
            const struct core_field *f = &x->fields[k];
            if (f->type != CORE_FIELD_RELATION || !f->cascade_delete || !f->collection_id ||
                strcmp(f->collection_id, c->id) != 0)
                continue;
            bool multi = core_field_is_multi(f);
            struct buf sql;
            buf_init(&sql, 4096);
            struct store_sql q;
            store_sql_begin(&q, &sql);
            store_sql_add(&q, "SELECT ");
            store_sql_ident(&q, STR_LIT("id"));
            store_sql_add(&q, " FROM ");
            store_sql_ident(&q, str_from_cstr(x->name));
            if (multi) {
                store_sql_add(&q, " WHERE EXISTS (SELECT 1 FROM ");
                store_sql_json_each_open(&q);
                store_sql_ident(&q, str_from_cstr(f->name));
                store_sql_json_each_close(&q, "je");
                store_sql_add(&q, " WHERE \"je\".\"value\" = ");
            } else {
                store_sql_add(&q, " WHERE ");
                store_sql_ident(&q, str_from_cstr(f->name));
                store_sql_add(&q, " = ");
            }
            unsigned p_id = store_sql_param(&q);
            store_sql_add(&q, multi ? ")" : "");
            struct store_stmt *st = NULL;
            enum rc rc = store_sql_prepare(&q, db, &st);
            buf_cleanup(&sql);
            if (rc)
                continue;
            json_t *found = json_array();
            rc = store_bind_text(st, (int)p_id, str_from_cstr(id));
            while (!rc && (rc = store_step(st)) == RC_OK) {
                struct str ref = store_column_text(st, 0);
                if (store_column_type(st, 0) != STORE_TYPE_NULL && !listed(out, x->id, ref) &&
                    json_array_size(out) + json_array_size(found) < CORE_FILE_CASCADE_MAX)
                    json_array_append_new(found, json_stringn(ref.ptr, ref.len));
            }
            store_done(st);
            size_t n;
            json_t *ref;
            json_array_foreach(found, n, ref)
            {
                json_array_append_new(out, json_pack("[s,O]", x->id, ref));
                collect(db, s, x, json_string_value(ref), depth + 1, out);
            }
            json_decref(found);
        }
    }
}

json_t *core_file_cascade_candidates(struct store_conn *db, const struct core_schema *s,
                                     const struct core_collection *c, const char *id)
{
    json_t *out = json_array();
    collect(db, s, c, id, 0, out);
    return out;
}
