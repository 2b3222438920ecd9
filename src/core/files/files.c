/* files.c -- see files.h. */
#include "core/files/files.h"

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
#include "base/utf8.h"
#include "core/files/file_name.h"
#include "core/files/sniff.h"
#include "net/offload.h"

#define PATH_MAX_BYTES 4096

void core_files_strip(json_t *body)
{
    if (json_is_object(body))
        json_object_del(body, CORE_FILES_BODY_KEY);
}

bool core_files_has_field(const struct core_collection *c)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (c->fields[i].type == CORE_FIELD_FILE)
            return true;
    }
    return false;
}

/* The file field an upload's form name aims at ("f", "f+", "+f"); NULL for
 * anything else (unknown names, "f-", other field types). */
static const struct core_field *upload_field(const struct core_collection *c, struct str key)
{
    if (key.len > 1 && key.ptr[0] == '+')
        key = (struct str){key.ptr + 1, key.len - 1};
    else if (key.len > 1 && key.ptr[key.len - 1] == '+')
        key.len--;
    const struct core_field *f = core_collection_field(c, key);
    return f && f->type == CORE_FIELD_FILE ? f : NULL;
}

/* "a, b, c" for an error message. */
static void join_types(const struct core_field *f, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->mime_type_count && n + 1 < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", f->mime_types[i]);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

enum rc core_files_intake(const struct core_collection *c, const struct core_upload *uploads,
                          size_t count, json_t *body, struct core_file_set *set,
                          struct core_problem *p)
{
    bool is_bad = false;
    json_t *list = json_array();
    set->items = count ? xcalloc(count, sizeof(*set->items)) : NULL;
    set->count = 0;
    for (size_t i = 0; i < count; i++) {
        const struct core_upload *u = &uploads[i];
        const struct core_field *f = upload_field(c, u->key);
        if (!f)
            continue;
        const char *mime = core_sniff_mime(u->data.ptr, u->data.len);
        char shown[128];
        size_t sn = u->filename.len < sizeof(shown) - 1 ? u->filename.len : sizeof(shown) - 1;
        memcpy(shown, u->filename.ptr, sn);
        shown[sn] = '\0';
        if (!utf8_is_valid(shown, sn))
            shown[0] = '\0'; /* a name that is not UTF-8 is left out of the error */
        int64_t max = f->max_size > 0 ? f->max_size : CORE_FILES_DEFAULT_MAX_SIZE;
        if ((int64_t)u->data.len > max) {
            core_problem_field(
                p, f->name, "validation_file_size_limit",
                "Failed to upload the file: it is larger than the maximum allowed "
                "size.",
                json_pack("{s:s%, s:I}", "file", shown, strlen(shown), "maxSize", (json_int_t)max));
            is_bad = true;
            continue;
        }
        if (f->mime_type_count) {
            bool ok = false;
            for (size_t k = 0; k < f->mime_type_count && !ok; k++)
                ok = core_sniff_mime_is(str_from_cstr(mime), str_from_cstr(f->mime_types[k]));
            if (!ok) {
                char types[512];
                join_types(f, types, sizeof(types));
                core_problem_field(
                    p, f->name, "validation_invalid_mime_type",
                    "The file type is not one of the allowed types.",
                    json_pack("{s:s%, s:s}", "file", shown, strlen(shown), "types", types));
                is_bad = true;
                continue;
            }
        }
        struct core_file_item *it = &set->items[set->count++];
        core_file_name_make(u->filename, str_from_cstr(mime), it->name);
        it->data = u->data;
        json_array_append_new(
            list, json_pack("{s:s%, s:s}", "key", u->key.ptr, u->key.len, "name", it->name));
    }
    if (json_array_size(list))
        json_object_set(body, CORE_FILES_BODY_KEY, list);
    json_decref(list);
    return is_bad ? RC_INVALID : RC_OK;
}

static bool list_has(json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

json_t *core_files_names(const struct core_collection *c, json_t *record)
{
    json_t *out = json_array();
    for (size_t i = 0; record && i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (f->type != CORE_FIELD_FILE)
            continue;
        json_t *v = json_object_get(record, f->name);
        if (json_is_string(v) && json_string_length(v)) {
            json_array_append(out, v);
        } else if (json_is_array(v)) {
            size_t k;
            json_t *x;
            json_array_foreach(v, k, x)
            {
                if (json_is_string(x) && json_string_length(x))
                    json_array_append(out, x);
            }
        }
    }
    return out;
}

void core_files_keep_used(struct core_file_set *set, const struct core_collection *c,
                          json_t *values)
{
    json_t *used = core_files_names(c, values);
    size_t n = 0;
    for (size_t i = 0; i < set->count; i++) {
        if (list_has(used, set->items[i].name))
            set->items[n++] = set->items[i];
    }
    set->count = n;
    json_decref(used);
}

json_t *core_files_removed(const struct core_collection *c, json_t *before, json_t *after)
{
    json_t *old = core_files_names(c, before);
    json_t *now = core_files_names(c, after);
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(old, i, v)
    {
        if (!list_has(now, json_string_value(v)))
            json_array_append(out, v);
    }
    json_decref(old);
    json_decref(now);
    return out;
}

/* <data_dir>/storage/<collection_id>/<id> into out, with no allocation (a
 * removal must not be skipped for want of memory: it would leave files no
 * record names). RC_INVALID when a segment is unsafe, RC_TOO_LARGE when the
 * path does not fit. */
static enum rc record_dir(char out[PATH_MAX_BYTES], const char *data_dir, const char *collection_id,
                          struct str id)
{
    if (!core_file_segment_is_safe(str_from_cstr(collection_id)) || !core_file_segment_is_safe(id))
        return RC_INVALID;
    int n = snprintf(out, PATH_MAX_BYTES, "%s/storage/%s/%.*s", data_dir, collection_id,
                     (int)id.len, id.ptr);
    return n < 0 || n >= PATH_MAX_BYTES ? RC_TOO_LARGE : RC_OK;
}

enum rc core_files_path(struct buf *out, const char *data_dir, const char *collection_id,
                        struct str id, struct str name)
{
    if (name.ptr && !core_file_name_is_safe(name))
        return RC_INVALID;
    char dir[PATH_MAX_BYTES];
    enum rc rc = record_dir(dir, data_dir, collection_id, id);
    if (!rc)
        rc = buf_append_cstr(out, dir);
    if (!rc && name.ptr) {
        rc = buf_append_cstr(out, "/");
        if (!rc)
            rc = buf_append_str(out, name);
    }
    return rc;
}

enum rc core_files_set_dir(struct core_file_set *set, const char *data_dir,
                           const struct core_collection *c, const char *id)
{
    char dir[PATH_MAX_BYTES];
    enum rc rc = record_dir(dir, data_dir, c->id, str_from_cstr(id));
    if (rc)
        return rc;
    xfree(set->dir);
    set->dir = xstrdup(dir);
    return RC_OK;
}

/* mkdir -p for the last three segments (storage, collection, record). */
static enum rc make_dirs(const char *dir)
{
    char tmp[PATH_MAX_BYTES];
    size_t n = strlen(dir);
    if (n >= sizeof(tmp))
        return RC_IO;
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char saved = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            log_error("msg=\"storage mkdir failed\" path=\"%s\" errno=%d", tmp, errno);
            return RC_IO;
        }
        tmp[i] = saved;
    }
    return RC_OK;
}

static enum rc write_file(const char *path, struct str data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return RC_IO;
    size_t off = 0;
    while (off < data.len) {
        ssize_t w =
            fault_hit(FAULT_WRITE) ? (errno = EIO, -1) : write(fd, data.ptr + off, data.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(path);
            return RC_IO;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        unlink(path);
        return RC_IO;
    }
    return RC_OK;
}

static int join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

enum rc core_files_write(struct core_file_set *set)
{
    if (!set->count)
        return RC_OK;
    if (!set->dir || make_dirs(set->dir))
        return RC_IO;
    for (size_t i = 0; i < set->count; i++) {
        char path[PATH_MAX_BYTES];
        if (!core_file_name_is_safe(str_from_cstr(set->items[i].name)) ||
            join(path, sizeof(path), set->dir, set->items[i].name) ||
            write_file(path, set->items[i].data)) {
            log_error("msg=\"storage write failed\" dir=\"%s\" errno=%d", set->dir, errno);
            core_files_remove(set);
            return RC_IO;
        }
        set->items[i].is_written = true;
    }
    return RC_OK;
}

/* Removes dir/thumbs_<name>/ and what it holds (only plain files). */
static void remove_thumbs(const char *dir, const char *name)
{
    char tdir[PATH_MAX_BYTES];
    if (snprintf(tdir, sizeof(tdir), "%s/thumbs_%s", dir, name) >= (int)sizeof(tdir))
        return;
    DIR *d = opendir(tdir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX_BYTES];
        if (!join(p, sizeof(p), tdir, e->d_name))
            unlink(p);
    }
    closedir(d);
    rmdir(tdir);
}

static void remove_name(const char *dir, const char *name)
{
    if (!core_file_name_is_safe(str_from_cstr(name)))
        return;
    char path[PATH_MAX_BYTES];
    if (!join(path, sizeof(path), dir, name))
        unlink(path);
    remove_thumbs(dir, name);
}

void core_files_remove(struct core_file_set *set)
{
    for (size_t i = 0; set->dir && i < set->count; i++) {
        if (set->items[i].is_written)
            remove_name(set->dir, set->items[i].name);
        set->items[i].is_written = false;
    }
    if (set->dir)
        rmdir(set->dir); /* only when empty */
}

void core_files_set_cleanup(struct core_file_set *set)
{
    xfree(set->items);
    xfree(set->dir);
    memset(set, 0, sizeof(*set));
}

/* -------------------------------------------------------------------------
 * Removal after a commit, on the pool
 * ------------------------------------------------------------------------- */

struct removal {
    char *dir;
    json_t *names;     /* NULL: the whole directory */
    json_t *pairs;     /* [[recordId, [names]]]: dir is the collection's directory */
    bool is_any_depth; /* a collection's directory: records, thumbs, anything */
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes the record directory: its files and thumbs_* directories. */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX_BYTES];
        if (join(p, sizeof(p), dir, e->d_name))
            continue;
        if (unlink(p) != 0 && strncmp(e->d_name, "thumbs_", 7) == 0)
            remove_thumbs(dir, e->d_name + 7);
    }
    closedir(d);
    rmdir(dir);
}

static void removal_work(void *ctx)
{
    struct removal *r = ctx;
    if (r->is_any_depth) {
        /* depth first, never following a symbolic link */
        nftw(r->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return;
    }
    size_t i;
    if (r->pairs) {
        json_t *pair;
        json_array_foreach(r->pairs, i, pair)
        {
            const char *id = json_string_value(json_array_get(pair, 0));
            char rec_dir[PATH_MAX_BYTES];
            if (!id || !core_file_segment_is_safe(str_from_cstr(id)) ||
                join(rec_dir, sizeof(rec_dir), r->dir, id))
                continue;
            size_t k;
            json_t *v;
            json_array_foreach(json_array_get(pair, 1), k, v)
                remove_name(rec_dir, json_string_value(v));
            rmdir(rec_dir); /* only when empty */
        }
        return;
    }
    if (!r->names) {
        remove_tree(r->dir);
        return;
    }
    json_t *v;
    json_array_foreach(r->names, i, v) remove_name(r->dir, json_string_value(v));
}

static void removal_done(enum rc rc, void *ctx)
{
    struct removal *r = ctx;
    if (rc)
        log_warn("msg=\"file removal skipped\" dir=\"%s\" rc=%s", r->dir, rc_name(rc));
    xfree(r->dir);
    json_decref(r->names);
    json_decref(r->pairs);
    xfree(r);
}

static void submit_removal(struct net_offload *o, const char *data_dir,
                           const struct core_collection *c, const char *id, json_t *names)
{
    char dir[PATH_MAX_BYTES];
    if (record_dir(dir, data_dir, c->id, str_from_cstr(id)))
        return;
    struct removal *r = xcalloc(1, sizeof(*r));
    r->dir = xstrdup(dir);
    r->names = names ? json_deep_copy(names) : NULL;
    if (net_offload_submit(o, NULL, removal_work, removal_done, r) != RC_OK)
        removal_done(RC_BUSY, r);
}

void core_files_remove_async(struct net_offload *o, const char *data_dir,
                             const struct core_collection *c, const char *id, json_t *names)
{
    if (!json_array_size(names))
        return;
    submit_removal(o, data_dir, c, id, names);
}

void core_files_remove_record_async(struct net_offload *o, const char *data_dir,
                                    const struct core_collection *c, const char *id)
{
    submit_removal(o, data_dir, c, id, NULL);
}

void core_files_remove_many_async(struct net_offload *o, const char *data_dir,
                                  const char *collection_id, json_t *pairs)
{
    char dir[PATH_MAX_BYTES];
    int n =
        snprintf(dir, sizeof(dir), "%s/storage/%s", data_dir, collection_id ? collection_id : "");
    if (!json_array_size(pairs) || !collection_id ||
        !core_file_segment_is_safe(str_from_cstr(collection_id)) || n < 0 ||
        (size_t)n >= sizeof(dir)) {
        json_decref(pairs);
        return;
    }
    struct removal *r = xcalloc(1, sizeof(*r));
    r->dir = xstrdup(dir);
    r->pairs = pairs;
    if (net_offload_submit(o, NULL, removal_work, removal_done, r) != RC_OK)
        removal_done(RC_BUSY, r);
}

void core_files_remove_collection_async(struct net_offload *o, const char *data_dir,
                                        const char *collection_id)
{
    if (!collection_id || !core_file_segment_is_safe(str_from_cstr(collection_id)))
        return;
    char dir[PATH_MAX_BYTES];
    int n = snprintf(dir, sizeof(dir), "%s/storage/%s", data_dir, collection_id);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return;
    struct removal *r = xcalloc(1, sizeof(*r));
    r->dir = xstrdup(dir);
    r->is_any_depth = true;
    if (net_offload_submit(o, NULL, removal_work, removal_done, r) != RC_OK)
        removal_done(RC_BUSY, r);
}
