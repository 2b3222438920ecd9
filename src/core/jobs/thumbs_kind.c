/* thumbs_kind.c -- see thumbs_kind.h. */
#include "core/jobs/thumbs_kind.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "core/files/file_name.h"
#include "core/files/storage.h"
#include "core/files/thumb.h"
#include "core/jobs/job.h"
#include "core/jobs/runner.h"
#include "core/record/record.h"

#define MAX_SIZES 32
#define PATH_BYTES 4096

static bool has_thumbs(const struct core_field *f)
{
    return f->type == CORE_FIELD_FILE && f->thumb_count > 0;
}

static bool is_nonempty_string(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

const char *core_job_thumbs_check(json_t *payload)
{
    if (!is_nonempty_string(json_object_get(payload, "collection")))
        return "payload.collection must be a collection's name or id";
    if (!is_nonempty_string(json_object_get(payload, "record")))
        return "payload.record must be a record id";
    json_t *field = json_object_get(payload, "field");
    if (field && !json_is_null(field) && !is_nonempty_string(field))
        return "payload.field must be a file field's name";
    json_t *sizes = json_object_get(payload, "sizes");
    if (!sizes || json_is_null(sizes))
        return NULL;
    if (!json_is_array(sizes) || json_array_size(sizes) > MAX_SIZES)
        return "payload.sizes must be an array of at most 32 thumb sizes (\"100x100\")";
    size_t i;
    json_t *v;
    json_array_foreach(sizes, i, v)
    {
        struct core_thumb_spec spec;
        if (!json_is_string(v) ||
            !core_thumb_parse((struct str){json_string_value(v), json_string_length(v)}, &spec))
            return "payload.sizes: each must be WxH, WxHt, WxHb, WxHf, 0xH or Wx0";
    }
    return NULL;
}

/* What one run came to. */
struct tally {
    int made;
    int failed;
    bool is_unreachable; /* the storage did not answer: worth another attempt */
    char first_error[256];
};

/* Makes the thumbnails of one stored file name of field f. */
static void one_file(const struct core_job_env *env, const struct core_collection *c,
                     const struct core_field *f, struct str id, struct str name, json_t *sizes,
                     struct tally *t)
{
    if (!core_file_name_is_safe(name))
        return;
    struct core_storage local;
    const struct core_storage *st = env->storage ? env->storage(env->schema_ctx) : NULL;
    if (!st) {
        core_storage_init_local(&local, env->dir);
        st = &local;
    }
    struct buf src, dst;
    buf_init(&src, PATH_BYTES);
    buf_init(&dst, PATH_BYTES);
    if (core_storage_key(&src, c->id, id, name) == RC_OK && buf_append(&src, "", 1) == 0) {
        size_t n = sizes ? json_array_size(sizes) : f->thumb_count;
        for (size_t i = 0; i < n; i++) {
            struct str size = sizes ? (struct str){json_string_value(json_array_get(sizes, i)),
                                                   json_string_length(json_array_get(sizes, i))}
                                    : str_from_cstr(f->thumbs[i]);
            struct core_thumb_spec spec;
            if (!core_thumb_parse(size, &spec) || !core_thumb_is_allowed(f, size))
                continue; /* never served: not worth making */
            buf_reset(&dst);
            if (core_thumb_key(&dst, c->id, id, name, size))
                continue;
            bool is_made;
            enum rc rc = core_thumb_ensure(st, src.data, dst.data, &spec, &is_made);
            if (rc == RC_NOT_FOUND)
                break; /* no image (or gone): no size of it is made */
            if (is_made)
                t->made++;
            if (rc == RC_UNAVAILABLE)
                t->is_unreachable = true;
            if (rc) {
                if (!t->failed++)
                    snprintf(t->first_error, sizeof(t->first_error), "%.*s %.*s: %s", (int)size.len,
                             size.ptr, (int)name.len, name.ptr,
                             rc == RC_TOO_LARGE     ? "a side would pass 9999"
                             : rc == RC_UNAVAILABLE ? "the storage is unreachable"
                                                    : "not made");
            }
        }
    }
    buf_cleanup(&src);
    buf_cleanup(&dst);
}

static void one_field(const struct core_job_env *env, const struct core_collection *c,
                      const struct core_field *f, struct str id, json_t *record, json_t *sizes,
                      struct tally *t)
{
    json_t *v = json_object_get(record, f->name);
    if (json_is_string(v)) {
        one_file(env, c, f, id, (struct str){json_string_value(v), json_string_length(v)}, sizes,
                 t);
        return;
    }
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (json_is_string(x))
            one_file(env, c, f, id, (struct str){json_string_value(x), json_string_length(x)},
                     sizes, t);
    }
}

static void dead(struct core_job_result *res, const char *fmt, const char *arg)
{
    res->outcome = CORE_JOB_DEAD;
    snprintf(res->error, sizeof(res->error), fmt, arg);
}

void core_job_thumbs_run(const struct core_job_env *env, const struct core_job *job,
                         struct core_job_result *res)
{
    const char *why = core_job_thumbs_check(job->payload);
    if (why) {
        dead(res, "%s", why);
        return;
    }
    if (!env->schema || !env->dir) {
        dead(res, "%s", "no schema or data directory in this process");
        return;
    }
    const char *name = json_string_value(json_object_get(job->payload, "collection"));
    const char *id = json_string_value(json_object_get(job->payload, "record"));
    const char *field = json_string_value(json_object_get(job->payload, "field"));
    json_t *sizes = json_object_get(job->payload, "sizes");
    if (!json_is_array(sizes))
        sizes = NULL;
    const struct core_collection *c =
        core_schema_find(env->schema(env->schema_ctx), str_from_cstr(name));
    if (!c) {
        dead(res, "payload.collection: no collection %s", name);
        return;
    }
    const struct core_field *only = NULL;
    if (field) {
        only = core_collection_field(c, str_from_cstr(field));
        if (!only || only->type != CORE_FIELD_FILE) {
            dead(res, "payload.field: %s is no file field of the collection", field);
            return;
        }
    }
    if (!core_file_segment_is_safe(str_from_cstr(id))) {
        dead(res, "%s", "payload.record is no record id");
        return;
    }
    json_t *record = NULL;
    enum rc rc = core_record_load(env->db, c, str_from_cstr(id), &record);
    if (rc == RC_NOT_FOUND) {
        res->outcome = CORE_JOB_DONE; /* deleted meanwhile: nothing to make */
        return;
    }
    if (rc) {
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "the record could not be read: %s", rc_name(rc));
        return;
    }
    struct tally t = {0};
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (only ? f == only : has_thumbs(f))
            one_field(env, c, f, str_from_cstr(id), record, sizes, &t);
    }
    json_decref(record);
    res->outcome = t.is_unreachable ? CORE_JOB_RETRY : CORE_JOB_DONE;
    if (t.failed)
        snprintf(res->error, sizeof(res->error),
                 "%d thumbnail(s) not made (the original is served for them), first: %s", t.failed,
                 t.first_error);
}

/* -------------------------------------------------------------------------
 * The listener
 * ------------------------------------------------------------------------- */

static bool wants(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    for (size_t i = 0; i < c->field_count; i++) {
        if (has_thumbs(&c->fields[i]))
            return true;
    }
    return false;
}

static bool holds(json_t *v, json_t *name)
{
    if (json_is_string(v))
        return json_equal(v, name);
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (json_equal(x, name))
            return true;
    }
    return false;
}

/* Whether field f of values holds a name previous (NULL: a create) did not. */
static bool gained_files(const struct core_field *f, json_t *values, json_t *previous)
{
    json_t *now = json_object_get(values, f->name);
    json_t *before = previous ? json_object_get(previous, f->name) : NULL;
    if (json_is_string(now))
        return json_string_length(now) > 0 && !holds(before, now);
    size_t i;
    json_t *x;
    json_array_foreach(now, i, x)
    {
        if (json_is_string(x) && json_string_length(x) > 0 && !holds(before, x))
            return true;
    }
    return false;
}

static atomic_bool has_enqueued; /* since the last commit's wake (wake_if_enqueued) */

static enum rc on_change(void *ctx, struct store_conn *db, const struct core_event *ev)
{
    (void)ctx;
    if (ev->action == CORE_EVENT_DELETE)
        return RC_OK;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < ev->c->field_count && !rc; i++) {
        const struct core_field *f = &ev->c->fields[i];
        if (!has_thumbs(f) || !gained_files(f, ev->values, ev->previous))
            continue;
        char key[CORE_JOB_DEDUPE_MAX + 2];
        snprintf(key, sizeof(key), "thumbs:%s/%s/%s", ev->c->id, ev->id, f->name);
        rc = core_job_enqueue_once(db, "thumbs",
                                   json_pack("{s:s, s:s, s:s}", "collection", ev->c->id, "record",
                                             ev->id, "field", f->name),
                                   key);
        if (!rc)
            atomic_store(&has_enqueued, true);
    }
    return rc;
}

/* A write enqueued thumbnails: the runners are woken at its commit, not
 * at every write to a collection with thumbs (an edit of a title queues
 * nothing). */
static void wake_if_enqueued(void *ctx)
{
    if (atomic_load(&has_enqueued) && atomic_exchange(&has_enqueued, false))
        core_jobs_wake(ctx);
}

struct core_event_listener core_thumbs_listener(struct core_jobs *jobs)
{
    return (struct core_event_listener){
        .wants = wants, .in_tx = on_change, .committed = wake_if_enqueued, .ctx = jobs};
}
