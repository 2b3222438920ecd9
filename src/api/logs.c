/* logs.c -- the request log: each response's entry, and GET /api/logs,
 * /api/logs/{id}, /api/logs/stats for superusers (PocketBase's apis/logs.go).
 *
 * api_logs_on_response runs on the worker for every response: a few field
 * copies handed to core_logs_record, which queues them for the log's own
 * thread. The reads are blocking SQLite calls on auxiliary.db, so they run
 * on the offload pool and answer from the worker's mailbox. */
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "core/logs.h"
#include "net/offload.h"

static bool has_prefix(struct str s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

void api_logs_on_response(struct http_req *req, uint64_t exec_ns)
{
    if (!core_logs_is_on())
        return;
    int status = req->resp.status;
    /* As PocketBase's SkipSuccessActivityLog: reading the logs, the realtime
     * stream and the OAuth2 redirect (its URL holds the code) are logged
     * only when they fail. */
    if (status < 400 &&
        (has_prefix(req->path, "/api/logs") || has_prefix(req->path, "/api/realtime") ||
         has_prefix(req->path, "/api/oauth2-redirect")))
        return;
    const struct api_call *c = req->user;
    struct core_log_request r = {
        .created_ms = chrono_real_ms(),
        .exec_ms = (double)exec_ns / 1e6,
        .status = status,
        .method = req->method_name,
        .url = req->target,
        .referer = http_req_header(req, "referer"),
        .user_agent = http_req_header(req, "user-agent"),
        .remote_ip = str_from_cstr(req->peer_addr ? req->peer_addr : ""),
        .user_ip = str_from_cstr(req->remote_addr ? req->remote_addr : ""),
    };
    if (c && c->auth.collection) {
        r.auth = str_from_cstr(c->auth.collection->name);
        r.auth_id = str_from_cstr(c->auth.id ? c->auth.id : "");
    }
    if (status >= 400) {
        const char *m = c && c->problem.message[0] && status < 500 ? c->problem.message
                                                                   : api_error_message(status);
        r.error = str_from_cstr(m ? m : "");
    }
    /* The answer's data (field errors) as PocketBase's data.details; a 5xx
     * answers none (api/errors.c). */
    char details[CORE_LOGS_DETAILS_MAX];
    if (c && status >= 400 && status < 500 && c->problem.data)
        r.details =
            (struct str){details, core_logs_details(c->problem.data, details, sizeof(details))};
    core_logs_record(&r);
}

/* -------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

enum logs_read_kind { READ_LIST, READ_VIEW, READ_STATS };

struct logs_read {
    struct api_call *c;
    enum logs_read_kind kind;
    char *filter, *sort, *id; /* copies: the pool thread does not touch the arena */
    int64_t page, per_page;
    bool skip_total;
    struct buf out;
    struct core_problem problem;
    enum rc rc;
};

static void read_work(void *arg)
{
    struct logs_read *r = arg;
    switch (r->kind) {
    case READ_LIST:
        r->rc = core_logs_list(str_from_cstr(r->filter), str_from_cstr(r->sort), r->page,
                               r->per_page, r->skip_total, &r->out, &r->problem);
        break;
    case READ_VIEW: r->rc = core_logs_view(str_from_cstr(r->id), &r->out); break;
    case READ_STATS: r->rc = core_logs_stats(str_from_cstr(r->filter), &r->out, &r->problem); break;
    }
}

static void read_free(struct logs_read *r)
{
    xfree(r->filter);
    xfree(r->sort);
    xfree(r->id);
    buf_cleanup(&r->out);
    core_problem_cleanup(&r->problem);
    xfree(r);
}

static void read_done(enum rc rc, void *arg)
{
    struct logs_read *r = arg;
    struct api_call *c = r->c;
    if (!api_call_is_gone(c)) {
        if (!rc)
            rc = r->rc;
        if (rc) {
            api_call_take_problem(c, &r->problem);
            api_call_fail(c, rc);
        } else {
            api_call_json(c, 200, &r->out);
        }
    }
    read_free(r);
    api_call_resume(c);
}

static char *copy_query(struct api_call *c, const char *key)
{
    struct str v = api_call_query(c, key);
    return xstrndup(v.ptr ? v.ptr : "", v.len);
}

/* A positive integer query parameter, def when absent; false when malformed. */
static bool query_int(struct api_call *c, const char *key, int64_t def, int64_t *out)
{
    struct str v = api_call_query(c, key);
    *out = def;
    if (!v.len)
        return true;
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9' || n > 100000000)
            return false;
        n = n * 10 + (v.ptr[i] - '0');
    }
    *out = n;
    return true;
}

static enum rc start_read(struct http_req *req, enum logs_read_kind kind)
{
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    struct logs_read *r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->kind = kind;
    buf_init(&r->out, 64u << 20);
    core_problem_init(&r->problem);
    r->filter = copy_query(c, "filter");
    r->sort = copy_query(c, "sort");
    struct str id = http_req_param(req, "id");
    r->id = xstrndup(id.ptr ? id.ptr : "", id.len);
    struct str skip = api_call_query(c, "skipTotal");
    r->skip_total = str_eq_cstr_nocase(skip, "true") || str_eq_cstr_nocase(skip, "1");
    if (!query_int(c, "page", 1, &r->page) || !query_int(c, "perPage", 30, &r->per_page)) {
        read_free(r);
        core_problem_message(&c->problem, "Invalid page or perPage.");
        return api_call_fail(c, RC_INVALID);
    }
    /* PocketBase's search provider: page >= 1, perPage 1..1000 (0 -> 30). */
    if (r->page < 1)
        r->page = 1;
    if (r->per_page <= 0)
        r->per_page = 30;
    if (r->per_page > 1000)
        r->per_page = 1000;
    api_call_defer(c);
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, read_work, read_done,
                           r) != RC_OK) {
        read_free(r);
        api_call_fail(c, RC_BUSY);
        api_call_resume(c);
    }
    return RC_OK;
}

enum rc api_logs_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_read(req, READ_LIST);
}

enum rc api_logs_view(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_read(req, READ_VIEW);
}

enum rc api_logs_stats(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_read(req, READ_STATS);
}
