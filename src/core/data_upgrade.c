/* data_upgrade.c -- see data_upgrade.h.
 *
 * Why on open rather than refusing plain values when read: a plain value
 * left in the file is the defect itself (anyone with a backup reads it), and
 * no code path may treat it as a hash. Only values written through the bug
 * need hashing, so the one-time cost is one argon2id per such value; the
 * scan streams the column and keeps only those values. */
#include "core/data_upgrade.h"

#include <jansson.h>
#include <string.h>

#include "base/buf.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/auth/otp.h"
#include "core/schema/search_options.h"
#include "store/sql.h"

#define VERSION_KEY "tarmac.dataVersion"

static enum rc read_version(struct store_conn *db, int64_t *out)
{
    struct store_stmt *st;
    enum rc rc =
        store_prepare(db, STR_LIT("SELECT value FROM _params WHERE id = '" VERSION_KEY "'"), &st);
    if (rc)
        return rc;
    rc = store_step(st);
    *out = rc == RC_OK ? store_column_int64(st, 0) : 0;
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

static enum rc write_version(struct store_conn *db, int64_t v)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        STR_LIT("INSERT INTO _params (id, value, created, updated) VALUES ('" VERSION_KEY
                "', ?1, ?2, ?2) ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated = "
                "excluded.updated"),
        &st);
    if (rc)
        return rc;
    char now[32];
    chrono_format_db_ms(chrono_real_ms(), now);
    rc = store_bind_int64(st, 1, v);
    if (!rc)
        rc = store_bind_text(st, 2, str_from_cstr(now));
    if (!rc)
        rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* Appends `SELECT "id", "<f>" FROM "<c>" WHERE "<f>" != ''` (select) or
 * `UPDATE "<c>" SET "<f>" = ?1 WHERE "id" = ?2` to sql. */
static enum rc build_sql(struct buf *sql, const struct core_collection *c,
                         const struct core_field *f, bool is_select)
{
    struct str table = str_from_cstr(c->name), col = str_from_cstr(f->name);
    struct store_sql q;
    store_sql_begin(&q, sql);
    if (is_select) {
        store_sql_add(&q, "SELECT ");
        store_sql_ident(&q, STR_LIT("id"));
        store_sql_add(&q, ", ");
        store_sql_ident(&q, col);
        store_sql_add(&q, " FROM ");
        store_sql_ident(&q, table);
        store_sql_add(&q, " WHERE ");
        store_sql_ident(&q, col);
        store_sql_add(&q, " != ''");
    } else {
        store_sql_add(&q, "UPDATE ");
        store_sql_ident(&q, table);
        store_sql_add(&q, " SET ");
        store_sql_ident(&q, col);
        store_sql_add(&q, " = ");
        store_sql_param(&q); /* 1: the hash */
        store_sql_add(&q, " WHERE ");
        store_sql_ident(&q, STR_LIT("id"));
        store_sql_add(&q, " = ");
        store_sql_param(&q); /* 2: the record */
    }
    return store_sql_end(&q);
}

/* The rows of field f whose value is neither "" nor a hash: [[id, value], ...]. */
static enum rc find_plain(struct store_conn *db, const struct core_collection *c,
                          const struct core_field *f, json_t **out)
{
    struct buf sql;
    buf_init(&sql, 4096);
    enum rc rc = build_sql(&sql, c, f, true);
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_prepare(db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (rc)
        return rc;
    json_t *rows = json_array();
    while ((rc = store_step(st)) == RC_OK) {
        struct str v = store_column_text(st, 1);
        struct core_password_phc phc;
        if (!v.len || core_password_parse(v, &phc) == RC_OK || core_password_is_bcrypt(v))
            continue;
        struct str id = store_column_text(st, 0);
        json_array_append_new(rows, json_pack("[s%, s%]", id.ptr, id.len, v.ptr, v.len));
    }
    store_done(st);
    if (rc != RC_NOT_FOUND) {
        json_decref(rows);
        return rc;
    }
    *out = rows;
    return RC_OK;
}

/* Replaces each plain value of rows (find_plain()'s) by its hash, wiping the
 * copies it made of them. secure_delete makes SQLite zero the space the old
 * values leave, so they do not linger in free pages of the file.
 * PostgreSQL has no such setting: the old row versions stay in the table's
 * pages until a VACUUM reuses them. */
static enum rc hash_rows(struct store_conn *db, const struct core_collection *c,
                         const struct core_field *f, json_t *rows,
                         struct core_password_params params)
{
    struct buf sql;
    buf_init(&sql, 4096);
    enum rc rc = build_sql(&sql, c, f, false);
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_prepare(db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    bool is_sqlite = store_dialect_current() == STORE_DIALECT_SQLITE;
    if (!rc && is_sqlite)
        rc = store_exec(db, "PRAGMA secure_delete = ON");
    if (rc) {
        store_done(st);
        return rc;
    }
    struct buf phc;
    buf_init(&phc, CORE_PASSWORD_PHC_MAX);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_t *plain = json_array_get(row, 1);
        buf_reset(&phc);
        rc = core_password_hash((struct str){json_string_value(plain), json_string_length(plain)},
                                params, &phc);
        if (rc)
            break;
        json_t *id = json_array_get(row, 0);
        rc = store_bind_text_copy(st, 1, buf_str(&phc));
        if (!rc)
            rc = store_bind_text_copy(st, 2,
                                      (struct str){json_string_value(id), json_string_length(id)});
        if (!rc)
            rc = store_step(st);
        store_reset(st);
        if (rc != RC_NOT_FOUND)
            break;
        rc = RC_OK;
    }
    store_done(st);
    buf_cleanup(&phc);
    if (is_sqlite)
        (void)store_exec(db, "PRAGMA secure_delete = OFF");
    json_array_foreach(rows, i, row)
    {
        json_t *plain = json_array_get(row, 1);
        secure_zero((char *)json_string_value(plain), json_string_length(plain));
    }
    return rc;
}

static enum rc hash_plain_passwords(struct store_conn *db, const struct core_schema *s,
                                    struct core_password_params params)
{
    enum rc rc = RC_OK;
    for (size_t i = 0; i < s->count && !rc; i++) {
        const struct core_collection *c = s->items[i];
        /* _otps keeps HMAC digests of codes by design (otp.h), not hashes. */
        if (c->type == CORE_COLLECTION_VIEW || strcmp(c->id, CORE_OTPS_ID) == 0)
            continue;
        for (size_t k = 0; k < c->field_count && !rc; k++) {
            const struct core_field *f = &c->fields[k];
            if (f->type != CORE_FIELD_PASSWORD)
                continue;
            json_t *rows = NULL;
            rc = find_plain(db, c, f, &rows);
            if (!rc && json_array_size(rows)) {
                rc = hash_rows(db, c, f, rows, params);
                if (!rc)
                    log_info("msg=\"hashed plain-text password field values\" collection=%s "
                             "field=%s count=%zu",
                             c->name, f->name, json_array_size(rows));
            }
            json_decref(rows);
        }
    }
    return rc;
}

/* Version 2: SQLite's search indexes made again. Their English words now
 * each carry their unstemmed form (a prefix is looked up among those
 * alone), and every index has prefix indexes (store/sqlite_fts.c,
 * store/search.c): an index made before finds a typed prefix only among
 * the words porter changed. PostgreSQL's are unchanged. */
static enum rc remake_search_indexes(struct store_conn *db, const struct core_schema *s)
{
    if (store_conn_dialect(db) != STORE_DIALECT_SQLITE)
        return RC_OK;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < s->count && !rc; i++) {
        const struct core_collection *c = s->items[i];
        struct store_search_column cols[CORE_SEARCH_MAX_FIELDS];
        struct store_search_index ix;
        if (c->type == CORE_COLLECTION_VIEW || !core_search_index(c, cols, &ix))
            continue;
        rc = store_search_drop(db, ix.key);
        if (!rc)
            rc = store_search_create(db, &ix);
        if (!rc)
            log_info("msg=\"search index made again\" collection=%s", c->name);
    }
    return rc;
}

enum rc core_data_upgrade(struct store_conn *db, const struct core_schema *s,
                          struct core_password_params params, bool is_fresh)
{
    int64_t version;
    enum rc rc = read_version(db, &version);
    if (rc || version >= CORE_DATA_VERSION)
        return rc;
    if (!is_fresh && version < 1)
        rc = hash_plain_passwords(db, s, params);
    if (!rc && !is_fresh && version < 2)
        rc = remake_search_indexes(db, s);
    return rc ? rc : write_version(db, CORE_DATA_VERSION);
}

enum rc core_data_upgrade_otps_begin(struct store_conn *db, const struct core_schema *s)
{
    if (core_schema_find_exact(s, STR_LIT("_otps")))
        return RC_OK;
    bool is_there = false;
    enum rc rc = store_has_object(db, STR_LIT("_otps"), &is_there);
    if (rc || !is_there)
        return rc;
    return store_exec(db, "ALTER TABLE _otps RENAME TO _otps_legacy");
}

enum rc core_data_upgrade_otps_finish(struct store_conn *db)
{
    bool is_there = false;
    enum rc rc = store_has_object(db, STR_LIT("_otps_legacy"), &is_there);
    if (rc || !is_there)
        return rc;
    rc = store_exec(
        db, "INSERT INTO _otps (id, \"collectionRef\", \"recordRef\", password, "
            "\"sentTo\", created, updated) SELECT id, \"collectionRef\", \"recordRef\", password, "
            "\"sentTo\", created, created FROM _otps_legacy WHERE TRUE ON CONFLICT DO NOTHING");
    if (!rc)
        rc = store_exec(db, "DROP TABLE _otps_legacy");
    if (!rc)
        log_info("msg=\"one-time passwords moved into the _otps collection\"");
    return rc;
}
