/* backup.h -- backups of an app: made, listed, restored, scheduled (layer:
 * core, core/backup/; PocketBase's core/base_backup.go).
 *
 * A backup is one zip: a consistent snapshot of the database (data.db, or
 * data.sql from pg_dump on PostgreSQL; store/backup.h), a snapshot of the
 * request log (auxiliary.db) and the stored files (storage/), kept in the
 * backups target (core/backup/target.h): <dir>/backups/, or the bucket of
 * the settings' backups.s3 when it is enabled (core_backups_use_s3). The data
 * directory's other entries (the backups themselves, the lock, temporary
 * directories) are never in one.
 *
 * Making one runs on a thread of its own, at a lower CPU priority: the
 * storage tree is hard-linked into a temporary directory (cheap, and
 * immune to files deleted meanwhile) around the moment the database
 * snapshot is pinned, the database is copied a few hundred pages at a time
 * without holding the writer, then zipped. Files written or deleted while
 * the snapshot is pinned may make the archive hold a file no record names
 * (harmless) and, in a window of milliseconds, miss one that a record
 * deleted right after the snapshot named.
 *
 * One operation at a time (a create or a restore), as PocketBase's
 * "@activeBackup": another is refused with RC_BUSY, and the archive in use
 * cannot be deleted. A restore is staged (core/backup/restore.h) while the
 * server runs; then the app's restart callback stops the server, which
 * commits the restore with the database closed and runs itself again
 * (cli/serve.c), as PocketBase restarts its process.
 *
 * Automatic backups follow the settings (backups.cron, backups.cronMaxKeep)
 * on a thread of their own that sleeps until the next slot: named
 * "@auto_pb_backup_<app>_<YYYYMMDDhhmmss>.zip", the oldest automatic ones
 * beyond cronMaxKeep deleted after each. */
#ifndef TARMAC_CORE_BACKUP_BACKUP_H
#define TARMAC_CORE_BACKUP_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"
#include "core/backup/backup_name.h"
#include "core/backup/target.h"

struct net_mailbox;
struct net_s3_config;
struct core_backups;

/* What an asynchronous operation answers, on the loop of the mailbox it was
 * given: rc and, for a failure, a sentence for the client (message, may be
 * ""). RC_CONFLICT: the name is taken; RC_NOT_FOUND: no such backup;
 * RC_INVALID: the archive is refused (message says why); RC_UNAVAILABLE:
 * the backups' S3 bucket failed (message holds S3's answer). */
typedef void core_backup_done_fn(enum rc rc, const char *message, void *ctx);

/* The backups of the data directory dir and database target (a file path
 * or a PostgreSQL URL). The schedule's thread starts with the first
 * expression core_backups_schedule gives. */
struct core_backups *core_backups_new(const char *dir, const char *target);
/* Stops the schedule, waits for a running operation; accepts NULL. */
void core_backups_free(struct core_backups *b);
/* Where the archives are kept from now on: the bucket of s3 (its strings
 * are copied), or with NULL the local directory <dir>/backups (the
 * default). Each operation uses the target of the moment it starts, so one
 * under way finishes where it began. Any thread (the settings' swap). */
void core_backups_use_s3(struct core_backups *b, const struct net_s3_config *s3);
/* The uploaded files are in dir (--storage-dir), not <dir>/storage:
 * backups read them there, and a restore replaces them there
 * (core_restore_stage). Before any operation. */
void core_backups_set_storage_dir(struct core_backups *b, const char *dir);
/* Whether the archives are kept in S3 now. */
bool core_backups_is_s3(struct core_backups *b);
/* Every archive (*out: xfree it; *n entries in no given order). RC_IO, or
 * RC_UNAVAILABLE when S3 failed (err says what it answered). Blocking. */
enum rc core_backups_list(struct core_backups *b, struct core_backup_entry **out, size_t *n,
                          char *err, size_t cap);

/* Whether an operation runs (or a staged restore waits for its restart). */
bool core_backups_is_busy(struct core_backups *b);
/* Stores len bytes at data as the archive key (an upload), never replacing
 * one: RC_CONFLICT when key exists, RC_INVALID for an unsafe key, RC_IO,
 * RC_UNAVAILABLE (S3 failed; err says what it answered). Blocking. */
enum rc core_backups_upload(struct core_backups *b, const char *key, const void *data, size_t len,
                            char *err, size_t cap);
/* Where the local target keeps key (a download reads it there when the
 * archives are not in S3); RC_INVALID for an unsafe key. Does not look at
 * the disk. */
enum rc core_backups_local_path(struct core_backups *b, const char *key, char *out, size_t cap);
/* Deletes key unless it is the archive in use (RC_BUSY); RC_NOT_FOUND,
 * RC_UNAVAILABLE (S3 failed). Blocking. */
enum rc core_backups_delete(struct core_backups *b, const char *key);

/* Makes the backup key (a name from core_backup_auto_name or checked with
 * core_backup_name_is_valid) now, on the calling thread. RC_BUSY when
 * another operation runs, RC_CONFLICT when key exists, RC_IO (err says
 * why), RC_UNAVAILABLE when S3 failed (err holds S3's answer and no path:
 * a client may see it; nothing was stored). Blocking: the CLI, or a thread
 * of its own. */
enum rc core_backups_create(struct core_backups *b, const char *key, char *err, size_t cap);
/* The same on a new thread; done is posted to mb when it ends. key NULL or
 * "": a generated "pb_backup_<app_name>_<time>.zip". RC_BUSY at once when
 * another operation runs (done is then never called). */
enum rc core_backups_create_start(struct core_backups *b, const char *key, const char *app_name,
                                  struct net_mailbox *mb, core_backup_done_fn *done, void *ctx);
/* Stages a restore of key on a new thread (fetch, extract, check); done is
 * posted to mb. On success the operation stays active: call
 * core_backups_restart() once the client has its answer. RC_BUSY at once. */
enum rc core_backups_restore_start(struct core_backups *b, const char *key, struct net_mailbox *mb,
                                   core_backup_done_fn *done, void *ctx);
/* Stages a restore of key on the calling thread (the CLI). */
enum rc core_backups_restore_stage(struct core_backups *b, const char *key, char *err, size_t cap);
/* Who stops the server so a staged restore can be committed (cli/serve.c);
 * fn runs on the thread calling core_backups_restart. Before any restore. */
void core_backups_on_restart(struct core_backups *b, void (*fn)(void *ctx), void *ctx);
/* Asks for the restart; without a callback the stage is dropped. */
void core_backups_restart(struct core_backups *b);

/* The schedule from the settings: cron ("" = none) and max_keep (0 = keep
 * every automatic backup), the app name for the archives' names. Any
 * thread (the settings' swap). */
void core_backups_schedule(struct core_backups *b, const char *cron, int64_t max_keep,
                           const char *app_name);

#endif
