/* collection_ddl.c -- see collection_ddl.h. */
#include "core/schema/collection_ddl.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/log.h"
#include "core/schema/collection_json.h"
#include "core/schema/index.h"

enum store_column_kind core_field_column_kind(const struct core_field *f)
{
    if (f->is_primary_key)
        return STORE_COLUMN_ID;
    switch (f->type) {
    case CORE_FIELD_NUMBER: return STORE_COLUMN_NUMBER;
    case CORE_FIELD_BOOL: return STORE_COLUMN_BOOL;
    case CORE_FIELD_JSON: return STORE_COLUMN_JSON;
    case CORE_FIELD_GEOPOINT: return STORE_COLUMN_JSON_POINT;
    case CORE_FIELD_SELECT:
    case CORE_FIELD_RELATION:
    case CORE_FIELD_FILE:
        return core_field_is_multi(f) ? STORE_COLUMN_JSON_ARRAY : STORE_COLUMN_TEXT;
    default: return STORE_COLUMN_TEXT;
    }
}

enum rc core_ddl_check_indexes(const struct core_collection *c, struct core_problem *p)
{
    for (size_t i = 0; i < c->index_count; i++) {
        struct core_index ix;
        const char *why = NULL;
        if (core_index_parse(c->indexes[i], &ix, &why) != RC_OK ||
            core_index_check(&ix, c, &why) != RC_OK) {
            char path[32];
            snprintf(path, sizeof(path), "indexes.%zu", i);
            core_problem_field(p, path, "validation_invalid_index_expression", why, NULL);
        }
    }
    return core_problem_has_fields(p) ? RC_INVALID : RC_OK;
}

static enum rc exec_buf(struct store_conn *db, struct buf *b)
{
    if (buf_append(b, "", 1)) /* NUL-terminate */
        return RC_NOMEM;
    enum rc rc = store_exec(db, b->data);
    buf_reset(b);
    return rc;
}

static enum rc create_table(struct store_conn *db, const struct core_collection *c,
                            const char *table)
{
    struct buf sql;
    buf_init(&sql, 1 << 20);
    enum rc rc = buf_append_cstr(&sql, "CREATE TABLE ");
    if (!rc)
        rc = store_dialect_ident(&sql, str_from_cstr(table));
    if (!rc)
        rc = buf_append_cstr(&sql, " (");
    for (size_t i = 0; i < c->field_count && !rc; i++) {
        if (i)
            rc = buf_append_cstr(&sql, ", ");
        if (!rc)
            rc = store_dialect_column(&sql, str_from_cstr(c->fields[i].name),
                                      core_field_column_kind(&c->fields[i]));
    }
    if (!rc)
        rc = buf_append_cstr(&sql, ")");
    if (!rc)
        rc = exec_buf(db, &sql);
    buf_cleanup(&sql);
    return rc;
}

static enum rc create_indexes(struct store_conn *db, const struct core_collection *c)
{
    struct buf sql;
    buf_init(&sql, 1 << 16);
    enum rc rc = RC_OK;
    for (size_t i = 0; i < c->index_count && !rc; i++) {
        struct core_index ix;
        const char *why;
        rc = core_index_parse(c->indexes[i], &ix, &why);
        if (!rc)
            rc = core_index_format(&ix, c->name, &sql);
        if (!rc)
            rc = exec_buf(db, &sql);
    }
    if (!rc && c->type == CORE_COLLECTION_AUTH) {
        /* The auth system indexes (spec §5.1): tokens and emails are unique. */
        char line[512];
        snprintf(line, sizeof(line),
                 "CREATE UNIQUE INDEX \"_%s_tokenKey\" ON \"%s\" (\"tokenKey\");"
                 "CREATE UNIQUE INDEX \"_%s_email\" ON \"%s\" (\"email\" COLLATE NOCASE) "
                 "WHERE \"email\" != ''",
                 c->id, c->name, c->id, c->name);
        rc = store_exec(db, line);
    }
    buf_cleanup(&sql);
    return rc;
}

static enum rc save_meta(struct store_conn *db, const struct core_collection *c)
{
    struct buf json;
    buf_init(&json, 1 << 22);
    struct jsonw w;
    jsonw_init(&w, &json);
    core_collection_write_json(&w, c, true);
    enum rc rc = jsonw_finish(&w);
    if (rc) {
        buf_cleanup(&json);
        return rc;
    }
    sqlite3_stmt *st;
    rc = store_prepare_raw(db,
                              STR_LIT("INSERT INTO _collections (id, name, type, system, data, "
                                      "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                                      "ON CONFLICT(id) DO UPDATE SET name = ?2, data = ?5, "
                                      "updated = ?7"),
                              &st);
    if (!rc) {
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, core_collection_type_name(c->type), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, c->is_system);
        sqlite3_bind_text(st, 5, json.data, (int)json.len, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, c->created ? c->created : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, c->updated ? c->updated : "", -1, SQLITE_STATIC);
        int s = sqlite3_step(st);
        rc = s == SQLITE_DONE ? RC_OK : store_sqlite_rc(s);
        store_done_raw(st);
    }
    buf_cleanup(&json);
    return rc;
}

enum rc core_ddl_system_tables(struct store_conn *db)
{
    return store_exec(db, "CREATE TABLE IF NOT EXISTS _collections ("
                                 "id TEXT PRIMARY KEY NOT NULL, "
                                 "name TEXT NOT NULL UNIQUE COLLATE NOCASE, "
                                 "type TEXT NOT NULL, system BOOLEAN NOT NULL DEFAULT FALSE, "
                                 "data JSON NOT NULL, created TEXT NOT NULL DEFAULT '', "
                                 "updated TEXT NOT NULL DEFAULT '');"
                                 "CREATE TABLE IF NOT EXISTS _otps ("
                                 "id TEXT PRIMARY KEY NOT NULL, collectionRef TEXT NOT NULL, "
                                 "recordRef TEXT NOT NULL, password TEXT NOT NULL, "
                                 "sentTo TEXT NOT NULL DEFAULT '', created TEXT NOT NULL);"
                                 "CREATE TABLE IF NOT EXISTS _params ("
                                 "id TEXT PRIMARY KEY NOT NULL, value JSON DEFAULT NULL, "
                                 "created TEXT NOT NULL DEFAULT '', "
                                 "updated TEXT NOT NULL DEFAULT '');");
}

enum rc core_ddl_create(struct store_conn *db, const struct core_collection *c)
{
    enum rc rc = RC_OK;
    if (c->type != CORE_COLLECTION_VIEW) {
        rc = create_table(db, c, c->name);
        if (!rc)
            rc = create_indexes(db, c);
    }
    return rc ? rc : save_meta(db, c);
}

/* True when an old column's values can move into the new field's column;
 * otherwise the new column starts at its default. Never into or out of a
 * password field (a schema change refuses that already): plain text would
 * land where hashes belong, or hashes where the API reads values. */
static bool can_copy(const struct core_field *of, const struct core_field *nf)
{
    if ((of->type == CORE_FIELD_PASSWORD) != (nf->type == CORE_FIELD_PASSWORD))
        return false;
    enum store_column_kind ok = core_field_column_kind(of);
    enum store_column_kind nk = core_field_column_kind(nf);
    return ok == nk || (ok == STORE_COLUMN_ID && nk == STORE_COLUMN_TEXT) ||
           (ok == STORE_COLUMN_TEXT && nk == STORE_COLUMN_JSON_ARRAY) ||
           (ok == STORE_COLUMN_JSON_ARRAY && nk == STORE_COLUMN_TEXT);
}

/* The expression that moves an old column's values into the new field:
 * single <-> multiple conversions wrap or unwrap the JSON array (keeping the
 * last item, as PocketBase does). */
static enum rc copy_expr(struct buf *sql, const struct core_field *of, const struct core_field *nf)
{
    enum store_column_kind ok = core_field_column_kind(of);
    enum store_column_kind nk = core_field_column_kind(nf);
    struct str col = str_from_cstr(of->name);
    enum rc rc = RC_OK;
    if (ok == STORE_COLUMN_TEXT && nk == STORE_COLUMN_JSON_ARRAY) {
        rc = buf_append_cstr(sql, "CASE WHEN ");
        if (!rc)
            rc = store_dialect_ident(sql, col);
        if (!rc)
            rc = buf_append_cstr(sql, " = '' THEN '[]' ELSE json_array(");
        if (!rc)
            rc = store_dialect_ident(sql, col);
        if (!rc)
            rc = buf_append_cstr(sql, ") END");
    } else if (ok == STORE_COLUMN_JSON_ARRAY && nk == STORE_COLUMN_TEXT) {
        rc = buf_append_cstr(sql, "COALESCE(json_extract(");
        if (!rc)
            rc = store_dialect_ident(sql, col);
        if (!rc)
            rc = buf_append_cstr(sql, ", '$[#-1]'), '')");
    } else {
        rc = store_dialect_ident(sql, col);
    }
    return rc;
}

enum rc core_ddl_update(struct store_conn *db, const struct core_collection *old_c,
                        const struct core_collection *new_c)
{
    if (new_c->type == CORE_COLLECTION_VIEW)
        return save_meta(db, new_c);
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "_tmp_%s", new_c->id);
    enum rc rc = create_table(db, new_c, tmp);
    if (rc)
        return rc;
    struct buf sql, cols, vals;
    buf_init(&sql, 1 << 20);
    buf_init(&cols, 1 << 20);
    buf_init(&vals, 1 << 20);
    for (size_t i = 0; i < new_c->field_count && !rc; i++) {
        const struct core_field *nf = &new_c->fields[i];
        const struct core_field *of = NULL;
        for (size_t k = 0; k < old_c->field_count; k++) {
            if (strcmp(old_c->fields[k].id, nf->id) == 0)
                of = &old_c->fields[k];
        }
        if (!of || !can_copy(of, nf))
            continue;
        if (cols.len) {
            rc = buf_append_cstr(&cols, ", ");
            if (!rc)
                rc = buf_append_cstr(&vals, ", ");
        }
        if (!rc)
            rc = store_dialect_ident(&cols, str_from_cstr(nf->name));
        if (!rc)
            rc = copy_expr(&vals, of, nf);
    }
    if (!rc && cols.len) {
        rc = buf_append_cstr(&sql, "INSERT INTO ");
        if (!rc)
            rc = store_dialect_ident(&sql, str_from_cstr(tmp));
        if (!rc)
            rc = buf_append_cstr(&sql, " (");
        if (!rc)
            rc = buf_append(&sql, cols.data, cols.len);
        if (!rc)
            rc = buf_append_cstr(&sql, ") SELECT ");
        if (!rc)
            rc = buf_append(&sql, vals.data, vals.len);
        if (!rc)
            rc = buf_append_cstr(&sql, " FROM ");
        if (!rc)
            rc = store_dialect_ident(&sql, str_from_cstr(old_c->name));
        if (!rc)
            rc = exec_buf(db, &sql);
    }
    if (!rc) {
        rc = buf_append_cstr(&sql, "DROP TABLE ");
        if (!rc)
            rc = store_dialect_ident(&sql, str_from_cstr(old_c->name));
        if (!rc)
            rc = buf_append_cstr(&sql, "; ALTER TABLE ");
        if (!rc)
            rc = store_dialect_ident(&sql, str_from_cstr(tmp));
        if (!rc)
            rc = buf_append_cstr(&sql, " RENAME TO ");
        if (!rc)
            rc = store_dialect_ident(&sql, str_from_cstr(new_c->name));
        if (!rc)
            rc = exec_buf(db, &sql);
    }
    buf_cleanup(&sql);
    buf_cleanup(&cols);
    buf_cleanup(&vals);
    if (!rc)
        rc = create_indexes(db, new_c);
    return rc ? rc : save_meta(db, new_c);
}

enum rc core_ddl_drop(struct store_conn *db, const struct core_collection *c)
{
    struct buf sql;
    buf_init(&sql, 4096);
    enum rc rc = RC_OK;
    if (c->type != CORE_COLLECTION_VIEW) {
        rc = buf_append_cstr(&sql, "DROP TABLE IF EXISTS ");
        if (!rc)
            rc = store_dialect_ident(&sql, str_from_cstr(c->name));
        if (!rc)
            rc = exec_buf(db, &sql);
    }
    buf_cleanup(&sql);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    rc = store_prepare_raw(db, STR_LIT("DELETE FROM _collections WHERE id = ?1"), &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    store_done_raw(st);
    return s == SQLITE_DONE ? RC_OK : store_sqlite_rc(s);
}
