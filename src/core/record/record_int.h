/* record_int.h -- what the record read modules share (layer: core, private to
 * src/core/record/record_read.c and src/core/record/record_stream.c). */
#ifndef TARMAC_CORE_RECORD_INT_H
#define TARMAC_CORE_RECORD_INT_H

#include "base/jsonw.h"
#include "core/record/record.h"
#include "core/record/record_expand.h"
#include "store/sql.h"
#include "store/store.h"

/* A list response past this many bytes is not built whole: the rest of the
 * page goes out piece by piece as the reader takes it (core_list_stream). */
#define CORE_LIST_STREAM_AT ((size_t)1 << 20)
/* What one piece of a streamed page aims at (at least one record). */
#define CORE_LIST_PIECE ((size_t)64 << 10)

/* Appends SELECT <columns of c> FROM "<c>" "r" to q. */
void core_record_select_head(struct store_sql *q, const struct core_collection *c);
/* A list page's head up to its items: {"page", "perPage", "totalItems",
 * "totalPages" (total < 0: both -1), "items": [ -- the array left open. */
void core_list_write_head(struct jsonw *w, const struct core_list_opts *lo, int64_t total);
/* Writes the row st holds (columns of c from 0) as the next value of w: the
 * record as r's requester sees it, its expansion ex (may be NULL), its
 * search snippet (a JSON object, written as "@snippet"; empty: none),
 * pruned to fields (may be empty). */
enum rc core_record_write_item(struct core_request *r, const struct core_collection *c,
                               const struct core_expand *ex, struct store_stmt *st,
                               struct str snippet, struct str fields, struct jsonw *w);
/* What a nearest-neighbour list adds to an item (record/nearest.h). */
struct core_item_score {
    bool has_distance;     /* "@distance" */
    bool is_distance_null; /* ... null: the record has no vector (a hybrid's text match) */
    float distance;
    bool has_score; /* "@score": the fused rank of a hybrid list */
    double score;
};
/* As core_record_write_item, with score's members (NULL: none) after the
 * snippet. */
enum rc core_record_write_scored(struct core_request *r, const struct core_collection *c,
                                 const struct core_expand *ex, struct store_stmt *st,
                                 struct str snippet, const struct core_item_score *score,
                                 struct str fields, struct jsonw *w);
/* Builds WHERE [<search match> AND] (list rule) AND (filter) into q (nothing
 * when none applies), compiling both with parameters numbered after base
 * (the search's, when sq is not NULL, are 1..base) into rule_frag and
 * filter_frag. RC_NOT_FOUND: the list rule does not compile (the list is
 * empty); RC_INVALID with p: the filter does not compile. */
struct store_search_query;
struct core_search;
enum rc core_list_where(struct core_request *r, const struct core_collection *c, struct str filter,
                        size_t base, const struct store_search_query *sq,
                        struct core_sql_fragment *rule_frag, struct core_sql_fragment *filter_frag,
                        struct store_sql *q, struct core_problem *p);
/* Typo tolerance of a search (record/search.h): each word of five letters
 * or more that matches no record of the list as its requester sees it
 * also takes the indexed words one edit away. */
enum rc core_list_widen_search(struct core_request *r, const struct core_collection *c,
                               struct str filter, struct core_search *s);
/* Takes over a page being written: makes every row st still holds (with
 * expansion ex, pruned to o's fields) and drops it, charging r's cost, and
 * keeps their ids (column id_col); then returns in *out a stream that
 * writes them later, each read again (core_list_stream_next), continuing
 * w, whose items array is open. With search non-NULL each row's snippet
 * (its columns from snippet_col) is made now and kept for the piece that
 * writes the row. *out is NULL when no row is left. r, filter and o are
 * copied; the caller still resets st. RC_OVER_BUDGET (and no stream) when
 * r's cost passes a limit. */
struct core_search;
enum rc core_list_stream_new(struct core_request *r, const struct core_collection *c,
                             struct str filter, const struct core_output_opts *o,
                             const struct core_expand *ex, const struct jsonw *w,
                             struct store_stmt *st, int id_col, const struct core_search *search,
                             int snippet_col, struct core_list_stream **out);

#endif
