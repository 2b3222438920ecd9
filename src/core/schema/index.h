/* index.h -- the CREATE INDEX statements of a collection (layer: core).
 *
 * Collections carry indexes as SQL text (spec §5.4), which a superuser writes.
 * That text never reaches the database as given: it is parsed into name,
 * UNIQUE flag, columns (with COLLATE and ASC/DESC) and an optional WHERE of a
 * few known shapes, checked against the collection's fields, and written
 * again from those parts by the dialect. Anything else is a validation error. */
#ifndef TARMAC_CORE_INDEX_H
#define TARMAC_CORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"
#include "core/schema/collection.h"

#define CORE_INDEX_MAX_COLUMNS 16

struct core_index_column {
    char name[101];
    bool is_nocase; /* COLLATE NOCASE */
    bool is_desc;
};

struct core_index {
    char name[101];
    bool is_unique;
    struct core_index_column columns[CORE_INDEX_MAX_COLUMNS];
    size_t column_count;
    char where_column[101]; /* "" = no WHERE; else WHERE <col> != '' */
};

/* Parses one index statement. RC_INVALID (with a reason in why, a static
 * string) for anything outside the supported grammar. */
enum rc core_index_parse(const char *sql, struct core_index *out, const char **why);
/* Checks the columns exist in c; RC_INVALID with why otherwise. */
enum rc core_index_check(const struct core_index *ix, const struct core_collection *c,
                         const char **why);
/* Appends the CREATE INDEX statement for table, built from the parsed parts. */
enum rc core_index_format(const struct core_index *ix, const char *table, struct buf *out);
/* True when ix is a UNIQUE index on exactly the column name. */
bool core_index_is_unique_on(const struct core_index *ix, const char *column);

#endif
