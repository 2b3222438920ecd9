/* pg_int.h -- what pg.c lends the PostgreSQL engine's other files (layer:
 * store; only store/pg*.c include it), as SQLite's btreeInt.h.
 *
 * pg_query.c judges a view's query on the engine's own session: it sends
 * its round trips with libpq on the connection's PGconn and reads their
 * replies the way every other statement's are read (the connection's wait,
 * its bounds, a lost session reset on the next use). */
#ifndef TARMAC_STORE_PG_INT_H
#define TARMAC_STORE_PG_INT_H

#include <libpq-fe.h>

#include "store/engine.h"

/* The session behind conn (pg.c's connection); NULL after a break, until
 * the next statement resets it. */
PGconn *store_pg_session(void *conn);
/* After a PQsend* on conn's session (sent: what it returned): flushes it,
 * waits and reads every result. Returns the first failed one, else the
 * last (the caller PQclears it); NULL with *rc when the session failed. */
PGresult *store_pg_reply(void *conn, int sent, enum rc *rc);
/* The rc of a failed result (logged as pg.c logs its own failures). */
enum rc store_pg_fail_rc(void *conn, const PGresult *r, const char *what);

/* pg_query.c: engine.h's query_check and view_create. */
enum rc store_pg_query_check(void *conn, struct str sql, store_may_read_fn *may_read, void *ctx,
                             struct store_query_info *info);
enum rc store_pg_view_create(void *conn, struct str name, const struct store_query_info *q,
                             const enum store_view_cast *casts, char *why, size_t cap);

/* The bucket (0..255) of the one table sql writes when its text says so
 * plainly (INSERT INTO t, UPDATE t, DELETE FROM t; t quoted, or unquoted and
 * folded to lower case), else -1: what store_table_version counts a
 * statement's writes under. name, len: a table's name as stored. */
int store_pg_table_bucket(const char *sql);
int store_pg_name_bucket(const char *name, size_t len);

#endif
