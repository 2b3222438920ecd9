/* backup_fs.c -- see backup_int.h. */
#include "core/backup/backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool backup_path(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, BACKUP_PATH_BYTES, fmt, ap);
    va_end(ap);
    return n >= 0 && n < BACKUP_PATH_BYTES;
}

bool backup_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static enum rc remove_at(int parent, const char *name)
{
    struct stat sb;
    if (fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? RC_OK : RC_IO;
    if (!S_ISDIR(sb.st_mode))
        return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? RC_OK : RC_IO;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return RC_IO;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return RC_IO;
    }
    enum rc rc = RC_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = remove_at(dirfd(d), de->d_name);
    }
    closedir(d);
    if (!rc && unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = RC_IO;
    return rc;
}

enum rc backup_remove_tree(const char *path)
{
    return remove_at(AT_FDCWD, path);
}

static enum rc copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno == ENOENT ? RC_OK : RC_IO;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return errno == EEXIST ? RC_OK : RC_IO;
    }
    enum rc rc = RC_OK;
    char chunk[1 << 16];
    for (;;) {
        ssize_t n = read(in, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = RC_IO;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, chunk + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = RC_IO;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    close(in);
    close(out);
    if (rc)
        unlink(dst);
    return rc;
}

enum rc backup_link_tree(const char *src, const char *dst)
{
    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return RC_IO;
    DIR *d = opendir(src);
    if (!d)
        return errno == ENOENT ? RC_OK : RC_IO;
    enum rc rc = RC_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char from[BACKUP_PATH_BYTES], to[BACKUP_PATH_BYTES];
        if (!backup_path(from, "%s/%s", src, de->d_name) ||
            !backup_path(to, "%s/%s", dst, de->d_name)) {
            rc = RC_IO;
            break;
        }
        struct stat sb;
        if (lstat(from, &sb) != 0)
            continue; /* removed meanwhile */
        if (S_ISDIR(sb.st_mode)) {
            rc = backup_link_tree(from, to);
        } else if (S_ISREG(sb.st_mode) && !backup_exists(to)) {
            if (link(from, to) != 0 && errno != ENOENT && errno != EEXIST)
                rc = copy_file(from, to);
        }
    }
    closedir(d);
    return rc;
}

enum rc backup_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return RC_IO;
    int r = fsync(fd);
    close(fd);
    return r == 0 ? RC_OK : RC_IO;
}
