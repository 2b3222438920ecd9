/* record_save.c -- see record_save.h. The loop never hashes nor touches
 * files: that work goes to the offload pool before the write. */
#include "core/record/record_save.h"

#include <stddef.h>
#include <string.h>

#include "base/alloc.h"
#include "core/credential/password.h"
#include "core/files/file_cascade.h"
#include "core/record/record_input.h"
#include "core/record/record_out.h"
#include "net/offload.h"
#include "store/store.h"

struct core_save {
    struct core_request *r;
    struct core_save_input in;
    struct core_write_job job;
    struct core_record_input input;
    enum rc hash_rc;    /* hashing the input's secrets */
    char *old_password; /* a user changing their own password must give the old one */
    char *stored_phc;
    bool is_old_password_wrong;
    struct core_file_set files; /* uploads to write before the DB write */
    enum rc files_rc;
    json_t *cascade; /* delete: [collectionId, id] pairs it may cascade to */
    core_save_done_fn *done;
    core_save_ready_fn *ready;
    void *ctx;
};

static void save_release(void *ctx)
{
    struct core_save *s = ctx;
    core_write_job_cleanup(&s->job);
    core_record_input_cleanup(&s->input);
    if (s->old_password) {
        memset(s->old_password, 0, strlen(s->old_password));
        xfree(s->old_password);
    }
    xfree(s->stored_phc);
    core_files_set_cleanup(&s->files);
    json_decref(s->cascade);
}

static void write_done(struct core_write_job *job);

static const char *failed_message(enum core_write_kind kind)
{
    return kind == CORE_WRITE_CREATE ? "Failed to create record." : "Failed to update record.";
}

static struct core_save *save_new(struct core_request *r, const struct core_save_input *in)
{
    struct core_save *s = arena_alloc(r->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->r = r;
    s->in = *in;
    s->job.kind = in->kind;
    s->job.schema = r->schema;
    s->job.c = in->c;
    s->job.request = r;
    s->job.sole_field = in->kind == CORE_WRITE_CREATE ? in->sole_field : NULL;
    s->job.done = write_done;
    core_problem_init(&s->job.problem);
    arena_defer(r->arena, save_release, s);
    return s;
}

/* Removes the uploads written for a write that did not happen. */
static void discard_files(struct core_save *s)
{
    json_t *names = json_array();
    for (size_t i = 0; i < s->files.count; i++) {
        if (s->files.items[i].is_written)
            json_array_append_new(names, json_string(s->files.items[i].name));
        s->files.items[i].is_written = false;
    }
    struct core_worker *cw = s->r->cw;
    if (s->job.id &&
        s->files.storage.ops) /* where they were written, whatever the settings say now */
        core_files_remove_async(cw->offload, &s->files.storage, s->in.c, s->job.id, names);
    json_decref(names);
}

/* After a commit: deletes what the record no longer uses (spec §8.1, §2.5). */
static void release_files(struct core_save *s)
{
    struct core_request *r = s->r;
    struct core_worker *cw = r->cw;
    const struct core_storage *st = cw->storage(cw->storage_ctx);
    if (s->job.kind == CORE_WRITE_DELETE) {
        if (core_files_has_field(s->in.c))
            core_files_remove_record_async(cw->offload, st, s->in.c, s->job.id);
        size_t i;
        json_t *pair;
        json_array_foreach(s->cascade, i, pair)
        {
            const char *col_id = json_string_value(json_array_get(pair, 0));
            const char *id = json_string_value(json_array_get(pair, 1));
            const struct core_collection *x =
                core_schema_find_exact(r->schema, str_from_cstr(col_id));
            if (x && core_files_has_field(x) &&
                core_record_find(r->cw->db, x, str_from_cstr(id)) == RC_NOT_FOUND)
                core_files_remove_record_async(cw->offload, st, x, id);
        }
        return;
    }
    if (s->job.kind != CORE_WRITE_UPDATE || !s->job.previous || !s->job.written)
        return;
    /* Both rows come from the writer's transaction: no read after the
     * commit (one that failed left the replaced files behind for good), and
     * no stale "before" when another update got in first. */
    json_t *gone = core_files_removed(s->in.c, s->job.previous, s->job.written);
    core_files_remove_async(cw->offload, st, s->in.c, s->job.id, gone);
    json_decref(gone);
}

static void write_done(struct core_write_job *job)
{
    struct core_save *s = (struct core_save *)((char *)job - offsetof(struct core_save, job));
    if (job->rc)
        discard_files(s);
    else
        release_files(s);
    if (job->rc == RC_NOT_FOUND)
        job->problem.message[0] = '\0';
    s->done(s, s->ctx);
}

/* On the pool: writes the uploads, checks the old password, then hashes the
 * new values of password fields. */
static void prepare_work(void *ctx)
{
    struct core_save *s = ctx;
    if (s->files.count) {
        s->files_rc = core_files_write(&s->files);
        if (s->files_rc)
            return;
    }
    if (!s->input.secret_count)
        return;
    if (s->old_password &&
        core_password_verify(str_from_cstr(s->old_password),
                             str_from_cstr(s->stored_phc ? s->stored_phc : "")) != RC_OK) {
        s->is_old_password_wrong = true;
        return;
    }
    s->hash_rc = core_record_input_hash(&s->input, s->r->cw->password);
}

static void submit(struct core_save *s)
{
    core_write_job_set_hashes(&s->job, &s->input);
    if (s->ready) {
        s->ready(s, &s->job, s->ctx);
        return;
    }
    core_record_submit(s->r->cw, &s->job);
}

static void prepare_done(enum rc rc, void *ctx)
{
    struct core_save *s = ctx;
    if (!rc && s->files_rc)
        rc = s->files_rc;
    if (s->is_old_password_wrong && !rc) {
        core_problem_field(&s->job.problem, "oldPassword", "validation_invalid_old_password",
                           "Missing or invalid old password.", NULL);
        core_problem_message(&s->job.problem, "Failed to update record.");
        s->job.rc = RC_INVALID;
        write_done(&s->job);
        return;
    }
    if (rc)
        s->hash_rc = rc;
    if (s->hash_rc) {
        s->job.rc = s->hash_rc;
        write_done(&s->job);
        return;
    }
    submit(s);
}

enum rc core_record_save_start(struct core_save *s, core_save_done_fn *done,
                               core_save_ready_fn *ready, void *ctx)
{
    s->done = done;
    s->ready = ready;
    s->ctx = ctx;
    if (s->input.secret_count || s->files.count) {
        struct core_worker *cw = s->r->cw;
        return net_offload_submit(cw->offload, cw->mailbox, prepare_work, prepare_done, s);
    }
    submit(s);
    return RC_OK;
}

/* Keeps the uploads the resolved record uses and places them under its
 * directory. RC_INVALID (with the problem set) for an id that cannot be a
 * path segment, RC_NOMEM. */
static enum rc attach_files(struct core_save *s, struct core_problem *p)
{
    if (!s->files.count)
        return RC_OK;
    core_files_keep_used(&s->files, s->in.c, s->input.values);
    if (!s->files.count)
        return RC_OK;
    struct core_worker *cw = s->r->cw;
    enum rc rc = core_files_set_target(&s->files, cw->storage(cw->storage_ctx), s->in.c, s->job.id);
    if (rc)
        core_problem_message(p, failed_message(s->job.kind));
    return rc;
}

/* Compiles rule for the job (?1 = the record id). */
static enum rc compile_rule(struct core_save *s, enum core_rule_kind kind)
{
    const char *rule = s->in.c->rules[kind];
    if (s->r->auth->is_superuser || !rule || !rule[0])
        return RC_OK;
    s->job.has_rule = true;
    enum rc rc =
        core_compile_filter(s->r, s->in.c, str_from_cstr(rule), true, 1, &s->job.rule, NULL);
    /* A create rule over the row's own columns (its SQL has no subquery) can
     * be judged by the INSERT itself where the engine returns expressions
     * over an aliased target (PostgreSQL; SQLite's RETURNING takes no
     * alias). A subquery there would not see the new row: those keep the
     * SELECT after the INSERT. */
    if (!rc && kind == CORE_RULE_CREATE && store_is_remote(s->r->cw->db) && s->job.rule.sql.len &&
        !memmem(s->job.rule.sql.ptr, s->job.rule.sql.len, "SELECT", 6)) {
        rc = core_compile_filter(s->r, s->in.c, str_from_cstr(rule), true, s->in.c->field_count,
                                 &s->job.rule_at_insert, NULL);
        s->job.has_rule_at_insert = rc == RC_OK;
    }
    return rc;
}

/* An update or delete rule that does not compile hides the record (404);
 * running out of memory while compiling it is no verdict on the rule. */
static enum rc rule_rc(enum rc rc)
{
    return rc == RC_NOMEM ? rc : rc ? RC_NOT_FOUND : RC_OK;
}

/* Builds and validates the input of a create or update (current NULL for a
 * create), with the uploads, and checks relation targets: every field error
 * in one answer. */
static enum rc build_input(struct core_save *s, json_t *current, struct core_problem *p)
{
    struct core_request *r = s->r;
    const struct core_collection *c = s->in.c;
    enum rc files_rc =
        core_files_intake(c, s->in.uploads, s->in.upload_count, s->in.body, &s->files, p);
    enum rc rc = core_record_input_build(r, c, s->in.body, current, &s->input, p);
    if (files_rc && !rc) {
        core_problem_message(p, failed_message(s->job.kind));
        rc = files_rc;
    }
    /* The writer checks relation targets inside the write's transaction
     * (record_write.c), and a batch item may point at a record an earlier
     * item creates, which only the writer can tell. The worker checks them
     * too only when the answer is an error anyway (every field error in one
     * answer) or when uploads would be written for nothing: on PostgreSQL
     * each check is a round trip. */
    bool is_worth_it = rc || s->in.upload_count;
    enum rc rel_rc = s->input.values && !s->in.is_batch_item && is_worth_it
                         ? core_record_check_relations(r->cw->db, r->schema, c, s->input.values, p)
                         : RC_OK;
    if (rel_rc && !rc) {
        if (rel_rc == RC_INVALID)
            core_problem_message(p, failed_message(s->job.kind));
        rc = rel_rc; /* a read that failed is no missing record */
    }
    return rc;
}

static enum rc prepare_create(struct core_save *s, struct core_problem *p)
{
    enum rc rc = build_input(s, NULL, p);
    if (rc)
        return rc;
    s->r->filter_request.body = s->input.body;
    s->job.id = xstrdup(json_string_value(json_object_get(s->input.values, "id")));
    s->job.values = json_incref(s->input.values);
    rc = attach_files(s, p);
    if (rc)
        return rc;
    rc = compile_rule(s, CORE_RULE_CREATE);
    if (rc == RC_NOMEM)
        return rc;
    if (rc)
        core_problem_message(p, "Failed to create record.");
    return rc ? RC_INVALID : RC_OK;
}

static enum rc prepare_update(struct core_save *s, struct core_problem *p)
{
    struct core_request *r = s->r;
    const struct core_collection *c = s->in.c;
    json_t *current = NULL;
    enum rc rc = core_record_load(r->cw->db, c, s->in.id, &current);
    if (rc == RC_NOT_FOUND && s->in.is_batch_item && !s->in.upload_count &&
        !core_record_input_has_secret(c, s->in.body)) {
        /* A batch item updating a record an earlier item creates: not
         * committed yet, so the worker cannot read it. The writer, inside the
         * batch's transaction, loads it, rebuilds and validates the input and
         * checks the rule as for any update. Uploads and new password values
         * need the worker's preparation first: not on this path (the writer
         * refuses a password value it has no hash for). */
        s->job.id = xstrndup(s->in.id.ptr, s->in.id.len);
        s->job.body = json_incref(s->in.body);
        return rule_rc(compile_rule(s, CORE_RULE_UPDATE));
    }
    if (rc)
        return rc;
    rc = build_input(s, current, p);
    if (!rc && s->input.password && !r->auth->is_superuser && !r->is_manager) {
        /* spec §6.13: a non-manager changing a password proves the old one. */
        json_t *old = json_object_get(s->in.body, "oldPassword");
        if (!json_is_string(old) || json_string_length(old) == 0) {
            core_problem_field(p, "oldPassword", "validation_required", "Cannot be blank.", NULL);
            core_problem_message(p, "Failed to update record.");
            rc = RC_INVALID;
        } else {
            s->old_password = xstrdup(json_string_value(old));
            const char *phc = json_string_value(json_object_get(current, "password"));
            s->stored_phc = xstrdup(phc ? phc : "");
        }
    }
    json_decref(current);
    if (rc)
        return rc;
    r->filter_request.body = s->input.body;
    s->job.id = xstrndup(s->in.id.ptr, s->in.id.len);
    s->job.body = json_incref(s->in.body);
    rc = attach_files(s, p);
    if (rc)
        return rc;
    return rule_rc(compile_rule(s, CORE_RULE_UPDATE));
}

static enum rc prepare_delete(struct core_save *s)
{
    struct core_request *r = s->r;
    s->job.id = xstrndup(s->in.id.ptr, s->in.id.len);
    /* Records the delete cascades to lose their files too (spec §2.5). */
    if (core_file_cascade_reaches_files(r->schema, s->in.c))
        s->cascade = core_file_cascade_candidates(r->cw->db, r->schema, s->in.c, s->job.id);
    return rule_rc(compile_rule(s, CORE_RULE_DELETE));
}

enum rc core_record_save_access(const struct core_request *r, const struct core_collection *c,
                                enum core_write_kind kind, struct core_problem *p)
{
    static const enum core_rule_kind rule_of[] = {
        [CORE_WRITE_CREATE] = CORE_RULE_CREATE,
        [CORE_WRITE_UPDATE] = CORE_RULE_UPDATE,
        [CORE_WRITE_DELETE] = CORE_RULE_DELETE,
    };
    if (c->type == CORE_COLLECTION_VIEW) {
        core_problem_message(p, "Unsupported collection type.");
        return RC_INVALID;
    }
    if (!c->rules[rule_of[kind]] && !r->auth->is_superuser) {
        core_problem_message(p, "Only superusers can perform this action.");
        return RC_FORBIDDEN;
    }
    return RC_OK;
}

enum rc core_record_save_prepare(struct core_request *r, const struct core_save_input *in,
                                 struct core_problem *p, struct core_save **out)
{
    *out = NULL;
    enum rc rc = core_record_save_access(r, in->c, in->kind, p);
    if (rc)
        return rc;
    struct core_save *s = save_new(r, in);
    rc = RC_INTERNAL;
    switch (in->kind) {
    case CORE_WRITE_CREATE: rc = prepare_create(s, p); break;
    case CORE_WRITE_UPDATE: rc = prepare_update(s, p); break;
    case CORE_WRITE_DELETE: rc = prepare_delete(s); break;
    }
    if (rc == RC_OK)
        *out = s;
    return rc;
}

enum rc core_record_save_rc(const struct core_save *s)
{
    return s->job.rc;
}

struct core_problem *core_record_save_problem(struct core_save *s)
{
    return &s->job.problem;
}

enum core_write_kind core_record_save_kind(const struct core_save *s)
{
    return s->job.kind;
}

enum rc core_record_save_answer(struct core_save *s, const struct core_output_opts *o,
                                struct buf *out, struct core_problem *p)
{
    struct core_output_opts opts = *o;
    opts.ignore_view_rule = true;
    json_t *row = s->job.kind == CORE_WRITE_CREATE ? s->job.values : s->job.written;
    if (row && !opts.expand.len && !opts.fields.len) {
        /* The row is what was written: answer from it, no read back (a read
         * that failed would answer an error for a committed write). */
        struct jsonw jw;
        jsonw_init(&jw, out);
        core_record_write_values(&jw, s->in.c, row, s->r->auth);
        return jsonw_finish(&jw) ? RC_NOMEM : RC_OK;
    }
    if (s->in.is_batch_item && row)
        return core_record_render_values(s->r, s->in.c, row, "", (struct str){NULL, 0}, &opts, out);
    return core_record_view(s->r, s->in.c, str_from_cstr(s->job.id), &opts, out, p);
}
