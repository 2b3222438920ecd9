/* exec_job.c -- see exec_job.h. */
#include "core/record/exec_job.h"

#include "base/alloc.h"
#include "store/store.h"
#include "store/writer.h"

/* Runs sql with params; *changes: the rows it changed. */
static enum rc run(struct store_conn *db, const char *sql, char *const *params, size_t n,
                   int *changes)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, str_from_cstr(sql), &st);
    if (rc)
        return rc;
    /* The job owns its parameters until cleanup: bound borrowed. */
    for (size_t i = 0; i < n && !rc; i++) {
        if (params[i])
            rc = store_bind_text(st, (int)i + 1, str_from_cstr(params[i]));
        else
            rc = store_bind_null(st, (int)i + 1);
    }
    if (!rc)
        rc = store_step(st);
    *changes = (int)store_changes(db);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc; /* a row or done: either ran */
}

static enum rc apply(struct store_conn *db, void *ctx)
{
    struct core_exec_job *job = ctx;
    int pre_changes;
    enum rc rc = job->pre_sql
                     ? run(db, job->pre_sql, job->pre_params, job->pre_param_count, &pre_changes)
                     : RC_OK;
    return rc ? rc : run(db, job->sql, job->params, job->param_count, &job->changes);
}

static void finished(enum rc rc, void *ctx)
{
    struct core_exec_job *job = ctx;
    job->rc = rc;
    if (job->cw)
        core_worker_end_read(job->cw); /* the next read sees this write */
    job->done(job);
}

void core_exec_submit(struct core_worker *cw, struct core_exec_job *job)
{
    job->cw = cw;
    store_writer_submit(cw->writer, cw->mailbox, apply, finished, job);
}

void core_exec_job_cleanup(struct core_exec_job *job)
{
    xfree(job->owned_sql);
    job->owned_sql = NULL;
    for (size_t i = 0; i < job->param_count; i++) {
        xfree(job->params[i]);
        job->params[i] = NULL;
    }
    for (size_t i = 0; i < job->pre_param_count; i++) {
        xfree(job->pre_params[i]);
        job->pre_params[i] = NULL;
    }
}
