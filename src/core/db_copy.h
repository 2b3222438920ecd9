/* db_copy.h -- a whole tarmac database copied into an empty one, of the
 * other engine (layer: core).
 *
 * `tarmac db copy` moves a data directory's SQLite database to PostgreSQL
 * in four steps, each a call of its own so the command can report between
 * them:
 * - plan: the source's tables and their row counts, read in one snapshot
 *   kept to the end (the counts, the rows copied and the check agree); what
 *   of tarmac's the target holds already; view collections refused when the
 *   target's engine has no views (store_has_views).
 * - schema: one transaction on the target: drops what is there when asked
 *   (--force), makes the tables the way core_app_open and a schema change
 *   make them (core_app_system_tables, then core_ddl_create per collection:
 *   the target dialect's column types, the indexes), the views, and checks
 *   that every table and column of the source has its place. A table tarmac
 *   does not make (one added by hand) refuses the copy rather than be lost.
 * - rows: each table in a transaction of its own: rows read with the store
 *   API in row key order, written by multi-row INSERTs (up to 500 rows per
 *   statement) with their values as stored (ids, dates, JSON text, row
 *   keys), then the row key sequence set past the largest, so the next
 *   insert works.
 * - verify: each table counted on the target against the source.
 * Uploaded files are not in the database: they stay in the data directory.
 * Blocking, on the calling thread (a command, no event loop). */
#ifndef TARMAC_CORE_DB_COPY_H
#define TARMAC_CORE_DB_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "core/schema/collection.h"
#include "store/store.h"

/* Rows per INSERT at most (fewer when a table has many columns: a
 * statement takes 30,000 parameters at most, under both engines' limits). */
#define CORE_DB_COPY_BATCH 500

struct core_db_copy_table {
    char *name;
    int64_t rows;        /* in the source's snapshot */
    int64_t copied;      /* written to the target so far */
    int64_t target_rows; /* counted on the target by core_db_copy_verify; -1 before */
};

/* Called after each INSERT of a table's rows and once when its
 * transaction has committed (is_done). */
typedef void core_db_copy_progress_fn(void *ctx, const struct core_db_copy_table *t, bool is_done);

struct core_db_copy {
    /* Set by the caller: */
    struct store_conn *src;             /* the source: a read snapshot from plan to cleanup */
    struct store_conn *dst;             /* the target: a write connection */
    const struct core_schema *schema;   /* the source's collections */
    core_db_copy_progress_fn *progress; /* NULL: none */
    void *ctx;
    /* Filled by the steps: */
    struct core_db_copy_table *tables; /* the source's, by name */
    size_t table_count;
    char **existing; /* tarmac's tables the target holds already (plan) */
    size_t existing_count;
    bool is_reading;
    char why[2048]; /* after a failure, what failed, for a person */
};

/* Lists the source's tables with their row counts and the target's tables
 * of tarmac (those the copy makes, and those the target's _collections
 * names). RC_INVALID with why naming them when the source has view
 * collections the target cannot make; RC_IO and the like from either
 * database, with why. */
enum rc core_db_copy_plan(struct core_db_copy *c);
/* Makes the target's tables, after dropping c->existing when drop_existing
 * (with existing tables and !drop_existing the creation fails), in one
 * transaction: on any failure the target is left as it was. RC_INVALID with
 * why when a source table or column has no place in the target (nothing
 * copied), or a view does not make; the store's codes otherwise. */
enum rc core_db_copy_schema(struct core_db_copy *c, bool drop_existing);
/* Copies every table's rows, each table in one transaction of the target.
 * A failure names the table in why and leaves the tables before it copied
 * (the target is no longer empty: copy again with drop_existing). */
enum rc core_db_copy_rows(struct core_db_copy *c);
/* Counts each table on the target (target_rows). RC_CONFLICT with why
 * naming each table whose count differs from the source's. */
enum rc core_db_copy_verify(struct core_db_copy *c);
/* Ends the source's snapshot and frees what the steps filled. */
void core_db_copy_cleanup(struct core_db_copy *c);

#endif
