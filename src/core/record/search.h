/* search.h -- a list's `search`: the words a client typed, made into a
 * query over the collection's index (layer: core, record/).
 *
 * The text is split into words as the index splits its records' (store's
 * store_search_words: case and accents folded, every script). Every word
 * must match; the last one also matches the words it begins (search as
 * you type) unless the text ends with a space or a sign. A word of five
 * letters or more that matches no record of the list (its rule and filter
 * applied, so a hidden record tells nothing) also matches the indexed words
 * one edit away (typo tolerance; store_search_similar): a word that some
 * record holds is taken as meant, so "house" does not find "horse". The
 * list (record_read.c) joins the index, adds the match to its rule and
 * filter, and orders by relevance unless a sort is given, which then wins
 * (the relevance breaks its ties). Snippets: each record's best-matching
 * field around its matches. */
#ifndef TARMAC_CORE_RECORD_SEARCH_H
#define TARMAC_CORE_RECORD_SEARCH_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/problem.h"
#include "core/record/record.h"
#include "core/schema/search_options.h"
#include "store/search.h"

/* Bytes a search text may have, and words. */
#define CORE_SEARCH_MAX_TEXT 1000
#define CORE_SEARCH_MAX_WORDS 32

/* A search prepared for one request. */
struct core_search {
    const struct core_collection *c;
    struct store_search_column cols[CORE_SEARCH_MAX_FIELDS];
    struct store_search_index ix;
    int field_at[CORE_SEARCH_MAX_FIELDS]; /* each column's field (its record column) */
    bool is_list[CORE_SEARCH_MAX_FIELDS]; /* its values are a JSON array (multiple select) */
    struct store_search_term terms[CORE_SEARCH_MAX_WORDS]; /* words in r's arena */
    size_t term_count;
    struct store_search_query query; /* made of the terms (core_search_build) */
    bool is_empty;                   /* the text holds no word: the list is not searched */
};

/* Prepares a search of c for text (the raw `search` parameter): its words
 * as terms, and the query made of them as they are. RC_INVALID with p
 * naming `search`: c has no search, or the text is not UTF-8, too long or
 * has too many words. RC_OK with s->is_empty when the text holds no word
 * at all. Either way clean s up with core_search_cleanup. Strings live in
 * r's arena; the query is in the dialect of r's connection. */
enum rc core_search_prepare(struct core_request *r, const struct core_collection *c,
                            struct str text, struct core_search *s, struct core_problem *p);
/* Looks up the words one edit away from term i (store_search_similar)
 * into its alternatives, and makes the query again with them. */
enum rc core_search_widen(struct core_request *r, struct core_search *s, size_t i);
/* Whether term i is long enough for typos (five code points or more). */
bool core_search_can_widen(const struct core_search *s, size_t i);
/* Makes a query of term i alone, as it is (no alternative), into one
 * (clean it up with store_search_query_cleanup). */
enum rc core_search_term_query(const struct core_search *s, size_t i,
                               struct store_search_query *one);
void core_search_cleanup(struct core_search *s);
/* Appends the snippet of the row st holds as a JSON object {"field",
 * "text"} to out, from its snippet columns col0.. (one per index column,
 * store_sql_search_snippet) and its record columns (c's fields from 0):
 * the field with the most matches (the first of them on a tie), its text
 * with tags taken out of HTML (a multiple select's values parted by ", "),
 * blanks folded, matches between U+0002 and U+0003, and "…" where it was
 * cut. Nothing is appended when every
 * field is empty. */
enum rc core_search_snippet(const struct core_search *s, struct store_stmt *st, int col0,
                            struct buf *out);

#endif
