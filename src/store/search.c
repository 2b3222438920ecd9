/* search.c -- see search.h: a search index's objects and the pieces of a
 * query over it, per engine (tables per dialect where the two differ only
 * in words, a function per engine where they differ in shape). The query's
 * text is search_query.c's, typo lookups search_similar.c's, point indexes
 * search_geo.c's. */
#include "store/search.h"

#include <stdio.h>

#include "base/log.h"
#include "store/search_int.h"
#include "store/sql.h"

/* Runs the statements q built; q's buffer is emptied for the next. */
enum rc store_search_run(struct store_conn *db, struct store_sql *q)
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
    /* prefix indexes of 2, 3 and 4 characters: a word being typed ("li",
     * "\x01lib" in English, sqlite_fts.c) is one index entry, not a merge
     * of every word it begins */
    store_sql_add(q, ix->language == STORE_SEARCH_ENGLISH
                         ? ", tokenize = 'tarmac english', prefix = '2 3 4');"
                         : ", tokenize = 'tarmac', prefix = '2 3 4');");
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
    enum rc rc = store_search_run(db, q);
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
    rc = store_search_run(db, q);
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
    return store_search_run(db, q);
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
    return store_search_run(db, q);
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
    enum rc rc = store_search_run(db, q);
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
    rc = store_search_run(db, q);
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
    return store_search_run(db, q);
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
    return store_search_run(db, q);
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

void store_search_add_table(struct store_sql *q, const struct store_search_query *sq)
{
    store_search_add_name(q, sq->ix->key, "");
}

void store_search_add_rowid(struct store_sql *q, const struct store_search_query *sq)
{
    store_search_add_name(q, sq->ix->key, "");
    store_sql_add(q, ".rowid");
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
    /* BM25 (sqlite_rank.c), lower for a better match; the table's name
     * is "_s:" and \w characters (store_search_name): no quote to double */
    char name[STORE_SEARCH_NAME_MAX];
    store_search_name(ix->key, "", name);
    store_sql_add(q, "tarmac_bm25(");
    store_search_add_name(q, ix->key, "");
    store_sql_add(q, ", '");
    store_sql_add(q, name);
    store_sql_add(q, "'");
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
