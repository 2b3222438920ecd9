/* jobs.c -- /api/jobs: the durable job queue for superusers (layer: api).
 *
 *   GET    /api/jobs               list: ?status=queued,failed &kind= &filter= &sort=-created
 *                                  &page= &perPage= (records' paging shape)
 *   GET    /api/jobs/stats         depth by status, due count, oldest due age
 *   GET    /api/jobs/{id}          view
 *   POST   /api/jobs               enqueue {kind, payload, runAt, priority, dedupeKey,
 *                                  maxAttempts}
 *   POST   /api/jobs/{id}/retry    a failed, dead or canceled job runs again now
 *   POST   /api/jobs/{id}/cancel   a queued or failed job is canceled
 *   GET    /api/crons              PocketBase's cron list: the _schedules records
 *   POST   /api/crons/{id}         run the schedule named id now (204)
 * Handlers only translate: core/jobs/jobs_admin.h does the work. */
#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "core/app.h"
#include "core/jobs/jobs_admin.h"
#include "core/jobs/runner.h"
#include "http/req.h"

static enum rc write_json(struct api_call *c, int status, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    http_resp_start(c->req, status, "application/json");
    enum rc rc = buf_append(http_resp_body(c->req), text, strlen(text));
    xfree(text);
    return rc;
}

static bool parse_count(struct str s, int64_t *out)
{
    uint64_t v;
    if (!str_to_u64(s, &v) || v > INT32_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

/* The list's parameters; any other is refused with a 400 naming it rather
 * than ignored. */
static const char *const list_params[] = {"page", "perPage", "status", "kind", "filter", "sort"};

enum rc api_jobs_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (!api_call_only_query(c, list_params, sizeof(list_params) / sizeof(list_params[0]),
                             "Not a parameter of the jobs list (page, perPage, status, kind, "
                             "filter, sort)."))
        return api_call_fail(c, RC_INVALID);
    struct core_jobs_list_opts o = {.page = 1, .per_page = 30};
    struct str v = api_call_query(c, "page");
    if (v.len && !parse_count(v, &o.page))
        return api_call_fail(c, RC_INVALID);
    v = api_call_query(c, "perPage");
    if (v.len && !parse_count(v, &o.per_page))
        return api_call_fail(c, RC_INVALID);
    if (o.page < 1)
        o.page = 1;
    if (o.per_page < 1)
        o.per_page = 30;
    if (o.per_page > CORE_JOBS_MAX_PER_PAGE)
        o.per_page = CORE_JOBS_MAX_PER_PAGE;
    o.status = api_call_query(c, "status");
    o.kind = api_call_query(c, "kind");
    o.filter = api_call_query(c, "filter");
    o.schema = c->core.schema;
    o.sort = api_call_query(c, "sort");
    json_t *out = NULL;
    enum rc rc = core_jobs_list(&c->aw->core, &o, &out, &c->problem);
    if (rc)
        return api_call_fail(c, rc);
    return write_json(c, 200, out);
}

enum rc api_jobs_stats(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    json_t *out = NULL;
    enum rc rc = core_jobs_stats(&c->aw->core, &out);
    if (rc)
        return api_call_fail(c, rc);
    return write_json(c, 200, out);
}

enum rc api_jobs_view(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    json_t *out = NULL;
    enum rc rc = core_jobs_get(&c->aw->core, http_req_param(req, "id"), &out);
    if (rc)
        return api_call_fail(c, rc);
    return write_json(c, 200, out);
}

struct pending {
    struct api_call *call;
    struct core_jobs_action a;
};

static void release(void *ctx)
{
    struct pending *pd = ctx;
    core_jobs_action_cleanup(&pd->a);
}

static void action_done(struct core_jobs_action *a)
{
    struct pending *pd = a->ctx;
    struct api_call *c = pd->call;
    api_call_enter(c);
    if (!a->rc && a->op != CORE_JOBS_CANCEL)
        core_jobs_wake(c->aw->core.app->jobs);
    if (http_req_is_gone(c->req)) {
        http_req_resume(c->req);
        return;
    }
    /* A read transaction begun earlier predates the commit. */
    core_worker_end_read(&c->aw->core);
    json_t *out = NULL;
    enum rc rc = a->rc;
    if (rc == RC_CONFLICT) {
        rc = RC_INVALID; /* a 400, as PocketBase answers an action that does not apply */
        core_problem_message(&c->problem,
                             a->op == CORE_JOBS_RETRY
                                 ? "Only a failed, dead or canceled job can be retried."
                                 : "Only a queued or failed job can be canceled.");
    }
    if (!rc && a->op == CORE_JOBS_RUN_SCHEDULE) {
        http_resp_start(c->req, 204, NULL); /* PocketBase's answer to a cron run */
        http_req_resume(c->req);
        return;
    }
    if (!rc)
        rc = core_jobs_get(&c->aw->core, str_from_cstr(a->id), &out);
    if (rc)
        api_call_fail(c, rc);
    else
        write_json(c, a->op == CORE_JOBS_ENQUEUE && !a->is_folded ? 201 : 200, out);
    http_req_resume(c->req);
}

static struct pending *new_pending(struct api_call *c)
{
    struct pending *pd = arena_alloc(c->req->arena, sizeof(*pd));
    memset(pd, 0, sizeof(*pd));
    pd->call = c;
    pd->a.done = action_done;
    pd->a.ctx = pd;
    arena_defer(c->req->arena, release, pd);
    return pd;
}

enum rc api_jobs_submit(struct api_call *c, json_t *body, const char *fail_message)
{
    struct pending *pd = new_pending(c);
    if (core_jobs_enqueue_parse(body, &pd->a, &c->problem)) {
        core_problem_message(&c->problem, fail_message);
        return api_call_fail(c, RC_INVALID);
    }
    api_call_defer(c); /* its budget pauses: the wait is not its cost */
    core_jobs_action_submit(&c->aw->core, &pd->a);
    return RC_OK;
}

enum rc api_jobs_enqueue(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "Failed to load the submitted data."))
        return RC_OK;
    return api_jobs_submit(c, c->body, "Failed to enqueue the job.");
}

static enum rc start_action(struct http_req *req, enum core_jobs_op op)
{
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    struct str id = http_req_param(req, "id");
    if (id.len != CORE_JOB_ID_LEN)
        return api_call_fail(c, RC_NOT_FOUND);
    struct pending *pd = new_pending(c);
    pd->a.op = op;
    memcpy(pd->a.id, id.ptr, id.len);
    api_call_defer(c); /* its budget pauses: the wait is not its cost */
    core_jobs_action_submit(&c->aw->core, &pd->a);
    return RC_OK;
}

enum rc api_crons_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    json_t *out = NULL;
    enum rc rc = core_jobs_crons(&c->aw->core, &out);
    if (rc)
        return api_call_fail(c, rc);
    return write_json(c, 200, out);
}

enum rc api_crons_run(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    struct str name = http_req_param(req, "id");
    struct pending *pd = new_pending(c);
    if (name.len == 0 || name.len >= sizeof(pd->a.schedule))
        return api_call_fail(c, RC_NOT_FOUND);
    pd->a.op = CORE_JOBS_RUN_SCHEDULE;
    memcpy(pd->a.schedule, name.ptr, name.len);
    api_call_defer(c); /* its budget pauses: the wait is not its cost */
    core_jobs_action_submit(&c->aw->core, &pd->a);
    return RC_OK;
}

enum rc api_jobs_retry(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_action(req, CORE_JOBS_RETRY);
}

enum rc api_jobs_cancel(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_action(req, CORE_JOBS_CANCEL);
}
