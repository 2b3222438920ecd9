/* sqlite.h -- the SQLite engine behind store.h (layer: store; only store/
 * includes it).
 *
 * One struct store_conn per thread that uses the database: each worker has a
 * read connection, the writer thread has the write connection (writer.h).
 * WAL lets readers run beside the one writer. Statements are prepared once per
 * connection and reused, keyed by their SQL text. Not thread-safe: a
 * connection belongs to the thread that opened it. */
#ifndef TARMAC_STORE_SQLITE_H
#define TARMAC_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/budget.h"
#include "base/rc.h"
#include "base/str.h"
#include "store/engine.h"
#include "store/store.h"

/* VM instructions between two looks at the connection's budget: a few
 * microseconds of SQL, so a query overruns its budget by about that much. */
#define STORE_SQLITE_PROGRESS_OPS 1000

/* The engine-neutral functions (store_open, store_prepare, store_step, ...)
 * are declared in store.h and implemented in store.c over this engine's
 * table (store_sqlite_engine, engine.h). What follows is for the store
 * layer itself (the fault VFS, store's tests). */

/* The raw handle, for the store layer's own sqlite3_* calls. */
sqlite3 *store_sqlite_handle(struct store_conn *db);
/* The same from the engine's connection handle (engine.h's void *conn). */
sqlite3 *store_sqlite_conn_db(void *conn);
/* The engine's query_check and view_create (sqlite_query.c). */
enum rc store_sqlite_query_check(void *conn, struct str sql, store_may_read_fn *may_read, void *ctx,
                                 struct store_query_info *info);
enum rc store_sqlite_view_create(void *conn, struct str name, const struct store_query_info *q,
                                 const enum store_view_cast *casts, char *why, size_t cap);
/* The engine's statement behind st, for the store layer's own code and
 * tests (nothing outside src/store/ and tests/unit/store/ may call the
 * engine: scripts/check-layers.sh). */
sqlite3_stmt *store_sqlite_stmt(struct store_stmt *st);
/* Registers the FTS5 tokenizer "tarmac" of search indexes (sqlite_fts.c,
 * store/search.h) on db: every connection the engine opens has it. */
enum rc store_sqlite_fts_register(sqlite3 *db);
/* Maps a SQLite result code to enum rc: CONSTRAINT -> RC_CONFLICT, BUSY/LOCKED
 * -> RC_BUSY, NOMEM -> RC_NOMEM, FULL/IOERR -> RC_IO, INTERRUPT (a budget ran
 * out) -> RC_OVER_BUDGET, others RC_INTERNAL. */
enum rc store_sqlite_rc(int sqlite_rc);

#endif
