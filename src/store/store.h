/* store.h -- what core uses of a database, whichever engine holds it
 * (layer: store).
 *
 * Core never calls an engine: it opens connections, prepares statements,
 * binds, steps and reads columns through these functions, builds SQL text
 * with store/sql.h, and writes through the writer queue (store/writer.h).
 * Today the engine is SQLite (store/sqlite.c); PostgreSQL (issue #10) plugs
 * in behind the same names.
 *
 * The shape is the one both engines can serve without blocking a loop:
 * - A connection belongs to one thread. Each worker has a read connection,
 *   the writer thread has the write connection. Nothing here assumes a single
 *   writer beyond the queue itself: the writer queue is the one place writes
 *   are ordered and grouped, whatever the engine does underneath.
 * - Statements are prepared once per connection and cached by their SQL text
 *   (a server-side prepared statement per connection in PostgreSQL; behind a
 *   pooler that shares sessions, store_set_sessions, the text is described
 *   once and sent unnamed with each run). The text comes from store/sql.h,
 *   so its parameters are numbered ($n, ?n) and its identifiers quoted the
 *   engine's way.
 * - Work that needs round trips is a job: a function over a connection run
 *   where the connection lives (store_writer_submit for writes). SQLite runs
 *   a read inline (microseconds); a networked engine runs the same function
 *   on its connection's thread and posts the answer back, so core code reads
 *   as straight-line calls either way.
 * - store_data_version() is a change counter, not an engine feature: it
 *   changes whenever anything committed; an engine without a cheap one
 *   returns -1 ("unknown"), which turns caches keyed by it off.
 *
 * Errors are enum rc: RC_CONFLICT for a constraint, RC_BUSY, RC_IO, RC_NOMEM,
 * RC_OVER_BUDGET when a budget stopped a read; the engine's message goes to
 * the log, never to a client. */
#ifndef TARMAC_STORE_STORE_H
#define TARMAC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/budget.h"
#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

/* One connection; not thread-safe. */
struct store_conn;
/* A prepared statement owned by its connection's cache. */
struct store_stmt;

enum store_open_mode {
    STORE_OPEN_READ,  /* read only: a worker's reads */
    STORE_OPEN_WRITE, /* the writer thread's connection */
};

/* What a column of the current row holds. */
enum store_type {
    STORE_TYPE_NULL,
    STORE_TYPE_INT,
    STORE_TYPE_FLOAT,
    STORE_TYPE_TEXT,
    STORE_TYPE_BLOB,
};

/* Opens the database target with durable commits (an acknowledged commit
 * survives power loss) and foreign keys on: a file path is an SQLite
 * database (created in WRITE mode), a postgres:// or postgresql:// URL a
 * PostgreSQL one (libpq's URL form). RC_IO on failure (the reason goes to
 * the log, never a password). The first open sets the process's dialect. */
enum rc store_open(const char *target, enum store_open_mode mode, struct store_conn **out);
/* How a connection waits for its socket to be ready (PostgreSQL; SQLite
 * never waits): RC_OK ready, RC_BUSY timeout_ms passed (0: no limit),
 * RC_NOT_FOUND when it cannot wait here (then the calling thread blocks in
 * poll(2), as with no wait set). A worker's task yields to its loop inside
 * it (core/task.c); the writer and job runners block in poll. */
typedef enum rc store_io_wait_fn(void *ctx, int fd, bool want_write, int64_t timeout_ms);
void store_set_io_wait(struct store_conn *db, store_io_wait_fn *fn, void *ctx);
/* Whether the engine reaches its data over a socket (PostgreSQL): a worker
 * then runs requests as tasks that wait for it without blocking the loop. */
bool store_is_remote(const struct store_conn *db);
/* Whether target names a PostgreSQL database (a URL) rather than a file. */
bool store_target_is_url(const char *target);
/* Inside a write transaction: waits until no other transaction of the
 * database holds key (any text) and holds it until this one ends, so a
 * check-then-insert is not raced by another instance's writer
 * (PostgreSQL: pg_advisory_xact_lock of the key's hash). One SQLite file
 * has one writer: nothing to do there. */
enum rc store_lock_key(struct store_conn *db, struct str key);

/* What store_probe found at a target. */
enum store_reach {
    STORE_REACH_OK,          /* a server answered and took the login */
    STORE_REACH_BAD_TARGET,  /* not a target the engine can use: a malformed URL, an
                                unknown or invalid parameter */
    STORE_REACH_UNREACHABLE, /* no server answered there: down, a wrong host, port or
                                socket directory, a firewall, a timeout */
    STORE_REACH_REFUSED,     /* a server answered and refused this login: user,
                                password, database, pg_hba.conf, SSL */
};
/* Tries to log in to target and says why it could not, before store_open
 * (which only logs a failure): why (cap bytes, NUL-terminated) gets the
 * engine's reason on one line with any password of the URL masked, "" on
 * success. Waits at most ~10 s for a server that does not answer, unless the
 * URL sets connect_timeout. A file path (SQLite) is STORE_REACH_OK: opening
 * it is its test. Blocking; any thread. */
enum store_reach store_probe(const char *target, char *why, size_t cap);
/* Whether PostgreSQL server sessions belong to one connection each (a
 * server, a pooler in session mode) or are handed from connection to
 * connection between transactions (a pooler in transaction mode,
 * PgBouncer's pool_mode = transaction). With its own session a connection
 * keeps state there: statements prepared once by name, and a read
 * connection's read-only mode and statement timeout set once. Shared
 * sessions get pooled mode (store/pg.c): nothing outlives a transaction on
 * a session (statements sent unnamed with each run, the read settings sent
 * with each transaction in the same round trip, locks taken for a
 * transaction: store_lock_key, the backup lock), at the price of a parse
 * on the server per statement run. Process-wide, set before the first
 * store_open of a URL (serve's --db-pooler); AUTO, the default, lets the
 * first open ask (store_check_sessions). SQLite ignores it. */
enum store_sessions {
    STORE_SESSIONS_AUTO,
    STORE_SESSIONS_OWN,
    STORE_SESSIONS_SHARED,
};
void store_set_sessions(enum store_sessions s);
enum store_sessions store_sessions(void);
/* Asks target whether its sessions are shared: three connections, where
 * c is given the session a freed by its COMMIT while b holds another in a
 * transaction only through a pooler in transaction mode. RC_OK with
 * *is_shared (why then says what was seen); RC_INVALID, why saying so, when
 * a transaction of two statements is refused (a pooler in statement mode:
 * tarmac cannot run there); RC_UNAVAILABLE when a connection failed
 * (store_open says why). A file path: RC_OK, not shared. Under load a
 * transaction pooler may hand c another idle session: "not shared" from
 * a busy pooler is a guess, hence serve's --db-pooler=transaction. Blocking. */
enum rc store_check_sessions(const char *target, bool *is_shared, char *why, size_t cap);
/* target as it may be shown (cap bytes, NUL-terminated): a URL with the
 * password in its user part or in a password= parameter written "***". */
void store_target_shown(const char *target, char *out, size_t cap);
/* The engine's name: "sqlite" or "postgresql". */
const char *store_engine_name(const struct store_conn *db);
/* Releases every cached statement and closes; accepts NULL. */
void store_close(struct store_conn *db);

/* A reset statement for sql from the connection's cache, prepared on first
 * use. Never free it: hand it back with store_done() when finished. RC_INVALID
 * if sql does not prepare (the engine's message goes to the log), RC_NOMEM. */
enum rc store_prepare(struct store_conn *db, struct str sql, struct store_stmt **out);
/* Resets st and clears its bindings, handing it back to the cache. */
void store_done(struct store_stmt *st);
/* As store_done, then drops st from the cache at once (finalized; a
 * server-side statement is deallocated): for a statement run once, such as
 * a copy's per-table INSERTs, which would only crowd the hot ones out of
 * the cache and, in numbers, make it flush. A kept statement (store_keep)
 * is only handed back. */
void store_discard(struct store_stmt *st);
/* Resets st for another run, keeping its bindings. */
void store_reset(struct store_stmt *st);
/* The cache may finalize a statement that is done (it is bounded); a caller
 * that holds on to one between uses (a per-worker table of hot statements)
 * keeps it: a kept statement stays prepared until store_unkeep. Counted:
 * each keep needs its unkeep. */
void store_keep(struct store_stmt *st);
void store_unkeep(struct store_stmt *st);

/* Parameters are numbered from 1 (store_sql_param() hands out the numbers).
 * store_bind_text borrows value until the statement is reset or done;
 * store_bind_text_copy copies it. A NULL value.ptr binds "". */
enum rc store_bind_text(struct store_stmt *st, int index, struct str value);
enum rc store_bind_text_copy(struct store_stmt *st, int index, struct str value);
enum rc store_bind_int64(struct store_stmt *st, int index, int64_t value);
enum rc store_bind_double(struct store_stmt *st, int index, double value);
enum rc store_bind_null(struct store_stmt *st, int index);
/* Binds len bytes (copied) to a BLOB (SQLite) or bytea (PostgreSQL) column. */
enum rc store_bind_blob(struct store_stmt *st, int index, const void *data, size_t len);

/* Runs st to its next row: RC_OK with a row, RC_NOT_FOUND when none is left,
 * any other code for an error (RC_CONFLICT: a constraint; see
 * store_unique_columns). */
enum rc store_step(struct store_stmt *st);
/* Column reads of the current row, valid until the next step, reset or
 * done. Columns are numbered from 0. A NULL reads as "", 0 and 0.0. */
int store_column_count(struct store_stmt *st);
enum store_type store_column_type(struct store_stmt *st, int index);
struct str store_column_text(struct store_stmt *st, int index);
int64_t store_column_int64(struct store_stmt *st, int index);
double store_column_double(struct store_stmt *st, int index);
/* Appends the bytes of a BLOB/bytea column to out (nothing for NULL);
 * RC_TOO_LARGE past out's maximum, RC_INVALID when PostgreSQL's text of
 * the value is not bytea's hex form. */
enum rc store_column_blob(struct store_stmt *st, int index, struct buf *out);

/* Rows changed by the last INSERT, UPDATE or DELETE run on db. */
int64_t store_changes(struct store_conn *db);
/* After a step failed with RC_CONFLICT: fills cols (up to max, names
 * borrowed from a buffer of db valid until its next statement) with the
 * columns a unique index or the primary key refused, and returns their
 * count; 0 when the conflict was another constraint. */
size_t store_unique_columns(struct store_conn *db, struct str *cols, size_t max);

/* Starts a read transaction on db: the statements that follow, until
 * store_end_read(), read one snapshot of the database, and the engine's
 * locks are taken once for all of them (SQLite: a deferred BEGIN, so the
 * first read takes the snapshot and a write acknowledged before it is
 * visible; PostgreSQL: BEGIN READ ONLY at REPEATABLE READ). Not nested: call
 * it with no transaction open. RC_BUSY, RC_IO, RC_NOMEM: none was started. */
enum rc store_begin_read(struct store_conn *db);
/* Ends the read transaction store_begin_read() started. A read-only
 * transaction has nothing to keep, so there is no result to act on. */
void store_end_read(struct store_conn *db);

/* Runs one or more statements without results or parameters (schema,
 * transaction control). RC_IO or RC_CONFLICT on failure. A table
 * definition marks where its rows' insertion order goes with
 * STORE_ROW_KEY before its closing parenthesis: SQLite keeps it in the
 * implicit rowid (the mark is a comment there), PostgreSQL gets a rowid
 * column, so `ORDER BY rowid` means the same on both. */
enum rc store_exec(struct store_conn *db, const char *sql);
#define STORE_ROW_KEY "/*ROWKEY*/"
/* Runs sql (one statement, no result but success: transaction control such
 * as a savepoint) before the next statement on db, in that statement's round
 * trip where the engine talks over a socket (PostgreSQL's pipeline mode):
 * its failure is then the next statement's, and a failed put-off command
 * keeps the statements after it from running. SQLite runs it now. At most
 * STORE_LATER_MAX wait at a time (more run at once). */
enum rc store_exec_later(struct store_conn *db, const char *sql);
#define STORE_LATER_MAX 4
/* Opens the writer's transaction (SQLite: BEGIN IMMEDIATE, so the write lock
 * is taken at once; PostgreSQL: BEGIN). */
enum rc store_begin_write(struct store_conn *db);
/* Whether a transaction is open on db. */
bool store_in_transaction(struct store_conn *db);
/* Sets *out to whether the database holds a table, view, index or trigger
 * named name, compared without ASCII case. */
enum rc store_has_object(struct store_conn *db, struct str name, bool *out);
/* A value that changes whenever anything commits to the database, read in
 * about a microsecond (in one round trip when other processes write it too:
 * store_data_version_off); -1 when unknown (caches keyed by it then never
 * hit). */
int64_t store_data_version(struct store_conn *db);
/* store_data_version when it costs no round trip, else -1: for a cache
 * whose hit would save less than that round trip (one record by id). */
int64_t store_data_version_local(struct store_conn *db);
/* A value that changes whenever a write to the table named table (as
 * stored) ends, read in about a microsecond; -1 when the engine keeps none
 * (SQLite: a read there is cheaper than a cache's bookkeeping) or other
 * processes write too (store_data_version_off). For a cache of rows of one
 * table that must not be emptied by writes to every other one (the
 * requester's auth record). */
int64_t store_table_version(struct store_conn *db, const char *table);
/* Other processes write this database too (several instances, --redis):
 * this process's own commit count no longer tells. Nothing could tell it of
 * another's commit before a read that must see it (a client reading its own
 * write through another instance), so from now on the version is the
 * server's current snapshot, asked at each store_data_version (PostgreSQL;
 * -1 on an engine that has none). Start-up, before the workers. */
void store_data_version_off(void);

/* Makes reads on db stop with RC_OVER_BUDGET once b is over (looked at every
 * few microseconds of work); NULL: no budget. b is borrowed until replaced.
 * Returns the budget it replaces. A statement shorter than that interval is
 * never stopped: callers that run many short ones ask budget_is_over()
 * themselves. Never set one on the writer's connection (an interrupted write
 * rolls back the whole group). */
struct budget *store_set_budget(struct store_conn *db, struct budget *b);

/* ---- Queries a superuser writes (view collections) ----------------------
 *
 * A view collection's query is SQL text from outside, so it never reaches
 * the engine as a statement to run before the engine's own compiler has
 * judged it: one statement, a read-only SELECT (no PRAGMA, ATTACH, EXPLAIN,
 * writes, nothing after it), reading only what the caller's policy lets it
 * read. Compiling runs nothing, so it may happen on any connection, inside
 * a transaction too (a change that creates a view's sources and the view
 * together). */

/* Why store_query_check refused a query. */
enum store_query_fault {
    STORE_QUERY_OK,
    STORE_QUERY_EMPTY,       /* no statement at all */
    STORE_QUERY_SYNTAX,      /* the engine could not compile it: detail is its message */
    STORE_QUERY_MANY,        /* more than one statement */
    STORE_QUERY_NOT_SELECT,  /* not a read-only SELECT: detail names what it does */
    STORE_QUERY_READ_DENIED, /* the policy refused a read: detail is "table.column" */
    STORE_QUERY_UNSUPPORTED, /* the engine cannot judge a query yet: detail is its name */
};

/* One result column of a checked query. */
struct store_query_column {
    char *name;      /* its name in the result: the alias, else the expression's text */
    char *table;     /* the table a plain column reference reads (through subqueries
                        and views); NULL for an expression */
    char *origin;    /* that table's column; NULL for an expression */
    char *decl_type; /* that column's declared type; NULL when none */
};

struct store_query_info {
    enum store_query_fault fault;
    char detail[256]; /* "" when the fault has none */
    struct store_query_column *cols;
    size_t count;
    char **tables; /* the tables and views it reads, each once (through views too) */
    size_t table_count;
    struct str sql; /* the statement without what follows it (a ';', blanks), borrowed
                       from the text checked */
};

/* Whether a query may read column of table ("" when it reads no column in
 * particular, as count(*) does); table is a table, a view or a table-valued
 * function (json_each). */
typedef bool store_may_read_fn(void *ctx, const char *table, const char *column);

/* Compiles sql on db without running it and fills *info (clear it with
 * store_query_info_cleanup, also after an error): RC_OK for one read-only
 * SELECT whose reads may_read allows (NULL: any read); RC_INVALID with
 * info->fault and info->detail otherwise; RC_NOMEM, RC_IO, RC_BUSY when the
 * engine itself fails. sql is borrowed for as
 * long as info->sql is used. */
enum rc store_query_check(struct store_conn *db, struct str sql, store_may_read_fn *may_read,
                          void *ctx, struct store_query_info *info);
void store_query_info_cleanup(struct store_query_info *info);

/* How a view presents one column of its query. */
enum store_view_cast {
    STORE_VIEW_AS_IS,
    STORE_VIEW_TEXT, /* as text (a record id) */
    STORE_VIEW_JSON, /* as JSON text: JSON text as it is, numbers and NULL as they are,
                        any other value as a JSON string */
};

/* Creates the view name over a query store_query_check accepted on the same
 * connection, casting column i as casts[i] says (casts NULL: all as they
 * are), then compiles a read of it (CREATE VIEW itself resolves no name).
 * RC_INVALID when the engine refuses either (the view is not left behind),
 * its message in why (cap bytes, NUL-terminated); RC_IO, RC_BUSY, RC_NOMEM. */
enum rc store_view_create(struct store_conn *db, struct str name, const struct store_query_info *q,
                          const enum store_view_cast *casts, char *why, size_t cap);
/* Drops the view name if there is one. */
enum rc store_view_drop(struct store_conn *db, struct str name);
/* Whether db's engine can judge view queries and make views over them
 * (store_query_check, store_view_create): view collections are refused on
 * one that cannot. */
bool store_has_views(const struct store_conn *db);

/* ---- The catalog (a database copied into another: core/db_copy.h) ------
 *
 * What tables and columns a database holds, asked the same way of either
 * engine. In PostgreSQL a database is its connection's current schema
 * (search_path's first), the one tarmac creates its tables in. */

/* One column of a table. */
struct store_column_info {
    char *name;
    /* How the engine holds its values: STORE_TYPE_INT (integers, booleans),
     * STORE_TYPE_FLOAT (every other number: NUMERIC, REAL, DOUBLE) or
     * STORE_TYPE_BLOB (BLOB, bytea: vectors) or STORE_TYPE_TEXT (text, JSON,
     * anything else). */
    enum store_type type;
};

/* The tables of db (not views; the engine's own, such as SQLite's
 * sqlite_sequence, and search indexes' (store/search.h) left out), sorted by name: *out is an array
 * of *count strings the caller frees with store_names_free. RC_IO, RC_NOMEM. */
enum rc store_tables(struct store_conn *db, char ***out, size_t *count);
void store_names_free(char **names, size_t count);
/* The columns of table (its exact name) in their order, the row key
 * (STORE_ROW_KEY) among them as "rowid" on both engines (SQLite's implicit
 * rowid is listed first). *count is 0 when there is no such table. Free with
 * store_columns_free. RC_IO, RC_NOMEM. */
enum rc store_table_columns(struct store_conn *db, struct str table, struct store_column_info **out,
                            size_t *count);
void store_columns_free(struct store_column_info *cols, size_t count);
/* After rows were written into table (one with a row key) with their row
 * keys given: makes the row key of the next insert follow the largest one
 * there (PostgreSQL: sets the rowid identity's sequence; SQLite does so by
 * itself). Inside the writing transaction or after it. */
enum rc store_row_key_follow(struct store_conn *db, struct str table);

#endif
