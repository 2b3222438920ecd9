/* collection_ddl.h -- a collection's table, indexes and stored definition (layer: core).
 *
 * Runs on the writer thread inside its transaction, so a failed change leaves
 * data and schema as they were. A change of fields rebuilds the table: create
 * the new shape, copy the rows (columns matched by field id, so a rename keeps
 * its data), drop the old table, rename the new one, recreate the indexes.
 * Schema changes are rare; the rebuild keeps every kind of change on one
 * well-tested path instead of one ALTER per case. */
#ifndef TARMAC_CORE_COLLECTION_DDL_H
#define TARMAC_CORE_COLLECTION_DDL_H

#include "base/rc.h"
#include "core/schema/collection.h"
#include "core/problem.h"
#include "store/dialect.h"
#include "store/store.h"

/* Checks c's index statements; fills p (data.indexes.N) and returns RC_INVALID on a bad one. */
enum rc core_ddl_check_indexes(const struct core_collection *c, struct core_problem *p);
/* Creates c's table and indexes and stores its definition in _collections. */
enum rc core_ddl_create(struct store_conn *db, const struct core_collection *c);
/* Moves c's table from old_c's shape to new_c's, and stores the new definition. */
enum rc core_ddl_update(struct store_conn *db, const struct core_collection *old_c,
                        const struct core_collection *new_c);
/* Makes view collection new_c's SQL view (schema/view.h), dropping old_c's
 * first when it is an update, and stores the definition. RC_INVALID with p
 * filled when the engine refuses the view. */
enum rc core_ddl_view(struct store_conn *db, const struct core_collection *old_c,
                      const struct core_collection *new_c, struct core_problem *p);
/* Drops c's table (a view collection's view) and its definition. */
enum rc core_ddl_drop(struct store_conn *db, const struct core_collection *c);
/* Creates the system tables if missing (_collections, _params, _migrations). */
enum rc core_ddl_system_tables(struct store_conn *db);

#endif
