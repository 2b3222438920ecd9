/* backups.c -- /api/backups (PocketBase's apis/backup*.go): list, create,
 * upload, download with a superuser's file token, delete, restore.
 * Superusers only; core/backup/backup.h does the work.
 *
 * What touches the disk runs off the loop: listing, uploading, deleting and
 * reading a download on the offload pool; making a backup and staging a
 * restore on a thread of core's, answering through the worker's mailbox
 * (aw->backup_ops keeps the worker alive until they have). A restore
 * answers 204 once its archive is checked and staged; then the server
 * stops, commits it and runs again (cli/serve.c). */
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/files.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "core/backup/archive.h"
#include "core/backup/backup.h"
#include "net/offload.h"

#define MSG_BUSY "Try again later - another backup/restore process has already been started."
#define MSG_INVALID "An error occurred while validating the submitted data."
#define MSG_DENIED "Insufficient permissions to access the resource."

static struct core_backups *backups_of(struct api_call *c)
{
    return c->aw->core.app->backups;
}

static enum rc fail_with(struct api_call *c, enum rc rc, const char *message)
{
    core_problem_message(&c->problem, message);
    return api_call_fail(c, rc);
}

/* The path's {key}, as a C string in the arena; NULL when it is not a key
 * the storage could hold. */
static const char *key_param(struct api_call *c)
{
    struct str key = http_req_param(c->req, "key");
    if (!core_backup_key_is_safe(key))
        return NULL;
    return arena_strdup(c->req->arena, key).ptr;
}

/* -------------------------------------------------------------------------
 * Blocking work on the offload pool: list, upload, delete
 * ------------------------------------------------------------------------- */

enum pool_kind { POOL_LIST, POOL_UPLOAD, POOL_DELETE };

struct pool_job {
    struct api_call *c;
    enum pool_kind kind;
    struct core_backups *b;
    const char *key; /* arena */
    struct str data; /* an upload's bytes (the request's body) */
    struct core_backup_entry *all;
    size_t n;
    enum rc rc;
    char why[600]; /* S3's answer after RC_UNAVAILABLE */
};

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct core_backup_entry *)a)->key,
                  ((const struct core_backup_entry *)b)->key);
}

static void pool_work(void *arg)
{
    struct pool_job *j = arg;
    switch (j->kind) {
    case POOL_LIST:
        j->rc = core_backups_list(j->b, &j->all, &j->n, j->why, sizeof(j->why));
        if (!j->rc && j->n)
            qsort(j->all, j->n, sizeof(*j->all), by_key);
        break;
    case POOL_UPLOAD:
        j->rc = core_backups_upload(j->b, j->key, j->data.ptr, j->data.len, j->why, sizeof(j->why));
        break;
    case POOL_DELETE: j->rc = core_backups_delete(j->b, j->key); break;
    }
}

static void write_list(struct api_call *c, const struct core_backup_entry *all, size_t n)
{
    struct buf *out = api_call_start(c, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        char modified[32];
        chrono_format_db_ms(all[i].mtime_ms, modified);
        jsonw_object_begin(&w);
        jsonw_key_cstr(&w, "key");
        jsonw_string_cstr(&w, all[i].key);
        jsonw_key_cstr(&w, "size");
        jsonw_int(&w, all[i].size);
        jsonw_key_cstr(&w, "modified");
        jsonw_string_cstr(&w, modified);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    if (jsonw_finish(&w))
        api_call_fail(c, RC_NOMEM);
}

/* message, with ": <S3's answer>" after it when S3 failed (a 400 as
 * PocketBase's, which appends the raw error too). */
static enum rc fail_why(struct api_call *c, enum rc rc, const char *message, const char *why)
{
    if (rc != RC_UNAVAILABLE || !why[0])
        return fail_with(c, RC_INVALID, message);
    char msg[800];
    snprintf(msg, sizeof(msg), "%s %s", message, why);
    return fail_with(c, RC_INVALID, msg);
}

static void pool_done(enum rc rc, void *arg)
{
    struct pool_job *j = arg;
    struct api_call *c = j->c;
    if (api_call_reenter(c)) {
        if (!rc)
            rc = j->rc;
        if (j->kind == POOL_LIST) {
            if (rc)
                fail_why(c, rc, "Failed to retrieve backup items.", j->why);
            else
                write_list(c, j->all, j->n);
        } else if (j->kind == POOL_UPLOAD) {
            if (rc == RC_CONFLICT) {
                core_problem_field(&c->problem, "file", "validation_backup_name_exists",
                                   "Backup file with the specified name already exists.", NULL);
                fail_with(c, RC_INVALID, MSG_INVALID);
            } else if (rc == RC_BUSY) {
                fail_with(c, RC_BUSY, "Failed to upload backup.");
            } else if (rc) {
                fail_why(c, rc, "Failed to upload backup.", j->why);
            } else {
                api_call_start(c, 204, NULL);
            }
        } else if (rc == RC_BUSY) {
            fail_with(c, RC_INVALID, "The backup is currently being used and cannot be deleted.");
        } else if (rc) {
            fail_with(c, RC_INVALID, "Invalid or already deleted backup file.");
        } else {
            api_call_start(c, 204, NULL);
        }
        api_call_resume(c);
    }
    xfree(j->all);
    xfree(j);
}

static enum rc submit(struct api_call *c, enum pool_kind kind, const char *key, struct str data)
{
    struct pool_job *j = xcalloc(1, sizeof(*j));
    j->c = c;
    j->kind = kind;
    j->b = backups_of(c);
    j->key = key;
    j->data = data;
    api_call_defer(c);
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, pool_work, pool_done,
                           j) != RC_OK) {
        xfree(j);
        api_call_fail(c, RC_BUSY);
        api_call_resume(c);
    }
    return RC_OK;
}

enum rc api_backups_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    return submit(c, POOL_LIST, NULL, (struct str){0});
}

enum rc api_backups_delete(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    const char *key = key_param(c);
    if (!key)
        return fail_with(c, RC_INVALID, "Invalid or already deleted backup file.");
    return submit(c, POOL_DELETE, key, (struct str){0});
}

enum rc api_backups_upload(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    const struct core_upload *file = NULL;
    for (size_t i = 0; i < c->upload_count && !file; i++) {
        if (str_eq(c->uploads[i].key, STR_LIT("file")))
            file = &c->uploads[i];
    }
    if (!file) {
        core_problem_field(&c->problem, "file", "validation_required", "Cannot be blank.", NULL);
        return fail_with(c, RC_INVALID, MSG_INVALID);
    }
    /* PocketBase checks the bytes are a zip (application/zip); the name is
     * the client's, so it must also be one file name the storage can keep. */
    if (!core_archive_looks_like_zip(file->data.ptr, file->data.len)) {
        core_problem_field(&c->problem, "file", "validation_invalid_mime_type",
                           "The file must be a zip archive (application/zip).", NULL);
        return fail_with(c, RC_INVALID, MSG_INVALID);
    }
    if (!core_backup_key_is_safe(file->filename)) {
        core_problem_field(&c->problem, "file", "validation_invalid_name",
                           "The file name must be 1 to 200 printable ASCII characters, without "
                           "'/', '\\' or a leading '.'.",
                           NULL);
        return fail_with(c, RC_INVALID, MSG_INVALID);
    }
    const char *key = arena_strdup(req->arena, file->filename).ptr;
    return submit(c, POOL_UPLOAD, key, file->data);
}

/* -------------------------------------------------------------------------
 * Download: GET /api/backups/{key}?token=<a superuser's file token>
 * ------------------------------------------------------------------------- */

enum rc api_backups_download(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    /* The Authorization header does not count: a browser's download link
     * carries the file token instead (PocketBase's backupDownload). */
    core_auth_cleanup(&c->auth);
    core_auth_load_file(&c->aw->core, c->core.schema, api_call_query(c, "token"),
                        chrono_real_ms() / 1000, &c->auth);
    /* superuserIPs: PocketBase refuses a download from another address. */
    if (!c->auth.is_superuser ||
        !core_settings_superuser_ip_ok(core_app_settings(c->aw->core.app), req->remote_addr))
        return fail_with(c, RC_FORBIDDEN, MSG_DENIED);
    const char *key = key_param(c);
    if (!key) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    /* In S3 (settings backups.s3): streamed from the bucket by ranged GETs,
     * through a storage of it (the snapshot's strings live until the app
     * closes). */
    const struct core_settings *s = core_app_settings(c->aw->core.app);
    if (s->backups_s3.is_enabled) {
        struct core_storage *st = arena_alloc(req->arena, sizeof(*st));
        core_storage_init_s3(st, c->aw->core.app->dir, &s->backups_s3.cfg);
        api_files_send_storage(c, st, key, str_from_cstr(key));
        return RC_OK;
    }
    char path[4096];
    if (core_backups_local_path(backups_of(c), key, path, sizeof(path))) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    api_files_send(c, path, str_from_cstr(key));
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Create and restore: a thread of core's, answered through the mailbox
 * ------------------------------------------------------------------------- */

static void create_done(enum rc rc, const char *message, void *ctx)
{
    struct api_call *c = ctx;
    c->aw->backup_ops--;
    if (!api_call_reenter(c))
        return;
    if (rc == RC_CONFLICT) {
        core_problem_field(&c->problem, "name", "validation_backup_name_exists",
                           "The backup file name is invalid or already exists.", NULL);
        fail_with(c, RC_INVALID, MSG_INVALID);
    } else if (rc == RC_BUSY) {
        fail_with(c, RC_INVALID, MSG_BUSY);
    } else if (rc) {
        /* Only S3's answer is shown (other messages may name paths; core
         * logs them). */
        fail_why(c, rc, "Failed to create backup.", message);
    } else {
        api_call_start(c, 204, NULL);
    }
    api_call_resume(c);
}

enum rc api_backups_create(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    struct core_backups *b = backups_of(c);
    if (core_backups_is_busy(b))
        return fail_with(c, RC_INVALID, MSG_BUSY);
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    json_t *name = json_object_get(c->body, "name");
    if (name && !json_is_string(name) && !json_is_null(name))
        return fail_with(c, RC_INVALID, "An error occurred while loading the submitted data.");
    const char *key = json_is_string(name) ? json_string_value(name) : "";
    size_t n = strlen(key);
    if (n > 150) {
        core_problem_field(&c->problem, "name", "validation_length_out_of_range",
                           "The length must be between 1 and 150.", NULL);
        return fail_with(c, RC_INVALID, MSG_INVALID);
    }
    if (n && !core_backup_name_is_valid(str_from_cstr(key))) {
        core_problem_field(&c->problem, "name", "validation_match_invalid",
                           "Must be in a valid format.", NULL);
        return fail_with(c, RC_INVALID, MSG_INVALID);
    }
    const char *app_name = core_app_settings(c->aw->core.app)->app_name;
    api_call_defer(c);
    enum rc rc = core_backups_create_start(b, key, app_name, c->aw->core.mailbox, create_done, c);
    if (rc) {
        fail_with(c, RC_INVALID, rc == RC_BUSY ? MSG_BUSY : "Failed to create backup.");
        api_call_resume(c);
        return RC_OK;
    }
    c->aw->backup_ops++;
    return RC_OK;
}

static void restore_done(enum rc rc, const char *message, void *ctx)
{
    struct api_call *c = ctx;
    struct core_backups *b = backups_of(c);
    c->aw->backup_ops--;
    bool is_here = api_call_reenter(c);
    if (is_here) {
        if (rc == RC_NOT_FOUND) {
            fail_with(c, RC_INVALID, "Missing or invalid backup file.");
        } else if (rc == RC_BUSY) { /* another instance's operation */
            fail_with(c, RC_INVALID, MSG_BUSY);
        } else if (rc == RC_INVALID) {
            char msg[600];
            snprintf(msg, sizeof(msg), "The backup cannot be restored: %s", message);
            fail_with(c, RC_INVALID, msg);
        } else if (rc) {
            fail_why(c, rc, "Failed to restore the backup.", message);
        } else {
            api_call_start(c, 204, NULL);
        }
        api_call_resume(c);
    }
    /* Staged: the answer is on its way (a stopping server sends what is
     * answered before it closes), so the server may stop now. */
    if (!rc)
        core_backups_restart(b);
}

enum rc api_backups_restore(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    struct core_backups *b = backups_of(c);
    if (core_backups_is_busy(b))
        return fail_with(c, RC_INVALID, MSG_BUSY);
    const char *key = key_param(c);
    if (!key)
        return fail_with(c, RC_INVALID, "Missing or invalid backup file.");
    api_call_defer(c);
    enum rc rc = core_backups_restore_start(b, key, c->aw->core.mailbox, restore_done, c);
    if (rc) {
        fail_with(c, RC_INVALID, rc == RC_BUSY ? MSG_BUSY : "Failed to restore the backup.");
        api_call_resume(c);
        return RC_OK;
    }
    c->aw->backup_ops++;
    return RC_OK;
}
