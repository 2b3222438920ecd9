/* collection_ddl.c -- see collection_ddl.h. */
#include "core/schema/collection_ddl.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/log.h"
#include "core/schema/collection_json.h"
#include "core/schema/field_type.h"
#include "core/schema/index.h"
#include "core/schema/search_options.h"
#include "core/schema/view.h"
#include "store/sql.h"

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

/* Runs the statements q built, or returns the first error met building
 * them; q's buffer is emptied either way, for the next. */
static enum rc exec_sql(struct store_conn *db, struct store_sql *q)
{
    enum rc rc = store_sql_end(q);
    if (rc) {
        buf_reset(q->out);
        return rc;
    }
    return exec_buf(db, q->out);
}

static enum rc create_table(struct store_conn *db, const struct core_collection *c,
                            const char *table)
{
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "CREATE TABLE ");
    store_sql_ident(&q, str_from_cstr(table));
    store_sql_add(&q, " (");
    for (size_t i = 0; i < c->field_count; i++) {
        if (i)
            store_sql_add(&q, ", ");
        store_sql_column(&q, str_from_cstr(c->fields[i].name), core_field_column(&c->fields[i]));
    }
    store_sql_add(&q, STORE_ROW_KEY ")");
    enum rc rc = exec_sql(db, &q);
    buf_cleanup(&sql);
    return rc;
}

/* The auth system indexes (spec §5.1): tokens and emails are unique. */
static enum rc create_auth_indexes(struct store_conn *db, const struct core_collection *c,
                                   struct buf *sql)
{
    char token_key[128], email[128]; /* ids are at most 100 word characters */
    snprintf(token_key, sizeof(token_key), "_%s_tokenKey", c->id);
    snprintf(email, sizeof(email), "_%s_email", c->id);
    struct str table = str_from_cstr(c->name);
    struct store_sql q;
    store_sql_begin(&q, sql);
    store_sql_add(&q, "CREATE UNIQUE INDEX ");
    store_sql_ident(&q, str_from_cstr(token_key));
    store_sql_add(&q, " ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " (");
    store_sql_ident(&q, STR_LIT("tokenKey"));
    store_sql_add(&q, ");CREATE UNIQUE INDEX ");
    store_sql_ident(&q, str_from_cstr(email));
    store_sql_add(&q, " ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " (");
    store_sql_ident(&q, STR_LIT("email"));
    store_sql_add(&q, " COLLATE NOCASE) WHERE ");
    store_sql_ident(&q, STR_LIT("email"));
    store_sql_add(&q, " != ''");
    return exec_sql(db, &q);
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
    if (!rc && c->type == CORE_COLLECTION_AUTH)
        rc = create_auth_indexes(db, c, &sql);
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
    struct store_stmt *st;
    rc = store_prepare(db,
                       STR_LIT("INSERT INTO _collections (id, name, type, system, data, "
                               "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                               "ON CONFLICT(id) DO UPDATE SET name = ?2, data = ?5, "
                               "updated = ?7"),
                       &st);
    if (!rc) {
        rc = store_bind_text(st, 1, str_from_cstr(c->id));
        if (!rc)
            rc = store_bind_text(st, 2, str_from_cstr(c->name));
        if (!rc)
            rc = store_bind_text(st, 3, str_from_cstr(core_collection_type_name(c->type)));
        if (!rc)
            rc = store_bind_int64(st, 4, c->is_system);
        if (!rc)
            rc = store_bind_text(st, 5, buf_str(&json));
        if (!rc)
            rc = store_bind_text(st, 6, str_from_cstr(c->created ? c->created : ""));
        if (!rc)
            rc = store_bind_text(st, 7, str_from_cstr(c->updated ? c->updated : ""));
        if (!rc)
            rc = store_step(st);
        if (rc == RC_NOT_FOUND)
            rc = RC_OK; /* done: an INSERT returns no row */
        store_done(st);
    }
    buf_cleanup(&json);
    return rc;
}

enum rc core_ddl_system_tables(struct store_conn *db)
{
    return store_exec(db, "CREATE TABLE IF NOT EXISTS _collections ("
                          "id TEXT PRIMARY KEY NOT NULL, "
                          "name TEXT NOT NULL UNIQUE COLLATE NOCASE, "
                          "type TEXT NOT NULL, system INTEGER NOT NULL DEFAULT 0, "
                          "data JSON NOT NULL, created TEXT NOT NULL DEFAULT '', "
                          "updated TEXT NOT NULL DEFAULT ''" STORE_ROW_KEY ");"
                          "CREATE TABLE IF NOT EXISTS _params ("
                          "id TEXT PRIMARY KEY NOT NULL, value JSON DEFAULT NULL, "
                          "created TEXT NOT NULL DEFAULT '', "
                          "updated TEXT NOT NULL DEFAULT ''" STORE_ROW_KEY ");"
                          /* The migrations applied (core/migrate.h), as
                           * PocketBase's: the file's name, and when (unix us). */
                          "CREATE TABLE IF NOT EXISTS _migrations ("
                          "file TEXT PRIMARY KEY NOT NULL, "
                          "applied BIGINT NOT NULL" STORE_ROW_KEY ");");
}

/* The collection's full-text search index, when it has a search
 * (store/search.h), and the point index of each geoPoint field (numbered
 * in field order, as the filter compiler finds them): made after its
 * table, filled from its rows. */
static enum rc create_search(struct store_conn *db, const struct core_collection *c)
{
    struct store_search_column cols[CORE_SEARCH_MAX_FIELDS];
    struct store_search_index ix;
    enum rc rc = core_search_index(c, cols, &ix) ? store_search_create(db, &ix) : RC_OK;
    unsigned n = 0;
    for (size_t i = 0; i < c->field_count && !rc; i++) {
        if (c->fields[i].type == CORE_FIELD_GEOPOINT)
            rc = store_geo_create(db, str_from_cstr(c->name), str_from_cstr(c->id), n++,
                                  str_from_cstr(c->fields[i].name));
    }
    return rc;
}

/* Drops what create_search made for c (before or after its table). */
static enum rc drop_search(struct store_conn *db, const struct core_collection *c)
{
    enum rc rc = c->search.field_count ? store_search_drop(db, str_from_cstr(c->id)) : RC_OK;
    unsigned n = 0;
    for (size_t i = 0; i < c->field_count && !rc; i++) {
        if (c->fields[i].type == CORE_FIELD_GEOPOINT)
            rc = store_geo_drop(db, str_from_cstr(c->id), n++);
    }
    return rc;
}

enum rc core_ddl_create(struct store_conn *db, const struct core_collection *c)
{
    enum rc rc = RC_OK;
    if (c->type != CORE_COLLECTION_VIEW) {
        rc = create_table(db, c, c->name);
        if (!rc)
            rc = create_indexes(db, c);
        if (!rc)
            rc = create_search(db, c);
    }
    return rc ? rc : save_meta(db, c);
}

/* True when an old column's values can move into the new field's column;
 * otherwise the new column starts at its default. Never into or out of a
 * password field (a schema change refuses that already): plain text would
 * land where hashes belong, or hashes where the API reads values. */
static bool can_copy(const struct core_field *of, const struct core_field *nf)
{
    if ((core_field_kind(of)->input == CORE_FIELD_INPUT_SECRET) !=
        (core_field_kind(nf)->input == CORE_FIELD_INPUT_SECRET))
        return false;
    /* Vectors of another length are of another model: none is kept (a
     * record holding one could not be saved again, its vector invalid). */
    if (of->type == CORE_FIELD_VECTOR && nf->type == CORE_FIELD_VECTOR &&
        of->dimensions != nf->dimensions)
        return false;
    enum store_column_kind ok = core_field_column(of);
    enum store_column_kind nk = core_field_column(nf);
    return ok == nk || (ok == STORE_COLUMN_ID && nk == STORE_COLUMN_TEXT) ||
           (ok == STORE_COLUMN_TEXT && nk == STORE_COLUMN_JSON_ARRAY) ||
           (ok == STORE_COLUMN_JSON_ARRAY && nk == STORE_COLUMN_TEXT);
}

/* Appends the expression that moves an old column's values into the new
 * field: single <-> multiple conversions wrap or unwrap the JSON array
 * (keeping the last item, as PocketBase does). */
static void copy_expr(struct store_sql *q, const struct core_field *of, const struct core_field *nf)
{
    enum store_column_kind ok = core_field_column(of);
    enum store_column_kind nk = core_field_column(nf);
    struct str col = str_from_cstr(of->name);
    if (ok == STORE_COLUMN_TEXT && nk == STORE_COLUMN_JSON_ARRAY) {
        store_sql_add(q, "CASE WHEN ");
        store_sql_ident(q, col);
        store_sql_add(q, " = '' THEN '[]' ELSE json_array(");
        store_sql_ident(q, col);
        store_sql_add(q, ") END");
    } else if (ok == STORE_COLUMN_JSON_ARRAY && nk == STORE_COLUMN_TEXT) {
        store_sql_add(q, "COALESCE(json_extract(");
        store_sql_ident(q, col);
        store_sql_add(q, ", '$[#-1]'), '')");
    } else {
        store_sql_ident(q, col);
    }
}

enum rc core_ddl_update(struct store_conn *db, const struct core_collection *old_c,
                        const struct core_collection *new_c)
{
    if (new_c->type == CORE_COLLECTION_VIEW)
        return save_meta(db, new_c);
    /* The search and point indexes go with the old table (its rows get new
     * rowids in the new one) and are made again over the new one below: a
     * field renamed or removed, the collection renamed or its search
     * changed. */
    enum rc rc = drop_search(db, old_c);
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "_tmp_%s", new_c->id);
    if (!rc)
        rc = create_table(db, new_c, tmp);
    if (rc)
        return rc;
    /* The columns kept, and the expressions that fill them from the old table. */
    struct buf sql, cols, vals;
    buf_init(&sql, 1 << 20);
    buf_init(&cols, 1 << 20);
    buf_init(&vals, 1 << 20);
    struct store_sql qc, qv, q;
    store_sql_begin(&qc, &cols);
    store_sql_begin(&qv, &vals);
    for (size_t i = 0; i < new_c->field_count; i++) {
        const struct core_field *nf = &new_c->fields[i];
        const struct core_field *of = NULL;
        for (size_t k = 0; k < old_c->field_count; k++) {
            if (strcmp(old_c->fields[k].id, nf->id) == 0)
                of = &old_c->fields[k];
        }
        if (!of || !can_copy(of, nf))
            continue;
        if (cols.len) {
            store_sql_add(&qc, ", ");
            store_sql_add(&qv, ", ");
        }
        store_sql_ident(&qc, str_from_cstr(nf->name));
        copy_expr(&qv, of, nf);
    }
    rc = store_sql_end(&qc);
    if (!rc)
        rc = store_sql_end(&qv);
    if (!rc && cols.len) {
        store_sql_begin(&q, &sql);
        store_sql_add(&q, "INSERT INTO ");
        store_sql_ident(&q, str_from_cstr(tmp));
        store_sql_add(&q, " (");
        store_sql_addn(&q, buf_str(&cols));
        store_sql_add(&q, ") SELECT ");
        store_sql_addn(&q, buf_str(&vals));
        store_sql_add(&q, " FROM ");
        store_sql_ident(&q, str_from_cstr(old_c->name));
        rc = exec_sql(db, &q);
    }
    if (!rc) {
        store_sql_begin(&q, &sql);
        store_sql_add(&q, "DROP TABLE ");
        store_sql_ident(&q, str_from_cstr(old_c->name));
        store_sql_add(&q, "; ALTER TABLE ");
        store_sql_ident(&q, str_from_cstr(tmp));
        store_sql_add(&q, " RENAME TO ");
        store_sql_ident(&q, str_from_cstr(new_c->name));
        rc = exec_sql(db, &q);
    }
    buf_cleanup(&sql);
    buf_cleanup(&cols);
    buf_cleanup(&vals);
    if (!rc)
        rc = create_indexes(db, new_c);
    if (!rc)
        rc = create_search(db, new_c);
    return rc ? rc : save_meta(db, new_c);
}

enum rc core_ddl_view(struct store_conn *db, const struct core_collection *old_c,
                      const struct core_collection *new_c, struct core_problem *p)
{
    enum rc rc = old_c ? core_view_drop(db, old_c->name) : RC_OK;
    if (!rc)
        rc = core_view_create(db, new_c, p);
    return rc ? rc : save_meta(db, new_c);
}

enum rc core_ddl_drop(struct store_conn *db, const struct core_collection *c)
{
    enum rc rc = c->type == CORE_COLLECTION_VIEW ? core_view_drop(db, c->name) : RC_OK;
    if (c->type != CORE_COLLECTION_VIEW) {
        rc = drop_search(db, c);
        if (rc)
            return rc;
        struct buf sql;
        buf_init(&sql, 4096);
        struct store_sql q;
        store_sql_begin(&q, &sql);
        store_sql_add(&q, "DROP TABLE IF EXISTS ");
        store_sql_ident(&q, str_from_cstr(c->name));
        rc = exec_sql(db, &q);
        buf_cleanup(&sql);
    }
    if (rc)
        return rc;
    struct store_stmt *st;
    rc = store_prepare(db, STR_LIT("DELETE FROM _collections WHERE id = ?1"), &st);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, str_from_cstr(c->id));
    if (!rc)
        rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}
