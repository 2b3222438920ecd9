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
#include "store/store.h"

/* VM instructions between two looks at the connection's budget: a few
 * microseconds of SQL, so a query overruns its budget by about that much. */
#define STORE_SQLITE_PROGRESS_OPS 1000

/* The engine-neutral functions (store_open, store_prepare, store_step, ...)
 * are declared in store.h and implemented in sqlite.c. What follows is for
 * the store layer itself (the writer, the fault VFS, store's tests). */

/* The raw handle, for the store layer's own sqlite3_* calls. */
sqlite3 *store_sqlite_handle(struct store_conn *db);
/* The engine statement behind a store statement, and back. */
static inline sqlite3_stmt *store_sqlite_stmt(struct store_stmt *st)
{
    return (sqlite3_stmt *)(void *)st;
}
static inline struct store_stmt *store_stmt_of(sqlite3_stmt *st)
{
    return (struct store_stmt *)(void *)st;
}
/* A cached statement as the engine's type, for the store layer's own code
 * and tests (nothing outside src/store/ and tests/unit/store/ may call the
 * engine: scripts/check-layers.sh). */
enum rc store_prepare_raw(struct store_conn *db, struct str sql, sqlite3_stmt **out);
void store_done_raw(sqlite3_stmt *stmt);
/* Maps a SQLite result code to enum rc: CONSTRAINT -> RC_CONFLICT, BUSY/LOCKED
 * -> RC_BUSY, NOMEM -> RC_NOMEM, FULL/IOERR -> RC_IO, INTERRUPT (a budget ran
 * out) -> RC_OVER_BUDGET, others RC_INTERNAL. */
enum rc store_sqlite_rc(int sqlite_rc);

#endif
