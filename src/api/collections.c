/* collections.c -- /api/collections (spec §5.6): superusers only. Reads come
 * from the schema snapshot; changes are writer jobs (core/schema_change.h)
 * and defer their response until the commit. */
#include "api/handlers.h"

#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "base/alloc.h"
#include "base/jsonw.h"
#include "core/schema/collection_json.h"
#include "core/record/collection_list.h"
#include "core/files/files.h"
#include "core/schema_change.h"

static void write_collection(struct api_call *call, const struct core_collection *c)
{
    struct http_req *req = call->req;
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    core_collection_write_json(&w, c, false);
    if (jsonw_finish(&w) == RC_OK && api_call_query(call, "fields").len)
        (void)core_fields_apply(http_resp_body(req), api_call_query(call, "fields"), false);
}

enum rc api_collections_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    int64_t page = 1, per_page = 30;
    struct str v = api_call_query(c, "page");
    uint64_t n = 0;
    if (v.len && (!str_to_u64(v, &n)))
        return api_call_fail(c, RC_INVALID);
    if (v.len && n > 0)
        page = (int64_t)n;
    v = api_call_query(c, "perPage");
    if (v.len && !str_to_u64(v, &n))
        return api_call_fail(c, RC_INVALID);
    if (v.len && n > 0)
        per_page = n > 1000 ? 1000 : (int64_t)n;
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "items");
    int64_t total = 0;
    enum rc rc =
        core_collection_list(&c->core, api_call_query(c, "filter"), api_call_query(c, "sort"), page,
                             per_page, &w, &total, &c->problem);
    if (rc)
        return api_call_fail(c, rc);
    jsonw_key_cstr(&w, "page");
    jsonw_int(&w, page);
    jsonw_key_cstr(&w, "perPage");
    jsonw_int(&w, per_page);
    jsonw_key_cstr(&w, "totalItems");
    jsonw_int(&w, total);
    jsonw_key_cstr(&w, "totalPages");
    jsonw_int(&w, (total + per_page - 1) / per_page);
    jsonw_object_end(&w);
    rc = jsonw_finish(&w);
    struct str fields = api_call_query(c, "fields");
    if (!rc && fields.len)
        rc = core_fields_apply(http_resp_body(req), fields, true);
    return rc;
}

enum rc api_collections_view(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, NULL, &col))
        return RC_OK;
    write_collection(c, col);
    return RC_OK;
}

/* A schema change in flight, in the request arena. */
struct pending_change {
    struct api_call *call;
    struct core_schema_job job;
};

static void change_release(void *ctx)
{
    core_schema_job_cleanup(&((struct pending_change *)ctx)->job);
}

static void change_done(struct core_schema_job *job)
{
    struct pending_change *pc =
        (struct pending_change *)((char *)job - offsetof(struct pending_change, job));
    struct api_call *c = pc->call;
    if (!job->rc) {
        /* Files go with their records (spec §2.5): of removed file fields,
         * and of deleted or truncated collections. */
        struct core_app *app = c->aw->core.app;
        const char *col_id;
        json_t *pairs;
        json_object_foreach(job->dropped_files, col_id, pairs)
        {
            core_files_remove_many_async(app->offload, core_app_storage(app), col_id,
                                         json_incref(pairs));
        }
        size_t i;
        json_t *gone;
        json_array_foreach(job->emptied_collections, i, gone)
        {
            core_files_remove_collection_async(app->offload, core_app_storage(app),
                                               json_string_value(gone));
        }
    }
    if (http_req_is_gone(c->req)) {
        http_req_resume(c->req);
        return;
    }
    if (job->rc) {
        api_call_take_problem(c, &job->problem);
        api_call_fail(c, job->rc);
    } else if (job->op == CORE_SCHEMA_CREATE || job->op == CORE_SCHEMA_UPDATE) {
        const struct core_collection *col =
            core_schema_find_exact(core_app_schema(c->aw->core.app), str_from_cstr(job->result_id));
        if (col)
            write_collection(c, col);
        else
            api_call_fail(c, RC_INTERNAL);
    } else {
        http_resp_start(c->req, 204, NULL);
    }
    http_req_resume(c->req);
}

static enum rc start_change(struct api_call *c, enum core_schema_op op, bool needs_body,
                            bool needs_target)
{
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    const struct core_collection *col = NULL;
    if (needs_target && api_call_collection_or_fail(c, NULL, &col))
        return RC_OK;
    if (needs_body && api_call_body_or_fail(c, "Failed to load the submitted data."))
        return RC_OK;
    struct pending_change *pc = arena_alloc(c->req->arena, sizeof(*pc));
    memset(pc, 0, sizeof(*pc));
    pc->call = c;
    pc->job.op = op;
    core_problem_init(&pc->job.problem);
    pc->job.input = needs_body ? json_incref(c->body) : NULL;
    pc->job.target_id = col ? xstrdup(col->id) : NULL;
    pc->job.done = change_done;
    arena_defer(c->req->arena, change_release, pc);
    api_call_defer(c); /* its budget pauses: the wait is not its cost */
    core_schema_submit(c->aw->core.app, &c->aw->core, &pc->job);
    return RC_OK;
}

enum rc api_collections_create(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_CREATE, true, false);
}

enum rc api_collections_update(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_UPDATE, true, true);
}

enum rc api_collections_delete(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_DELETE, false, true);
}

enum rc api_collections_truncate(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_TRUNCATE, false, true);
}

enum rc api_collections_import(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_IMPORT, true, false);
}

enum rc api_collections_scaffolds(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    static const char *const types[] = {"base", "auth", "view"};
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    for (int i = 0; i < 3; i++) {
        /* A view's fields come from its query: it has none before one. */
        json_t *in =
            json_pack("{s:s, s:s, s:s}", "type", types[i], "name", "scaffold", "viewQuery", "");
        struct core_problem p;
        core_problem_init(&p);
        struct core_collection *col = NULL;
        if (core_collection_from_json(in, NULL, NULL, "", &col, &p) == RC_OK) {
            xfree(col->id);
            col->id = xstrdup("");
            xfree(col->name);
            col->name = xstrdup("");
            jsonw_key_cstr(&w, types[i]);
            core_collection_write_json(&w, col, false);
        }
        core_collection_free(col);
        core_problem_cleanup(&p);
        json_decref(in);
    }
    jsonw_object_end(&w);
    return jsonw_finish(&w);
}
