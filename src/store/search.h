/* search.h -- full-text search: a table's index and the queries over it
 * (layer: store).
 *
 * A searchable table gets an index of its own, named after a key (core
 * passes the collection's id), that triggers keep in step with the table
 * inside the transaction of every write, whoever writes. Core names the
 * columns, their weights and a language; this module writes each engine's
 * objects and the pieces of a query (join, match, rank, snippets), so core
 * builds a search list like any other with store/sql.h, and the user's
 * words only ever reach the engine as bound parameters.
 *
 * SQLite: an FTS5 table "_s:KEY" (the words of each column, ranked by
 * bm25 with the columns' weights) joined on the table's rowid, and a
 * contentless FTS5 table "_s:KEY:t" whose vocabulary ("_s:KEY:v",
 * fts5vocab) lists every word forwards and backwards, for typo lookups
 * (sqlite_fts.c has the tokenizers). PostgreSQL: a table "_s:KEY" of
 * tsvectors (the columns' weights as the four classes A-D) with a GIN
 * index, joined on the record id; a table "_s:KEY:w" of the words with a
 * pg_trgm index; a trigger function per table. Both fold case and accents
 * (unicode61 remove_diacritics 2; the unaccent dictionary) and keep words
 * of every script whole (marks are part of a word). "english" stems
 * (FTS5's porter, PostgreSQL's snowball), keeps the unstemmed words too
 * (for prefixes and typos) and drops no stop word.
 *
 * Names: every object of an index starts with "_s:", which no collection
 * name can (names are \w+), so the catalog (store_tables) leaves them out
 * and a copy between engines makes them again from the rows. */
#ifndef TARMAC_STORE_SEARCH_H
#define TARMAC_STORE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "store/dialect.h"
#include "store/store.h"

struct store_sql;

enum store_search_language {
    STORE_SEARCH_SIMPLE,  /* words as written (case and accents folded) */
    STORE_SEARCH_ENGLISH, /* and English stems */
};

/* Columns an index holds at most. */
#define STORE_SEARCH_MAX_COLUMNS 16

struct store_search_column {
    struct str name; /* the table's column (a validated \w+ name) */
    double weight;   /* > 0; PostgreSQL ranks with at most 4 distinct weights */
    bool is_html;    /* its tags and entities are not words (editor fields) */
};

struct store_search_index {
    struct str table; /* the table the records are in, aliased "r" in queries */
    struct str key;   /* names the index's objects: \w+, at most 100 bytes */
    const struct store_search_column *columns;
    size_t count; /* 1..STORE_SEARCH_MAX_COLUMNS */
    enum store_search_language language;
};

/* Makes ix's objects on db and fills them from the table's rows, inside
 * the caller's transaction (the writer's); the triggers keep them in step
 * from then on. RC_IO (the engine's message logged) when the engine
 * refuses: on PostgreSQL the extensions pg_trgm and unaccent must be
 * available (Debian's postgresql package has them). */
enum rc store_search_create(struct store_conn *db, const struct store_search_index *ix);
/* Drops the objects of the index key, if any (before or after its table). */
enum rc store_search_drop(struct store_conn *db, struct str key);

/* ---- Points ---------------------------------------------------------------- */
/* An index of the points of a geoPoint column (JSON {"lon": x, "lat": y}),
 * the n-th of key's, so that a distance filter reads only the rows in a
 * box around its centre (issue #18, item 3). SQLite: an R*Tree "_s:KEY:gN"
 * keyed by the table's rowid, kept by triggers; PostgreSQL: a B-tree over
 * the point's latitude and longitude on the table itself. */

/* Makes the n-th point index of key over column of table and fills it,
 * inside the caller's transaction. RC_IO when the engine refuses. */
enum rc store_geo_create(struct store_conn *db, struct str table, struct str key, unsigned n,
                         struct str column);
/* Drops it, if any (before or after its table). */
enum rc store_geo_drop(struct store_conn *db, struct str key, unsigned n);
/* Appends to out, in dialect d, the condition that row's point (column of
 * the table aliased row, a quoted alias) lies in the box lon in [ph[0],
 * ph[1]], lat in [ph[2], ph[3]] (ph: the placeholders of four doubles),
 * written so the n-th point index of key answers it. RC_TOO_LARGE past
 * out's maximum. */
enum rc store_geo_box_as(struct buf *out, enum store_dialect d, struct str key, unsigned n,
                         struct str row, struct str column, const struct str ph[4]);

/* ---- Words ---------------------------------------------------------------- */

/* Called for each word of a text: word is folded as the index folds
 * (lower case, accents removed) and valid until the call returns; start
 * and end are its bytes in the text. A non-zero return stops. */
typedef enum rc store_search_word_fn(void *ctx, struct str word, size_t start, size_t end);
/* Splits text into words as every index does, on either engine (SQLite's
 * unicode61 rules: letters, digits, marks and private-use characters make
 * words; everything else parts them). Returns the first error of cb, or
 * RC_NOMEM, RC_INTERNAL when the tokenizer fails. Any thread; the
 * threads take turns (one tokenizer under a lock), so cb only collects. */
enum rc store_search_words(struct str text, store_search_word_fn *cb, void *ctx);

/* Words of the index one edit away from a word, at most this many. */
#define STORE_SEARCH_MAX_ALTS 32

/* The words of ix's records one edit away from word (folded, from
 * store_search_words; an edit: a letter added, removed, changed, or two
 * swapped: base/edit_distance.h) into alts (room for
 * STORE_SEARCH_MAX_ALTS), copied into a, in byte order; *count says how
 * many. The words are every record's, whoever may read them: a query made
 * of them finds only what its rule lets through, and neither the order
 * nor the cap depend on how often a word occurs. Each side of the lookup
 * reads at most 4,000 words of the vocabulary (typos of words that begin
 * or end like very many others may be missed). A read on db's connection. */
enum rc store_search_similar(struct store_conn *db, const struct store_search_index *ix,
                             struct str word, struct arena *a, struct str *alts, size_t *count);

/* ---- Queries ---------------------------------------------------------------- */

/* One word of a search and what else counts as it. */
struct store_search_term {
    struct str word;        /* folded */
    bool is_prefix;         /* words that begin with it match too */
    const struct str *alts; /* words that count as it (typos): matched whole */
    size_t alt_count;
};

/* A search over an index: the engine's query text built from the terms
 * (every term must match: one of its words), bound as parameters. */
struct store_search_query {
    const struct store_search_index *ix; /* borrowed */
    enum store_dialect dialect;
    /* The parameters' values: SQLite uses text[0] (an FTS5 MATCH
     * expression); PostgreSQL text[0] (tsquery text in the language's
     * configuration) and, for english, text[1] (the prefixes and their
     * alternatives, unstemmed), each only when it holds a term; and for
     * english's snippets text[2], every word as a prefix, unstemmed
     * (ts_headline parses the text with one configuration: with the
     * stemming one it would mark no prefix). */
    struct buf text[3];
    bool has[3];
};

/* Starts a query over ix (borrowed until cleanup) in dialect d. */
void store_search_query_init(struct store_search_query *sq, const struct store_search_index *ix,
                             enum store_dialect d);
void store_search_query_cleanup(struct store_search_query *sq);
/* Builds the query from n terms (n >= 1). RC_TOO_LARGE past the buffer. */
enum rc store_search_query_build(struct store_search_query *sq,
                                 const struct store_search_term *terms, size_t n);
/* How many parameters the query's pieces name (1 or 2). */
unsigned store_search_query_params(const struct store_search_query *sq);
/* Binds the query's parameters to placeholders first, first + 1, ...
 * (borrowed: sq outlives the statement's use). */
enum rc store_search_query_bind(struct store_stmt *st, const struct store_search_query *sq,
                                unsigned first);
/* Whether snippets name a parameter of their own (bound with
 * store_search_query_bind_snippets), besides the query's. */
bool store_search_query_has_snippet_param(const struct store_search_query *sq);
enum rc store_search_query_bind_snippets(struct store_stmt *st, const struct store_search_query *sq,
                                         unsigned n);
/* Each piece below names the query's parameters from first (the same
 * numbers in every piece of a statement). */
/* " JOIN <index> ON <the index's row is r's>", after FROM "<table>" "r". */
void store_sql_search_join(struct store_sql *q, const struct store_search_query *sq);
/* SQLite: the index's table (as the join names it), and its rowid. */
void store_search_add_table(struct store_sql *q, const struct store_search_query *sq);
void store_search_add_rowid(struct store_sql *q, const struct store_search_query *sq);
/* The condition that a row matches. */
void store_sql_search_match(struct store_sql *q, const struct store_search_query *sq,
                            unsigned first);
/* An ORDER BY item, the best match first. */
void store_sql_search_rank(struct store_sql *q, const struct store_search_query *sq,
                           unsigned first);
/* The text of column i around its matches (about 16 words), each match
 * between the bytes 0x02 and 0x03 (which are blanks in the indexed text),
 * tags left in for the caller to take out; '' when the column is empty.
 * own: the number of the snippets' own parameter (when
 * store_search_query_has_snippet_param). */
void store_sql_search_snippet(struct store_sql *q, const struct store_search_query *sq,
                              unsigned first, unsigned own, size_t i);

#endif
