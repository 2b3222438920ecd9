/* storage_local.c -- the local storage: key K is <dataDir>/storage/K.
 *
 * What files.c and file_read.c did before S3, behind core_storage_ops:
 * files are written new (O_EXCL, never over another), read without
 * following a symbolic link, and directories are made on the way down (a
 * record's stays when its last file goes; a prefix removal takes its
 * directory). A key is used as
 * a path only when none of its segments is empty or starts with '.'. */
#include "core/files/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fault.h"
#include "base/log.h"

#define PATH_BYTES 4096

struct local_file {
    struct core_storage_file base;
    int fd;
};

static bool key_is_safe(const char *key)
{
    if (!key[0])
        return false;
    for (const char *seg = key; seg;) {
        if (*seg == '/' || *seg == '.' || *seg == '\0')
            return false;
        const char *slash = strchr(seg, '/');
        seg = slash ? slash + 1 : NULL;
    }
    return true;
}

/* <data_dir>/storage/<key> (<local_root>/<key> when set); key may be ""
 * (the root) or end with '/'. */
static enum rc path_of(const struct core_storage *st, const char *key, char out[PATH_BYTES])
{
    int n = st->local_root ? snprintf(out, PATH_BYTES, "%s/%s", st->local_root, key)
                           : snprintf(out, PATH_BYTES, "%s/storage/%s", st->data_dir, key);
    return n < 0 || n >= PATH_BYTES ? RC_INVALID : RC_OK;
}

static enum rc file_path(const struct core_storage *st, const char *key, char out[PATH_BYTES])
{
    return key_is_safe(key) ? path_of(st, key, out) : RC_INVALID;
}

/* mkdir -p of path's directory. */
static enum rc make_parents(const char *path)
{
    char tmp[PATH_BYTES];
    size_t n = strlen(path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (tmp[i] != '/')
            continue;
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            log_error("msg=\"storage mkdir failed\" path=\"%s\" errno=%d", tmp, errno);
            return RC_IO;
        }
        tmp[i] = '/';
    }
    return RC_OK;
}

static ssize_t read_at(int fd, char *dst, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, dst + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static enum rc local_open(const struct core_storage *st, const char *key, char *head, size_t cap,
                          size_t *got, struct core_storage_info *info,
                          struct core_storage_file **out)
{
    char path[PATH_BYTES];
    *out = NULL;
    if (file_path(st, key, path))
        return RC_INVALID;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? RC_NOT_FOUND : RC_IO;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return RC_NOT_FOUND;
    }
    ssize_t n = cap ? read_at(fd, head, cap, 0) : 0;
    if (n < 0) {
        close(fd);
        return RC_IO;
    }
    *got = (size_t)n;
    *info = (struct core_storage_info){.size = (uint64_t)sb.st_size, .mtime = sb.st_mtime};
    struct local_file *f = xmalloc(sizeof(*f));
    f->base.ops = &core_storage_local_ops;
    f->fd = fd;
    *out = &f->base;
    return RC_OK;
}

static enum rc local_read(struct core_storage_file *base, uint64_t off, char *dst, size_t len)
{
    struct local_file *f = (struct local_file *)base;
    ssize_t n = read_at(f->fd, dst, len, off);
    return n >= 0 && (size_t)n == len ? RC_OK : RC_IO;
}

static void local_close(struct core_storage_file *base)
{
    struct local_file *f = (struct local_file *)base;
    if (!f)
        return;
    close(f->fd);
    xfree(f);
}

static enum rc local_stat(const struct core_storage *st, const char *key,
                          struct core_storage_info *info)
{
    char path[PATH_BYTES];
    if (file_path(st, key, path))
        return RC_INVALID;
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT || errno == ENOTDIR ? RC_NOT_FOUND : RC_IO;
    if (!S_ISREG(sb.st_mode))
        return RC_NOT_FOUND;
    *info = (struct core_storage_info){.size = (uint64_t)sb.st_size, .mtime = sb.st_mtime};
    return RC_OK;
}

static int create_new(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == ENOENT && make_parents(path) == RC_OK)
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    return fd;
}

/* Writes len bytes of data to fd (a fault point: FAULT_WRITE). */
static enum rc write_all(int fd, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = fault_hit(FAULT_WRITE) ? (errno = EIO, -1) : write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return RC_IO;
        off += (size_t)w;
    }
    return RC_OK;
}

static enum rc local_put(const struct core_storage *st, const char *key, struct str data,
                         const char *mime)
{
    (void)mime;
    char path[PATH_BYTES];
    if (file_path(st, key, path))
        return RC_INVALID;
    /* A removal may take an emptied directory away between a mkdir and
     * the open: create_new makes the directories again then. */
    int fd = create_new(path);
    if (fd < 0) {
        log_error("msg=\"storage write failed\" path=\"%s\" errno=%d", path, errno);
        return RC_IO;
    }
    if (write_all(fd, data.ptr, data.len) != RC_OK) {
        log_error("msg=\"storage write failed\" path=\"%s\" errno=%d", path, errno);
        close(fd);
        unlink(path);
        return RC_IO;
    }
    if (close(fd) != 0) {
        unlink(path);
        return RC_IO;
    }
    return RC_OK;
}

/* Copies size bytes of in into a new file at path (mode), removed again
 * when anything fails (a read short of size too). */
static enum rc copy_to_new(int in, uint64_t size, const char *path, mode_t mode)
{
    int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    enum rc rc = out < 0 ? RC_IO : RC_OK;
    char buf[65536];
    for (uint64_t off = 0; !rc && off < size;) {
        ssize_t n = read_at(in, buf, sizeof(buf), off);
        rc = n <= 0 ? RC_IO : write_all(out, buf, (size_t)n);
        off += (uint64_t)n;
    }
    if (out >= 0 && close(out) != 0 && !rc)
        rc = RC_IO;
    if (rc && out >= 0)
        unlink(path);
    return rc;
}

/* Copies the file at from to a temporary name beside to, then renames it
 * there: what a rename across file systems (<dataDir>/tmp to a
 * --storage-dir mounted elsewhere) becomes. Never a half file at to. */
static enum rc copy_into(const char *from, const char *to)
{
    char tmp[PATH_BYTES + 16];
    if (snprintf(tmp, sizeof(tmp), "%s.copy.tmp", to) >= (int)sizeof(tmp))
        return RC_INVALID;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    enum rc rc =
        in < 0 || fstat(in, &sb) != 0 ? RC_IO : copy_to_new(in, (uint64_t)sb.st_size, tmp, 0644);
    if (in >= 0)
        close(in);
    if (!rc && rename(tmp, to) != 0) {
        unlink(tmp);
        rc = RC_IO;
    }
    return rc;
}

static enum rc local_put_file(const struct core_storage *st, const char *key, const char *path,
                              const char *mime)
{
    (void)mime;
    char dst[PATH_BYTES];
    enum rc rc = file_path(st, key, dst);
    if (!rc)
        rc = make_parents(dst);
    if (!rc && rename(path, dst) != 0)
        rc = errno == EXDEV ? copy_into(path, dst) : RC_IO;
    unlink(path); /* renamed already, or the copy's original, or a failure's */
    return rc;
}

static enum rc local_get_file(const struct core_storage *st, const char *key, const char *path)
{
    char head[1];
    size_t got;
    struct core_storage_info info;
    struct core_storage_file *base;
    enum rc rc = local_open(st, key, head, 0, &got, &info, &base);
    if (rc)
        return rc;
    rc = copy_to_new(((struct local_file *)base)->fd, info.size, path, 0600);
    local_close(base);
    return rc;
}

static enum rc local_remove(const struct core_storage *st, const char *key)
{
    char path[PATH_BYTES];
    if (file_path(st, key, path))
        return RC_INVALID;
    return unlink(path) != 0 && errno != ENOENT ? RC_IO : RC_OK;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static enum rc local_remove_prefix(const struct core_storage *st, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n < 2 || prefix[n - 1] != '/')
        return RC_INVALID;
    char key[PATH_BYTES];
    memcpy(key, prefix, n - 1);
    key[n - 1] = '\0';
    char path[PATH_BYTES];
    if (file_path(st, key, path))
        return RC_INVALID;
    /* depth first, never following a symbolic link */
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return RC_IO;
    return RC_OK;
}

struct walk {
    const struct core_storage *st;
    core_storage_list_fn *fn;
    void *ctx;
    size_t root_len; /* of <data_dir>/storage/ */
    enum rc rc;
};

static void walk_dir(struct walk *w, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while (!w->rc && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_BYTES];
        if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
            continue;
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            walk_dir(w, p);
        else if (S_ISREG(sb.st_mode))
            w->rc =
                w->fn(w->ctx, str_from_cstr(p + w->root_len), (uint64_t)sb.st_size, sb.st_mtime);
    }
    closedir(d);
}

static enum rc local_list(const struct core_storage *st, const char *prefix,
                          core_storage_list_fn *fn, void *ctx)
{
    size_t n = strlen(prefix);
    if (n && prefix[n - 1] != '/')
        return RC_INVALID;
    char root[PATH_BYTES], dir[PATH_BYTES];
    if (path_of(st, "", root) || path_of(st, prefix, dir))
        return RC_INVALID;
    if (n) {
        char key[PATH_BYTES];
        memcpy(key, prefix, n - 1);
        key[n - 1] = '\0';
        if (!key_is_safe(key))
            return RC_INVALID;
        dir[strlen(dir) - 1] = '\0';
    }
    struct walk w = {.st = st, .fn = fn, .ctx = ctx, .root_len = strlen(root)};
    walk_dir(&w, n ? dir : root);
    return w.rc;
}

static enum rc local_path(const struct core_storage *st, const char *key, struct buf *out)
{
    char path[PATH_BYTES];
    if (file_path(st, key, path))
        return RC_INVALID;
    return buf_append_cstr(out, path);
}

const struct core_storage_ops core_storage_local_ops = {
    .name = "local",
    .chunk = 64u * 1024u,
    .open = local_open,
    .read = local_read,
    .close = local_close,
    .stat = local_stat,
    .put = local_put,
    .put_file = local_put_file,
    .get_file = local_get_file,
    .remove = local_remove,
    .remove_prefix = local_remove_prefix,
    .list = local_list,
    .path = local_path,
};
