/* file_cascade.c -- see file_cascade.h. */
#include "core/files/file_cascade.h"

#include <string.h>

#include "base/buf.h"
#include "core/files/files.h"
#include "store/dialect.h"

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

static bool listed(json_t *out, const char *col_id, const char *id)
{
    size_t i;
    json_t *pair;
    json_array_foreach(out, i, pair)
    {
        if (strcmp(json_string_value(json_array_get(pair, 0)), col_id) == 0 &&
            strcmp(json_string_value(json_array_get(pair, 1)), id) == 0)
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
            enum rc rc = buf_append_cstr(&sql, "SELECT \"id\" FROM ");
            if (!rc)
                rc = store_dialect_ident(&sql, str_from_cstr(x->name));
            if (!rc)
                rc = buf_append_cstr(&sql,
                                     multi ? " WHERE EXISTS (SELECT 1 FROM json_each(" : " WHERE ");
            if (!rc)
                rc = store_dialect_ident(&sql, str_from_cstr(f->name));
            if (!rc)
                rc = buf_append_cstr(&sql, multi ? ") WHERE value = ?1)" : " = ?1");
            sqlite3_stmt *st = NULL;
            if (!rc)
                rc = store_prepare_raw(db, buf_str(&sql), &st);
            buf_cleanup(&sql);
            if (rc)
                continue;
            sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
            json_t *found = json_array();
            while (sqlite3_step(st) == SQLITE_ROW) {
                const char *ref = (const char *)sqlite3_column_text(st, 0);
                if (ref && !listed(out, x->id, ref) &&
                    json_array_size(out) + json_array_size(found) < CORE_FILE_CASCADE_MAX)
                    json_array_append_new(found, json_string(ref));
            }
            store_done_raw(st);
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
