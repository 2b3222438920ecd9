/* files.c -- see files.h. */
#include "core/files/files.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/utf8.h"
#include "core/files/file_name.h"
#include "core/files/sniff.h"
#include "net/offload.h"

#define KEY_MAX_BYTES 2048 /* two ids, thumbs_<name>/<size>_<name>: 255 bytes each at most */

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
        it->mime = mime;
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

/* Appends <prefix><name> to a fixed buffer; false when it does not fit. */
static bool join_key(char *out, size_t cap, const char *prefix, const char *name,
                     const char *suffix)
{
    int n = snprintf(out, cap, "%s%s%s", prefix, name, suffix);
    return n >= 0 && (size_t)n < cap;
}

/* <collection_id>/<id>/ into out, with no allocation (a removal must not be
 * skipped for want of memory: it would leave files no record names).
 * RC_INVALID when a segment is unsafe, RC_TOO_LARGE when it does not fit. */
static enum rc record_prefix(char out[KEY_MAX_BYTES], const char *collection_id, struct str id)
{
    if (!collection_id || !core_file_segment_is_safe(str_from_cstr(collection_id)) ||
        !core_file_segment_is_safe(id))
        return RC_INVALID;
    int n = snprintf(out, KEY_MAX_BYTES, "%s/%.*s/", collection_id, (int)id.len, id.ptr);
    return n < 0 || n >= KEY_MAX_BYTES ? RC_TOO_LARGE : RC_OK;
}

enum rc core_files_set_target(struct core_file_set *set, const struct core_storage *st,
                              const struct core_collection *c, const char *id)
{
    char prefix[KEY_MAX_BYTES];
    enum rc rc = record_prefix(prefix, c->id, str_from_cstr(id));
    if (rc)
        return rc;
    xfree(set->prefix);
    set->prefix = xstrdup(prefix);
    set->storage = *st;
    return RC_OK;
}

enum rc core_files_write(struct core_file_set *set)
{
    if (!set->count)
        return RC_OK;
    if (!set->prefix)
        return RC_IO;
    for (size_t i = 0; i < set->count; i++) {
        struct core_file_item *it = &set->items[i];
        char key[KEY_MAX_BYTES];
        enum rc rc = RC_INVALID;
        if (core_file_name_is_safe(str_from_cstr(it->name)) &&
            join_key(key, sizeof(key), set->prefix, it->name, ""))
            rc = set->storage.ops->put(&set->storage, key, it->data, it->mime);
        if (rc) {
            log_error("msg=\"storage write failed\" storage=%s prefix=\"%s\" rc=%s",
                      set->storage.ops->name, set->prefix, rc_name(rc));
            core_files_remove(set);
            return rc == RC_UNAVAILABLE ? RC_UNAVAILABLE : RC_IO;
        }
        it->is_written = true;
    }
    return RC_OK;
}

/* Removes prefix+name and its thumbnails (prefix+thumbs_<name>/). */
static void remove_name(const struct core_storage *st, const char *prefix, const char *name)
{
    if (!name || !core_file_name_is_safe(str_from_cstr(name)))
        return;
    char key[KEY_MAX_BYTES];
    int n = snprintf(key, sizeof(key), "%sthumbs_%s/", prefix, name);
    if (n > 0 && (size_t)n < sizeof(key))
        (void)st->ops->remove_prefix(st, key);
    if (join_key(key, sizeof(key), prefix, name, ""))
        (void)st->ops->remove(st, key);
}

void core_files_remove(struct core_file_set *set)
{
    for (size_t i = 0; set->prefix && i < set->count; i++) {
        if (set->items[i].is_written)
            remove_name(&set->storage, set->prefix, set->items[i].name);
        set->items[i].is_written = false;
    }
}

void core_files_set_cleanup(struct core_file_set *set)
{
    xfree(set->items);
    xfree(set->prefix);
    memset(set, 0, sizeof(*set));
}

/* -------------------------------------------------------------------------
 * Removal after a commit, on the pool
 * ------------------------------------------------------------------------- */

struct removal {
    struct core_storage storage;
    char *prefix;  /* <collectionId>/[<recordId>/] */
    json_t *names; /* NULL: everything under prefix */
    json_t *pairs; /* [[recordId, [names]]]: prefix is the collection's */
};

static void removal_work(void *ctx)
{
    struct removal *r = ctx;
    const struct core_storage *st = &r->storage;
    size_t i;
    if (r->pairs) {
        json_t *pair;
        json_array_foreach(r->pairs, i, pair)
        {
            const char *id = json_string_value(json_array_get(pair, 0));
            char rec[KEY_MAX_BYTES];
            if (!id || !core_file_segment_is_safe(str_from_cstr(id)) ||
                !join_key(rec, sizeof(rec), r->prefix, id, "/"))
                continue;
            size_t k;
            json_t *v;
            json_array_foreach(json_array_get(pair, 1), k, v)
                remove_name(st, rec, json_string_value(v));
        }
        return;
    }
    if (!r->names) {
        enum rc rc = st->ops->remove_prefix(st, r->prefix);
        if (rc)
            log_warn("msg=\"file removal failed\" storage=%s prefix=\"%s\" rc=%s", st->ops->name,
                     r->prefix, rc_name(rc));
        return;
    }
    json_t *v;
    json_array_foreach(r->names, i, v) remove_name(st, r->prefix, json_string_value(v));
}

static void removal_done(enum rc rc, void *ctx)
{
    struct removal *r = ctx;
    if (rc)
        log_warn("msg=\"file removal skipped\" prefix=\"%s\" rc=%s", r->prefix, rc_name(rc));
    xfree(r->prefix);
    json_decref(r->names);
    json_decref(r->pairs);
    xfree(r);
}

static void submit(struct net_offload *o, const struct core_storage *st, const char *prefix,
                   json_t *names, json_t *pairs)
{
    struct removal *r = xcalloc(1, sizeof(*r));
    r->storage = *st;
    r->prefix = xstrdup(prefix);
    r->names = names;
    r->pairs = pairs;
    if (net_offload_submit(o, NULL, removal_work, removal_done, r) != RC_OK)
        removal_done(RC_BUSY, r);
}

void core_files_remove_async(struct net_offload *o, const struct core_storage *st,
                             const struct core_collection *c, const char *id, json_t *names)
{
    char prefix[KEY_MAX_BYTES];
    if (!json_array_size(names) || record_prefix(prefix, c->id, str_from_cstr(id)))
        return;
    submit(o, st, prefix, json_deep_copy(names), NULL);
}

void core_files_remove_record_async(struct net_offload *o, const struct core_storage *st,
                                    const struct core_collection *c, const char *id)
{
    char prefix[KEY_MAX_BYTES];
    if (record_prefix(prefix, c->id, str_from_cstr(id)))
        return;
    submit(o, st, prefix, NULL, NULL);
}

/* <collection_id>/, or false when the id is unsafe. */
static bool collection_prefix(char out[KEY_MAX_BYTES], const char *collection_id)
{
    return collection_id && core_file_segment_is_safe(str_from_cstr(collection_id)) &&
           join_key(out, KEY_MAX_BYTES, collection_id, "/", "");
}

void core_files_remove_many_async(struct net_offload *o, const struct core_storage *st,
                                  const char *collection_id, json_t *pairs)
{
    char prefix[KEY_MAX_BYTES];
    if (!json_array_size(pairs) || !collection_prefix(prefix, collection_id)) {
        json_decref(pairs);
        return;
    }
    submit(o, st, prefix, NULL, pairs);
}

void core_files_remove_collection_async(struct net_offload *o, const struct core_storage *st,
                                        const char *collection_id)
{
    char prefix[KEY_MAX_BYTES];
    if (collection_prefix(prefix, collection_id))
        submit(o, st, prefix, NULL, NULL);
}
