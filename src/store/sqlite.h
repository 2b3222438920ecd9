/* sqlite.h -- SQLite connections with a prepared-statement cache (layer: store).
 *
 * One struct store_sqlite per thread that uses the database: each worker has a
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

/* VM instructions between two looks at the connection's budget: a few
 * microseconds of SQL, so a query overruns its budget by about that much. */
#define STORE_SQLITE_PROGRESS_OPS 1000

struct store_sqlite;

enum store_sqlite_mode {
    STORE_SQLITE_READ,  /* query_only: a worker's reads */
    STORE_SQLITE_WRITE, /* the writer thread's connection */
};

/* Opens path (creating it in WRITE mode) with WAL, foreign keys on,
 * synchronous=FULL (an acknowledged commit survives power loss) and a busy
 * timeout. RC_IO on failure (the reason goes to the log). */
enum rc store_sqlite_open(const char *path, enum store_sqlite_mode mode, struct store_sqlite **out);
/* Finalizes every cached statement and closes; accepts NULL. */
void store_sqlite_close(struct store_sqlite *db);
/* The raw handle, for sqlite3_* calls on statements from store_sqlite_prepare. */
sqlite3 *store_sqlite_handle(struct store_sqlite *db);
/* Returns a reset statement for sql from the cache, preparing it on first
 * use. The statement stays owned by the cache: reset it (store_sqlite_done)
 * when finished with it; never finalize it. RC_INVALID if sql does not prepare
 * (the SQLite message goes to the log), RC_NOMEM. */
enum rc store_sqlite_prepare(struct store_sqlite *db, struct str sql, sqlite3_stmt **out);
/* Resets stmt and clears its bindings so the cache can hand it out again. */
void store_sqlite_done(sqlite3_stmt *stmt);
/* Runs one or more statements without results (schema, pragmas). RC_IO or
 * RC_CONFLICT (a constraint) on failure; the message goes to the log. */
enum rc store_sqlite_exec(struct store_sqlite *db, const char *sql);
/* Sets *out to whether the database holds a table, view, index or trigger
 * named name, compared without ASCII case as SQLite compares names. RC_IO
 * (or another store_sqlite_rc code) when the lookup fails. */
enum rc store_sqlite_has_object(struct store_sqlite *db, struct str name, bool *out);
/* Makes the statements run on db stop with SQLITE_INTERRUPT (RC_OVER_BUDGET
 * through store_sqlite_rc) once b is over, looked at every
 * STORE_SQLITE_PROGRESS_OPS VM instructions (sqlite3_progress_handler);
 * NULL: no budget. b is borrowed until it is replaced. Returns the budget it
 * replaces. A statement shorter than that interval is never stopped: callers
 * that run many short ones ask budget_is_over() themselves. An interrupted
 * read leaves the read transaction open and nothing half-done; never set a
 * budget on the writer's connection (an interrupted write inside a
 * transaction rolls back the whole transaction: every job of the group). */
struct budget *store_sqlite_set_budget(struct store_sqlite *db, struct budget *b);
/* The database's data version (PRAGMA data_version): it changes whenever
 * another connection commits. About a microsecond; -1 on failure. */
int64_t store_sqlite_data_version(struct store_sqlite *db);
/* A row cursor over a statement from store_sqlite_prepare, so core reads
 * rows without calling the engine (issue #9). Binding copies the value.
 * store_sqlite_step: RC_OK with a row, RC_NOT_FOUND when none is left, any
 * other code for an error (store_sqlite_rc). Column reads are valid until the
 * next step or reset; a NULL reads as "" and 0. */
enum rc store_sqlite_bind_text(sqlite3_stmt *st, int index, struct str value);
enum rc store_sqlite_bind_int64(sqlite3_stmt *st, int index, int64_t value);
enum rc store_sqlite_step(sqlite3_stmt *st);
struct str store_sqlite_column_text(sqlite3_stmt *st, int index);
int64_t store_sqlite_column_int64(sqlite3_stmt *st, int index);
/* Resets st for another run with the same statement, keeping its bindings. */
void store_sqlite_reset(sqlite3_stmt *st);
/* Maps a SQLite result code to enum rc: CONSTRAINT -> RC_CONFLICT, BUSY/LOCKED
 * -> RC_BUSY, NOMEM -> RC_NOMEM, FULL/IOERR -> RC_IO, INTERRUPT (a budget ran
 * out) -> RC_OVER_BUDGET, others RC_INTERNAL. */
enum rc store_sqlite_rc(int sqlite_rc);

#endif
