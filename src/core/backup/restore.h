/* restore.h -- a backup put back in place of the data, all or nothing
 * (layer: core, core/backup/).
 *
 * Three steps, each safe to interrupt:
 *
 *  1. Stage (the server may run): the archive is extracted into
 *     <dir>/.tarmac_restore/staged/ -- only data.db (SQLite) or data.sql
 *     (PostgreSQL), auxiliary.db and storage/ -- and checked: the database
 *     snapshot of this server's engine is there, an SQLite file passes
 *     `PRAGMA integrity_check` and has tarmac's system tables. What the
 *     archive lacks is made empty (storage/, a 0-byte auxiliary.db: SQLite's
 *     empty database), so the restored directory is exactly the archive.
 *     Last, staged/.id gets a random id: a staged directory without it is
 *     unfinished. Nothing of the data has been touched.
 *
 *  2. Commit (the database closed: the server stopped, or the CLI holding
 *     the directory's lock). SQLite: after a syncfs, one rename,
 *     staged -> pending, is the commit point. PostgreSQL: psql runs, in one
 *     transaction, DROP SCHEMA public CASCADE, the dump and an INSERT of the
 *     marker row ("tarmacRestore" = the id) in _params: the transaction's
 *     COMMIT is the commit point; the rename staged -> pending follows.
 *
 *  3. Roll forward: each entry of pending/ takes the place of the current
 *     one, which moves to old/ (first the old database's -wal and -shm, so a
 *     WAL never meets a database it does not belong to); then pending/ and
 *     old/ are removed.
 *
 * Why a crash never leaves a mix: before the commit point the current data
 * is untouched and a staged directory is dropped at the next start; after
 * it, every start finishes the roll forward (core_restore_recover, before
 * the database opens) before anything reads the data, and each of its moves
 * can be repeated: an entry still in pending/ has not moved in yet, one
 * gone from pending/ has. On PostgreSQL a start that finds the marker row
 * and a staged/ of that id (a crash between COMMIT and the rename) commits
 * the files then (core_restore_recover_db); a staged/ without its marker is
 * a restore whose transaction never committed, and is dropped. A failure
 * (not a crash) after the commit point leaves the roll forward to the next
 * start, which refuses to open the data until it succeeds.
 *
 * Test builds (-DTARMAC_FAULTS) count the commit's and the roll forward's
 * steps: TARMAC_TEST_RESTORE_CRASH=N ends the process (_exit) at the Nth,
 * TARMAC_TEST_RESTORE_FAIL=N makes the Nth fail with RC_IO. */
#ifndef TARMAC_CORE_BACKUP_RESTORE_H
#define TARMAC_CORE_BACKUP_RESTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"

struct store_conn;

/* Step 1 for the archive at zip_path, for the data directory dir and the
 * database target (a file path or a PostgreSQL URL). storage_dir (NULL:
 * <dir>/storage) is --storage-dir: the archive's files are staged in
 * <storage_dir>/.tarmac_restore_staged (its own file system, so the
 * commit only renames) and the stage remembers the directory; the roll
 * forward then moves the directory's entries aside and the staged ones in. Replaces any earlier
 * staged restore. RC_INVALID (not a zip, no snapshot of this engine, a
 * damaged or foreign database, ...) or RC_IO with the reason in err; then
 * nothing is left staged. */
enum rc core_restore_stage(const char *dir, const char *target, const char *storage_dir,
                           const char *zip_path, char *err, size_t cap);
/* Whether a finished stage waits in dir. */
bool core_restore_is_staged(const char *dir);
/* Drops a staged restore. */
void core_restore_discard(const char *dir);
/* Steps 2 and 3, with the database closed. RC_NOT_FOUND when nothing is
 * staged. A failure before the commit point drops the stage (the data is
 * as it was); after it, RC_IO means the next start finishes the restore. */
enum rc core_restore_commit(const char *dir, const char *target, char *err, size_t cap);
/* At start, before the database opens: finishes a committed restore, removes
 * what a finished one left, drops an SQLite stage that never committed.
 * RC_IO with err when a committed restore cannot be finished (the data must
 * not be opened). */
enum rc core_restore_recover(const char *dir, const char *target, char *err, size_t cap);
/* At start on the database (PostgreSQL: the writer's connection, in its
 * transaction): the marker row, finishing the files of a restore whose
 * transaction committed, dropping a stage whose did not; the marker is
 * deleted. Nothing to do on SQLite. */
enum rc core_restore_recover_db(struct store_conn *db, const char *dir);

#endif
