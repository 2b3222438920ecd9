/* records.c -- /api/collections/{collection}/records (spec §2). Parses input,
 * calls core, writes JSON. Writes defer their response until the writer
 * thread has committed (and, for a new value of any password field, until
 * the offload pool has hashed it). */
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/records.h"
#include "base/alloc.h"
#include "base/log.h"
#include "core/files/file_cascade.h"
#include "core/files/files.h"
#include "core/credential/password.h"
#include "core/record/record_input.h"
#include "core/record/record_out.h"
#include "core/record/record_write.h"
#include "http/server.h"
#include "net/mailbox.h"
#include "net/offload.h"

/* A page piece's buffer larger than this is freed after use. */
#define PAGE_PIECE_KEEP ((size_t)1 << 20)

/* -------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

static bool parse_int(struct str s, int64_t *out)
{
    bool neg = s.len && s.ptr[0] == '-';
    uint64_t v;
    if (!str_to_u64(neg ? (struct str){s.ptr + 1, s.len - 1} : s, &v) || v > INT32_MAX)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

static bool parse_bool(struct str s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (int i = 0; i < 6; i++) {
        if (str_eq(s, str_from_cstr(yes[i]))) {
            *out = true;
            return true;
        }
        if (str_eq(s, str_from_cstr(no[i]))) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* The rest of a large page (core_list_stream), sent as the reader takes it:
 * a body of unknown length whose pieces are made one per pull. A pull only
 * posts the piece to the worker's mailbox, so the piece is made on a later
 * turn of the loop: a fast reader's page does not run as one long callback
 * (nor recurse through the drain callback), and other connections are
 * served between pieces. */
struct page_body {
    struct api_worker *aw;
    struct core_list_stream *rest;
    struct http_body_source *src;
    struct buf piece;
    bool is_posted; /* a piece is queued in the mailbox */
    bool is_busy;   /* inside page_piece's call to the server, which may end the body */
    bool is_ended;  /* the server is done with the body */
    char request_id[65];
};

static void page_body_free(struct page_body *pb)
{
    core_list_stream_free(pb->rest);
    buf_cleanup(&pb->piece);
    xfree(pb);
}

static void page_piece(void *arg)
{
    struct page_body *pb = arg;
    pb->is_posted = false;
    pb->aw->page_pieces--;
    if (pb->is_ended) {
        page_body_free(pb);
        return;
    }
    buf_reset(&pb->piece);
    bool is_done = false;
    enum rc rc = core_list_stream_next(pb->rest, &pb->piece, &is_done);
    pb->is_busy = true;
    if (rc) {
        /* The head is out: a short body must not pass for a whole one. */
        const char *why = core_list_stream_message(pb->rest);
        log_warn("msg=\"streamed page cut short\" rc=%s reason=\"%s\" rid=%s", rc_name(rc),
                 why ? why : "", pb->request_id);
        http_body_fail(pb->src);
    } else if (is_done) {
        http_body_end(pb->src, pb->piece.data, pb->piece.len);
    } else {
        http_body_push(pb->src, pb->piece.data, pb->piece.len); /* may pull again at once */
    }
    pb->is_busy = false;
    if (pb->is_ended && !pb->is_posted) {
        page_body_free(pb);
        return;
    }
    if (pb->piece.cap > PAGE_PIECE_KEEP)
        buf_cleanup(&pb->piece); /* one large record made it grow: give it back */
}

static void page_pull(void *ctx, struct http_body_source *src)
{
    struct page_body *pb = ctx;
    pb->src = src;
    pb->is_posted = true;
    pb->aw->page_pieces++;
    net_mailbox_post(pb->aw->core.mailbox, page_piece, pb);
}

static void page_end(void *ctx, bool is_complete)
{
    (void)is_complete;
    struct page_body *pb = ctx;
    pb->is_ended = true;
    if (!pb->is_posted && !pb->is_busy)
        page_body_free(pb);
}

static const struct http_body_ops page_ops = {.pull = page_pull, .on_end = page_end};

static void stream_page(struct api_call *c, struct core_list_stream *rest)
{
    struct page_body *pb = xcalloc(1, sizeof(*pb));
    pb->aw = c->aw;
    pb->rest = rest;
    buf_init(&pb->piece, (size_t)1 << 34);
    snprintf(pb->request_id, sizeof(pb->request_id), "%s", c->req->request_id);
    http_req_body_source(c->req, HTTP_BODY_LENGTH_UNKNOWN, &page_ops, pb);
}

enum rc api_records_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing collection context.", &col))
        return RC_OK;
    struct core_list_opts lo = {.page = 1, .per_page = CORE_LIST_DEFAULT_PER_PAGE};
    struct str v = api_call_query(c, "page");
    if (v.len && !parse_int(v, &lo.page))
        return api_call_fail(c, RC_INVALID);
    v = api_call_query(c, "perPage");
    if (v.len && !parse_int(v, &lo.per_page))
        return api_call_fail(c, RC_INVALID);
    v = api_call_query(c, "skipTotal");
    if (v.len && !parse_bool(v, &lo.skip_total))
        return api_call_fail(c, RC_INVALID);
    if (lo.page <= 0)
        lo.page = 1;
    if (lo.per_page <= 0)
        lo.per_page = CORE_LIST_DEFAULT_PER_PAGE;
    if (lo.per_page > CORE_LIST_MAX_PER_PAGE)
        lo.per_page = CORE_LIST_MAX_PER_PAGE;
    lo.filter = api_call_query(c, "filter");
    lo.sort = api_call_query(c, "sort");
    struct core_output_opts o = {0};
    api_call_output_opts(c, &o);
    if (lo.filter.len || (col->rules[CORE_RULE_LIST] && col->rules[CORE_RULE_LIST][0]))
        api_call_request_data(c, "default");
    http_resp_start(req, 200, "application/json");
    /* A HEAD needs the length and sends nothing: no stream for it. */
    struct core_list_stream *rest = NULL;
    enum rc rc = core_record_list(&c->core, col, &lo, &o, http_resp_body(req), &c->problem,
                                  req->method == HTTP_METHOD_HEAD ? NULL : &rest);
    rc = api_call_cost_rc(c, rc);
    if (rc) {
        core_list_stream_free(rest);
        return api_call_fail(c, rc);
    }
    if (rest)
        stream_page(c, rest);
    return RC_OK;
}

enum rc api_records_view(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing collection context.", &col))
        return RC_OK;
    struct core_output_opts o = {0};
    api_call_output_opts(c, &o);
    if (col->rules[CORE_RULE_VIEW] && col->rules[CORE_RULE_VIEW][0])
        api_call_request_data(c, "default");
    http_resp_start(req, 200, "application/json");
    enum rc rc = core_record_view(&c->core, col, http_req_param(req, "id"), &o, http_resp_body(req),
                                  &c->problem);
    rc = api_call_cost_rc(c, rc);
    if (rc == RC_NOT_FOUND)
        c->problem.message[0] = '\0';
    return rc ? api_call_fail(c, rc) : RC_OK;
}

/* -------------------------------------------------------------------------
 * Writes
 * ------------------------------------------------------------------------- */

/* A write in flight: lives in the request arena until the response. */
struct pending_write {
    struct api_call *call;
    const struct core_collection *col;
    struct core_write_job job;
    struct core_record_input input;
    enum rc hash_rc;    /* hashing the input's secrets */
    char *old_password; /* a user changing their own password must give the old one */
    char *stored_phc;
    bool is_old_password_wrong;
    struct core_file_set files; /* uploads to write before the DB write */
    enum rc files_rc;
    json_t *before;  /* update: the stored record, to find the files it drops */
    json_t *cascade; /* delete: [collectionId, id] pairs it may cascade to */
};

static void pending_release(void *ctx)
{
    struct pending_write *w = ctx;
    core_write_job_cleanup(&w->job);
    core_record_input_cleanup(&w->input);
    if (w->old_password) {
        memset(w->old_password, 0, strlen(w->old_password));
        xfree(w->old_password);
    }
    xfree(w->stored_phc);
    core_files_set_cleanup(&w->files);
    json_decref(w->before);
    json_decref(w->cascade);
}

static void write_done(struct core_write_job *job);

static struct pending_write *pending_new(struct api_call *c, const struct core_collection *col,
                                         enum core_write_kind kind)
{
    struct pending_write *w = arena_alloc(c->req->arena, sizeof(*w));
    memset(w, 0, sizeof(*w));
    w->call = c;
    w->col = col;
    w->job.kind = kind;
    w->job.schema = c->core.schema;
    w->job.c = col;
    w->job.request = &c->core;
    w->job.done = write_done;
    core_problem_init(&w->job.problem);
    arena_defer(c->req->arena, pending_release, w);
    return w;
}

/* The record just written, as the response. */
static void respond_record(struct pending_write *w)
{
    struct api_call *c = w->call;
    struct core_output_opts o = {0};
    api_call_output_opts(c, &o);
    o.ignore_view_rule = true;
    struct buf *out = api_call_start(c, 200, "application/json");
    if (w->job.kind == CORE_WRITE_CREATE && w->job.values && !o.expand.len && !o.fields.len) {
        /* The row is what was inserted: answer from it, no read back. */
        struct jsonw jw;
        jsonw_init(&jw, out);
        core_record_write_values(&jw, w->col, w->job.values, c->core.auth);
        if (jsonw_finish(&jw) != RC_OK)
            api_call_fail(c, RC_NOMEM);
        return;
    }
    json_t *row = w->job.kind == CORE_WRITE_CREATE ? w->job.values : w->job.written;
    if (c->sub && row) {
        /* A batch item answers with the record as this item left it: a
         * later item of the batch may have changed or deleted it since. */
        enum rc rc = api_call_cost_rc(c, core_record_render_values(&c->core, w->col, row, "",
                                                                   (struct str){NULL, 0}, &o, out));
        if (rc)
            api_call_fail(c, rc);
        return;
    }
    enum rc rc = api_call_cost_rc(
        c, core_record_view(&c->core, w->col, str_from_cstr(w->job.id), &o, out, &c->problem));
    if (rc)
        api_call_fail(c, rc);
}

/* Removes the uploads written for a write that did not happen. */
static void discard_files(struct pending_write *w)
{
    json_t *names = json_array();
    for (size_t i = 0; i < w->files.count; i++) {
        if (w->files.items[i].is_written)
            json_array_append_new(names, json_string(w->files.items[i].name));
        w->files.items[i].is_written = false;
    }
    struct core_app *app = w->call->aw->core.app;
    if (w->job.id)
        core_files_remove_async(app->offload, app->dir, w->col, w->job.id, names);
    json_decref(names);
}

/* After a commit: deletes what the record no longer uses (spec §8.1, §2.5). */
static void release_files(struct pending_write *w)
{
    struct api_call *c = w->call;
    struct core_app *app = c->aw->core.app;
    if (w->job.kind == CORE_WRITE_DELETE) {
        if (core_files_has_field(w->col))
            core_files_remove_record_async(app->offload, app->dir, w->col, w->job.id);
        size_t i;
        json_t *pair;
        json_array_foreach(w->cascade, i, pair)
        {
            const char *col_id = json_string_value(json_array_get(pair, 0));
            const char *id = json_string_value(json_array_get(pair, 1));
            const struct core_collection *x =
                core_schema_find_exact(c->core.schema, str_from_cstr(col_id));
            json_t *still = NULL;
            if (!x || !core_files_has_field(x) ||
                core_record_load(c->aw->core.db, x, str_from_cstr(id), &still) != RC_NOT_FOUND) {
                json_decref(still);
                continue;
            }
            core_files_remove_record_async(app->offload, app->dir, x, id);
        }
        return;
    }
    if (w->job.kind != CORE_WRITE_UPDATE || !w->before)
        return;
    json_t *after = NULL;
    if (core_record_load(c->aw->core.db, w->col, str_from_cstr(w->job.id), &after) != RC_OK)
        return;
    json_t *gone = core_files_removed(w->col, w->before, after);
    core_files_remove_async(app->offload, app->dir, w->col, w->job.id, gone);
    json_decref(gone);
    json_decref(after);
}

static void write_done(struct core_write_job *job)
{
    struct pending_write *w =
        (struct pending_write *)((char *)job - offsetof(struct pending_write, job));
    struct api_call *c = w->call;
    api_call_enter(c); /* the answer may expand (charged to the request) */
    if (job->rc)
        discard_files(w);
    else
        release_files(w);
    if (api_call_is_gone(c)) {
        api_call_resume(c);
        return;
    }
    if (job->rc) {
        api_call_take_problem(c, &job->problem);
        if (job->rc == RC_NOT_FOUND)
            c->problem.message[0] = '\0';
        api_call_fail(c, job->rc);
    } else if (job->kind == CORE_WRITE_DELETE) {
        api_call_start(c, 204, NULL);
    } else {
        respond_record(w);
    }
    api_call_resume(c);
}

/* On the pool: writes the uploads, checks the old password, then hashes the
 * new values of password fields. */
static void prepare_work(void *ctx)
{
    struct pending_write *w = ctx;
    struct core_app *app = w->call->aw->core.app;
    if (w->files.count) {
        w->files_rc = core_files_write(&w->files);
        if (w->files_rc)
            return;
    }
    if (!w->input.secret_count)
        return;
    struct core_password_params params = {.m_kib = app->password_m_kib, .t = app->password_t};
    if (w->old_password &&
        core_password_verify(str_from_cstr(w->old_password),
                             str_from_cstr(w->stored_phc ? w->stored_phc : "")) != RC_OK) {
        w->is_old_password_wrong = true;
        return;
    }
    w->hash_rc = core_record_input_hash(&w->input, params);
}

static void submit(struct pending_write *w)
{
    core_write_job_set_hashes(&w->job, &w->input);
    struct api_call *c = w->call;
    if (c->sub) {
        /* A batch item: the batch submits every write in one transaction. */
        c->sub->ready = &w->job;
        c->sub->on_ready(c);
        return;
    }
    core_record_submit(&c->aw->core, &w->job);
}

static void prepare_done(enum rc rc, void *ctx)
{
    struct pending_write *w = ctx;
    api_call_enter(w->call);
    if (!rc && w->files_rc)
        rc = w->files_rc;
    if (w->is_old_password_wrong && !rc) {
        struct api_call *c = w->call;
        discard_files(w);
        if (!api_call_is_gone(c)) {
            core_problem_field(&c->problem, "oldPassword", "validation_invalid_old_password",
                               "Missing or invalid old password.", NULL);
            core_problem_message(&c->problem, "Failed to update record.");
            api_call_fail(c, RC_INVALID);
        }
        api_call_resume(c);
        return;
    }
    if (rc)
        w->hash_rc = rc;
    if (w->hash_rc) {
        w->job.rc = w->hash_rc;
        write_done(&w->job);
        return;
    }
    submit(w);
}

/* Writes uploads and hashes new passwords first when there are any; the
 * loop never hashes nor touches files. */
static enum rc start_write(struct pending_write *w)
{
    struct api_call *c = w->call;
    api_call_defer(c);
    if (w->input.secret_count || w->files.count) {
        enum rc rc = net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, prepare_work,
                                        prepare_done, w);
        if (rc) {
            /* The pool is full: answer now instead of deferring. */
            api_call_fail(c, rc);
            api_call_resume(c);
        }
        return RC_OK;
    }
    submit(w);
    return RC_OK;
}

/* Keeps the uploads the resolved record uses and places them under its
 * directory. RC_INVALID (with the problem set) for an id that cannot be a
 * path segment. */
static enum rc attach_files(struct pending_write *w)
{
    if (!w->files.count)
        return RC_OK;
    core_files_keep_used(&w->files, w->col, w->input.values);
    if (!w->files.count)
        return RC_OK;
    enum rc rc = core_files_set_dir(&w->files, w->call->aw->core.app->dir, w->col, w->job.id);
    if (rc)
        core_problem_message(&w->call->problem, w->job.kind == CORE_WRITE_CREATE
                                                    ? "Failed to create record."
                                                    : "Failed to update record.");
    return rc;
}

/* Compiles rule for the job (?1 = the record id). */
static enum rc compile_rule(struct api_call *c, const struct core_collection *col,
                            enum core_rule_kind kind, struct core_write_job *job)
{
    const char *rule = col->rules[kind];
    if (c->auth.is_superuser || !rule || !rule[0])
        return RC_OK;
    job->has_rule = true;
    return core_compile_filter(&c->core, col, str_from_cstr(rule), true, 1, &job->rule, NULL);
}

static enum rc check_write_access(struct api_call *c, const struct core_collection *col,
                                  enum core_rule_kind kind)
{
    if (col->type == CORE_COLLECTION_VIEW) {
        core_problem_message(&c->problem, "Unsupported collection type.");
        api_call_fail(c, RC_INVALID);
        return RC_INVALID;
    }
    if (!col->rules[kind] && !c->auth.is_superuser) {
        core_problem_message(&c->problem, "Only superusers can perform this action.");
        api_call_fail(c, RC_FORBIDDEN);
        return RC_FORBIDDEN;
    }
    return RC_OK;
}

static enum rc create_record(struct api_call *c, const struct core_collection *col)
{
    struct pending_write *w = pending_new(c, col, CORE_WRITE_CREATE);
    enum rc files_rc =
        core_files_intake(col, c->uploads, c->upload_count, c->body, &w->files, &c->problem);
    enum rc rc = core_record_input_build(&c->core, col, c->body, NULL, &w->input, &c->problem);
    if (files_rc && !rc) {
        core_problem_message(&c->problem, "Failed to create record.");
        rc = files_rc;
    }
    /* Missing relation targets are reported with the other field errors.
     * A batch item may point at a record an earlier item creates: only
     * the writer, inside the batch's transaction, can tell. */
    if (w->input.values && !c->sub &&
        core_record_check_relations(c->aw->core.db, c->core.schema, col, w->input.values,
                                    &c->problem) != RC_OK &&
        !rc) {
        core_problem_message(&c->problem, "Failed to create record.");
        rc = RC_INVALID;
    }
    if (rc)
        return api_call_fail(c, rc);
    api_call_request_data(c, "default");
    c->core.filter_request.body = w->input.body;
    w->job.id = xstrdup(json_string_value(json_object_get(w->input.values, "id")));
    w->job.values = json_incref(w->input.values);
    if (attach_files(w))
        return api_call_fail(c, RC_INVALID);
    if (compile_rule(c, col, CORE_RULE_CREATE, &w->job)) {
        core_problem_message(&c->problem, "Failed to create record.");
        return api_call_fail(c, RC_INVALID);
    }
    return start_write(w);
}

/* A batch item updating a record that an earlier item of the batch creates:
 * it is not committed yet, so the worker cannot read it. The writer, inside
 * the batch's transaction, loads it, rebuilds and validates the input and
 * checks the rule as for any update. Uploads and new password values need
 * the worker's preparation (files written, hashes made first): not on this
 * path (the writer refuses a password value it has no hash for). */
static enum rc update_uncommitted(struct api_call *c, const struct core_collection *col,
                                  struct str id)
{
    struct pending_write *w = pending_new(c, col, CORE_WRITE_UPDATE);
    api_call_request_data(c, "default");
    w->job.id = xstrndup(id.ptr, id.len);
    w->job.body = json_incref(c->body);
    if (compile_rule(c, col, CORE_RULE_UPDATE, &w->job))
        return api_call_fail(c, RC_NOT_FOUND);
    return start_write(w);
}

static enum rc update_record(struct api_call *c, const struct core_collection *col, struct str id)
{
    json_t *current = NULL;
    enum rc rc = core_record_load(c->aw->core.db, col, id, &current);
    if (rc == RC_NOT_FOUND && c->sub && !c->upload_count &&
        !core_record_input_has_secret(col, c->body))
        return update_uncommitted(c, col, id);
    if (rc)
        return api_call_fail(c, rc);
    struct pending_write *w = pending_new(c, col, CORE_WRITE_UPDATE);
    if (col->type == CORE_COLLECTION_AUTH && col->manage_rule && c->auth.collection &&
        !c->auth.is_superuser) {
        /* spec §6.13: a requester passing manageRule for this record changes
         * email, verified and password as a superuser would. */
        api_call_request_data(c, "default");
        char idz[256];
        size_t n = id.len < sizeof(idz) - 1 ? id.len : sizeof(idz) - 1;
        memcpy(idz, id.ptr, n);
        idz[n] = '\0';
        c->core.is_manager = core_rule_passes(&c->core, col, col->manage_rule, idz);
    }
    enum rc files_rc =
        core_files_intake(col, c->uploads, c->upload_count, c->body, &w->files, &c->problem);
    rc = core_record_input_build(&c->core, col, c->body, current, &w->input, &c->problem);
    if (files_rc && !rc) {
        core_problem_message(&c->problem, "Failed to update record.");
        rc = files_rc;
    }
    if (w->input.values && !c->sub &&
        core_record_check_relations(c->aw->core.db, c->core.schema, col, w->input.values,
                                    &c->problem) != RC_OK &&
        !rc) {
        core_problem_message(&c->problem, "Failed to update record.");
        rc = RC_INVALID;
    }
    if (!rc && w->input.password && !c->auth.is_superuser && !c->core.is_manager) {
        /* spec §6.13: a non-manager changing a password proves the old one. */
        json_t *old = json_object_get(c->body, "oldPassword");
        if (!json_is_string(old) || json_string_length(old) == 0) {
            core_problem_field(&c->problem, "oldPassword", "validation_required",
                               "Cannot be blank.", NULL);
            core_problem_message(&c->problem, "Failed to update record.");
            rc = RC_INVALID;
        } else {
            w->old_password = xstrdup(json_string_value(old));
            const char *phc = json_string_value(json_object_get(current, "password"));
            w->stored_phc = xstrdup(phc ? phc : "");
        }
    }
    w->before = current;
    if (rc)
        return api_call_fail(c, rc);
    api_call_request_data(c, "default");
    c->core.filter_request.body = w->input.body;
    w->job.id = xstrndup(id.ptr, id.len);
    w->job.body = json_incref(c->body);
    if (attach_files(w))
        return api_call_fail(c, RC_INVALID);
    if (compile_rule(c, col, CORE_RULE_UPDATE, &w->job))
        return api_call_fail(c, RC_NOT_FOUND);
    return start_write(w);
}

static enum rc delete_record(struct api_call *c, const struct core_collection *col, struct str id)
{
    api_call_request_data(c, "default");
    struct pending_write *w = pending_new(c, col, CORE_WRITE_DELETE);
    w->job.id = xstrndup(id.ptr, id.len);
    /* Records the delete cascades to lose their files too (spec §2.5). */
    if (core_file_cascade_reaches_files(c->core.schema, col))
        w->cascade = core_file_cascade_candidates(c->aw->core.db, c->core.schema, col, w->job.id);
    if (compile_rule(c, col, CORE_RULE_DELETE, &w->job))
        return api_call_fail(c, RC_NOT_FOUND);
    return start_write(w);
}

enum rc api_records_write(struct api_call *c, const struct core_collection *col,
                          enum core_write_kind kind, struct str id)
{
    static const enum core_rule_kind rule_of[] = {
        [CORE_WRITE_CREATE] = CORE_RULE_CREATE,
        [CORE_WRITE_UPDATE] = CORE_RULE_UPDATE,
        [CORE_WRITE_DELETE] = CORE_RULE_DELETE,
    };
    if (check_write_access(c, col, rule_of[kind]))
        return RC_OK;
    switch (kind) {
    case CORE_WRITE_CREATE: return create_record(c, col);
    case CORE_WRITE_UPDATE: return update_record(c, col, id);
    case CORE_WRITE_DELETE: return delete_record(c, col, id);
    }
    return RC_INTERNAL;
}

enum rc api_records_create(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing or invalid collection context.", &col))
        return RC_OK;
    if (check_write_access(c, col, CORE_RULE_CREATE) ||
        api_call_body_or_fail(c, "Failed to load the submitted data due to invalid formatting."))
        return RC_OK;
    return create_record(c, col);
}

enum rc api_records_update(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing or invalid collection context.", &col))
        return RC_OK;
    if (check_write_access(c, col, CORE_RULE_UPDATE) ||
        api_call_body_or_fail(c, "Failed to load the submitted data due to invalid formatting."))
        return RC_OK;
    return update_record(c, col, http_req_param(req, "id"));
}

enum rc api_records_delete(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing collection context.", &col) ||
        check_write_access(c, col, CORE_RULE_DELETE))
        return RC_OK;
    return delete_record(c, col, http_req_param(req, "id"));
}
