/* record_expand.h -- `expand` (spec §2.6) and helpers private to the record
 * modules (layer: core). Not for use outside src/core/record_*.c. */
#ifndef TARMAC_CORE_RECORD_EXPAND_H
#define TARMAC_CORE_RECORD_EXPAND_H

#include <jansson.h>

#include "base/jsonw.h"
#include "core/record/record.h"
#include "store/store.h"

#define CORE_EXPAND_MAX_DEPTH 6
#define CORE_EXPAND_MAX_BACK 1000

/* One expand path segment and what hangs below it. */
struct core_expand {
    struct str name;                      /* the key under "expand" */
    const struct core_collection *target; /* the expanded records' collection */
    const struct core_field *field;       /* forward: the relation field of the parent;
                                           * back: the relation field of target */
    bool is_back;                         /* a <collection>_via_<field> segment */
    bool is_single;                       /* one object rather than an array */
    struct core_expand *children;
    size_t child_count;
};

/* Parses the expand parameter against c: unknown or invalid paths are
 * dropped, and so is a whole path with a null-viewRule collection on it (for
 * non-superusers). Returns a root (in the request arena) whose children are
 * the top-level segments, or NULL when nothing is left to expand. */
struct core_expand *core_expand_parse(struct core_request *r, const struct core_collection *c,
                                      struct str expand);
/* Writes "expand":{...} for the current row of st (c's columns from col0). */
void core_expand_write(struct core_request *r, const struct core_collection *c,
                       const struct core_expand *root, struct store_stmt *st, int col0,
                       struct jsonw *w);

#endif
