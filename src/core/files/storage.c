/* storage.c -- see storage.h: what both variants share. */
#include "core/files/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/secure.h"
#include "core/files/file_name.h"

void core_storage_init_local(struct core_storage *st, const char *data_dir)
{
    *st = (struct core_storage){.ops = &core_storage_local_ops, .data_dir = data_dir};
}

void core_storage_init_dir(struct core_storage *st, const char *data_dir, const char *root)
{
    *st = (struct core_storage){
        .ops = &core_storage_local_ops, .data_dir = data_dir, .local_root = root};
}

void core_storage_init_s3(struct core_storage *st, const char *data_dir,
                          const struct net_s3_config *s3)
{
    *st = (struct core_storage){.ops = &core_storage_s3_ops, .data_dir = data_dir, .s3 = *s3};
}

enum rc core_storage_file_read(struct core_storage_file *f, uint64_t off, char *dst, size_t len)
{
    return f->ops->read(f, off, dst, len);
}

void core_storage_file_close(struct core_storage_file *f)
{
    if (f)
        f->ops->close(f);
}

enum rc core_storage_key(struct buf *out, const char *collection_id, struct str id, struct str name)
{
    if (!collection_id || !core_file_segment_is_safe(str_from_cstr(collection_id)) ||
        !core_file_segment_is_safe(id) || (name.ptr && !core_file_name_is_safe(name)))
        return RC_INVALID;
    enum rc rc = buf_append_cstr(out, collection_id);
    if (!rc)
        rc = buf_append_cstr(out, "/");
    if (!rc)
        rc = buf_append_str(out, id);
    if (!rc && name.ptr) {
        rc = buf_append_cstr(out, "/");
        if (!rc)
            rc = buf_append_str(out, name);
    }
    return rc;
}

enum rc core_storage_temp_path(const struct core_storage *st, const char *what, char *out,
                               size_t cap)
{
    int n = snprintf(out, cap, "%s/tmp", st->data_dir);
    if (n < 0 || (size_t)n >= cap)
        return RC_IO;
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return RC_IO;
    char rnd[17];
    (void)secure_random_id(rnd, 16);
    rnd[16] = '\0';
    n = snprintf(out, cap, "%s/tmp/%s-%s", st->data_dir, what, rnd);
    return n < 0 || (size_t)n >= cap ? RC_IO : RC_OK;
}
