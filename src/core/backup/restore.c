/* restore.c -- see restore.h. */
#include "core/backup/restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/secure.h"
#include "base/str.h"
#include "core/backup/archive.h"
#include "core/backup/backup_int.h"
#include "store/backup.h"
#include "store/store.h"

#define MARKER_ID "tarmacRestore"
/* --storage-dir: the archive's files staged inside the directory, the
 * entries they replace moved aside there (dot names: never a key, storage.h),
 * and the stage's note of the directory. */
#define STORAGE_STAGED ".tarmac_restore_staged"
#define STORAGE_OLD ".tarmac_restore_old"
#define STORAGE_NOTE ".storage-dir"

/* The entries of the data directory a restore replaces, in the order they
 * are moved. A "follows" entry is only moved out (the old database's WAL and
 * shared memory), and only while its database still waits in pending/. */
static const struct {
    const char *name;
    const char *follows; /* NULL: replaced by pending/<name> */
} entries[] = {
    {"data.db-wal", "data.db"},
    {"data.db-shm", "data.db"},
    {"auxiliary.db-wal", "auxiliary.db"},
    {"auxiliary.db-shm", "auxiliary.db"},
    {"data.db", NULL},
    {"auxiliary.db", NULL},
    {"storage", NULL},
};

/* ---- test faults ----------------------------------------------------------- */

#ifdef TARMAC_FAULTS
static long env_long(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : 0;
}

/* One step of the commit or the roll forward: the test's crash or failure. */
static enum rc step(const char *what)
{
    static long count;
    count++;
    if (count == env_long("TARMAC_TEST_RESTORE_CRASH")) {
        fprintf(stderr, "restore: crash at step %ld (%s)\n", count, what);
        _exit(99);
    }
    if (count == env_long("TARMAC_TEST_RESTORE_FAIL")) {
        fprintf(stderr, "restore: failure at step %ld (%s)\n", count, what);
        return RC_IO;
    }
    return RC_OK;
}
#else
static enum rc step(const char *what)
{
    (void)what;
    return RC_OK;
}
#endif

/* ---- the restore area and its lock ---------------------------------------- */

struct area {
    char root[BACKUP_PATH_BYTES];
    char staged[BACKUP_PATH_BYTES];
    char pending[BACKUP_PATH_BYTES];
    char old[BACKUP_PATH_BYTES];
    int lock_fd;
};

/* Opens <dir>/.tarmac_restore (made when missing) and takes its lock, so a
 * CLI command opening the data while a server stages waits, and two starts
 * never roll forward at once. */
static enum rc area_open(const char *dir, struct area *a)
{
    a->lock_fd = -1;
    char lock[BACKUP_PATH_BYTES];
    if (!backup_path(a->root, "%s/%s", dir, BACKUP_RESTORE_DIR) ||
        !backup_path(a->staged, "%s/staged", a->root) ||
        !backup_path(a->pending, "%s/pending", a->root) ||
        !backup_path(a->old, "%s/old", a->root) || !backup_path(lock, "%s/lock", a->root))
        return RC_IO;
    if (mkdir(a->root, 0700) != 0 && errno != EEXIST)
        return RC_IO;
    a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (a->lock_fd < 0 || flock(a->lock_fd, LOCK_EX) != 0) {
        if (a->lock_fd >= 0)
            close(a->lock_fd);
        a->lock_fd = -1;
        return RC_IO;
    }
    return RC_OK;
}

static void area_close(struct area *a)
{
    if (a->lock_fd >= 0)
        close(a->lock_fd); /* drops the lock */
    a->lock_fd = -1;
}

static bool read_id(const char *staged, char id[40])
{
    char path[BACKUP_PATH_BYTES];
    id[0] = '\0';
    if (!backup_path(path, "%s/.id", staged))
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(id, 40, f) != NULL;
    fclose(f);
    id[strcspn(id, "\r\n")] = '\0';
    return ok && id[0];
}

/* ---- 1. stage ----------------------------------------------------------------- */

static enum rc write_id(const char *staged)
{
    unsigned char raw[16];
    secure_random_bytes(raw, sizeof(raw));
    char id[33];
    str_hex_encode(raw, sizeof(raw), id);
    id[32] = '\0';
    char path[BACKUP_PATH_BYTES];
    if (!backup_path(path, "%s/.id", staged))
        return RC_IO;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return RC_IO;
    bool ok = write(fd, id, 32) == 32 && fsync(fd) == 0;
    close(fd);
    return ok ? RC_OK : RC_IO;
}

/* What the archive lacks is made empty: the restored directory is exactly
 * the archive, not the archive plus what was there before. files: where
 * the archive's storage/ was extracted (staged, or the --storage-dir's
 * stage). */
static enum rc fill_missing(const char *staged, const char *files)
{
    char path[BACKUP_PATH_BYTES];
    if (!backup_path(path, "%s/storage", files) || (mkdir(path, 0755) != 0 && errno != EEXIST))
        return RC_IO;
    if (!backup_path(path, "%s/auxiliary.db", staged))
        return RC_IO;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return RC_IO;
    close(fd);
    return RC_OK;
}

/* Writes the stage's note of the --storage-dir path. */
static enum rc write_note(const char *staged, const char *storage_dir)
{
    char path[BACKUP_PATH_BYTES];
    if (!backup_path(path, "%s/%s", staged, STORAGE_NOTE))
        return RC_IO;
    FILE *f = fopen(path, "wx");
    if (!f)
        return RC_IO;
    bool ok = fputs(storage_dir, f) >= 0;
    return fclose(f) == 0 && ok ? RC_OK : RC_IO;
}

/* The --storage-dir a stage was made for, from its note; false: none. */
static bool read_note(const char *staged, char out[BACKUP_PATH_BYTES])
{
    char path[BACKUP_PATH_BYTES];
    out[0] = '\0';
    if (!backup_path(path, "%s/%s", staged, STORAGE_NOTE))
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(out, BACKUP_PATH_BYTES, f) != NULL;
    fclose(f);
    return ok && out[0];
}

/* Removes a stage that is not to be committed, with the files' stage in
 * the --storage-dir its note names (left there otherwise: a whole
 * archive's files in the shared directory). */
static void discard_stage(const char *staged)
{
    char storage_dir[BACKUP_PATH_BYTES], files[BACKUP_PATH_BYTES];
    if (read_note(staged, storage_dir) && backup_path(files, "%s/%s", storage_dir, STORAGE_STAGED))
        backup_remove_tree(files);
    backup_remove_tree(staged);
}

enum rc core_restore_stage(const char *dir, const char *target, const char *storage_dir,
                           const char *zip_path, char *err, size_t cap)
{
    char files[BACKUP_PATH_BYTES]; /* where storage/ is extracted */
    if (storage_dir && (!backup_path(files, "%s/%s", storage_dir, STORAGE_STAGED) ||
                        backup_remove_tree(files) != RC_OK || mkdir(files, 0700) != 0)) {
        snprintf(err, cap, "cannot stage the files in %s", storage_dir);
        return RC_IO;
    }
    struct area a;
    if (area_open(dir, &a)) {
        snprintf(err, cap, "cannot use %s/%s", dir, BACKUP_RESTORE_DIR);
        return RC_IO;
    }
    enum rc rc = backup_remove_tree(a.staged);
    if (!rc && mkdir(a.staged, 0700) != 0)
        rc = RC_IO;
    if (rc) {
        snprintf(err, cap, "cannot make %s", a.staged);
        area_close(&a);
        return rc;
    }
    const char *snapshot = store_snapshot_name(target);
    const char *const allowed[] = {snapshot, "auxiliary.db", storage_dir ? NULL : "storage", NULL};
    static const char *const storage_only[] = {"storage", NULL};
    if (!storage_dir)
        snprintf(files, sizeof(files), "%s", a.staged);
    rc = core_archive_extract(zip_path, a.staged, allowed, err, cap);
    if (!rc && storage_dir)
        rc = core_archive_extract(zip_path, files, storage_only, err, cap);
    char path[BACKUP_PATH_BYTES];
    if (!rc && (!backup_path(path, "%s/%s", a.staged, snapshot) || !backup_exists(path))) {
        snprintf(err, cap, "the archive has no %s: not a backup of this server's %s database",
                 snapshot, store_target_is_url(target) ? "PostgreSQL" : "SQLite");
        rc = RC_INVALID;
    }
    /* What core_app_open reads first: a database of another layout (a
     * PocketBase one has these tables, not these columns) is refused here,
     * not at the next start. */
    static const char *const probes[] = {"SELECT data, system, created, updated FROM _collections",
                                         "SELECT id, value, created, updated FROM _params", NULL};
    if (!rc)
        rc = store_snapshot_check(path, probes, err, cap);
    char aux[BACKUP_PATH_BYTES];
    struct stat sb;
    if (!rc && backup_path(aux, "%s/auxiliary.db", a.staged) && stat(aux, &sb) == 0 &&
        sb.st_size > 0 && store_snapshot_check(aux, NULL, err, cap) != RC_OK) {
        char why[512];
        snprintf(why, sizeof(why), "auxiliary.db: %s", err);
        snprintf(err, cap, "%s", why);
        rc = RC_INVALID;
    }
    if (!rc)
        rc = fill_missing(a.staged, files);
    if (!rc && storage_dir)
        rc = write_note(a.staged, storage_dir);
    if (!rc && syncfs(a.lock_fd) != 0)
        rc = RC_IO;
    if (!rc && storage_dir && backup_sync_dir(files) != RC_OK)
        rc = RC_IO;
    if (!rc)
        rc = write_id(a.staged);
    if (rc) {
        if (!err[0])
            snprintf(err, cap, "cannot stage the restore in %s", a.staged);
        backup_remove_tree(a.staged);
        if (storage_dir)
            backup_remove_tree(files);
    }
    area_close(&a);
    return rc;
}

bool core_restore_is_staged(const char *dir)
{
    char staged[BACKUP_PATH_BYTES], id[40];
    return backup_path(staged, "%s/%s/staged", dir, BACKUP_RESTORE_DIR) && read_id(staged, id);
}

void core_restore_discard(const char *dir)
{
    struct area a;
    if (area_open(dir, &a))
        return;
    discard_stage(a.staged);
    area_close(&a);
}

/* ---- 3. roll forward ------------------------------------------------------------ */

/* The first entry of dir whose name does not start with '.' into name;
 * false when there is none (or dir cannot be read). */
static bool first_entry(const char *dir, char name[256])
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            snprintf(name, 256, "%s", e->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

/* Moves every entry of from (but dot names) into to; both on one file
 * system. Repeatable: what moved before is no longer in from. */
static enum rc move_entries(const char *from, const char *to, char *err, size_t cap)
{
    char name[256];
    while (first_entry(from, name)) {
        char src[BACKUP_PATH_BYTES], dst[BACKUP_PATH_BYTES];
        if (!backup_path(src, "%s/%s", from, name) || !backup_path(dst, "%s/%s", to, name)) {
            snprintf(err, cap, "cannot move %s/%s into %s: the path is too long", from, name, to);
            return RC_IO;
        }
        enum rc rc = step(name);
        if (rc || rename(src, dst) != 0) {
            snprintf(err, cap, "cannot move %s into %s: %s", src, to,
                     rc ? "a test's failure" : strerror(errno));
            return rc ? rc : RC_IO;
        }
    }
    return RC_OK;
}

/* --storage-dir S: the stage's files (S/.tarmac_restore_staged/storage)
 * replace S's entries, by renames within S: every entry of S is moved to
 * S/.tarmac_restore_old (once: a mark says it was done), then every staged
 * one into S. Repeatable after a crash at any step; done when the stage is
 * gone. Other instances serving S see the old files, then for a moment
 * fewer, then the restored ones. */
static enum rc swap_storage(const char *s, char *err, size_t cap)
{
    char staged[BACKUP_PATH_BYTES], files[BACKUP_PATH_BYTES], mark[BACKUP_PATH_BYTES],
        old[BACKUP_PATH_BYTES];
    if (!backup_path(staged, "%s/%s", s, STORAGE_STAGED) ||
        !backup_path(files, "%s/storage", staged) || !backup_path(mark, "%s/.moved-out", staged) ||
        !backup_path(old, "%s/%s", s, STORAGE_OLD))
        return RC_IO;
    if (!backup_exists(staged))
        return RC_OK; /* swapped already */
    enum rc rc = RC_OK;
    if (!backup_exists(mark)) {
        if (mkdir(old, 0700) != 0 && errno != EEXIST) {
            snprintf(err, cap, "cannot make %s: %s", old, strerror(errno));
            return RC_IO;
        }
        rc = move_entries(s, old, err, cap);
        int fd = rc ? -1 : open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (!rc && (fd < 0 || fsync(fd) != 0))
            rc = RC_IO;
        if (fd >= 0)
            close(fd);
        if (!rc)
            rc = backup_sync_dir(s);
        if (rc) {
            if (!err[0])
                snprintf(err, cap, "cannot move the files of %s aside", s);
            return rc;
        }
    }
    rc = move_entries(files, s, err, cap);
    if (!rc)
        rc = backup_sync_dir(s);
    if (!rc)
        rc = backup_remove_tree(staged);
    if (rc) {
        if (!err[0])
            snprintf(err, cap, "cannot move the restored files into %s", s);
        return rc;
    }
    if (backup_remove_tree(old) != RC_OK)
        log_warn("msg=\"the replaced files were not removed\" dir=%s", old);
    return RC_OK;
}

static enum rc roll_forward(const char *dir, struct area *a, char *err, size_t cap)
{
    if (mkdir(a->old, 0700) != 0 && errno != EEXIST) {
        snprintf(err, cap, "cannot make %s: %s", a->old, strerror(errno));
        return RC_IO;
    }
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        char cur[BACKUP_PATH_BYTES], next[BACKUP_PATH_BYTES], gone[BACKUP_PATH_BYTES];
        const char *e = entries[i].name;
        if (!backup_path(cur, "%s/%s", dir, e) || !backup_path(gone, "%s/%s", a->old, e) ||
            !backup_path(next, "%s/%s", a->pending, entries[i].follows ? entries[i].follows : e))
            return RC_IO;
        if (!backup_exists(next))
            continue; /* moved in already, or a database this engine has not */
        enum rc rc = RC_OK;
        if (backup_exists(cur)) {
            if (!entries[i].follows && backup_exists(gone)) {
                snprintf(err, cap, "both %s and %s exist: move one away by hand", cur, gone);
                return RC_IO;
            }
            rc = step(e);
            if (!rc && rename(cur, gone) != 0)
                rc = RC_IO;
        }
        if (!rc && !entries[i].follows) {
            rc = step(e);
            if (!rc && rename(next, cur) != 0)
                rc = RC_IO;
        }
        if (rc) {
            snprintf(err, cap, "cannot move %s into place: %s", e, strerror(errno));
            return rc;
        }
    }
    char storage_dir[BACKUP_PATH_BYTES];
    if (read_note(a->pending, storage_dir)) {
        enum rc rc = swap_storage(storage_dir, err, cap);
        if (rc)
            return rc;
    }
    enum rc rc = step("sync");
    if (!rc)
        rc = backup_sync_dir(dir);
    if (!rc)
        rc = step("cleanup");
    if (!rc)
        rc = backup_remove_tree(a->pending);
    if (!rc)
        rc = backup_sync_dir(a->root);
    if (rc) {
        snprintf(err, cap, "cannot finish the restore in %s", a->root);
        return rc;
    }
    /* The old data is no longer needed: a failure here only leaves it for
     * the next start to remove. */
    if (backup_remove_tree(a->old) != RC_OK)
        log_warn("msg=\"the replaced data was not removed\" dir=%s", a->old);
    return RC_OK;
}

/* ---- 2. commit -------------------------------------------------------------------- */

static enum rc commit_locked(const char *dir, const char *target, struct area *a, char *err,
                             size_t cap)
{
    char id[40];
    if (!read_id(a->staged, id)) {
        snprintf(err, cap, "no restore is staged");
        discard_stage(a->staged);
        return RC_NOT_FOUND;
    }
    if (backup_exists(a->pending)) {
        snprintf(err, cap, "an earlier restore is not finished (%s)", a->pending);
        return RC_IO;
    }
    bool is_db_committed = false;
    enum rc rc = step("sync");
    if (!rc && syncfs(a->lock_fd) != 0)
        rc = RC_IO;
    if (!rc && store_target_is_url(target)) {
        char sql[BACKUP_PATH_BYTES], marker[256];
        snprintf(marker, sizeof(marker),
                 "INSERT INTO public._params (id, value) VALUES ('%s', '\"%s\"')", MARKER_ID, id);
        rc = step("psql");
        if (!rc && !backup_path(sql, "%s/data.sql", a->staged))
            rc = RC_IO;
        if (!rc)
            rc = store_snapshot_restore(target, sql, marker, err, cap);
        is_db_committed = rc == RC_OK;
    }
    if (!rc)
        rc = step("commit");
    /* The commit point of an SQLite restore (the second, after psql's COMMIT,
     * of a PostgreSQL one). */
    if (!rc && rename(a->staged, a->pending) != 0)
        rc = RC_IO;
    if (rc) {
        if (!err[0])
            snprintf(err, cap, "cannot commit the restore: %s", strerror(errno));
        /* Not committed: the data stays as it was. On PostgreSQL a rename
         * that failed after psql's COMMIT is finished by the next start,
         * which finds the marker: the stage stays then. */
        if (!is_db_committed)
            discard_stage(a->staged);
        return rc;
    }
    if (backup_sync_dir(a->root) != RC_OK) {
        snprintf(err, cap, "cannot sync %s", a->root);
        return RC_IO;
    }
    return roll_forward(dir, a, err, cap);
}

enum rc core_restore_commit(const char *dir, const char *target, char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    struct area a;
    if (area_open(dir, &a)) {
        snprintf(err, cap, "cannot use %s/%s", dir, BACKUP_RESTORE_DIR);
        return RC_IO;
    }
    enum rc rc = commit_locked(dir, target, &a, err, cap);
    area_close(&a);
    return rc;
}

/* ---- recovery at start ---------------------------------------------------------------- */

enum rc core_restore_recover(const char *dir, const char *target, char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    char root[BACKUP_PATH_BYTES];
    if (!backup_path(root, "%s/%s", dir, BACKUP_RESTORE_DIR) || !backup_exists(root))
        return RC_OK; /* no restore ever ran here */
    struct area a;
    if (area_open(dir, &a)) {
        snprintf(err, cap, "cannot use %s", root);
        return RC_IO;
    }
    enum rc rc = RC_OK;
    if (backup_exists(a.pending)) {
        log_warn("msg=\"finishing an interrupted restore\" dir=%s", dir);
        rc = roll_forward(dir, &a, err, cap);
    } else if (backup_exists(a.old) && backup_remove_tree(a.old) != RC_OK) {
        log_warn("msg=\"the data a restore replaced was not removed\" dir=%s", a.old);
    }
    /* An SQLite stage never committed (the commit renames it). A
     * PostgreSQL one waits for core_restore_recover_db and its marker. */
    if (!rc && !store_target_is_url(target) && backup_exists(a.staged))
        discard_stage(a.staged);
    area_close(&a);
    return rc;
}

enum rc core_restore_recover_db(struct store_conn *db, const char *dir)
{
    if (!store_is_remote(db))
        return RC_OK;
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT("SELECT value FROM _params WHERE id = ?1"), &st);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, STR_LIT(MARKER_ID));
    if (!rc)
        rc = store_step(st);
    char marker[40] = "";
    if (rc == RC_OK) {
        struct str v = store_column_text(st, 0);
        /* the JSON string "<id>" */
        if (v.len >= 2 && v.len < sizeof(marker) + 1) {
            memcpy(marker, v.ptr + 1, v.len - 2);
            marker[v.len - 2] = '\0';
        }
    }
    store_done(st);
    if (rc == RC_NOT_FOUND) {
        marker[0] = '\0';
        rc = RC_OK;
    }
    if (rc)
        return rc;
    char root[BACKUP_PATH_BYTES];
    if (!backup_path(root, "%s/%s", dir, BACKUP_RESTORE_DIR))
        return RC_IO;
    if (backup_exists(root)) {
        struct area a;
        if (area_open(dir, &a))
            return RC_IO;
        char id[40];
        if (marker[0] && read_id(a.staged, id) && strcmp(id, marker) == 0 &&
            !backup_exists(a.pending)) {
            log_warn("msg=\"finishing the files of an interrupted restore\" dir=%s", dir);
            char err[512];
            if (rename(a.staged, a.pending) != 0 || roll_forward(dir, &a, err, sizeof(err))) {
                log_error("msg=\"the restore's files cannot be put in place\" dir=%s", dir);
                area_close(&a);
                return RC_IO;
            }
        }
        discard_stage(a.staged);
        area_close(&a);
    }
    if (!marker[0])
        return RC_OK;
    if (store_prepare(db, STR_LIT("DELETE FROM _params WHERE id = ?1"), &st) != RC_OK)
        return RC_IO;
    rc = store_bind_text(st, 1, STR_LIT(MARKER_ID));
    if (!rc)
        rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}
