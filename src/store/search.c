/* search.c -- see search.h. The SQL of each engine is written here, from
 * tables per dialect where the two differ only in words, and by one
 * function per engine where they differ in shape (the index's objects). */
#include "store/search.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/edit_distance.h"
#include "base/log.h"
#include "base/utf8.h"
#include "store/search_int.h"
#include "store/sql.h"

/* Runs the statements q built; q's buffer is emptied for the next. */
static enum rc run(struct store_conn *db, struct store_sql *q)
{
    store_sql_addn(q, (struct str){"", 1}); /* NUL-terminated for store_exec */
    enum rc rc = store_sql_end(q);
    if (!rc)
        rc = store_exec(db, q->out->data);
    buf_reset(q->out);
    q->rc = RC_OK;
    return rc;
}

static void add_double(struct store_sql *q, double v)
{
    char num[40];
    snprintf(num, sizeof(num), "%.6g", v);
    store_sql_add(q, num);
}

/* ---- SQLite's objects -------------------------------------------------- */

/* A column's value as the index takes it, from row (new, old, "r"): the
 * bytes 0x02 and 0x03 blanked (snippets mark matches with them), HTML
 * behind a 0x01 that tells the tokenizer to skip tags (sqlite_fts.c). */
static void sqlite_value(struct store_sql *q, const struct store_search_column *c, const char *row)
{
    store_sql_add(q, c->is_html ? "char(1) || replace(replace(coalesce("
                                : "replace(replace(coalesce(");
    store_sql_add(q, row);
    store_sql_add(q, ".");
    store_sql_ident(q, c->name);
    store_sql_add(q, ", ''), char(2), ' '), char(3), ' ')");
}

/* "c0", "c1", ...: FTS5 reserves some names (rank, rowid), fields may take them. */
static void sqlite_columns(struct store_sql *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char col[32];
        snprintf(col, sizeof(col), "%s\"c%zu\"", i ? ", " : "", i);
        store_sql_add(q, col);
    }
}

static void sqlite_values(struct store_sql *q, const struct store_search_index *ix, const char *row)
{
    for (size_t i = 0; i < ix->count; i++) {
        if (i)
            store_sql_add(q, ", ");
        sqlite_value(q, &ix->columns[i], row);
    }
}

/* The trigger statements that add row's words (new) or take them out (old). */
static void sqlite_add_row(struct store_sql *q, const struct store_search_index *ix)
{
    for (int t = 0; t < 2; t++) {
        store_sql_add(q, "INSERT INTO ");
        store_search_add_name(q, ix->key, t ? ":t" : "");
        store_sql_add(q, " (rowid, ");
        sqlite_columns(q, ix->count);
        store_sql_add(q, ") VALUES (new.rowid, ");
        sqlite_values(q, ix, "new");
        store_sql_add(q, "); ");
    }
}

static void sqlite_remove_row(struct store_sql *q, const struct store_search_index *ix)
{
    store_sql_add(q, "DELETE FROM ");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, " WHERE rowid = old.rowid; INSERT INTO ");
    store_search_add_name(q, ix->key, ":t");
    store_sql_add(q, " (");
    store_search_add_name(q, ix->key, ":t");
    store_sql_add(q, ", rowid, ");
    sqlite_columns(q, ix->count);
    store_sql_add(q, ") VALUES ('delete', old.rowid, ");
    sqlite_values(q, ix, "old");
    store_sql_add(q, "); ");
}

static enum rc sqlite_create(struct store_conn *db, const struct store_search_index *ix,
                             struct store_sql *q)
{
    char name[STORE_SEARCH_NAME_MAX];
    store_sql_add(q, "CREATE VIRTUAL TABLE ");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, " USING fts5(");
    sqlite_columns(q, ix->count);
    store_sql_add(q, ix->language == STORE_SEARCH_ENGLISH ? ", tokenize = 'tarmac english');"
                                                          : ", tokenize = 'tarmac');");
    store_sql_add(q, "CREATE VIRTUAL TABLE ");
    store_search_add_name(q, ix->key, ":t");
    store_sql_add(q, " USING fts5(");
    sqlite_columns(q, ix->count);
    store_sql_add(q, ", content = '', detail = none, tokenize = 'tarmac terms');");
    /* fts5vocab takes the table's name as a string literal; the name is
     * "_s:" and \w characters, no quote to double. */
    store_search_name(ix->key, ":t", name);
    store_sql_add(q, "CREATE VIRTUAL TABLE ");
    store_search_add_name(q, ix->key, ":v");
    store_sql_add(q, " USING fts5vocab('");
    store_sql_add(q, name);
    store_sql_add(q, "', 'row');");
    enum rc rc = run(db, q);
    if (rc)
        return rc;

    store_sql_add(q, "CREATE TRIGGER ");
    store_search_add_name(q, ix->key, ":ai");
    store_sql_add(q, " AFTER INSERT ON ");
    store_sql_ident(q, ix->table);
    store_sql_add(q, " BEGIN ");
    sqlite_add_row(q, ix);
    store_sql_add(q, "END; CREATE TRIGGER ");
    store_search_add_name(q, ix->key, ":ad");
    store_sql_add(q, " AFTER DELETE ON ");
    store_sql_ident(q, ix->table);
    store_sql_add(q, " BEGIN ");
    sqlite_remove_row(q, ix);
    store_sql_add(q, "END; CREATE TRIGGER ");
    store_search_add_name(q, ix->key, ":au");
    store_sql_add(q, " AFTER UPDATE OF ");
    for (size_t i = 0; i < ix->count; i++) {
        if (i)
            store_sql_add(q, ", ");
        store_sql_ident(q, ix->columns[i].name);
    }
    store_sql_add(q, " ON ");
    store_sql_ident(q, ix->table);
    store_sql_add(q, " BEGIN ");
    sqlite_remove_row(q, ix);
    sqlite_add_row(q, ix);
    store_sql_add(q, "END;");
    rc = run(db, q);
    if (rc)
        return rc;

    /* The rows already there. */
    for (int t = 0; t < 2; t++) {
        store_sql_add(q, "INSERT INTO ");
        store_search_add_name(q, ix->key, t ? ":t" : "");
        store_sql_add(q, " (rowid, ");
        sqlite_columns(q, ix->count);
        store_sql_add(q, ") SELECT \"r\".rowid, ");
        sqlite_values(q, ix, "\"r\"");
        store_sql_add(q, " FROM ");
        store_sql_ident(q, ix->table);
        store_sql_add(q, " AS \"r\";");
    }
    return run(db, q);
}

static enum rc sqlite_drop(struct store_conn *db, struct str key, struct store_sql *q)
{
    static const char *const triggers[] = {":ai", ":ad", ":au"};
    for (size_t i = 0; i < 3; i++) {
        store_sql_add(q, "DROP TRIGGER IF EXISTS ");
        store_search_add_name(q, key, triggers[i]);
        store_sql_add(q, ";");
    }
    static const char *const tables[] = {":v", ":t", ""};
    for (size_t i = 0; i < 3; i++) {
        store_sql_add(q, "DROP TABLE IF EXISTS ");
        store_search_add_name(q, key, tables[i]);
        store_sql_add(q, ";");
    }
    return run(db, q);
}

/* ---- PostgreSQL's objects ---------------------------------------------- */

/* The text search configurations, made once per database: unaccent, then
 * simple (lower case) or an English snowball stemmer with no stop word
 * list (SQLite's porter drops none either). The token types are those
 * of words; e-mail addresses, hosts and URLs keep the default mapping. */
static const char PG_SETUP[] =
    "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS unaccent;\n"
    "DO $d$ BEGIN\n"
    "IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'tarmac_simple' AND "
    "cfgnamespace = current_schema()::regnamespace) THEN\n"
    "  CREATE TEXT SEARCH CONFIGURATION tarmac_simple (COPY = simple);\n"
    "  ALTER TEXT SEARCH CONFIGURATION tarmac_simple ALTER MAPPING FOR asciiword, asciihword, "
    "hword_asciipart, word, hword, hword_part, numword, numhword, hword_numpart "
    "WITH unaccent, simple;\n"
    "END IF;\n"
    "IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'tarmac_english_stem' AND "
    "dictnamespace = current_schema()::regnamespace) THEN\n"
    "  CREATE TEXT SEARCH DICTIONARY tarmac_english_stem (TEMPLATE = snowball, "
    "Language = english);\n"
    "END IF;\n"
    "IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'tarmac_english' AND "
    "cfgnamespace = current_schema()::regnamespace) THEN\n"
    "  CREATE TEXT SEARCH CONFIGURATION tarmac_english (COPY = simple);\n"
    "  ALTER TEXT SEARCH CONFIGURATION tarmac_english ALTER MAPPING FOR asciiword, asciihword, "
    "hword_asciipart, word, hword, hword_part WITH unaccent, tarmac_english_stem;\n"
    "  ALTER TEXT SEARCH CONFIGURATION tarmac_english ALTER MAPPING FOR numword, numhword, "
    "hword_numpart WITH unaccent, simple;\n"
    "END IF;\n"
    "END $d$;";

static const char *pg_config(enum store_search_language l)
{
    return l == STORE_SEARCH_ENGLISH ? "'tarmac_english'" : "'tarmac_simple'";
}

/* The weight classes: the distinct weights, largest first, are A, B, C, D. */
static char pg_class(const struct store_search_index *ix, size_t i)
{
    int above = 0;
    for (size_t k = 0; k < ix->count; k++) {
        bool seen = false;
        for (size_t j = 0; j < k; j++)
            seen = seen || ix->columns[j].weight == ix->columns[k].weight;
        above += !seen && ix->columns[k].weight > ix->columns[i].weight;
    }
    return (char)('A' + (above > 3 ? 3 : above));
}

/* coalesce((row."col")::text, ''): a JSON column (a multiple select) as
 * its text. */
static void pg_text(struct store_sql *q, const struct store_search_column *c, const char *row)
{
    store_sql_add(q, "coalesce((");
    store_sql_add(q, row);
    store_sql_add(q, ".");
    store_sql_ident(q, c->name);
    store_sql_add(q, ")::text, '')");
}

/* The record's tsvector: each column in its weight's class; english also
 * holds the unstemmed words, which prefixes and typos match. */
static void pg_vector(struct store_sql *q, const struct store_search_index *ix, const char *row)
{
    for (size_t i = 0; i < ix->count; i++) {
        const struct store_search_column *c = &ix->columns[i];
        store_sql_add(q, i ? " || setweight(to_tsvector(" : "setweight(to_tsvector(");
        store_sql_add(q, pg_config(ix->language));
        store_sql_add(q, ", ");
        pg_text(q, c, row);
        store_sql_add(q, ")");
        if (ix->language == STORE_SEARCH_ENGLISH) {
            store_sql_add(q, " || to_tsvector('tarmac_simple', ");
            pg_text(q, c, row);
            store_sql_add(q, ")");
        }
        char cls[8];
        snprintf(cls, sizeof(cls), ", '%c')", pg_class(ix, i));
        store_sql_add(q, cls);
    }
}

/* The distinct words of a row, unstemmed, as a text[]. */
static void pg_words(struct store_sql *q, const struct store_search_index *ix, const char *row)
{
    store_sql_add(q, "tsvector_to_array(to_tsvector('tarmac_simple', concat_ws(' '");
    for (size_t i = 0; i < ix->count; i++) {
        store_sql_add(q, ", ");
        pg_text(q, &ix->columns[i], row);
    }
    store_sql_add(q, ")))");
}

static enum rc pg_create(struct store_conn *db, const struct store_search_index *ix,
                         struct store_sql *q)
{
    store_sql_add(q, PG_SETUP);
    enum rc rc = run(db, q);
    if (rc) {
        log_error("msg=\"full-text search needs the PostgreSQL extensions pg_trgm and "
                  "unaccent (Debian's postgresql package has them)\"");
        return rc;
    }
    store_sql_add(q, "CREATE TABLE ");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, " (id TEXT PRIMARY KEY NOT NULL, vec tsvector NOT NULL); CREATE INDEX ");
    store_search_add_name(q, ix->key, ":gin");
    store_sql_add(q, " ON ");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, " USING gin (vec); CREATE TABLE ");
    store_search_add_name(q, ix->key, ":w");
    store_sql_add(q, " (word TEXT COLLATE \"C\" PRIMARY KEY NOT NULL, n INTEGER NOT NULL); "
                     "CREATE INDEX ");
    store_search_add_name(q, ix->key, ":trgm");
    store_sql_add(q, " ON ");
    store_search_add_name(q, ix->key, ":w");
    store_sql_add(q, " USING gin (word gin_trgm_ops);\n");

    /* The trigger function: a row's words out (its old values), then in
     * (its new ones); an update that changes no indexed column is left. */
    store_sql_add(q, "CREATE FUNCTION ");
    store_search_add_name(q, ix->key, ":f");
    store_sql_add(q, "() RETURNS trigger LANGUAGE plpgsql AS $f$\nDECLARE w text[];\nBEGIN\n"
                     "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id");
    for (size_t i = 0; i < ix->count; i++) {
        /* as text: json has no equality */
        store_sql_add(q, " AND (NEW.");
        store_sql_ident(q, ix->columns[i].name);
        store_sql_add(q, ")::text IS NOT DISTINCT FROM (OLD.");
        store_sql_ident(q, ix->columns[i].name);
        store_sql_add(q, ")::text");
    }
    store_sql_add(q, " THEN RETURN NULL; END IF;\nIF TG_OP <> 'INSERT' THEN\n  DELETE FROM ");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, " WHERE id = OLD.id;\n  w := ");
    pg_words(q, ix, "OLD");
    store_sql_add(q, ";\n  UPDATE ");
    store_search_add_name(q, ix->key, ":w");
    store_sql_add(q, " SET n = n - 1 WHERE word = ANY (w);\n  DELETE FROM ");
    store_search_add_name(q, ix->key, ":w");
    store_sql_add(q, " WHERE word = ANY (w) AND n <= 0;\nEND IF;\n"
                     "IF TG_OP <> 'DELETE' THEN\n  INSERT INTO ");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, " (id, vec) VALUES (NEW.id, ");
    pg_vector(q, ix, "NEW");
    store_sql_add(q, ");\n  w := ");
    pg_words(q, ix, "NEW");
    store_sql_add(q, ";\n  INSERT INTO ");
    store_search_add_name(q, ix->key, ":w");
    store_sql_add(q, " AS x (word, n) SELECT u, 1 FROM unnest(w) AS u "
                     "ON CONFLICT (word) DO UPDATE SET n = x.n + 1;\nEND IF;\n"
                     "RETURN NULL;\nEND $f$;\nCREATE TRIGGER ");
    store_search_add_name(q, ix->key, ":trg");
    store_sql_add(q, " AFTER INSERT OR UPDATE OR DELETE ON ");
    store_sql_ident(q, ix->table);
    store_sql_add(q, " FOR EACH ROW EXECUTE FUNCTION ");
    store_search_add_name(q, ix->key, ":f");
    store_sql_add(q, "();\n");
    rc = run(db, q);
    if (rc)
        return rc;

    /* The rows already there. */
    store_sql_add(q, "INSERT INTO ");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, " (id, vec) SELECT \"r\".\"id\", ");
    pg_vector(q, ix, "\"r\"");
    store_sql_add(q, " FROM ");
    store_sql_ident(q, ix->table);
    store_sql_add(q, " AS \"r\"; INSERT INTO ");
    store_search_add_name(q, ix->key, ":w");
    store_sql_add(q, " (word, n) SELECT u, count(*) FROM ");
    store_sql_ident(q, ix->table);
    store_sql_add(q, " AS \"r\", unnest(");
    pg_words(q, ix, "\"r\"");
    store_sql_add(q, ") AS u GROUP BY u;");
    return run(db, q);
}

static enum rc pg_drop(struct store_conn *db, struct str key, struct store_sql *q)
{
    /* CASCADE takes the trigger that calls the function along. */
    store_sql_add(q, "DROP FUNCTION IF EXISTS ");
    store_search_add_name(q, key, ":f");
    store_sql_add(q, "() CASCADE; DROP TABLE IF EXISTS ");
    store_search_add_name(q, key, "");
    store_sql_add(q, "; DROP TABLE IF EXISTS ");
    store_search_add_name(q, key, ":w");
    store_sql_add(q, ";");
    return run(db, q);
}

/* ---- Making and dropping --------------------------------------------------- */

enum rc store_search_create(struct store_conn *db, const struct store_search_index *ix)
{
    if (!ix->count || ix->count > STORE_SEARCH_MAX_COLUMNS)
        return RC_INVALID;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, store_conn_dialect(db));
    enum rc rc =
        q.dialect == STORE_DIALECT_POSTGRES ? pg_create(db, ix, &q) : sqlite_create(db, ix, &q);
    buf_cleanup(&sql);
    return rc;
}

enum rc store_search_drop(struct store_conn *db, struct str key)
{
    struct buf sql;
    buf_init(&sql, 1 << 16);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, store_conn_dialect(db));
    enum rc rc =
        q.dialect == STORE_DIALECT_POSTGRES ? pg_drop(db, key, &q) : sqlite_drop(db, key, &q);
    buf_cleanup(&sql);
    return rc;
}

/* ---- Point indexes ---------------------------------------------------------- */

/* coalesce(json_extract(row."col", '$.lon'), 0) */
static void sqlite_coord(struct store_sql *q, const char *row, struct str column, const char *key)
{
    store_sql_add(q, "coalesce(json_extract(");
    store_sql_add(q, row);
    store_sql_add(q, ".");
    store_sql_ident(q, column);
    store_sql_add(q, key);
    store_sql_add(q, "), 0)");
}

static void sqlite_point(struct store_sql *q, const char *row, struct str column)
{
    sqlite_coord(q, row, column, ", '$.lon'");
    store_sql_add(q, ", ");
    sqlite_coord(q, row, column, ", '$.lon'");
    store_sql_add(q, ", ");
    sqlite_coord(q, row, column, ", '$.lat'");
    store_sql_add(q, ", ");
    sqlite_coord(q, row, column, ", '$.lat'");
}

enum rc store_geo_create(struct store_conn *db, struct str table, struct str key, unsigned n,
                         struct str column)
{
    struct buf sql;
    buf_init(&sql, 1 << 16);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, store_conn_dialect(db));
    char rt[32], ins[32], upd[32], del[32];
    store_search_geo_suffix(n, "", rt);
    store_search_geo_suffix(n, "i", ins);
    store_search_geo_suffix(n, "u", upd);
    store_search_geo_suffix(n, "d", del);
    if (q.dialect == STORE_DIALECT_POSTGRES) {
        store_sql_add(&q, "CREATE INDEX ");
        store_search_add_name(&q, key, rt);
        store_sql_add(&q, " ON ");
        store_sql_ident(&q, table);
        store_sql_add(&q, " (((");
        store_sql_ident(&q, column);
        store_sql_add(&q, " ->> 'lat')::float8), ((");
        store_sql_ident(&q, column);
        store_sql_add(&q, " ->> 'lon')::float8))");
        enum rc rc = run(db, &q);
        buf_cleanup(&sql);
        return rc;
    }
    /* R*Tree boxes of 32-bit floats, each rounded outwards: a point is a
     * box of no size around itself. */
    store_sql_add(&q, "CREATE VIRTUAL TABLE ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " USING rtree(id, minLon, maxLon, minLat, maxLat); CREATE TRIGGER ");
    store_search_add_name(&q, key, ins);
    store_sql_add(&q, " AFTER INSERT ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " BEGIN INSERT INTO ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " VALUES (new.rowid, ");
    sqlite_point(&q, "new", column);
    store_sql_add(&q, "); END; CREATE TRIGGER ");
    store_search_add_name(&q, key, upd);
    store_sql_add(&q, " AFTER UPDATE OF ");
    store_sql_ident(&q, column);
    store_sql_add(&q, " ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " BEGIN INSERT OR REPLACE INTO ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " VALUES (new.rowid, ");
    sqlite_point(&q, "new", column);
    store_sql_add(&q, "); END; CREATE TRIGGER ");
    store_search_add_name(&q, key, del);
    store_sql_add(&q, " AFTER DELETE ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " BEGIN DELETE FROM ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " WHERE id = old.rowid; END; INSERT INTO ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " SELECT \"r\".rowid, ");
    sqlite_point(&q, "\"r\"", column);
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " AS \"r\";");
    enum rc rc = run(db, &q);
    buf_cleanup(&sql);
    return rc;
}

enum rc store_geo_drop(struct store_conn *db, struct str key, unsigned n)
{
    struct buf sql;
    buf_init(&sql, 1 << 12);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, store_conn_dialect(db));
    char name[32];
    store_search_geo_suffix(n, "", name);
    if (q.dialect == STORE_DIALECT_POSTGRES) {
        store_sql_add(&q, "DROP INDEX IF EXISTS ");
        store_search_add_name(&q, key, name);
    } else {
        static const char *const triggers[] = {"i", "u", "d"};
        for (size_t i = 0; i < 3; i++) {
            char t[32];
            store_search_geo_suffix(n, triggers[i], t);
            store_sql_add(&q, "DROP TRIGGER IF EXISTS ");
            store_search_add_name(&q, key, t);
            store_sql_add(&q, "; ");
        }
        store_sql_add(&q, "DROP TABLE IF EXISTS ");
        store_search_add_name(&q, key, name);
    }
    enum rc rc = run(db, &q);
    buf_cleanup(&sql);
    return rc;
}

/* ---- Typo lookups ---------------------------------------------------------- */

/* Where a lookup reads each dialect's words: the vocabulary's suffix and
 * its word column. */
static const struct {
    const char *table, *word;
} vocab[] = {
    [STORE_DIALECT_SQLITE] = {":v", "term"},
    [STORE_DIALECT_POSTGRES] = {":w", "word"},
};

/* The least string greater than every string that begins with p: its last
 * code point plus one (surrogates skipped), the ones at U+10FFFF dropped.
 * false when there is none (p is empty or all U+10FFFF). */
static bool next_prefix(struct str p, char *out, size_t cap, struct str *next)
{
    size_t end = p.len;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && ((unsigned char)p.ptr[start] & 0xC0) == 0x80)
            start--;
        uint32_t cp;
        if (!utf8_decode((const unsigned char *)p.ptr + start, end - start, &cp)) {
            end = start;
            continue;
        }
        if (cp < 0x10FFFF) {
            cp = cp == 0xD7FF ? 0xE000 : cp + 1;
            if (start + 4 > cap)
                return false;
            memcpy(out, p.ptr, start);
            size_t n = utf8_encode(cp, out + start);
            *next = (struct str){out, start + n};
            return true;
        }
        end = start;
    }
    return false;
}

/* Runs sql with a as ?1 and b as ?2, and calls back for each row's word. */
typedef void word_fn(void *ctx, struct str word);

static enum rc each_word(struct store_conn *db, struct str sql, struct str a, struct str b,
                         word_fn *fn, void *ctx)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, sql, &st);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = store_bind_text(st, 1, a);
    if (!rc)
        rc = store_bind_text(st, 2, b);
    while (!rc && (rc = store_step(st)) == RC_OK)
        fn(ctx, store_column_text(st, 0));
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* The statement "SELECT <word> FROM <vocabulary><tail>". */
static enum rc vocab_sql(const struct store_search_index *ix, enum store_dialect d,
                         const char *tail, struct buf *out)
{
    struct store_sql q;
    store_sql_begin_as(&q, out, d);
    store_sql_add(&q, "SELECT ");
    store_sql_add(&q, vocab[d].word);
    store_sql_add(&q, " FROM ");
    store_search_add_name(&q, ix->key, vocab[d].table);
    store_sql_add(&q, tail);
    return store_sql_end(&q);
}

struct similar {
    struct str word;  /* what was typed */
    bool is_reversed; /* the words come reversed, behind '~' */
    struct arena *a;
    struct str *alts;
    size_t count;
};

/* s reversed by code points into out (room for s.len bytes). */
static void reverse_into(struct str s, char *out)
{
    size_t o = s.len;
    for (size_t i = 0; i < s.len;) {
        size_t n = 1;
        while (i + n < s.len && ((unsigned char)s.ptr[i + n] & 0xC0) == 0x80)
            n++;
        o -= n;
        memcpy(out + o, s.ptr + i, n);
        i += n;
    }
}

static int compare_str(struct str a, struct str b)
{
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static void on_similar(void *ctx, struct str word)
{
    struct similar *s = ctx;
    char back[4 * EDIT_DISTANCE_MAX_LEN];
    if (s->is_reversed) {
        if (!word.len || word.ptr[0] != '~' || word.len - 1 > sizeof(back))
            return;
        reverse_into((struct str){word.ptr + 1, word.len - 1}, back);
        word = (struct str){back, word.len - 1};
    }
    if (str_eq(word, s->word) || !edit_distance_within(word, s->word, 1))
        return;
    /* Kept in byte order; past the cap the greatest falls off. */
    size_t at = 0;
    while (at < s->count && compare_str(s->alts[at], word) < 0)
        at++;
    if (at < s->count && str_eq(s->alts[at], word))
        return;
    if (at == STORE_SEARCH_MAX_ALTS)
        return;
    size_t last = s->count < STORE_SEARCH_MAX_ALTS ? s->count : STORE_SEARCH_MAX_ALTS - 1;
    for (size_t i = last; i > at; i--)
        s->alts[i] = s->alts[i - 1];
    s->alts[at] = arena_strdup(s->a, word);
    if (s->count < STORE_SEARCH_MAX_ALTS)
        s->count++;
}

enum rc store_search_similar(struct store_conn *db, const struct store_search_index *ix,
                             struct str word, struct arena *a, struct str *alts, size_t *count)
{
    *count = 0;
    size_t length = edit_distance_length(word);
    if (length < 2 || length > EDIT_DISTANCE_MAX_LEN)
        return RC_OK;
    enum store_dialect d = store_conn_dialect(db);
    /* A word one edit away keeps the first k letters of the word typed or
     * its last n - 1 - k (the edit, a swap of two included, lies in one
     * part and leaves the other whole): the words that begin with the
     * one, and those that end with the other. SQLite finds those as
     * ranges of its vocabulary (the reversed words behind '~' for the
     * ends); PostgreSQL as LIKE patterns its pg_trgm index answers. */
    struct similar s = {.word = word, .a = a, .alts = alts};
    size_t k = (length - 1) / 2, head = 0;
    for (size_t seen = 0; seen < k; seen++) {
        head++;
        while (head < word.len && ((unsigned char)word.ptr[head] & 0xC0) == 0x80)
            head++;
    }
    size_t tail = head + 1;
    while (tail < word.len && ((unsigned char)word.ptr[tail] & 0xC0) == 0x80)
        tail++;
    struct str first = {word.ptr, head}, last = {word.ptr + tail, word.len - tail};
    struct buf sql;
    buf_init(&sql, 1 << 16);
    char pat[2][4 * EDIT_DISTANCE_MAX_LEN + 8], upper[4 * EDIT_DISTANCE_MAX_LEN + 8];
    enum rc rc;
    if (d == STORE_DIALECT_POSTGRES) {
        rc = vocab_sql(ix, d, " WHERE word LIKE ?1 OR word LIKE ?2 LIMIT 8000", &sql);
        /* The words are letters, digits and marks: no LIKE wildcard in them. */
        memcpy(pat[0], first.ptr, first.len);
        pat[0][first.len] = '%';
        pat[1][0] = '%';
        memcpy(pat[1] + 1, last.ptr, last.len);
        if (!rc)
            rc = each_word(db, buf_str(&sql), (struct str){pat[0], first.len + 1},
                           (struct str){pat[1], last.len + 1}, on_similar, &s);
    } else {
        rc = vocab_sql(ix, d, " WHERE term >= ?1 AND term < ?2 LIMIT 4000", &sql);
        for (int pass = 0; pass < 2 && !rc; pass++) {
            struct str from = first, next;
            if (pass == 1) {
                pat[0][0] = '~';
                reverse_into(last, pat[0] + 1);
                from = (struct str){pat[0], 1 + last.len};
            }
            s.is_reversed = pass == 1;
            if (next_prefix(from, upper, sizeof(upper), &next))
                rc = each_word(db, buf_str(&sql), from, next, on_similar, &s);
        }
    }
    buf_cleanup(&sql);
    *count = s.count;
    return rc;
}

/* ---- Queries --------------------------------------------------------------- */

enum rc store_search_query_bind_snippets(struct store_stmt *st, const struct store_search_query *sq,
                                         unsigned n)
{
    return sq->has[2] ? store_bind_text(st, (int)n, buf_str(&sq->text[2])) : RC_OK;
}

enum rc store_search_query_bind(struct store_stmt *st, const struct store_search_query *sq,
                                unsigned first)
{
    enum rc rc = RC_OK;
    for (int k = 0; k < 2 && !rc; k++) {
        if (sq->has[k])
            rc = store_bind_text(st, (int)first++, buf_str(&sq->text[k]));
    }
    return rc;
}

/* SQLite's FTS5 table is named in the query itself: its auxiliary
 * functions (bm25, snippet) refuse an alias. */
void store_sql_search_join(struct store_sql *q, const struct store_search_query *sq)
{
    store_sql_add(q, " JOIN ");
    if (q->dialect == STORE_DIALECT_POSTGRES) {
        store_search_add_name(q, sq->ix->key, "");
        store_sql_add(q, " \"s\" ON \"s\".\"id\" = \"r\".\"id\"");
        return;
    }
    store_search_add_name(q, sq->ix->key, "");
    store_sql_add(q, " ON ");
    store_search_add_name(q, sq->ix->key, "");
    store_sql_add(q, ".rowid = \"r\".rowid");
}

/* PostgreSQL: the tsquery of the query's parameters. */
static void pg_tsquery(struct store_sql *q, const struct store_search_query *sq, unsigned first)
{
    bool both = sq->has[0] && sq->has[1];
    if (both)
        store_sql_add(q, "(");
    unsigned p = first;
    for (int k = 0; k < 2; k++) {
        if (!sq->has[k])
            continue;
        if (k && both)
            store_sql_add(q, " && ");
        store_sql_add(q, "to_tsquery(");
        store_sql_add(q, k ? "'tarmac_simple'" : pg_config(sq->ix->language));
        store_sql_add(q, "::regconfig, ");
        store_sql_param_at(q, p++);
        store_sql_add(q, "::text)");
    }
    if (both)
        store_sql_add(q, ")");
}

void store_sql_search_match(struct store_sql *q, const struct store_search_query *sq,
                            unsigned first)
{
    if (q->dialect == STORE_DIALECT_POSTGRES) {
        store_sql_add(q, "\"s\".vec @@ ");
        pg_tsquery(q, sq, first);
        return;
    }
    store_search_add_name(q, sq->ix->key, "");
    store_sql_add(q, " MATCH ");
    store_sql_param_at(q, first);
}

void store_sql_search_rank(struct store_sql *q, const struct store_search_query *sq, unsigned first)
{
    const struct store_search_index *ix = sq->ix;
    if (q->dialect == STORE_DIALECT_POSTGRES) {
        /* ts_rank's weights are {D, C, B, A}, each at most 1. */
        double max = 0, class_weight[4] = {0, 0, 0, 0};
        for (size_t i = 0; i < ix->count; i++) {
            if (ix->columns[i].weight > max)
                max = ix->columns[i].weight;
            class_weight[pg_class(ix, i) - 'A'] = ix->columns[i].weight;
        }
        store_sql_add(q, "ts_rank('{");
        for (int k = 3; k >= 0; k--) {
            add_double(q, max > 0 ? class_weight[k] / max : 0);
            store_sql_add(q, k ? "," : "}'::float4[], \"s\".vec, ");
        }
        pg_tsquery(q, sq, first);
        store_sql_add(q, ", 1) DESC");
        return;
    }
    /* bm25 is lower for a better match. */
    store_sql_add(q, "bm25(");
    store_search_add_name(q, ix->key, "");
    for (size_t i = 0; i < ix->count; i++) {
        store_sql_add(q, ", ");
        add_double(q, ix->columns[i].weight);
    }
    store_sql_add(q, ")");
}

void store_sql_search_snippet(struct store_sql *q, const struct store_search_query *sq,
                              unsigned first, unsigned own, size_t i)
{
    if (q->dialect == STORE_DIALECT_POSTGRES) {
        store_sql_add(q, "ts_headline(");
        store_sql_add(q, sq->has[2] ? "'tarmac_simple'" : pg_config(sq->ix->language));
        store_sql_add(q, "::regconfig, translate(");
        pg_text(q, &sq->ix->columns[i], "\"r\"");
        store_sql_add(q, ", chr(1) || chr(2) || chr(3), '   '), ");
        if (sq->has[2]) {
            store_sql_add(q, "to_tsquery('tarmac_simple'::regconfig, ");
            store_sql_param_at(q, own);
            store_sql_add(q, "::text)");
        } else {
            pg_tsquery(q, sq, first);
        }
        store_sql_add(q, ", 'MaxWords=16, MinWords=8, ShortWord=0, MaxFragments=1, StartSel=' "
                         "|| chr(2) || ', StopSel=' || chr(3))");
        return;
    }
    char col[64];
    snprintf(col, sizeof(col), ", %zu, char(2), char(3), '', 16)", i);
    store_sql_add(q, "snippet(");
    store_search_add_name(q, sq->ix->key, "");
    store_sql_add(q, col);
}
