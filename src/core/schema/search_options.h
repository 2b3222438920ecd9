/* search_options.h -- a collection's `search` option: which fields its
 * full-text search reads, their weights and the language (layer: core,
 * schema/).
 *
 *     "search": {"fields": [{"name": "title", "weight": 3},
 *                           {"name": "body", "weight": 1}],
 *                "language": "english"}
 *
 * Beyond PocketBase (issue #18). A field must be a text, editor, email,
 * url or select field that the API shows (not hidden, not a secret, not an
 * auth collection's email, whose visibility is per record); a weight is a
 * number from 0.001 to 1000 (1 when left out), at most four distinct ones
 * (PostgreSQL ranks with four classes); a language is "simple" (the
 * default: words as written) or "english" (stems too). Absent in a change
 * keeps the collection's; null removes it. A change that renames a field
 * the search reads follows it; one that removes it drops it from the
 * search (and the search with its last field), unless the change sends
 * `search` itself, which is then checked as sent. The index itself is
 * store/search.h's, made and dropped with the collection's table
 * (collection_ddl.c). */
#ifndef TARMAC_CORE_SCHEMA_SEARCH_OPTIONS_H
#define TARMAC_CORE_SCHEMA_SEARCH_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/search.h"

struct jsonw;
struct core_problem;
struct core_collection;

#define CORE_SEARCH_MAX_FIELDS STORE_SEARCH_MAX_COLUMNS
#define CORE_SEARCH_MIN_WEIGHT 0.001
#define CORE_SEARCH_MAX_WEIGHT 1000.0

struct core_search_field {
    char *name;
    double weight;
};

struct core_search_options {
    struct core_search_field *fields; /* NULL when the collection has no search */
    size_t field_count;
    enum store_search_language language;
};

/* Applies the `search` value in (borrowed; NULL: absent) to o: null clears
 * it, an object replaces it. from_client: refuse what is not well-formed
 * (paths "search", "search.fields.N.name", ...); a stored definition is
 * read leniently. *is_given says whether in replaced o, for
 * core_search_options_check. */
void core_search_options_parse(json_t *in, struct core_search_options *o, bool from_client,
                               bool *is_given, struct core_problem *p);
/* Checks c's search against c's fields once they are known. is_given:
 * the change sent `search` (each name must be a field that can be
 * searched). Otherwise the search inherited from base (c before the
 * change, NULL for a new one) follows base's fields by id into c's: a
 * renamed field is followed, a removed one dropped. */
void core_search_options_check(struct core_collection *c, const struct core_collection *base,
                               bool is_given, bool from_client, struct core_problem *p);
/* Writes the `search` key and its object when c has a search; nothing
 * otherwise. */
void core_search_options_write(struct jsonw *w, const struct core_search_options *o);
void core_search_options_copy(struct core_search_options *to,
                              const struct core_search_options *from);
void core_search_options_cleanup(struct core_search_options *o);
/* The language's name ("simple", "english"). */
const char *core_search_language_name(enum store_search_language l);

/* Fills ix (and cols, room for CORE_SEARCH_MAX_FIELDS) with c's index:
 * its table, its id as the key, its fields. False when c has no search.
 * ix borrows c. */
bool core_search_index(const struct core_collection *c, struct store_search_column *cols,
                       struct store_search_index *ix);

#endif
