/* fuzz_search.c -- libFuzzer target for a search's text (store/search.h):
 * any bytes are split into words as an index splits them
 * (store_search_words), made into terms (the last a prefix unless a blank
 * ends the text, some given the word before as an alternative) and
 * written as each engine's query text (store_search_query_build). Beyond
 * "no crash": SQLite's FTS5 must take the MATCH text it gets over tables
 * with tarmac's tokenizer (plain and english), since a syntax error there
 * means a word reached the query syntax; and PostgreSQL's text must be
 * quoted lexemes joined only by the operators the builder writes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/search.h"
#include "store/sqlite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sqlite3 *db;
static sqlite3_stmt *match[2]; /* plain, english */

static void setup(void)
{
    if (db)
        return;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || store_sqlite_fts_register(db) != RC_OK ||
        sqlite3_exec(db,
                     "CREATE VIRTUAL TABLE p USING fts5(a, b, tokenize = 'tarmac');"
                     "CREATE VIRTUAL TABLE e USING fts5(a, b, tokenize = 'tarmac english');"
                     "INSERT INTO p VALUES ('the quick brown fox', char(1) || '<p>runs &amp; "
                     "jumps</p>');"
                     "INSERT INTO e SELECT * FROM p;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM p WHERE p MATCH ?1", -1, &match[0], NULL) ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM e WHERE e MATCH ?1", -1, &match[1], NULL))
        abort();
}

struct words {
    struct store_search_term terms[32];
    char text[32][256];
    size_t count;
    size_t last_end;
};

static enum rc on_word(void *ctx, struct str word, size_t start, size_t end)
{
    (void)start;
    struct words *w = ctx;
    if (w->count == 32)
        return RC_TOO_LARGE;
    size_t n = word.len < 255 ? word.len : 255;
    memcpy(w->text[w->count], word.ptr, n);
    w->terms[w->count] = (struct store_search_term){.word = {w->text[w->count], n}};
    w->count++;
    w->last_end = end;
    return RC_OK;
}

/* PostgreSQL's text: 'lexeme' (quotes doubled, backslashes escaped), then
 * only blanks, & | ( ) and :* outside quotes. */
static void check_tsquery(struct str t)
{
    bool in = false;
    for (size_t i = 0; i < t.len; i++) {
        char c = t.ptr[i];
        if (in) {
            if (c == '\\') {
                if (i + 1 == t.len)
                    abort();
                i++;
            } else if (c == '\'') {
                if (i + 1 < t.len && t.ptr[i + 1] == '\'')
                    i++;
                else
                    in = false;
            }
        } else if (c == '\'') {
            in = true;
        } else if (!strchr(" &|():*", c)) {
            abort();
        }
    }
    if (in)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    setup();
    struct words w = {0};
    struct str text = {(const char *)data, size};
    if (store_search_words(text, on_word, &w) != RC_OK || !w.count)
        return 0;
    w.terms[w.count - 1].is_prefix = w.last_end == size;
    for (size_t i = 1; i < w.count; i += 2) {
        w.terms[i].alts = &w.terms[i - 1].word;
        w.terms[i].alt_count = 1;
    }
    static const struct store_search_column cols[2] = {{.name = {"a", 1}, .weight = 2},
                                                       {.name = {"b", 1}, .weight = 1}};
    for (int lang = 0; lang < 2; lang++) {
        struct store_search_index ix = {.table = {"t", 1},
                                        .key = {"k", 1},
                                        .columns = cols,
                                        .count = 2,
                                        .language = (enum store_search_language)lang};
        struct store_search_query q;
        store_search_query_init(&q, &ix, STORE_DIALECT_SQLITE);
        if (store_search_query_build(&q, w.terms, w.count) != RC_OK || !q.has[0] ||
            store_search_query_params(&q) != 1)
            abort();
        sqlite3_stmt *st = match[lang];
        sqlite3_bind_text(st, 1, q.text[0].data, (int)q.text[0].len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
            abort(); /* the MATCH text did not parse */
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        store_search_query_cleanup(&q);

        store_search_query_init(&q, &ix, STORE_DIALECT_POSTGRES);
        if (store_search_query_build(&q, w.terms, w.count) != RC_OK ||
            store_search_query_params(&q) < 1)
            abort();
        for (int k = 0; k < 3; k++)
            check_tsquery(buf_str(&q.text[k]));
        store_search_query_cleanup(&q);
    }
    return 0;
}
