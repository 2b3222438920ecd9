/* backup.h -- a database copied out whole and put back whole, for backups
 * (layer: store; core/backup/ uses it).
 *
 * The engine decides how: an SQLite file is copied page by page with
 * SQLite's online backup API from a read transaction held for the whole copy
 * (one consistent snapshot; the writer and the workers go on, since WAL
 * readers never block a writer), a few hundred pages per step with a short
 * sleep between; a PostgreSQL database is dumped by `pg_dump` (plain SQL of
 * the public schema, no owners or privileges) and put back by `psql` in one
 * transaction (DROP SCHEMA public CASCADE, the dump, the caller's marker
 * statement), so a failure anywhere leaves the database as it was. pg_dump
 * and psql are found in PATH; the URL's parameters reach them through
 * libpq's environment variables (PGHOST, PGPASSWORD, ...), never on their
 * command line (which other users can read in /proc).
 *
 * Everything here blocks (seconds to minutes): call it from a thread of its
 * own, never from a loop. Each function fills err (cap bytes, one line, no
 * password) when it fails. */
#ifndef TARMAC_STORE_BACKUP_H
#define TARMAC_STORE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"

/* The name of the engine's snapshot inside an archive: "data.db" for an
 * SQLite target (a file path), "data.sql" for a PostgreSQL URL. */
const char *store_snapshot_name(const char *target);

/* Called once the snapshot's moment is fixed: SQLite, when its read
 * transaction is open and before any page is copied; PostgreSQL, after
 * pg_dump (its own snapshot is taken as it starts). A caller copying files
 * beside the database does it there, as close to that moment as it can. */
typedef void store_snapshot_pinned_fn(void *ctx);

/* Writes a consistent copy of target (a file path or a PostgreSQL URL) to
 * out_path (created; replaced if present); pinned (may be NULL) is called
 * as said above. An SQLite file that does not exist is RC_NOT_FOUND. RC_IO
 * (a read or write failed, pg_dump failed), RC_UNAVAILABLE (pg_dump is not
 * installed). */
enum rc store_snapshot(const char *target, const char *out_path, store_snapshot_pinned_fn *pinned,
                       void *ctx, char *err, size_t cap);

/* Checks a snapshot before it replaces anything. SQLite (path ends in .db):
 * the file opens, `PRAGMA integrity_check` answers ok, and every statement
 * of probes (NULL-terminated; the caller's SELECTs of the tables and
 * columns it needs) prepares. PostgreSQL (.sql): the file is a pg_dump text
 * dump. RC_INVALID with the reason in err. */
enum rc store_snapshot_check(const char *path, const char *const *probes, char *err, size_t cap);

/* PostgreSQL only: replaces the public schema of url with the dump at
 * sql_path in one transaction that ends with marker_sql (may be NULL), so the
 * caller can tell afterwards whether it committed. RC_IO with psql's first
 * error line (nothing changed), RC_UNAVAILABLE when psql is not installed. */
enum rc store_snapshot_restore(const char *url, const char *sql_path, const char *marker_sql,
                               char *err, size_t cap);

/* The backups' one-operation-at-a-time lock of a PostgreSQL database,
 * shared by every instance serving it (PocketBase keeps it in the process;
 * several instances behind a balancer need it in the database): a
 * transaction's advisory lock held by a transaction left open on a
 * connection of its own (so a pooler in transaction mode cannot hand the
 * lock's session to another client), which also shows the name of the
 * operation's archive (its application_name), so the server drops both
 * when the holder dies. */
struct store_backup_lock;
/* Takes the lock of url for the archive key (a checked name): RC_OK with
 * *out, RC_BUSY when another session holds it, RC_UNAVAILABLE when the
 * database cannot be reached (err says why). Blocking. */
enum rc store_backup_lock_try(const char *url, const char *key, struct store_backup_lock **out,
                              char *err, size_t cap);
/* Releases it (closes its connection). Accepts NULL. */
void store_backup_lock_release(struct store_backup_lock *l);
/* The archive name of the operation holding url's lock into out (cap
 * bytes): RC_OK, RC_NOT_FOUND when none holds it, RC_UNAVAILABLE. Blocking. */
enum rc store_backup_lock_holder(const char *url, char *out, size_t cap);

#endif
