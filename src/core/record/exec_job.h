/* exec_job.h -- one parameterised statement as a writer job (layer: core).
 *
 * For the small system writes that skip the records API (one-time passwords,
 * MFA sessions): the SQL text is the caller's constant, every value a bound
 * text parameter. An optional statement runs first in the same transaction
 * (a purge of expired rows before an insert). */
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
    const char *pre_sql;                    /* NULL, or a constant run before sql */
    char *pre_params[CORE_EXEC_MAX_PARAMS]; /* owned; its ?1..?n */
    size_t pre_param_count;
    enum rc rc;
    int changes; /* rows sql changed */
    struct core_worker *cw;
    core_exec_done_fn *done;
    void *ctx;
};

/* Queues job on the writer; done runs on cw's loop after the commit. */
void core_exec_submit(struct core_worker *cw, struct core_exec_job *job);
/* Frees the parameters. */
void core_exec_job_cleanup(struct core_exec_job *job);

#endif
