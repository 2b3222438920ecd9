/* exec_job.c -- see exec_job.h. */
#include "core/record/exec_job.h"

#include "base/alloc.h"
#include "store/sqlite.h"
#include "store/writer.h"

static enum rc apply(struct store_conn *db, void *ctx)
{
    struct core_exec_job *job = ctx;
    sqlite3_stmt *st;
    enum rc rc = store_prepare_raw(db, str_from_cstr(job->sql), &st);
    if (rc)
        return rc;
    for (size_t i = 0; i < job->param_count; i++) {
        if (job->params[i])
            sqlite3_bind_text(st, (int)i + 1, job->params[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, (int)i + 1);
    }
    int step = sqlite3_step(st);
    job->changes = sqlite3_changes(store_sqlite_handle(db));
    store_done_raw(st);
    return step == SQLITE_DONE || step == SQLITE_ROW ? RC_OK : store_sqlite_rc(step);
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
}
