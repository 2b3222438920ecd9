/* view.h -- view collections: the query checked, the fields it makes, its
 * SQL view (layer: core, core/schema/).
 *
 * A view collection's records are the rows of its viewQuery, a single
 * read-only SELECT a superuser writes. The store's engine judges the query
 * (store_query_check: one statement, no PRAGMA, ATTACH or writes) with a
 * read policy from the schema: the query may read collections' tables and
 * json_each/json_tree, never an internal table (_collections, _params,
 * sqlite_*, ...), a password field or an auth collection's tokenKey, so no
 * view can hand out what no API rule could.
 *
 * Fields follow PocketBase's inference (core/view.go) from the result
 * columns: "id" is the text primary key; count(...) an integer number,
 * total(...) a number, CAST(... AS type) a number, integer, text or bool;
 * a plain reference to a collection's field a copy of that field (type,
 * options, hidden) under the column's name, except a reference to an id,
 * which becomes a single relation to that collection (so expand follows
 * it); anything else a json field. The engine names the column a plain
 * reference reads (through subqueries, CTEs and other views), so aliases,
 * joins and nesting need no text parsing of ours; only the expression
 * shapes above are read from the text (schema/view_query.h).
 *
 * Everything here runs on the writer thread inside a schema change's
 * transaction: a view's sources may have been created by an earlier step
 * of the same change (an import), which only that connection sees. Nothing
 * runs the query there: it is compiled, never stepped, so a slow or endless
 * query cannot hold the writer. */
#ifndef TARMAC_CORE_VIEW_H
#define TARMAC_CORE_VIEW_H

#include <stdbool.h>

#include "base/rc.h"
#include "core/problem.h"
#include "core/schema/collection.h"
#include "store/store.h"

/* Checks view collection c's viewQuery on db against schema s (the other
 * collections, as the change leaves them) and replaces c's fields with the
 * ones its columns make. RC_INVALID with p filled at "viewQuery"
 * (validation_invalid_view_query, the reason in the message); RC_NOMEM,
 * RC_IO, RC_BUSY. */
enum rc core_view_infer(struct store_conn *db, const struct core_schema *s,
                        struct core_collection *c, struct core_problem *p);

/* Creates c's SQL view, named after it, from its viewQuery and inferred
 * fields (the id column as text, expression json columns as JSON text),
 * and checks that it reads. RC_INVALID with p filled at "viewQuery";
 * RC_IO, RC_NOMEM. */
enum rc core_view_create(struct store_conn *db, const struct core_collection *c,
                         struct core_problem *p);

/* Drops the SQL view of that name, if any. */
enum rc core_view_drop(struct store_conn *db, const char *name);

/* Sets *out to whether view collection c's query reads the table or view
 * named table (through other views too; names compared without case). A
 * query that no longer compiles counts as reading it. RC_NOMEM, RC_IO,
 * RC_BUSY. */
enum rc core_view_reads(struct store_conn *db, const struct core_collection *c, const char *table,
                        bool *out);

#endif
