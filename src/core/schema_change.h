/* schema_change.h -- collection create, update, delete, truncate, import (layer: core).
 *
 * A change is a writer job: it validates the new definition against the
 * current snapshot (names, fields, indexes, rules compiled with the filter
 * compiler), changes the tables inside the writer's transaction, builds the
 * next snapshot, and installs it on the writer thread right after the commit,
 * so snapshots change in commit order. A failed change leaves data, tables
 * and snapshot as they were. */
#ifndef TARMAC_CORE_SCHEMA_CHANGE_H
#define TARMAC_CORE_SCHEMA_CHANGE_H

#include <jansson.h>

#include "core/app.h"
#include "core/problem.h"

enum core_schema_op {
    CORE_SCHEMA_CREATE,
    CORE_SCHEMA_UPDATE,
    CORE_SCHEMA_DELETE,
    CORE_SCHEMA_TRUNCATE,
    CORE_SCHEMA_IMPORT,
};

/* Most records whose files an update dropping a file field removes (the
 * rest stay on disk, unreachable, and a warning is logged). */
#define CORE_SCHEMA_DROPPED_MAX 100000

struct core_schema_job;
typedef void core_schema_done_fn(struct core_schema_job *job);

struct core_schema_job {
    enum core_schema_op op;
    struct core_app *app;
    json_t *input;   /* create/update: collection JSON; import: the request body (owned) */
    char *target_id; /* update/delete/truncate: the collection's id (owned) */
    /* results */
    enum rc rc;
    struct core_problem problem;
    char *result_id; /* create/update: the collection's id (owned) */
    /* {collectionId: [[recordId, [names]]]} of the file fields dropped
     * (update, import), and [collectionId] of the collections left without
     * records (delete, truncate, an import's deleteMissing); both owned,
     * for removing their files after the commit */
    json_t *dropped_files;
    json_t *emptied_collections;
    struct core_schema *next;
    struct core_worker *cw;
    core_schema_done_fn *done;
    void *ctx;
    struct core_schema_job *waiting_next; /* the app's queue of schema changes */
};

/* Queues the change; job->done runs on cw's loop after the commit (cw NULL:
 * on the writer thread, for the CLI). Changes reach the writer one at a
 * time, in submission order, each after the previous one's commit: two in
 * one group commit would both build on the same snapshot, and the second
 * swapped in would drop the first from memory. */
void core_schema_submit(struct core_app *app, struct core_worker *cw, struct core_schema_job *job);
/* Frees what the job owns. */
void core_schema_job_cleanup(struct core_schema_job *job);

#endif
