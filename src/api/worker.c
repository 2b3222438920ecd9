/* worker.c -- see worker.h. */
#include "api/worker.h"

#include "base/arena.h"
#include "core/task.h"
#include "net/worker.h"

struct api_worker *api_worker_of(struct http_req *req)
{
    return http_req_worker(req)->user;
}

bool api_worker_is_busy(const struct api_worker *aw)
{
    return aw->file_reads > 0 || aw->page_pieces > 0 || aw->backup_ops > 0;
}

/* A handler run as a task: what it returned, for the answer. */
struct invocation {
    http_handler_fn *h;
    struct http_req *req;
    void *ctx;
    enum rc rc;
};

static void invocation_run(void *arg)
{
    struct invocation *inv = arg;
    inv->rc = inv->h(inv->req, inv->ctx);
}

static void invocation_finished(void *arg)
{
    struct invocation *inv = arg;
    http_req_finish(inv->req, inv->rc);
}

enum rc api_invoke(http_handler_fn *h, struct http_req *req, void *ctx)
{
    struct core_tasks *tasks = api_worker_of(req)->core.tasks;
    if (!tasks)
        return h(req, ctx);
    struct invocation *inv = arena_alloc(req->arena, sizeof(*inv));
    *inv = (struct invocation){.h = h, .req = req, .ctx = ctx};
    switch (core_task_run(tasks, invocation_run, invocation_finished, inv)) {
    case CORE_TASK_DONE: return inv->rc;
    case CORE_TASK_WAITING: http_req_defer(req); return RC_OK;
    case CORE_TASK_REFUSED: break;
    }
    return RC_UNAVAILABLE;
}
