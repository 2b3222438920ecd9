/* jobs_admin.h -- what the jobs API asks of the queue (layer: core,
 * core/jobs/): list, view and stats read on the worker's connection; enqueue,
 * retry and cancel are writer jobs answered on the worker's loop. */
#ifndef TARMAC_CORE_JOBS_JOBS_ADMIN_H
#define TARMAC_CORE_JOBS_JOBS_ADMIN_H

#include <jansson.h>
#include <stdbool.h>

#include "core/jobs/job.h"
#include "core/problem.h"
#include "core/record/worker.h"

#define CORE_JOBS_MAX_PER_PAGE 1000

struct core_schema;

struct core_jobs_list_opts {
    struct str status; /* comma-separated statuses; len 0 = any */
    struct str kind;   /* exact; len 0 = any */
    struct str filter; /* the filter language over the jobs as the API shows them; len 0 = none */
    const struct core_schema *schema; /* what @collection in filter reaches */
    struct str sort;                  /* e.g. "-created,priority"; len 0 = "-created" */
    int64_t page;                     /* from 1 */
    int64_t per_page;                 /* 1..CORE_JOBS_MAX_PER_PAGE */
};

/* {page, perPage, totalItems, totalPages, items}. RC_INVALID (message in p)
 * for an unknown status or sort field, or a filter that does not compile
 * (times in a filter are date text, as the API shows them). */
enum rc core_jobs_list(struct core_worker *cw, const struct core_jobs_list_opts *o, json_t **out,
                       struct core_problem *p);
/* One job; RC_NOT_FOUND. */
enum rc core_jobs_get(struct core_worker *cw, struct str id, json_t **out);
/* {queued, running, failed, done, dead, canceled, due, oldestDueAgeMs}: the
 * queue depth by status and how long the oldest due job has waited. */
enum rc core_jobs_stats(struct core_worker *cw, json_t **out);

/* PocketBase's cron list: [{id: the schedule's name, expression}] of the
 * `_schedules` records, by name. */
enum rc core_jobs_crons(struct core_worker *cw, json_t **out);

enum core_jobs_op { CORE_JOBS_ENQUEUE, CORE_JOBS_RETRY, CORE_JOBS_CANCEL, CORE_JOBS_RUN_SCHEDULE };

struct core_jobs_action;
typedef void core_jobs_action_done_fn(struct core_jobs_action *a);

struct core_jobs_action {
    enum core_jobs_op op;
    char id[CORE_JOB_ID_LEN + 1]; /* retry/cancel: the job; enqueue, run: the result */
    char schedule[256];           /* run: the schedule's name or id */
    /* enqueue (core_jobs_enqueue_parse fills these) */
    struct core_job_spec spec;
    json_t *payload; /* owned */
    char kind[CORE_JOB_KIND_MAX + 1];
    char dedupe[CORE_JOB_DEDUPE_MAX + 1];
    /* results */
    enum rc rc;
    bool is_folded;
    core_jobs_action_done_fn *done; /* on the worker's loop after the commit */
    void *ctx;
};

/* Reads an enqueue body {kind, payload?, runAt? (unix ms or a date),
 * priority?, dedupeKey?, maxAttempts?} into a; RC_INVALID with field errors
 * in p. */
enum rc core_jobs_enqueue_parse(json_t *body, struct core_jobs_action *a, struct core_problem *p);
/* Submits a to the writer; a->done runs on cw's loop. */
void core_jobs_action_submit(struct core_worker *cw, struct core_jobs_action *a);
void core_jobs_action_cleanup(struct core_jobs_action *a);

#endif
