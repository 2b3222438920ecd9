/* target.c -- see target.h: the local directory. */
#include "core/backup/target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

#define PATH_BYTES 4096

struct local {
    char *dir;
};

enum rc core_backup_target_local_path(const char *dir, const char *key, char *out, size_t cap)
{
    if (!core_backup_key_is_safe(str_from_cstr(key)))
        return RC_INVALID;
    return snprintf(out, cap, "%s/%s", dir, key) < (int)cap ? RC_OK : RC_INVALID;
}

static void fill_entry(struct core_backup_entry *e, const char *key, const struct stat *sb)
{
    size_t n = strlen(key);
    if (n > CORE_BACKUP_KEY_MAX)
        n = CORE_BACKUP_KEY_MAX; /* never: keys are checked before */
    memcpy(e->key, key, n);
    e->key[n] = '\0';
    e->size = (int64_t)sb->st_size;
    e->mtime_ms = (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000;
}

static enum rc local_list(void *ctx, struct core_backup_entry **out, size_t *n)
{
    struct local *l = ctx;
    *out = NULL;
    *n = 0;
    DIR *d = opendir(l->dir);
    if (!d)
        return errno == ENOENT ? RC_OK : RC_IO;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!core_backup_key_is_safe(str_from_cstr(de->d_name)))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        fill_entry(&(*out)[(*n)++], de->d_name, &sb);
    }
    closedir(d);
    return RC_OK;
}

static enum rc local_stat(void *ctx, const char *key, struct core_backup_entry *out)
{
    struct local *l = ctx;
    char path[PATH_BYTES];
    if (core_backup_target_local_path(l->dir, key, path, sizeof(path)))
        return RC_INVALID;
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? RC_NOT_FOUND : RC_IO;
    if (!S_ISREG(sb.st_mode))
        return RC_NOT_FOUND;
    fill_entry(out, key, &sb);
    return RC_OK;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static enum rc local_put(void *ctx, const char *key, const char *path)
{
    struct local *l = ctx;
    char dst[PATH_BYTES];
    if (core_backup_target_local_path(l->dir, key, dst, sizeof(dst)))
        return RC_INVALID;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return RC_IO;
    int synced = fsync(fd);
    close(fd);
    if (synced != 0)
        return RC_IO;
    /* link() never replaces: a name taken meanwhile is a conflict, not a
     * lost backup. The source is a temporary file in the same directory. */
    if (link(path, dst) != 0)
        return errno == EEXIST ? RC_CONFLICT : RC_IO;
    unlink(path);
    sync_dir(l->dir);
    return RC_OK;
}

static enum rc local_fetch(void *ctx, const char *key, const char *tmp_path, char *out, size_t cap)
{
    (void)tmp_path;
    struct local *l = ctx;
    struct core_backup_entry e;
    enum rc rc = local_stat(ctx, key, &e);
    if (rc)
        return rc;
    return core_backup_target_local_path(l->dir, key, out, cap);
}

static enum rc local_remove(void *ctx, const char *key)
{
    struct local *l = ctx;
    char path[PATH_BYTES];
    if (core_backup_target_local_path(l->dir, key, path, sizeof(path)))
        return RC_INVALID;
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return RC_NOT_FOUND;
    if (unlink(path) != 0)
        return errno == ENOENT ? RC_NOT_FOUND : RC_IO;
    sync_dir(l->dir);
    return RC_OK;
}

static const char *local_why(void *ctx)
{
    (void)ctx;
    return "";
}

static void local_free(void *ctx)
{
    struct local *l = ctx;
    if (!l)
        return;
    xfree(l->dir);
    xfree(l);
}

static const struct core_backup_target_ops local_ops = {
    .list = local_list,
    .stat = local_stat,
    .put = local_put,
    .fetch = local_fetch,
    .remove = local_remove,
    .why = local_why,
    .release = local_free,
};

struct core_backup_target core_backup_target_local(const char *dir)
{
    struct local *l = xcalloc(1, sizeof(*l));
    l->dir = xstrdup(dir);
    (void)mkdir(dir, 0700);
    return (struct core_backup_target){.ops = &local_ops, .ctx = l};
}
