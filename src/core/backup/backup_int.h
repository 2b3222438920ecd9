/* backup_int.h -- what core/backup/'s files share (layer: core; nothing
 * outside core/backup/ includes it): the app's backups (backup.c, the
 * schedule in backup_cron.c) and file-tree helpers. The helpers block;
 * paths are at most BACKUP_PATH_BYTES. */
#ifndef TARMAC_CORE_BACKUP_INT_H
#define TARMAC_CORE_BACKUP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/cron.h"
#include "base/rc.h"
#include "core/backup/backup_name.h"
#include "net/s3.h"

#define BACKUP_PATH_BYTES 4096

/* Where a backup is assembled and a restore staged, inside the data
 * directory (so a rename never crosses a filesystem) and never archived. */
#define BACKUP_TMP_DIR ".tarmac_backup_tmp"
#define BACKUP_RESTORE_DIR ".tarmac_restore"
#define BACKUP_LOCAL_DIR "backups"

struct core_backups {
    char *dir;
    char *storage_dir; /* --storage-dir; NULL: <dir>/storage */
    char *target_db;   /* the database: a file path or a PostgreSQL URL */
    pthread_mutex_t mu;
    /* Where archives are kept (core_backups_use_s3): the bucket of s3 when
     * has_s3 (owned strings), else <dir>/backups. Read under mu. */
    bool has_s3;
    struct net_s3_config s3;
    /* The operation under way (PocketBase's "@activeBackup"). */
    bool is_active;
    char active_key[CORE_BACKUP_KEY_MAX + 1];
    pthread_t op_thread; /* the last asynchronous operation's; joined before the next */
    bool has_op_thread;
    void (*on_restart)(void *ctx);
    void *restart_ctx;
    /* The schedule (backups.cron). */
    pthread_t cron_thread; /* made at the first expression */
    bool has_cron_thread;
    pthread_cond_t cron_cv;
    bool is_stopping;
    bool has_cron;
    struct cron cron;
    char cron_text[128];
    int64_t max_keep;
    char app_name[256];
    uint64_t generation; /* bumped by each core_backups_schedule */
};

/* A lower CPU priority for the calling thread (background work yields to
 * the workers). */
void backup_lower_priority(void);

/* Whether path exists (lstat). */
bool backup_exists(const char *path);
/* rm -rf path (never follows a symbolic link); RC_OK when it is gone. */
enum rc backup_remove_tree(const char *path);
/* Mirrors the tree under src into dst (made when missing): directories are
 * made, regular files hard-linked (copied when the filesystem refuses a
 * link); what is already in dst is kept, and a file removed meanwhile is
 * skipped. A file's bytes are then those of the moment it was linked, as
 * stored files are written once and replaced by new names, never in
 * place. RC_IO. */
enum rc backup_link_tree(const char *src, const char *dst);
/* fsync of a directory (its entries: renames, links, unlinks); RC_IO. */
enum rc backup_sync_dir(const char *dir);
/* snprintf into a BACKUP_PATH_BYTES buffer; false when it does not fit. */
bool backup_path(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
