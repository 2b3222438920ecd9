/* target.h -- where backup archives are kept (layer: core, core/backup/).
 *
 * One small table of operations, so the place an archive is listed, put,
 * read and deleted can change without the rest of core/backup/ knowing:
 * the local directory <dir>/backups/ (PocketBase's pb_data/backups), or
 * the S3 bucket of the settings' backups.s3 when it is enabled
 * (PocketBase's NewBackupsFilesystem). Keys are file names
 * (core/backup/backup_name.h: core_backup_key_is_safe); every operation
 * refuses an unsafe one with RC_INVALID. A remote target's failure is
 * RC_UNAVAILABLE and why() says what the remote answered. All of them
 * block (disk or network): a backup thread or the offload pool, never a
 * loop. A target is made for one operation and released after it, so a
 * change of the settings never pulls one from under a running operation. */
#ifndef TARMAC_CORE_BACKUP_TARGET_H
#define TARMAC_CORE_BACKUP_TARGET_H

#include <stddef.h>

#include "base/rc.h"
#include "core/backup/backup_name.h"

struct net_s3_config;

struct core_backup_target_ops {
    /* Every archive: *out (xfree it) holds *n entries in no given order. */
    enum rc (*list)(void *ctx, struct core_backup_entry **out, size_t *n);
    /* The entry of key; RC_NOT_FOUND. */
    enum rc (*stat)(void *ctx, const char *key, struct core_backup_entry *out);
    /* Stores the local file at path as key, never replacing one: RC_CONFLICT
     * when key exists. The file at path is consumed (moved or deleted) on
     * success. */
    enum rc (*put)(void *ctx, const char *key, const char *path);
    /* A local file with key's bytes, for reading: the stored file itself
     * (local) or a copy made at tmp_path (remote). out gets its path (cap
     * bytes). RC_NOT_FOUND. */
    enum rc (*fetch)(void *ctx, const char *key, const char *tmp_path, char *out, size_t cap);
    /* Deletes key; RC_NOT_FOUND. */
    enum rc (*remove)(void *ctx, const char *key);
    /* Why the last operation failed with RC_UNAVAILABLE, in one line that
     * holds no secret (S3's answer); "" when none did. */
    const char *(*why)(void *ctx);
    void (*release)(void *ctx); /* frees ctx */
};

struct core_backup_target {
    const struct core_backup_target_ops *ops;
    void *ctx;
};

/* The local directory dir (made when missing, 0700: backups hold every
 * secret of the app). Temporary files of put are dot files there, which
 * list never shows. */
struct core_backup_target core_backup_target_local(const char *dir);
/* The bucket of cfg (its strings are copied): key K is object K at the
 * bucket's root, where PocketBase keeps backups too; objects whose key is
 * not a safe backup key ("folder/x") are never listed. put looks the key up
 * before it uploads (S3 would replace it) and deletes the local file after;
 * fetch copies the object to tmp_path; remove looks the key up first (S3
 * deletes a missing key without a word). net/s3.h does the requests. */
struct core_backup_target core_backup_target_s3(const struct net_s3_config *cfg);
/* Where a local target keeps key: out = <dir>/<key> (cap bytes); RC_INVALID
 * for an unsafe key. */
enum rc core_backup_target_local_path(const char *dir, const char *key, char *out, size_t cap);

#endif
