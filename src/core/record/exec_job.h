/* exec_job.h -- one parameterised statement as a writer job (layer: core).
 *
 * For the small system writes that are not records of a collection (one-time
 * passwords): the SQL text is the caller's constant, every value a bound
 * text parameter. */
#ifndef TARMAC_CORE_EXEC_JOB_H
#define TARMAC_CORE_EXEC_JOB_H

#include "core/record/worker.h"

#define CORE_EXEC_MAX_PARAMS 8

struct core_exec_job;
typedef void core_exec_done_fn(struct core_exec_job *job);

struct core_exec_job {
    const char *sql;                    /* a constant, or owned_sql; ?1..?n */
    char *owned_sql;                    /* freed by core_exec_job_cleanup */
    char *params[CORE_EXEC_MAX_PARAMS]; /* owned; NULL binds NULL */
    size_t param_count;
    enum rc rc;
    int changes; /* rows changed */
    struct core_worker *cw;
    core_exec_done_fn *done;
    void *ctx;
};

/* Queues job on the writer; done runs on cw's loop after the commit. */
void core_exec_submit(struct core_worker *cw, struct core_exec_job *job);
/* Frees the parameters. */
void core_exec_job_cleanup(struct core_exec_job *job);

#endif
