/* file_cascade.h -- the records a delete may cascade to, for their files (layer: core).
 *
 * Deleting a record deletes, per relation field with cascadeDelete, the
 * records left without a reference (spec §2.5), and their files must go too
 * (spec §2.5). The writer does not report what it cascaded, so the worker
 * lists the candidates before the delete (a superset: records that still
 * have other references are included) and, after the commit, removes the
 * directory of each candidate that no longer exists. Reads on the worker's
 * connection; only called when a cascade can reach a collection with files. */
#ifndef TARMAC_CORE_FILE_CASCADE_H
#define TARMAC_CORE_FILE_CASCADE_H

#include <jansson.h>
#include <stdbool.h>

#include "core/schema/collection.h"
#include "store/store.h"

/* Most candidates listed (the rest keep their files). */
#define CORE_FILE_CASCADE_MAX 1000

/* True when deleting a record of c can cascade to a collection with file
 * fields (directly or through other cascades). */
bool core_file_cascade_reaches_files(const struct core_schema *s, const struct core_collection *c);
/* Returns a new array of [collectionId, recordId] pairs that deleting record
 * id of c may cascade to, at most CORE_FILE_CASCADE_MAX. */
json_t *core_file_cascade_candidates(struct store_conn *db, const struct core_schema *s,
                                     const struct core_collection *c, const char *id);

#endif
